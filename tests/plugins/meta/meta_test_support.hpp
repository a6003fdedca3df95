// Real documents for the meta plugin's tests and bench: licence texts and man pages rendered to
// text (Debian's base-files and manpages/manpages-dev, installed by scripts/bootstrap.sh),
// made into segments artifacts the way content.extract makes plain text ones.
#pragma once

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace gen::meta::testing {

/// The file's bytes; throws when it cannot be read (a missing document fails the test).
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// `MANWIDTH=80 man --nj --nh -l <page> | col -b`: the page as a terminal shows it, without
/// justification or hyphenation. Throws when man fails or prints nothing.
inline std::string render_man_page(const std::string& path) {
  const std::string command =
      "MANWIDTH=80 MAN_KEEP_FORMATTING= man --nj --nh -l '" + path + "' 2>/dev/null | col -b";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run man for " + path);
  std::string out;
  char buffer[65536];
  std::size_t n = 0;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = pclose(pipe);
  if (status != 0 || out.size() < 100) {
    throw std::runtime_error("man could not render " + path +
                             " (is the manpages package installed?)");
  }
  return out;
}

/// Splits text at blank lines into paragraph segments: {"format", "title", "language",
/// "segments": [{"location": "paragraph N", "location_kind": "paragraph", "text", "tokens"}]}.
inline std::string segments_json(std::string_view text, const nlohmann::json& title = nullptr) {
  nlohmann::json segments = nlohmann::json::array();
  std::string paragraph;
  auto flush = [&] {
    if (paragraph.find_first_not_of(" \t\r\n") == std::string::npos) {
      paragraph.clear();
      return;
    }
    while (!paragraph.empty() && paragraph.back() == '\n') paragraph.pop_back();
    std::size_t code_points = 0;
    for (char c : paragraph) code_points += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    segments.push_back({{"location", "paragraph " + std::to_string(segments.size() + 1)},
                        {"location_kind", "paragraph"},
                        {"text", paragraph},
                        {"tokens", (code_points + 3) / 4}});
    paragraph.clear();
  };
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
      flush();
    } else {
      paragraph.append(line);
      paragraph += '\n';
    }
    start = end + 1;
  }
  flush();
  return nlohmann::json{
      {"format", "text"}, {"title", title}, {"language", nullptr}, {"segments", segments}}
      .dump();
}

}  // namespace gen::meta::testing

namespace gen::meta::testing {

// Written for these tests by the project (no third-party text; CC0).
inline constexpr std::string_view kGermanText =
    "Die Honigbiene lebt in großen Völkern. Ein Bienenvolk besteht aus einer Königin, einigen "
    "hundert Drohnen und vielen tausend Arbeiterinnen. Die Arbeiterinnen sammeln Nektar und "
    "Pollen auf den Blüten der Umgebung. Aus dem Nektar stellen die Bienen im Stock den Honig "
    "her. Der Imker öffnet die Bienenstöcke im Sommer und erntet einen Teil des Honigs. Im "
    "Winter bilden die Bienen eine dichte Traube und wärmen die Königin. Viele Pflanzen sind auf "
    "die Bestäubung durch Bienen angewiesen. Ohne Bienen gäbe es deutlich weniger Obst und "
    "Gemüse in unseren Gärten. Deshalb pflanzen viele Menschen heute Blumen, die den Bienen im "
    "Herbst noch Nahrung bieten. Der Imker behandelt seine Völker gegen die Varroamilbe, einen "
    "gefährlichen Parasiten. Gesunde Völker überstehen den Winter besser und sammeln im "
    "Frühjahr wieder mehr Honig. Die Bestäubung der Obstbäume im Frühling ist die wichtigste "
    "Leistung der Bienen für die Landwirtschaft.\n";

inline constexpr std::string_view kFrenchText =
    "La boulangerie du village ouvre très tôt le matin. Le boulanger prépare la pâte pendant la "
    "nuit avec de la farine, de l'eau, du sel et du levain. Le pain cuit ensuite dans un grand "
    "four à bois. Les habitants achètent leur baguette avant d'aller au travail. Le dimanche, "
    "la boulangerie vend aussi des croissants et des tartes aux fruits. Le levain donne au pain "
    "un goût légèrement acide et une croûte épaisse. Une bonne baguette se conserve mal et doit "
    "être mangée le jour même. Les enfants passent à la boulangerie après l'école pour acheter "
    "des bonbons. Le boulanger connaît tous ses clients par leur prénom. En été, les touristes "
    "viennent goûter le pain du village. La farine vient d'un moulin situé à quelques "
    "kilomètres. Chaque matin, le four à bois chauffe la petite boutique.\n";

}  // namespace gen::meta::testing

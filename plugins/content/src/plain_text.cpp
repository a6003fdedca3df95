// Plain text: paragraphs are blocks of lines separated by one or more blank lines (lines of
// whitespace only count as blank); line ends are normalised to "\n" and each paragraph keeps
// its lines, trailing whitespace trimmed. One segment per paragraph, "paragraph N" (1-based,
// counting paragraphs, not lines), kind "paragraph".
//
// Title: the first paragraph when it is a single line of at most 100 characters and more
// paragraphs follow (a heading line, as in a README or an RFC); else none. It stays a
// segment too ("paragraph 1").
#include <string>

#include "sources.hpp"

namespace gen::content {

Extraction extract_plain_text(Job& job, std::string_view text) {
  Extraction result;
  result.format = "text";
  std::string paragraph;
  std::size_t lines_in_paragraph = 0;
  std::size_t number = 0;
  auto close = [&] {
    std::string_view body = trim(paragraph);
    if (!body.empty()) {
      ++number;
      job.count_text(body.size());
      if (number == 1 && lines_in_paragraph == 1) {
        std::size_t code_points = 0;
        for (char c : body) code_points += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
        if (code_points <= 100) result.title = std::string(body);
      }
      result.segments.push_back(
          Segment{"paragraph " + std::to_string(number), "paragraph", std::string(body)});
    }
    paragraph.clear();
    lines_in_paragraph = 0;
  };
  std::size_t start = 0;
  std::size_t lines = 0;
  while (start <= text.size()) {
    if (++lines % 4096 == 0) job.poll();
    std::size_t end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (trim(line).empty()) {
      close();
    } else {
      if (!paragraph.empty()) paragraph += '\n';
      paragraph += line;
      ++lines_in_paragraph;
    }
    if (end == text.size()) break;
    start = end + (text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n' ? 2 : 1);
  }
  close();
  if (result.segments.size() < 2) result.title.reset();
  return result;
}

}  // namespace gen::content

// Helpers for the pdf tests: temporary files and the poppler/qpdf command-line tools.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace gen::pdf::test {

/// A file in a fresh temporary directory, removed with the object.
class TempFile {
 public:
  explicit TempFile(const std::string& bytes, const std::string& name = "file.pdf") {
    std::random_device random;
    dir_ = std::filesystem::temp_directory_path() /
           ("gen-pdf-test-" + std::to_string(random()) + std::to_string(random()));
    std::filesystem::create_directories(dir_);
    path_ = dir_ / name;
    std::ofstream(path_, std::ios::binary) << bytes;
  }
  ~TempFile() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path dir_;
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

inline CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A file from tests/pdf/data; throws when it cannot be read (a test setup error).
inline std::string test_data(const std::string& name) {
  const std::string path = std::string(PDF_TEST_DATA_DIR) + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing test data file " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Keeps `pdf` (and a PNG of its first page) under $GENERATOR_BUILD_DIR/test-artifacts/pdf/
/// so a person can look at what the tests rendered.
inline void keep_artifact(const std::string& name, const std::string& pdf) {
  const char* build = std::getenv("GENERATOR_BUILD_DIR");
  if (build == nullptr) return;
  const std::filesystem::path dir = std::filesystem::path(build) / "test-artifacts" / "pdf";
  std::error_code ignored;
  std::filesystem::create_directories(dir, ignored);
  const std::string path = (dir / (name + ".pdf")).string();
  std::ofstream(path, std::ios::binary) << pdf;
  run_command("pdftoppm -r 80 -png -f 1 -l 1 -singlefile '" + path + "' '" + (dir / name).string() +
              "'");
}

/// Words (maximal runs of non-space characters) of `text`.
inline std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

/// pdftotext of the whole document, or of one page (1-based).
inline std::string pdf_text(const std::string& path, int page = 0) {
  std::string range = page > 0 ? " -f " + std::to_string(page) + " -l " + std::to_string(page) : "";
  return run_command("pdftotext -enc UTF-8" + range + " '" + path + "' -").output;
}

}  // namespace gen::pdf::test

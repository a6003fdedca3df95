// Markdown -> PDF layout (plugins/pdf/src/markdown_pdf.cpp), rendered into memory as
// pdf.render does. Input: the Markdown, then optionally a NUL byte and the bytes of an image:
// `![](badge.png)` and `![](photo.jpg)` find the test images in tests/pdf/data, any other
// name finds the bytes after the NUL (so the image readers are fuzzed too).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "markdown_pdf.hpp"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "markdown_fuzz: cannot read %s\n", path.c_str());
    std::abort();
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const std::string& badge() {
  static const std::string bytes = read_file(GEN_FUZZ_SOURCE_DIR "/tests/pdf/data/badge.png");
  return bytes;
}
const std::string& photo() {
  static const std::string bytes = read_file(GEN_FUZZ_SOURCE_DIR "/tests/pdf/data/photo.jpg");
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  badge();
  photo();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view input = gen::fuzz::as_text(bytes, size);
  const auto nul = input.find('\0');
  const std::string_view markdown = input.substr(0, nul);
  const std::string_view image =
      nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  const gen::pdf::ImageLookup images = [&](std::string_view name, std::string_view& out) {
    if (name == "badge.png") {
      out = badge();
    } else if (name == "photo.jpg") {
      out = photo();
    } else if (nul != std::string_view::npos) {
      out = image;
    } else {
      return false;
    }
    return true;
  };
  try {
    const gen::pdf::RenderResult result = gen::pdf::render_markdown(
        markdown, gen::pdf::RenderOptions{}, images, [] { return false; });
    if (result.page_count < 1 || !result.pdf.starts_with("%PDF-")) std::abort();
  } catch (const std::runtime_error&) {
    // Documented: internal failures (a font, QPDF) are runtime_errors; pdf.render fails the task.
  }
  return 0;
}

// Plain text: paragraphs are blocks of lines separated by one or more blank lines (lines of
// whitespace only count as blank); line ends are normalised to "\n" and each paragraph keeps
// its lines, trailing whitespace trimmed. Consecutive short paragraphs share a segment up to
// kSegmentBytes ("paragraphs 4-9"); a paragraph alone is "paragraph N" (1-based, counting
// paragraphs, not lines); kind "paragraph". A paragraph is never split.
//
// Why merge: a man page or a log-like text is hundreds of one-line paragraphs. As one segment
// each, 10,000 man pages made 2 million index rows, and a common word matched (and had to be
// ranked in) tens of thousands of them: bench_search's p99 went past 50 ms. Segments of about
// a screenful keep locations useful and the index ~10x smaller.
//
// Title: the first paragraph when it is a single line of at most 100 characters and more
// paragraphs follow (a heading line, as in a README or an RFC); else none. It stays a
// segment too ("paragraph 1").
#include <string>

#include "sources.hpp"

namespace gen::content {

namespace {
constexpr std::size_t kSegmentBytes = 1500;
}  // namespace

Extraction extract_plain_text(Job& job, std::string_view text) {
  Extraction result;
  result.format = "text";
  std::string paragraph;
  std::size_t lines_in_paragraph = 0;
  std::size_t number = 0;
  std::size_t first_in_segment = 0;  // the open segment's first paragraph (0: none open)
  std::size_t paragraphs = 0;        // paragraphs seen
  bool first_is_title = false;
  auto location = [&](std::size_t last) {
    return first_in_segment == last
               ? "paragraph " + std::to_string(last)
               : "paragraphs " + std::to_string(first_in_segment) + "-" + std::to_string(last);
  };
  auto close = [&] {
    std::string_view body = trim(paragraph);
    if (!body.empty()) {
      ++number;
      ++paragraphs;
      job.count_text(body.size());
      if (number == 1 && lines_in_paragraph == 1) {
        std::size_t code_points = 0;
        for (char c : body) code_points += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
        if (code_points <= 100) {
          result.title = std::string(body);
          first_is_title = true;
        }
      }
      // A title line stays a segment of its own; others join the open segment while it fits.
      const bool joins = first_in_segment != 0 && !(first_is_title && first_in_segment == 1) &&
                         result.segments.back().text.size() + 2 + body.size() <= kSegmentBytes;
      if (joins) {
        Segment& open = result.segments.back();
        open.text += "\n\n";
        open.text += body;
        open.location = location(number);
      } else {
        first_in_segment = number;
        result.segments.push_back(
            Segment{"paragraph " + std::to_string(number), "paragraph", std::string(body)});
      }
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
  if (paragraphs < 2) result.title.reset();
  return result;
}

}  // namespace gen::content

#include "segments.hpp"

#include <cstdint>

#include <gen/sdk/params.hpp>

#include "bounded_decode.hpp"  // gen::pdf::describe_size

namespace gen::content {

std::size_t estimate_tokens(std::string_view text) {
  std::size_t code_points = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++code_points;  // not a continuation
  }
  return (code_points + 3) / 4;
}

void Job::fail(const std::string& what) const {
  throw BadInput{label() + ": " + what};
}

void Job::poll() const {
  if (cancelled_ && cancelled_()) throw Cancelled{};
}

void Job::count_text(std::size_t bytes) {
  text_bytes_ += bytes;
  if (text_bytes_ > limits_.max_text_bytes) {
    fail("the extracted text is larger than " + pdf::describe_size(limits_.max_text_bytes) +
         " (params.max_text_bytes)");
  }
}

void Job::count_unzipped(std::size_t bytes) {
  unzipped_bytes_ += bytes;
  if (unzipped_bytes_ > limits_.max_unzipped_bytes) {
    fail("the zip inflates to more than " + pdf::describe_size(limits_.max_unzipped_bytes) +
         " (params.max_unzipped_bytes): refused as a possible zip bomb");
  }
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\r\f\v";
  const std::size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  const std::size_t end = text.find_last_not_of(kSpace);
  return text.substr(begin, end - begin + 1);
}

std::string to_valid_utf8(std::string_view text) {
  if (sdk::detail::valid_utf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    // The longest valid sequence starting at i (1-4 bytes), else one byte replaced.
    std::size_t length = 0;
    for (std::size_t n = 1; n <= 4 && i + n <= text.size(); ++n) {
      if (sdk::detail::valid_utf8(text.substr(i, n))) {
        length = n;
        break;
      }
    }
    if (length == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

void SectionBuilder::heading(int level, std::string title) {
  std::string_view trimmed = trim(title);
  if (trimmed.empty()) return;
  title = std::string(trimmed);
  if (!first_heading_) first_heading_ = title;
  if (level == 1 && !first_h1_) first_h1_ = title;
  if (headings_inline_) {
    paragraph(title);
    return;
  }
  close_section();
  while (!path_.empty() && path_.back().first >= level) path_.pop_back();
  path_.emplace_back(level, std::move(title));
}

void SectionBuilder::paragraph(std::string_view text) {
  text = trim(text);
  if (text.empty()) return;
  const std::size_t before = text_.size();
  if (!text_.empty()) text_ += "\n\n";
  text_ += text;
  job_.count_text(text_.size() - before);
}

void SectionBuilder::close_section() {
  if (text_.empty()) return;
  std::string location;
  for (const auto& [level, title] : path_) {
    if (!location.empty()) location += " > ";
    location += title;
  }
  job_.count_text(location.size());  // a deep path of long titles is text too
  segments_.push_back(Segment{std::move(location), "heading", std::move(text_)});
  text_.clear();
}

std::vector<Segment> SectionBuilder::finish() {
  close_section();
  return std::move(segments_);
}

std::string SectionBuilder::finish_text() {
  return std::move(text_);
}

}  // namespace gen::content

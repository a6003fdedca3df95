// The result of extracting one document: located text segments, and what every format's
// extractor shares (the limits, the text budget, cancellation, heading sections).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gen::content {

/// One piece of a document's text and where it is. `location` is what a reader would look
/// for ("page 3", "Install > On Debian", "paragraph 4", "Module 1 > Lesson 2");
/// `location_kind` says which kind it is: "page", "heading", "paragraph" or "item".
struct Segment {
  std::string location;
  std::string location_kind;
  std::string text;
};

/// What content.extract found in a document.
struct Extraction {
  std::string format;  ///< "pdf", "markdown", "html", "docx", "text", "scorm"
  std::optional<std::string> title;
  std::vector<Segment> segments;
};

/// The token estimate of `text`: ceil(Unicode code points / 4). About four characters per
/// token is what GPT-style tokenizers average over English prose; the estimate is meant for
/// budgets (chunking a document for a model), not billing.
std::size_t estimate_tokens(std::string_view text);

/// What extracting one document may cost. Every limit, when passed, refuses the document
/// (a permanent failure naming the limit).
struct Limits {
  /// Text extracted from the document, all segments together (params.max_text_bytes).
  std::size_t max_text_bytes = 64u << 20;
  /// Bytes inflated from a zip (DOCX, SCORM), all entries read together
  /// (params.max_unzipped_bytes), counted as they come out of the decompressor.
  std::size_t max_unzipped_bytes = 256u << 20;
  /// Entries in a zip's central directory.
  std::size_t max_zip_entries = 10'000;
  /// An XML part read into a tree (word/styles.xml, docProps/core.xml, imsmanifest.xml).
  std::size_t max_xml_part_bytes = 8u << 20;
  /// '<' and '=' (tags and attributes) in an XML part read into a tree: libxml2 takes
  /// ~200 bytes per node, so this bounds the tree to ~100 MB.
  std::size_t max_xml_markup = 500'000;
  /// word/document.xml, streamed (its memory does not grow with its size).
  std::size_t max_docx_body_bytes = 256u << 20;
  /// One HTML document (an input, or a page of a SCORM package).
  std::size_t max_html_bytes = 32u << 20;
  /// Start tags ('<' and a letter) in one HTML document: about its elements. gumbo builds
  /// its whole tree first, ~340 bytes per element and text node ("<p>x" x 1.9 million took
  /// 654 MB): this bounds it to ~350 MB.
  std::size_t max_html_tags = 1'000'000;
  /// Memory gumbo may allocate for one HTML document (counted by its allocator): the
  /// HTML5 algorithm clones formatting elements, so the tree is not bounded by the tags.
  std::size_t max_html_tree_bytes = 768u << 20;
  /// Attributes of one tag: gumbo compares each new attribute with the tag's others
  /// (50,000 attributes on one tag took 14.5 s).
  std::size_t max_html_attributes = 256;
  /// How deeply elements may nest in one HTML document, estimated from its tags before
  /// parsing (html.cpp): gumbo's time grows with tags x depth. Chrome flattens the tree
  /// below 512 levels as well.
  std::size_t max_html_depth = 512;
};

/// A document refused because of its content (damaged, unsupported, over a limit): becomes
/// Status::permanent with `message`, which names the input.
struct BadInput {
  std::string message;
};

/// Thrown by Job::poll() once the context says the run is cancelled.
struct Cancelled {};

/// The state of one extraction, shared by the format extractors: the input's name (for
/// messages), the limits, cancellation and the text budget.
class Job {
 public:
  Job(std::string input_name, Limits limits, std::function<bool()> cancelled)
      : input_name_(std::move(input_name)), limits_(limits), cancelled_(std::move(cancelled)) {}

  const std::string& input_name() const { return input_name_; }
  const Limits& limits() const { return limits_; }
  /// "input 'name'", the start of every message about the input.
  std::string label() const { return "input '" + input_name_ + "'"; }
  /// Throws BadInput{label() + ": " + what}.
  [[noreturn]] void fail(const std::string& what) const;
  /// Throws Cancelled when the run was cancelled. Cheap; call it in every long loop.
  void poll() const;
  /// True when the run was cancelled (for callbacks that must not throw).
  bool cancelled() const { return cancelled_ && cancelled_(); }
  /// Counts `bytes` more of extracted text; throws BadInput past max_text_bytes.
  void count_text(std::size_t bytes);
  /// Counts `bytes` more inflated from a zip; throws BadInput past max_unzipped_bytes.
  void count_unzipped(std::size_t bytes);

 private:
  std::string input_name_;
  Limits limits_;
  std::function<bool()> cancelled_;
  std::size_t text_bytes_ = 0;
  std::size_t unzipped_bytes_ = 0;
};

/// Builds heading sections (Markdown, HTML, DOCX): text under a heading until the next
/// heading of any level is one segment, located by the heading path ("Install > On Debian",
/// titles joined with " > "); text before the first heading has the empty path. A heading
/// of level N closes every open heading of level >= N. Paragraphs are joined with "\n\n";
/// sections without text are left out (a heading directly followed by a subheading gives no
/// segment of its own, it only appears in its subheadings' paths).
///
/// With `headings_inline` (a SCORM page, located by its item instead) headings are not
/// sections but paragraphs of the text, and everything is one section.
class SectionBuilder {
 public:
  explicit SectionBuilder(Job& job, bool headings_inline = false)
      : job_(job), headings_inline_(headings_inline) {}

  /// A heading of `level` (0 for a document title above level 1, 1-9 otherwise).
  void heading(int level, std::string title);
  /// A paragraph (or block) of text; trimmed, empty ones ignored.
  void paragraph(std::string_view text);
  /// The first heading's title and the first level-1 heading's title, when any.
  const std::optional<std::string>& first_heading() const { return first_heading_; }
  const std::optional<std::string>& first_h1() const { return first_h1_; }
  /// Closes the last section and returns the segments (kind "heading").
  std::vector<Segment> finish();
  /// All paragraphs (and inline headings) joined with "\n\n" (for headings_inline).
  std::string finish_text();

 private:
  void close_section();

  Job& job_;
  bool headings_inline_;
  std::vector<std::pair<int, std::string>> path_;  // open headings, outermost first
  std::string text_;
  std::vector<Segment> segments_;
  std::optional<std::string> first_heading_;
  std::optional<std::string> first_h1_;
};

/// `text` without leading and trailing whitespace (ASCII whitespace only).
std::string_view trim(std::string_view text);

/// Replaces invalid UTF-8 with U+FFFD, keeping everything else; returns `text` unchanged
/// when it is valid.
std::string to_valid_utf8(std::string_view text);

}  // namespace gen::content

// A Mustache renderer that reads nlohmann::json directly.
//
// Why not kainjow/mustache (Debian's libkainjow-mustache-dev, the first choice): its data model
// forces a deep conversion of the JSON (an allocation per value, per render) and its renderer
// goes through std::function per node; a 1,000-line invoice rendered at ~370 renders/s, far
// from the 8,000/s target. This renderer compiles the template once into a flat node list and
// walks the JSON in place: no conversion, no per-value allocation.
//
// Supported (Mustache spec, minus partials and lambdas): variables `{{x}}` (escaped when the
// template is rendered with HTML escaping), `{{{x}}}` and `{{& x}}` (never escaped), dotted
// names `{{a.b}}`, the implicit iterator `{{.}}`, sections `{{#x}}...{{/x}}` (lists iterate,
// other truthy values push a context), inverted sections `{{^x}}`, comments `{{! ...}}`,
// set-delimiter tags `{{=<% %>=}}`, and the spec's standalone-line rule (a line holding only
// a section, inverted, closing, comment or delimiter tag and whitespace is removed).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace gen::text {

class OutputWriter;  // mustache.cpp
struct RenderFrame;  // mustache.cpp

/// Bounds on one render: a template is code the client wrote, and three nested sections over
/// a 1,000-item list already print a gigabyte.
struct RenderLimits {
  /// The render stops before the output passes this many bytes.
  std::size_t max_output_bytes = std::numeric_limits<std::size_t>::max();
  /// Polled every 1,024 nodes rendered (a few microseconds of work); true stops the render.
  std::function<bool()> cancelled;
};

/// How a bounded render ended. Zero is not a valid value.
enum class RenderEnd : std::uint8_t {
  kDone = 1,
  kOutputTooLarge = 2,  ///< stopped at RenderLimits::max_output_bytes
  kCancelled = 3,       ///< RenderLimits::cancelled returned true
};

class MustacheTemplate {
 public:
  /// Sections (and inverted sections) nest at most this deep; deeper is a compile error. The
  /// renderer recurses once per level, and a name is searched through every level.
  static constexpr std::size_t kMaxSectionDepth = 100;

  /// Compiles `text`. On a syntax error returns nullopt and sets `error` to a message such as
  /// "unclosed section 'items' (opened at line 3, column 1)".
  static std::optional<MustacheTemplate> compile(std::string_view text, std::string& error);

  /// Appends the rendering of `data` to `out`. Values print naturally: strings as they are,
  /// integers and integral floats without ".0", other floats in their shortest round-trip
  /// form, booleans as true/false, null and missing names as nothing, objects and arrays as
  /// compact JSON. Falsy for sections: missing, null, false, empty list.
  /// Thread-safe: a compiled template is immutable.
  void render(const nlohmann::json& data, bool html_escape, std::string& out) const;

  /// render() within `limits`. On kOutputTooLarge or kCancelled `out` holds what was written
  /// so far (at most max_output_bytes).
  RenderEnd render(const nlohmann::json& data, bool html_escape, std::string& out,
                   const RenderLimits& limits) const;

 private:
  enum class Op : std::uint8_t { kText, kVariable, kRawVariable, kSection, kInverted };
  struct Node {
    Op op = Op::kText;
    std::string text;               ///< literal text (kText) or the name as written
    std::vector<std::string> path;  ///< dotted name split; empty for "."
    std::uint32_t end = 0;          ///< sections: index of the first node after the section
    /// Names: the index of path[0] in the names of the scope the node is rendered in (the
    /// nearest enclosing section, or the root), -1 for ".".
    std::int32_t slot = -1;
    /// Sections: the scope (index into scopes_) their body is rendered in.
    std::uint32_t scope = 0;
  };
  /// The first segments of the names looked up directly in one context (the root or a
  /// section's body), sorted as a JSON object orders its keys. A context object is matched
  /// against them once, in one ordered walk of its keys, instead of one search per tag.
  using Scope = std::vector<std::string>;

  void render_range(std::uint32_t begin, std::uint32_t end, const RenderFrame& top,
                    bool html_escape, OutputWriter& out) const;
  /// Renders the body of the section `node` (starting at node `body`) for `value`: once per
  /// item of a list, else once with `value` as the context.
  void render_section(const Node& node, std::uint32_t body, const nlohmann::json& value,
                      const RenderFrame& top, bool html_escape, OutputWriter& out) const;

  std::vector<Node> nodes_;
  std::vector<Scope> scopes_;
};

}  // namespace gen::text

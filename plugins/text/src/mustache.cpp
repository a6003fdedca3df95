#include "mustache.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_map>

namespace gen::text {
namespace {

using nlohmann::json;

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

bool all_blank(std::string_view s) {
  for (char c : s) {
    if (!is_blank(c)) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_blank(s.front()) || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (is_blank(s.back()) || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

/// "line 3, column 7" for a byte offset.
std::string where(std::string_view text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace

/// Thrown through the renderer to stop it (caught in MustacheTemplate::render).
struct RenderStopped {
  RenderEnd end;
};

/// Appends to a std::string through a raw cursor: the hot path of rendering is many short
/// appends, and std::string::append re-checks and re-terminates on every one. The string is
/// sized to its final length when the writer goes away. The writable room never reaches past
/// the output limit, so the limit costs nothing on the hot path: only grow() checks it.
class OutputWriter {
 public:
  explicit OutputWriter(std::string& out, const RenderLimits* limits = nullptr)
      : out_(out), limits_(limits) {
    const std::size_t used = out.size();
    if (limits_ != nullptr) limit_ = limits_->max_output_bytes;
    out.resize(std::max(out.capacity(), used + 256));
    cursor_ = out.data() + used;
    end_ = out.data() + std::max(used, std::min(out.size(), limit_));
  }
  ~OutputWriter() { out_.resize(static_cast<std::size_t>(cursor_ - out_.data())); }
  OutputWriter(const OutputWriter&) = delete;
  OutputWriter& operator=(const OutputWriter&) = delete;

  [[gnu::always_inline]] void append(const char* data, std::size_t size) {
    if (size > static_cast<std::size_t>(end_ - cursor_)) grow(size);
    // Most pieces are a few bytes: copy them inline (two overlapping fixed-size moves)
    // rather than through a memcpy call.
    if (size >= 8 && size <= 16) {
      std::memcpy(cursor_, data, 8);
      std::memcpy(cursor_ + size - 8, data + size - 8, 8);
    } else if (size >= 4 && size < 8) {
      std::memcpy(cursor_, data, 4);
      std::memcpy(cursor_ + size - 4, data + size - 4, 4);
    } else if (size < 4) {
      for (std::size_t i = 0; i < size; ++i) cursor_[i] = data[i];
    } else {
      std::memcpy(cursor_, data, size);
    }
    cursor_ += size;
  }
  void append(std::string_view s) { append(s.data(), s.size()); }
  void put(char c) {
    if (cursor_ == end_) grow(1);
    *cursor_++ = c;
  }
  /// Room for `size` more bytes at the cursor; commit() what was written.
  char* reserve(std::size_t size) {
    if (size > static_cast<std::size_t>(end_ - cursor_)) grow(size);
    return cursor_;
  }
  void commit(char* new_cursor) { cursor_ = new_cursor; }

  /// Counts one step of work; every 1,024 steps asks whether to stop.
  void tick() {
    if ((++steps_ & 0x3FF) == 0 && limits_ != nullptr && limits_->cancelled &&
        limits_->cancelled()) {
      throw RenderStopped{RenderEnd::kCancelled};
    }
  }

 private:
  void grow(std::size_t size) {
    const std::size_t used = static_cast<std::size_t>(cursor_ - out_.data());
    if (size > limit_ - std::min(used, limit_)) throw RenderStopped{RenderEnd::kOutputTooLarge};
    out_.resize(std::min(std::max(out_.size() * 2, used + size), std::max(limit_, used + size)));
    cursor_ = out_.data() + used;
    end_ = out_.data() + std::min(out_.size(), limit_);
  }

  std::string& out_;
  const RenderLimits* limits_;
  std::size_t limit_ = std::numeric_limits<std::size_t>::max();
  std::uint64_t steps_ = 0;
  char* cursor_;
  char* end_;
};

namespace {

using Writer = OutputWriter;

template <typename Number>
void append_number(Number n, Writer& out) {
  char* first = out.reserve(24);
  auto [end, ec] = std::to_chars(first, first + 24, n);
  if (ec == std::errc{}) out.commit(end);
}

/// Shortest round-trip text of `d`, in plain decimal notation for the values documents hold.
/// Fast path: the fewest fraction digits p <= 6 with n / 10^p == d (exact: n and 10^p are exact
/// doubles and IEEE division rounds correctly, as parsing would), which is ~5x cheaper than
/// std::to_chars' general algorithm on prices and quantities. Integral values print without
/// ".0". Everything else goes to std::to_chars.
void append_double(double d, Writer& out) {
  static constexpr double kPow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
  static constexpr long long kPow10Int[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
  constexpr double kExactIntegerLimit = 9007199254740992.0;  // 2^53
  if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < kExactIntegerLimit) {
    append_number(static_cast<std::int64_t>(d), out);
    return;
  }
  if (std::isfinite(d) && std::fabs(d) < 1e12 && std::fabs(d) >= 1e-6) {
    for (int p = 1; p <= 6; ++p) {
      const double scaled = d * kPow10[p];
      const auto n = static_cast<long long>(scaled < 0 ? scaled - 0.5 : scaled + 0.5);
      if (static_cast<double>(n) / kPow10[p] != d) continue;
      const unsigned long long magnitude =
          n < 0 ? 0ULL - static_cast<unsigned long long>(n) : static_cast<unsigned long long>(n);
      if (std::signbit(d) && d != 0) out.put('-');
      append_number(magnitude / static_cast<unsigned long long>(kPow10Int[p]), out);
      unsigned long long rest = magnitude % static_cast<unsigned long long>(kPow10Int[p]);
      char* fraction = out.reserve(8);
      fraction[0] = '.';
      for (int i = p; i >= 1; --i) {
        fraction[i] = static_cast<char>('0' + rest % 10);
        rest /= 10;
      }
      out.commit(fraction + 1 + p);
      return;
    }
  }
  char* first = out.reserve(64);
  auto [end, ec] = std::to_chars(first, first + 64, d);
  if (ec == std::errc{}) out.commit(end);
}

/// The entity for each byte HTML escaping replaces ("" for the bytes it keeps).
struct EscapeTable {
  std::string_view entity[256];
  bool special[256] = {};
  constexpr EscapeTable() {
    entity[static_cast<unsigned char>('&')] = "&amp;";
    entity[static_cast<unsigned char>('<')] = "&lt;";
    entity[static_cast<unsigned char>('>')] = "&gt;";
    entity[static_cast<unsigned char>('"')] = "&quot;";
    entity[static_cast<unsigned char>('\'')] = "&#39;";
    for (int c = 0; c < 256; ++c) special[c] = !entity[c].empty();
  }
};
constexpr EscapeTable kEscape;

void append_escaped(std::string_view s, Writer& out) {
  const char* run = s.data();
  const char* const end = s.data() + s.size();
  for (const char* p = run; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (!kEscape.special[c]) continue;
    out.append(run, static_cast<std::size_t>(p - run));
    out.append(kEscape.entity[c]);
    run = p + 1;
  }
  out.append(run, static_cast<std::size_t>(end - run));
}

void append_value(const json& value, bool escape, Writer& out) {
  switch (value.type()) {
    case json::value_t::string: {
      const auto& s = value.get_ref<const std::string&>();
      if (escape) {
        append_escaped(s, out);
      } else {
        out.append(s.data(), s.size());
      }
      return;
    }
    case json::value_t::number_integer:
      append_number(*value.get_ptr<const json::number_integer_t*>(), out);
      return;
    case json::value_t::number_unsigned:
      append_number(*value.get_ptr<const json::number_unsigned_t*>(), out);
      return;
    case json::value_t::number_float:
      append_double(*value.get_ptr<const json::number_float_t*>(), out);
      return;
    case json::value_t::boolean:
      out.append(*value.get_ptr<const json::boolean_t*>() ? std::string_view("true")
                                                          : std::string_view("false"));
      return;
    case json::value_t::object:
    case json::value_t::array:
      if (escape) {
        append_escaped(value.dump(), out);
      } else {
        out.append(value.dump());
      }
      return;
    case json::value_t::null:
    case json::value_t::binary:
    case json::value_t::discarded:
      return;
  }
}

bool truthy(const json* value) {
  if (value == nullptr || value->is_null()) return false;
  if (value->is_boolean()) return value->get<bool>();
  if (value->is_array()) return !value->empty();
  return true;
}

/// Orders exactly as std::string does (bytes as unsigned char, then length), as a JSON
/// object's std::map (std::less<>) does; inline, as names are short.
int compare(std::string_view a, std::string_view b) {
  const std::size_t n = a.size() < b.size() ? a.size() : b.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) {
      return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]) ? -1 : 1;
    }
  }
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}
/// a == b for the short strings names are: fixed-size loads, no memcmp call.
inline bool same(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  auto load8 = [](const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  };
  auto load4 = [](const char* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  };
  if (n >= 8 && n <= 16) {
    return load8(a.data()) == load8(b.data()) && load8(a.data() + n - 8) == load8(b.data() + n - 8);
  }
  if (n >= 4 && n < 8) {
    return load4(a.data()) == load4(b.data()) && load4(a.data() + n - 4) == load4(b.data() + n - 4);
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

struct Name {
  std::string_view text;
};
bool operator<(const std::string& a, Name b) {
  return compare(a, b.text) < 0;
}
bool operator<(Name a, const std::string& b) {
  return compare(a.text, b) < 0;
}

const json* member(const json& object, const std::string& name) {
  const auto& map = object.get_ref<const json::object_t&>();
  const auto it = map.find(Name{name});
  return it == map.end() ? nullptr : &it->second;
}

/// slots[k] = the member of `value` named names[k] (null when absent or not an object). The
/// names are sorted as the object's keys are, so one ordered walk of the keys finds them all.
void resolve(const json& value, const std::vector<std::string>& names, const json** slots) {
  const std::size_t n = names.size();
  if (!value.is_object()) {
    std::fill(slots, slots + n, nullptr);
    return;
  }
  const auto& map = value.get_ref<const json::object_t&>();
  if (map.size() > 2 * n + 8) {  // a wide object and few names: search instead of walking
    for (std::size_t k = 0; k < n; ++k) slots[k] = member(value, names[k]);
    return;
  }
  auto it = map.begin();
  const auto end = map.end();
  std::size_t k = 0;
  while (k < n) {
    if (it == end) {
      slots[k++] = nullptr;
      continue;
    }
    const int order = same(it->first, names[k]) ? 0 : compare(it->first, names[k]);
    if (order == 0) {
      slots[k++] = &it->second;
      ++it;
    } else if (order < 0) {
      ++it;
    } else {
      slots[k++] = nullptr;
    }
  }
}

}  // namespace

std::optional<MustacheTemplate> MustacheTemplate::compile(std::string_view text,
                                                          std::string& error) {
  MustacheTemplate tmpl;
  auto& nodes = tmpl.nodes_;
  struct OpenSection {
    std::uint32_t index;
    std::string name;
    std::size_t offset;
  };
  std::vector<OpenSection> open_sections;
  // The scope each name is looked up in: the root's (0), or the innermost section's (an
  // inverted section renders in the scope around it).
  tmpl.scopes_.emplace_back();
  std::vector<std::uint32_t> scope_stack = {0};
  std::vector<std::uint32_t> node_scope;  // per node: the scope its slot indexes
  std::vector<std::unordered_map<std::string, std::int32_t>> scope_index;  // name -> slot
  std::string open = "{{", close = "}}";
  bool can_merge_text = false;  // false after any node that text must not be merged into
  auto add_text = [&](std::size_t begin, std::size_t end) {
    if (end <= begin) return;
    if (can_merge_text) {
      nodes.back().text.append(text.substr(begin, end - begin));
    } else {
      nodes.push_back({Op::kText, std::string(text.substr(begin, end - begin)), {}, 0, -1, 0});
      node_scope.push_back(0);
      can_merge_text = true;
    }
  };
  auto fail = [&](std::string message) -> std::optional<MustacheTemplate> {
    error = std::move(message);
    return std::nullopt;
  };

  std::size_t cursor = 0;
  while (cursor < text.size()) {
    const std::size_t tag_start = text.find(open, cursor);
    if (tag_start == std::string_view::npos) break;
    const std::size_t content_start = tag_start + open.size();

    // The tag's extent and sigil. `{{{x}}}` is `{{&x}}` (default delimiters only).
    char sigil = 0;
    std::string_view content;
    std::size_t tag_end = 0;
    if (open == "{{" && content_start < text.size() && text[content_start] == '{') {
      const std::size_t close_at = text.find("}" + close, content_start + 1);
      if (close_at == std::string_view::npos) {
        return fail("unclosed tag (opened at " + where(text, tag_start) + ")");
      }
      sigil = '&';
      content = trim(text.substr(content_start + 1, close_at - content_start - 1));
      tag_end = close_at + 1 + close.size();
    } else {
      const std::size_t close_at = text.find(close, content_start);
      if (close_at == std::string_view::npos) {
        return fail("unclosed tag (opened at " + where(text, tag_start) + ")");
      }
      content = trim(text.substr(content_start, close_at - content_start));
      tag_end = close_at + close.size();
      if (!content.empty() &&
          std::string_view("#^/!>&=").find(content.front()) != std::string_view::npos) {
        sigil = content.front();
        content.remove_prefix(1);
        if (sigil == '=') {
          if (content.empty() || content.back() != '=') {
            return fail("malformed set-delimiter tag at " + where(text, tag_start));
          }
          content.remove_suffix(1);
        }
        content = trim(content);
      }
    }

    // Standalone lines: a line holding only this tag and whitespace disappears entirely.
    std::size_t next_cursor = tag_end;
    std::size_t text_end = tag_start;
    if (sigil != 0 && sigil != '&') {
      const std::size_t newline_before = text.rfind('\n', tag_start == 0 ? 0 : tag_start - 1);
      const std::size_t line_start =
          (tag_start == 0 || newline_before == std::string_view::npos) ? 0 : newline_before + 1;
      const std::size_t eol = text.find('\n', tag_end);
      const std::size_t line_end = eol == std::string_view::npos ? text.size() : eol;
      if (cursor <= line_start && all_blank(text.substr(line_start, tag_start - line_start)) &&
          all_blank(text.substr(tag_end, line_end - tag_end))) {
        text_end = line_start;
        next_cursor = eol == std::string_view::npos ? text.size() : eol + 1;
      }
    }
    add_text(cursor, text_end);
    cursor = next_cursor;

    if (sigil == '!') continue;
    if (sigil == '=') {
      const std::size_t space = content.find_first_of(" \t");
      if (space == std::string_view::npos) {
        return fail("malformed set-delimiter tag at " + where(text, tag_start));
      }
      const std::string_view new_open = content.substr(0, space);
      const std::string_view new_close = trim(content.substr(space));
      if (new_open.empty() || new_close.empty() ||
          new_close.find_first_of(" \t") != std::string_view::npos) {
        return fail("malformed set-delimiter tag at " + where(text, tag_start));
      }
      open = new_open;
      close = new_close;
      continue;
    }
    if (content.empty()) return fail("empty tag at " + where(text, tag_start));
    if (sigil == '>') {
      return fail("partials are not supported ('" + std::string(content) + "' at " +
                  where(text, tag_start) + ")");
    }
    if (sigil == '/') {
      if (open_sections.empty()) {
        return fail("closing tag '" + std::string(content) + "' at " + where(text, tag_start) +
                    " has no open section");
      }
      const OpenSection& section = open_sections.back();
      if (section.name != content) {
        return fail("section '" + section.name + "' (opened at " + where(text, section.offset) +
                    ") closed by '" + std::string(content) + "' at " + where(text, tag_start));
      }
      nodes[section.index].end = static_cast<std::uint32_t>(nodes.size());
      open_sections.pop_back();
      scope_stack.pop_back();
      can_merge_text = false;
      continue;
    }

    Node node;
    node.op = sigil == '#'   ? Op::kSection
              : sigil == '^' ? Op::kInverted
              : sigil == '&' ? Op::kRawVariable
                             : Op::kVariable;
    node.text = content;
    if (content != ".") {
      std::size_t start = 0;
      while (true) {
        const std::size_t dot = content.find('.', start);
        const std::string_view segment = content.substr(start, dot - start);
        if (segment.empty()) {
          return fail("invalid name '" + std::string(content) + "' at " + where(text, tag_start));
        }
        node.path.emplace_back(segment);
        if (dot == std::string_view::npos) break;
        start = dot + 1;
      }
    }
    const std::uint32_t scope = scope_stack.back();
    if (!node.path.empty()) {
      // A hash index per scope: a linear search made a template of many distinct names
      // quadratic to compile.
      Scope& names = tmpl.scopes_[scope];
      if (scope_index.size() <= scope) scope_index.resize(scope + 1);
      const auto [known, added] = scope_index[scope].try_emplace(
          node.path.front(), static_cast<std::int32_t>(names.size()));
      node.slot = known->second;
      if (added) names.push_back(node.path.front());
    }
    if (node.op == Op::kSection || node.op == Op::kInverted) {
      if (open_sections.size() >= kMaxSectionDepth) {
        return fail("sections nested deeper than " + std::to_string(kMaxSectionDepth) +
                    " levels (the limit) at " + where(text, tag_start));
      }
      open_sections.push_back(
          {static_cast<std::uint32_t>(nodes.size()), std::string(content), tag_start});
      if (node.op == Op::kSection) {
        node.scope = static_cast<std::uint32_t>(tmpl.scopes_.size());
        tmpl.scopes_.emplace_back();
      } else {
        node.scope = scope;
      }
      scope_stack.push_back(node.scope);
    }
    nodes.push_back(std::move(node));
    node_scope.push_back(scope);
    can_merge_text = false;
  }
  add_text(cursor, text.size());

  if (!open_sections.empty()) {
    const OpenSection& section = open_sections.back();
    return fail("unclosed section '" + section.name + "' (opened at " +
                where(text, section.offset) + ")");
  }

  // Sort each scope's names as JSON objects order their keys, and renumber the slots.
  for (std::uint32_t s = 0; s < tmpl.scopes_.size(); ++s) {
    Scope& names = tmpl.scopes_[s];
    std::vector<std::uint32_t> order(names.size());
    for (std::uint32_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(),
              [&](std::uint32_t a, std::uint32_t b) { return names[a] < names[b]; });
    std::vector<std::int32_t> rank(names.size());
    Scope sorted;
    sorted.reserve(names.size());
    for (std::uint32_t r = 0; r < order.size(); ++r) {
      rank[order[r]] = static_cast<std::int32_t>(r);
      sorted.push_back(std::move(names[order[r]]));
    }
    names = std::move(sorted);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (node_scope[i] == s && nodes[i].slot >= 0) nodes[i].slot = rank[nodes[i].slot];
    }
  }
  return tmpl;
}

/// A context on the stack: its value, the members the scope's names resolved to, and the
/// context around it.
struct RenderFrame {
  const json* value;
  const json* const* slots;
  const RenderFrame* parent;
};

namespace {

/// Room for the slots of a scope: on the stack for the usual handful of names.
class SlotBuffer {
 public:
  explicit SlotBuffer(std::size_t size) {
    if (size > kInline) heap_.resize(size);
  }
  const json** data() { return heap_.empty() ? inline_ : heap_.data(); }

 private:
  static constexpr std::size_t kInline = 24;
  const json* inline_[kInline];
  std::vector<const json*> heap_;
};

}  // namespace

void MustacheTemplate::render(const json& data, bool html_escape, std::string& out) const {
  OutputWriter writer(out);
  SlotBuffer slots(scopes_[0].size());
  resolve(data, scopes_[0], slots.data());
  const RenderFrame root{&data, slots.data(), nullptr};
  render_range(0, static_cast<std::uint32_t>(nodes_.size()), root, html_escape, writer);
}

RenderEnd MustacheTemplate::render(const json& data, bool html_escape, std::string& out,
                                   const RenderLimits& limits) const {
  try {
    OutputWriter writer(out, &limits);
    SlotBuffer slots(scopes_[0].size());
    resolve(data, scopes_[0], slots.data());
    const RenderFrame root{&data, slots.data(), nullptr};
    render_range(0, static_cast<std::uint32_t>(nodes_.size()), root, html_escape, writer);
  } catch (const RenderStopped& stopped) {
    return stopped.end;
  }
  return RenderEnd::kDone;
}

namespace {

/// The value `path` names, seen from `top`: path[0] is searched from the innermost context
/// outwards (the innermost one's answer is in its slots), the rest inside what was found.
inline const json* lookup(const std::vector<std::string>& path, std::int32_t slot,
                          const RenderFrame& top) {
  if (path.empty()) return top.value;
  const json* found = top.slots[slot];
  for (const auto* frame = top.parent; found == nullptr && frame != nullptr;
       frame = frame->parent) {
    if (frame->value->is_object()) found = member(*frame->value, path.front());
  }
  for (std::size_t i = 1; found != nullptr && i < path.size(); ++i) {
    found = found->is_object() ? member(*found, path[i]) : nullptr;
  }
  return found;
}

}  // namespace

void MustacheTemplate::render_section(const Node& node, std::uint32_t body, const json& value,
                                      const RenderFrame& top, bool html_escape,
                                      OutputWriter& out) const {
  const Scope& names = scopes_[node.scope];
  SlotBuffer slots(names.size());
  if (value.is_array()) {
    for (const json& item : value.get_ref<const json::array_t&>()) {
      out.tick();
      resolve(item, names, slots.data());
      const RenderFrame frame{&item, slots.data(), &top};
      render_range(body, node.end, frame, html_escape, out);
    }
  } else {
    resolve(value, names, slots.data());
    const RenderFrame frame{&value, slots.data(), &top};
    render_range(body, node.end, frame, html_escape, out);
  }
}

void MustacheTemplate::render_range(std::uint32_t begin, std::uint32_t end, const RenderFrame& top,
                                    bool html_escape, OutputWriter& out) const {
  for (std::uint32_t i = begin; i < end;) {
    out.tick();
    const Node& node = nodes_[i];
    switch (node.op) {
      case Op::kText:
        out.append(node.text.data(), node.text.size());
        ++i;
        break;
      case Op::kVariable:
      case Op::kRawVariable:
        if (const json* value = lookup(node.path, node.slot, top)) {
          append_value(*value, html_escape && node.op == Op::kVariable, out);
        }
        ++i;
        break;
      case Op::kSection: {
        const json* value = lookup(node.path, node.slot, top);
        if (truthy(value)) render_section(node, i + 1, *value, top, html_escape, out);
        i = node.end;
        break;
      }
      case Op::kInverted:
        if (!truthy(lookup(node.path, node.slot, top))) {
          render_range(i + 1, node.end, top, html_escape, out);
        }
        i = node.end;
        break;
    }
  }
}

}  // namespace gen::text

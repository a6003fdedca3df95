#include "mustache.hpp"

#include <charconv>
#include <cmath>

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

template <typename Number>
void append_number(Number n, std::string& out) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, n);
  if (ec == std::errc{}) out.append(buffer, end);
}

/// Shortest round-trip text of `d`, in plain decimal notation for the values documents hold.
/// Fast path: the fewest fraction digits p <= 6 with n / 10^p == d (exact: n and 10^p are exact
/// doubles and IEEE division rounds correctly, as parsing would), which is ~5x cheaper than
/// std::to_chars' general algorithm on prices and quantities. Integral values print without
/// ".0". Everything else goes to std::to_chars.
void append_double(double d, std::string& out) {
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
      if (std::signbit(d) && d != 0) out += '-';
      append_number(magnitude / static_cast<unsigned long long>(kPow10Int[p]), out);
      if (p > 0) {
        char fraction[8];
        unsigned long long rest = magnitude % static_cast<unsigned long long>(kPow10Int[p]);
        for (int i = p - 1; i >= 0; --i) {
          fraction[i] = static_cast<char>('0' + rest % 10);
          rest /= 10;
        }
        out += '.';
        out.append(fraction, static_cast<std::size_t>(p));
      }
      return;
    }
  }
  append_number(d, out);
}

void append_escaped(std::string_view s, std::string& out) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char* entity = nullptr;
    switch (s[i]) {
      case '&':
        entity = "&amp;";
        break;
      case '<':
        entity = "&lt;";
        break;
      case '>':
        entity = "&gt;";
        break;
      case '"':
        entity = "&quot;";
        break;
      case '\'':
        entity = "&#39;";
        break;
      default:
        continue;
    }
    out.append(s.data() + start, i - start);
    out.append(entity);
    start = i + 1;
  }
  out.append(s.data() + start, s.size() - start);
}

void append_value(const json& value, bool escape, std::string& out) {
  switch (value.type()) {
    case json::value_t::string: {
      const auto& s = value.get_ref<const std::string&>();
      if (escape) {
        append_escaped(s, out);
      } else {
        out += s;
      }
      return;
    }
    case json::value_t::number_integer:
      append_number(value.get<std::int64_t>(), out);
      return;
    case json::value_t::number_unsigned:
      append_number(value.get<std::uint64_t>(), out);
      return;
    case json::value_t::number_float:
      append_double(value.get<double>(), out);
      return;
    case json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case json::value_t::object:
    case json::value_t::array:
      if (escape) {
        append_escaped(value.dump(), out);
      } else {
        out += value.dump();
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

/// A name to look up in a JSON object's std::map with an inline comparison: names are short,
/// and a memcmp call per tree level was the renderer's largest cost. Orders exactly as
/// std::string does (bytes as unsigned char, then length), as the map's std::less<> needs.
struct Name {
  std::string_view text;
};
int compare(std::string_view a, std::string_view b) {
  const std::size_t n = a.size() < b.size() ? a.size() : b.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) {
      return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]) ? -1 : 1;
    }
  }
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}
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

const json* lookup(const std::vector<std::string>& path, const std::vector<const json*>& stack) {
  if (path.empty()) return stack.back();
  const json* found = nullptr;
  for (auto it = stack.rbegin(); it != stack.rend() && found == nullptr; ++it) {
    if ((*it)->is_object()) found = member(**it, path.front());
  }
  for (std::size_t i = 1; found != nullptr && i < path.size(); ++i) {
    found = found->is_object() ? member(*found, path[i]) : nullptr;
  }
  return found;
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
  std::string open = "{{", close = "}}";
  bool can_merge_text = false;  // false after any node that text must not be merged into
  auto add_text = [&](std::size_t begin, std::size_t end) {
    if (end <= begin) return;
    if (can_merge_text) {
      nodes.back().text.append(text.substr(begin, end - begin));
    } else {
      nodes.push_back({Op::kText, std::string(text.substr(begin, end - begin)), {}, 0});
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
    if (node.op == Op::kSection || node.op == Op::kInverted) {
      open_sections.push_back(
          {static_cast<std::uint32_t>(nodes.size()), std::string(content), tag_start});
    }
    nodes.push_back(std::move(node));
    can_merge_text = false;
  }
  add_text(cursor, text.size());

  if (!open_sections.empty()) {
    const OpenSection& section = open_sections.back();
    return fail("unclosed section '" + section.name + "' (opened at " +
                where(text, section.offset) + ")");
  }
  return tmpl;
}

void MustacheTemplate::render(const json& data, bool html_escape, std::string& out) const {
  std::vector<const json*> stack;
  stack.reserve(16);
  stack.push_back(&data);
  render_range(0, static_cast<std::uint32_t>(nodes_.size()), stack, html_escape, out);
}

void MustacheTemplate::render_range(std::uint32_t begin, std::uint32_t end,
                                    std::vector<const json*>& stack, bool html_escape,
                                    std::string& out) const {
  for (std::uint32_t i = begin; i < end;) {
    const Node& node = nodes_[i];
    switch (node.op) {
      case Op::kText:
        out += node.text;
        ++i;
        break;
      case Op::kVariable:
      case Op::kRawVariable:
        if (const json* value = lookup(node.path, stack)) {
          append_value(*value, html_escape && node.op == Op::kVariable, out);
        }
        ++i;
        break;
      case Op::kSection: {
        const json* value = lookup(node.path, stack);
        if (truthy(value)) {
          if (value->is_array()) {
            for (const json& item : *value) {
              stack.push_back(&item);
              render_range(i + 1, node.end, stack, html_escape, out);
              stack.pop_back();
            }
          } else {
            stack.push_back(value);
            render_range(i + 1, node.end, stack, html_escape, out);
            stack.pop_back();
          }
        }
        i = node.end;
        break;
      }
      case Op::kInverted:
        if (!truthy(lookup(node.path, stack))) {
          render_range(i + 1, node.end, stack, html_escape, out);
        }
        i = node.end;
        break;
    }
  }
}

}  // namespace gen::text

// Bounded JSON parsing: the one parser that host and plugins use for JSON from outside.
//
// nlohmann::json::parse builds whatever tree the text describes. Hostile text makes that tree
// a weapon: `[[[[...` a million deep is cheap to send, and every recursive walk of it later
// (dump(), a template renderer, a deep merge) overflows the stack; `[[],[],[],...]` turns 60 MB
// of text into gigabytes of nodes (~100 bytes per empty array against 3 bytes of text); and
// `1e400` or a 100,000-digit integer throws an out_of_range exception that callers rarely
// expect. `parse_json` runs nlohmann's SAX parser with limits checked at every event, *before*
// the value joins the tree, so the tree never grows past `max_values` nodes or `max_depth`
// levels, and every refusal names the JSON path where it happened.
//
//   gen::sdk::JsonParseResult r = gen::sdk::parse_json(input.data);
//   if (!r) return Status::permanent("inputs[" + input.name + "]: " + r.error->describe());
//   const nlohmann::json& data = r.value;
//
// Header-only, no dependency beyond nlohmann_json (which the SDK already exposes).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace gen::sdk {

/// What a parse may build. Defaults suit request bodies and input artifacts: base64 strings
/// of tens of MB pass (a string is one value however long it is); what is limited is the
/// number of nodes, where memory explodes.
struct JsonLimits {
  /// Most nested arrays/objects: `[[1]]` has depth 2; a scalar at the top has depth 0.
  std::size_t max_depth = 128;
  /// Most values in all (every object, array, string, number, boolean and null counts one;
  /// object keys do not). 1,000,000 values are at most ~100 MB of tree.
  std::size_t max_values = 1'000'000;
};

/// Why a text was refused. Zero is not a valid kind.
struct JsonError {
  enum class Kind : int {
    kSyntax = 1,            ///< not JSON (includes invalid UTF-8 in a string)
    kTooDeep = 2,           ///< nesting beyond JsonLimits::max_depth
    kTooManyValues = 3,     ///< more than JsonLimits::max_values values
    kNumberOutOfRange = 4,  ///< a float beyond double's range, or an integer beyond 64 bits
  };
  Kind kind = Kind::kSyntax;
  /// The JSON path of the offending value, relative to the parsed text: `steps[0].params.data`,
  /// `[3]`, `a.b[2]`; empty for the top-level value. Object keys are written as they are.
  std::string field;
  /// What is wrong, without the field ("nests deeper than 128 levels"); printable ASCII only
  /// (bytes of the input outside it are written \xNN), at most a few hundred bytes.
  std::string message;
  /// Bytes of the text read when the parse stopped.
  std::size_t byte_offset = 0;

  /// `field` prefixed with `prefix` ("steps[0]" + "a[1]" -> "steps[0].a[1]", "x" + "[1]" ->
  /// "x[1]"); either may be empty.
  std::string field_under(std::string_view prefix) const {
    std::string out(prefix);
    if (!out.empty() && !field.empty() && field.front() != '[') out += '.';
    out += field;
    return out;
  }
  /// "<field>: <message>", or the message alone for the top-level value.
  std::string describe(std::string_view prefix = {}) const {
    std::string where = field_under(prefix);
    return where.empty() ? message : where + ": " + message;
  }
};

/// The parsed value, or why there is none.
struct JsonParseResult {
  nlohmann::json value;            ///< null when `error` is set
  std::optional<JsonError> error;  ///< set when the text was refused
  explicit operator bool() const { return !error.has_value(); }
};

namespace detail {

/// Printable ASCII for error messages: other bytes as \xNN (the input may hold invalid
/// UTF-8, which must not reach a JSON error body), cut to about `max_bytes`.
inline std::string printable(std::string_view text, std::size_t max_bytes = 200) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char ch : text) {
    if (out.size() >= max_bytes) {
      out += "...";
      break;
    }
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

/// nlohmann's SAX events -> a DOM, with the limits checked at every event. Hand-written
/// rather than wrapping nlohmann::detail::json_sax_dom_parser: that class is not public API,
/// and the path of the current value (for errors) needs the same stack anyway. It mirrors
/// the library's builder: a duplicate key keeps the last value, as json::parse does.
class BoundedDomBuilder {
 public:
  using json = nlohmann::json;

  BoundedDomBuilder(json& root, const JsonLimits& limits) : root_(root), limits_(limits) {}

  bool null() { return put(nullptr); }
  bool boolean(bool v) { return put(v); }
  bool number_integer(json::number_integer_t v) { return put(v); }
  bool number_unsigned(json::number_unsigned_t v) { return put(v); }
  bool number_float(json::number_float_t v, const json::string_t& token) {
    // An integer too large for 64 bits reaches here as a (rounded) double: refuse it rather
    // than silently change the number.
    if (token.find_first_of(".eE") == json::string_t::npos) {
      return fail(
          JsonError::Kind::kNumberOutOfRange,
          "integer " + printable(token, 40) + " is out of range (integers must fit in 64 bits)");
    }
    return put(v);
  }
  bool string(json::string_t& v) { return put(std::move(v)); }  // the lexer's buffer is reset
  bool binary(json::binary_t& v) { return put(std::move(v)); }

  bool start_object(std::size_t /*size*/) { return open(json::value_t::object); }
  bool key(json::string_t& k) {
    Frame& f = frames_.back();
    f.key = k;
    f.slot = &f.container->operator[](k);
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t /*size*/) { return open(json::value_t::array); }
  bool end_array() { return close(); }

  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::json::exception& ex) {
    if (error_) return false;  // a limit already stopped the parse
    if (ex.id == 406) {        // out_of_range: "number overflow parsing '...'"
      fail(JsonError::Kind::kNumberOutOfRange,
           "number " + printable(last_token, 40) + " is out of range (beyond a 64-bit float)");
    } else {
      std::string what = ex.what();
      // "[json.exception.parse_error.101] parse error at line 1, column 3: ...; last read: '..'"
      if (auto bracket = what.find("] ");
          what.starts_with("[json.exception") && bracket != std::string::npos) {
        what.erase(0, bracket + 2);
      }
      // The token read last can be a whole (unterminated) string: keep only its end.
      if (auto last = what.find("; last read: '"); last != std::string::npos) {
        std::string_view token(last_token);
        if (token.size() > 40) token = token.substr(token.size() - 40);
        what = what.substr(0, last) + "; last read: '" +
               (token.size() < last_token.size() ? "..." : "") + std::string(token) + "'";
      }
      fail(JsonError::Kind::kSyntax, printable(what, 300));
    }
    error_->byte_offset = position;
    return false;
  }

  std::optional<JsonError>& error() { return error_; }

 private:
  struct Frame {
    json* container;
    json* slot = nullptr;  // an object's member awaiting (or holding the open) value
    std::string key;       // an object's current key
  };

  // Where the next value goes; counts it against max_values.
  json* place() {
    if (++values_ > limits_.max_values) {
      fail(JsonError::Kind::kTooManyValues,
           "more than " + std::to_string(limits_.max_values) +
               " values in the document (LIMITS__MAX_JSON_VALUES)");
      return nullptr;
    }
    if (frames_.empty()) return &root_;
    Frame& f = frames_.back();
    if (f.container->is_object()) return f.slot;
    auto& array = f.container->get_ref<json::array_t&>();
    array.emplace_back();
    return &array.back();
  }

  template <typename Value>
  bool put(Value&& v) {
    json* slot = place();
    if (slot == nullptr) return false;
    *slot = json(std::forward<Value>(v));
    done();
    return true;
  }

  // The value just placed is complete: an object awaits its next key.
  void done() {
    if (!frames_.empty() && frames_.back().container->is_object()) frames_.back().slot = nullptr;
  }

  bool open(json::value_t type) {
    if (frames_.size() >= limits_.max_depth) {
      fail(JsonError::Kind::kTooDeep, "nests deeper than " + std::to_string(limits_.max_depth) +
                                          " levels (LIMITS__MAX_JSON_DEPTH)");
      return false;
    }
    json* slot = place();
    if (slot == nullptr) return false;
    *slot = json(type);
    // Stable: a container's children are not touched until it is closed again.
    frames_.push_back(Frame{slot});
    return true;
  }

  bool close() {
    frames_.pop_back();
    done();
    return true;
  }

  // The path of the value being read: the open containers' keys and indexes.
  std::string path() const {
    std::string out;
    for (const Frame& f : frames_) {
      if (f.container->is_object()) {
        if (f.slot == nullptr) break;  // no key read yet: the object itself
        if (!out.empty()) out += '.';
        out += printable(f.key, 100);
      } else {
        const auto& array = f.container->get_ref<const json::array_t&>();
        // The last element is the open child (or the value in progress); an index past the
        // end is where the next value would go.
        std::size_t index = array.size();
        if (&f != &frames_.back() && index > 0) --index;
        out += '[' + std::to_string(index) + ']';
      }
    }
    return out;
  }

  bool fail(JsonError::Kind kind, std::string message) {
    if (!error_) error_ = JsonError{kind, path(), std::move(message), 0};
    return false;
  }

  json& root_;
  JsonLimits limits_;
  std::vector<Frame> frames_;
  std::size_t values_ = 0;
  std::optional<JsonError> error_;
};

}  // namespace detail

/// Parses `text` (RFC 8259, UTF-8, no comments, no trailing content) within `limits`.
/// Never throws for bad input (only std::bad_alloc can escape); the work and memory done are
/// bounded by `limits` and the text's size.
inline JsonParseResult parse_json(std::string_view text, const JsonLimits& limits = {}) {
  JsonParseResult result;
  detail::BoundedDomBuilder builder(result.value, limits);
  bool ok = nlohmann::json::sax_parse(text.begin(), text.end(), &builder,
                                      nlohmann::json::input_format_t::json, /*strict=*/true,
                                      /*ignore_comments=*/false);
  if (!ok || builder.error()) {
    result.error = builder.error();
    if (!result.error) result.error = JsonError{JsonError::Kind::kSyntax, {}, "not valid JSON", 0};
    // Freed iteratively by nlohmann (no recursion), and bounded by the limits anyway.
    result.value = nullptr;
  }
  return result;
}

}  // namespace gen::sdk

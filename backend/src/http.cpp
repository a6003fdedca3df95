#include "gen/backend/http.hpp"

#include <Poco/URI.h>

#include "gen/core/base/problem.hpp"
#include "gen/core/base/text.hpp"

namespace gen::backend {

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const {
  return iless(a, b);
}

std::optional<std::string> Request::header(std::string_view name) const {
  auto it = headers.find(std::string(name));
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

std::string Request::media_type() const {
  auto value = header("Content-Type");
  if (!value) return {};
  std::string type = value->substr(0, value->find(';'));
  auto begin = type.find_first_not_of(" \t");
  auto end = type.find_last_not_of(" \t");
  if (begin == std::string::npos) return {};
  return ascii_lower(type.substr(begin, end - begin + 1));
}

Response problem(const Error& error) {
  Problem p = problem_for(error);
  Response r;
  r.status = p.status;
  r.content_type = kProblemContentType;
  r.body = std::move(p.body);
  return r;
}

std::string percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      int hi = hex_digit_value(in[i + 1]);
      int lo = hex_digit_value(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_is_space && c == '+') ? ' ' : c;
  }
  return out;
}

std::string percent_encode(std::string_view in) {
  // Everything but RFC 3986's unreserved characters (letters, digits, - . _ ~) is encoded.
  std::string out;
  Poco::URI::encode(std::string(in), "!#$&'()*+,/:;=?@[]", out);
  return out;
}

std::vector<std::string> split_path(std::string_view raw_path) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start <= raw_path.size()) {
    auto slash = raw_path.find('/', start);
    if (slash == std::string_view::npos) slash = raw_path.size();
    if (slash > start)
      segments.push_back(percent_decode(raw_path.substr(start, slash - start), false));
    start = slash + 1;
  }
  return segments;
}

std::map<std::string, std::string> parse_query(std::string_view raw_query) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start <= raw_query.size()) {
    auto amp = raw_query.find('&', start);
    if (amp == std::string_view::npos) amp = raw_query.size();
    std::string_view pair = raw_query.substr(start, amp - start);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      std::string key = percent_decode(pair.substr(0, eq), true);
      std::string value =
          eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true);
      out[key] = value;
    }
    start = amp + 1;
  }
  return out;
}

}  // namespace gen::backend

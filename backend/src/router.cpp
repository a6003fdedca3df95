#include "gen/backend/router.hpp"

#include <stdexcept>

namespace gen::backend {

void Router::add(Route route) {
  if (route.is_public && route.scope) {
    throw std::invalid_argument("route " + route.method + " " + route.pattern +
                                " is public and names a scope");
  }
  std::vector<std::string> segments = split_path(route.pattern);
  entries_.push_back(Entry{std::move(route), std::move(segments)});
}

bool Router::matches(const Entry& entry, const std::vector<std::string>& path, PathParams& out) {
  if (entry.segments.size() != path.size()) return false;
  PathParams captured;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const std::string& seg = entry.segments[i];
    if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
      captured[seg.substr(1, seg.size() - 2)] = path[i];
    } else if (seg != path[i]) {
      return false;
    }
  }
  out = std::move(captured);
  return true;
}

Router::Match Router::match(const std::string& method, const std::vector<std::string>& path) const {
  Match result;
  for (const Entry& entry : entries_) {
    PathParams params;
    if (!matches(entry, path, params)) continue;
    const Route& route = entry.route;
    if (route.method == method || (method == "HEAD" && route.method == "GET")) {
      result.route = &route;
      result.params = std::move(params);
      result.pattern = route.pattern;
      result.allowed.clear();
      return result;
    }
    if (result.allowed.find(route.method) == std::string::npos) {
      if (!result.allowed.empty()) result.allowed += ", ";
      result.allowed += route.method;
    }
    if (result.pattern.empty()) result.pattern = route.pattern;
  }
  return result;
}

std::vector<RouteInfo> Router::routes() const {
  std::vector<RouteInfo> out;
  out.reserve(entries_.size());
  for (const Entry& entry : entries_) out.push_back(entry.route);
  return out;
}

}  // namespace gen::backend

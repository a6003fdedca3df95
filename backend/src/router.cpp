#include "gen/backend/router.hpp"

namespace gen::backend {

void Router::add(std::string method, std::string_view pattern, Handler handler) {
  routes_.push_back(
      Route{std::move(method), std::string(pattern), split_path(pattern), std::move(handler)});
}

bool Router::matches(const Route& route, const std::vector<std::string>& path, PathParams& out) {
  if (route.segments.size() != path.size()) return false;
  PathParams captured;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const std::string& seg = route.segments[i];
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
  for (const Route& route : routes_) {
    PathParams params;
    if (!matches(route, path, params)) continue;
    if (route.method == method || (method == "HEAD" && route.method == "GET")) {
      result.handler = &route.handler;
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

}  // namespace gen::backend

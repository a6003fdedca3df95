// Routing is an ordered list of (method, path pattern) -> handler, tried in order (the
// ClickHouse way). A pattern is a path whose `{name}` segments capture one decoded segment.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gen/backend/http.hpp"

namespace gen::backend {

/// Captured `{name}` segments of the matched pattern.
using PathParams = std::map<std::string, std::string>;
using Handler = std::function<Response(const Request&, const PathParams&)>;

class Router {
 public:
  /// Appends a route. `pattern` like "/api/v1/jobs/{id}/artifacts/{name}".
  void add(std::string method, std::string_view pattern, Handler handler);

  struct Match {
    const Handler* handler = nullptr;  ///< null: no route for this method
    PathParams params;
    std::string pattern;  ///< the matched route's pattern, for logs and metrics labels
    /// When no route matched the method but some matched the path: their methods, in
    /// route order ("GET, DELETE"); empty means the path itself is unknown (404).
    std::string allowed;
  };
  Match match(const std::string& method, const std::vector<std::string>& path) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;  ///< "{id}" captures
    Handler handler;
  };
  static bool matches(const Route& route, const std::vector<std::string>& path, PathParams& out);
  std::vector<Route> routes_;
};

}  // namespace gen::backend

// The API's one dispatch table: an ordered list of routes, each registered once with its
// method, path pattern, required scope and handler, tried in order (the ClickHouse way). A
// pattern is a path whose `{name}` segments capture one decoded segment. The router only
// matches; Api::handle() authenticates, checks the route's scope and calls its handler.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gen/backend/http.hpp"
#include "gen/core/tenancy/scopes.hpp"

namespace gen::backend {

struct Caller;  // api.hpp: who is calling, once authenticated

/// Captured `{name}` segments of the matched pattern.
using PathParams = std::map<std::string, std::string>;

/// What a handler gets. All three outlive the call.
struct Call {
  const Request& request;
  const PathParams& params;
  const Caller& caller;
};
using Handler = std::function<Response(const Call&)>;

/// One route of the API, as the OpenAPI check and docs see it.
struct RouteInfo {
  std::string method;
  std::string pattern;
  /// The scope the caller's credential must hold; nullopt: any credential will do (or none,
  /// when is_public). An enum, so a misspelt scope does not compile.
  std::optional<Scope> scope;
  /// No credential needed (login, /health, /ready, /metrics). A public route has no scope.
  bool is_public = false;
};

struct Route : RouteInfo {
  Handler handler;
};

class Router {
 public:
  /// Appends a route: `pattern` like "/api/v1/jobs/{id}/artifacts/{name}". Throws
  /// std::invalid_argument for a public route with a scope (which of the two would hold?).
  void add(Route route);

  struct Match {
    /// The route for this method and path (a GET route also answers HEAD); null when none.
    /// Points into the router, valid while no route is added.
    const Route* route = nullptr;
    PathParams params;
    /// The matched route's pattern, for logs and metrics labels; on a wrong method, the
    /// first route whose path matched; empty when no path matched.
    std::string pattern;
    /// When no route matched the method but some matched the path: their methods, in
    /// route order ("GET, DELETE"); empty means the path itself is unknown (404).
    std::string allowed;
  };
  Match match(const std::string& method, const std::vector<std::string>& path) const;

  /// Every route, in matching order.
  std::vector<RouteInfo> routes() const;

 private:
  struct Entry {
    Route route;
    std::vector<std::string> segments;  ///< "{id}" captures
  };
  static bool matches(const Entry& entry, const std::vector<std::string>& path, PathParams& out);
  std::vector<Entry> entries_;
};

}  // namespace gen::backend

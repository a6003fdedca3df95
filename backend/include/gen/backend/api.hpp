// The REST API v1: the routes of docs/api.md over gen::JobStore and gen::PluginHost.
// `Api::handle()` never throws: every failure becomes an application/problem+json response
// built by `problem()` from a gen::Error.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "gen/backend/http.hpp"
#include "gen/backend/router.hpp"
#include "gen/core/errors.hpp"

namespace gen {
class JobStore;
class PluginHost;
}  // namespace gen

namespace gen::backend {

/// THE function that turns an error into an HTTP response: status from gen::http_status(),
/// body {"type","title","status","code","detail","field"?} as application/problem+json.
Response problem(const Error& error);

struct ApiOptions {
  std::int64_t max_request_bytes = 64ll * 1024 * 1024;
  /// Serves GET /metrics (refused when the request came through a proxy: X-Forwarded-*).
  bool enable_metrics = true;
  /// Renders the Prometheus text for GET /metrics; unset: the route answers 404.
  std::function<std::string()> metrics_text;
};

class Api {
 public:
  Api(JobStore& jobs, const PluginHost& plugins, ApiOptions options);

  /// Routes and runs the handler. Maps gen::Error through problem(), database trouble to
  /// 503 DATABASE_UNAVAILABLE and anything else to 500 INTERNAL_ERROR (logged).
  Response handle(const Request& request) const;

  const ApiOptions& options() const { return options_; }

  /// The route pattern a request matched ("/api/v1/jobs/{id}"), for metrics labels;
  /// "unmatched" when none did.
  std::string route_of(const Request& request) const;

 private:
  Response submit_job(const Request& request) const;
  Response get_job(const std::string& id) const;
  Response list_jobs(const Request& request) const;
  Response cancel_job(const std::string& id) const;
  Response delete_job(const std::string& id) const;
  Response list_artifacts(const Request& request, const std::string& id) const;
  Response download_artifact(const std::string& id, const std::string& name) const;
  Response list_generators() const;
  Response list_plugins() const;
  Response metrics(const Request& request) const;

  JobStore& jobs_;
  const PluginHost& plugins_;
  ApiOptions options_;
  Router router_;
};

}  // namespace gen::backend

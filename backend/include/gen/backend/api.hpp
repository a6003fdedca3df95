// The REST API v1: the routes of docs/api.md over gen::JobStore, gen::PluginHost and the
// credential, tenant and settings stores. `Api::handle()` never throws: every failure becomes
// an application/problem+json response built by `problem()` from a gen::Error.
//
// Every /api route needs a credential (an API key or an access token as a Bearer token),
// except POST /api/v1/login/access_token, which issues tokens. Each route requires one scope;
// routes about jobs, settings and plugins act within the tenant named by the `tenant-id`
// header (none: the system scope), and a tenant's resources are invisible from any other
// tenant (404, never 403).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gen/sdk/json.hpp>
#include "gen/backend/http.hpp"
#include "gen/backend/router.hpp"
#include "gen/core/base/errors.hpp"
#include "gen/core/queue/job_store.hpp"
#include "gen/core/tenancy/auth.hpp"

namespace gen {
class ConfigStore;
class CredentialStore;
class Database;
class JobStore;
class PluginHost;
class TenantStore;
class WebhookStore;
class AddressPolicy;
namespace content {
class Library;
}
}  // namespace gen

namespace gen::backend {
class LoginThrottle;
class RateLimiter;
class ReadCache;
struct FormPart;
}  // namespace gen::backend

namespace gen::backend {

struct ApiOptions {
  std::int64_t max_request_bytes = 64ll * 1024 * 1024;
  /// LIMITS__MAX_JSON_DEPTH / LIMITS__MAX_JSON_VALUES: every JSON body is parsed within them.
  sdk::JsonLimits json_limits;
  /// Serves GET /metrics (refused when the request came through a proxy: X-Forwarded-*).
  bool enable_metrics = true;
  /// Renders the Prometheus text for GET /metrics; unset: the route answers 404.
  std::function<std::string()> metrics_text;
  /// Told how long each content search took (seconds); unset: not measured.
  std::function<void(double)> observe_search;
  /// Runs the readiness checks for GET /ready (200, or 503 with per-check detail); unset:
  /// no /ready route. (Monitoring, issue 6.)
  std::function<Response()> readiness;
  /// false only for in-process tests of request handling: every caller acts as root.
  bool require_auth = true;
  /// HS256 key for access tokens; empty: the one stored in the database (made on first use).
  std::string token_secret;
  std::int64_t token_ttl_s = 3600;
  /// Longest `?wait=` on POST /api/v1/jobs, in seconds.
  int max_wait_s = 60;
  /// Defaults of the runtime settings (GET /api/v1/config), usually from the environment.
  std::map<std::string, std::string> config_environment;
  /// WEBHOOKS__ALLOW_HOSTS: internal hosts and CIDR blocks webhook URLs may point at.
  std::string webhook_allow_hosts;
};

/// Who is calling, once authenticated.
struct Caller {
  Credential credential;
  std::string tenant;  ///< from the tenant-id header; "" = the system scope
};

class Api {
 public:
  /// `db` must be migrated. Throws gen::Error when the token secret cannot be read or made.
  Api(Database& db, JobStore& jobs, const PluginHost& plugins, ApiOptions options);
  ~Api();

  /// Routes, authenticates, authorizes and runs the handler. Maps gen::Error through
  /// problem(), database trouble to 503 DATABASE_UNAVAILABLE and anything else to 500.
  Response handle(const Request& request) const;

  const ApiOptions& options() const { return options_; }

  /// Whether the handler reads this request's body from Request::body_stream (multipart job
  /// submissions, streamed to storage) instead of Request::body; it then enforces the size
  /// limit itself, per tenant, while reading.
  bool streams_body(const Request& request) const;

  /// The route pattern a request matched ("/api/v1/jobs/{id}"), for metrics labels;
  /// "unmatched" when none did.
  std::string route_of(const Request& request) const;

  /// Every route, in matching order.
  std::vector<RouteInfo> routes() const { return router_.routes(); }

 private:
  // The handlers, one per route of the table in api.cpp, spread over files by area the way
  // qpdf spreads QPDFJob (private helpers they share: api_internal.hpp).

  // api_auth.cpp: authentication, scopes, tokens, credentials
  Caller authenticate(const Request& request) const;
  void authorize(const RouteInfo& route, const Caller& caller) const;
  Response login(const Call& call) const;
  Response create_credential(const Call& call) const;
  Response list_credentials(const Call& call) const;
  Response get_credential(const Call& call) const;
  Response update_credential(const Call& call) const;
  Response delete_credential(const Call& call) const;

  // api_jobs.cpp: submission, reads, cancel, delete
  Response submit_job(const Call& call) const;
  Response submit_bulk(const Call& call) const;
  Response get_job(const Call& call) const;
  Response list_jobs(const Call& call) const;
  Response cancel_job(const Call& call) const;
  Response delete_job(const Call& call) const;
  /// The job when it exists in the caller's tenant; kNotFound otherwise.
  JobView visible_job(const std::string& id, const Caller& caller) const;
  void check_body_size(const Request& request, const Caller& caller) const;
  /// The caller's body limit: LIMITS__MAX_REQUEST_BYTES of its tenant, capped by the
  /// environment's.
  std::int64_t body_limit(const Caller& caller) const;

  // api_artifacts.cpp: artifact lists and downloads, uploaded input files
  Response list_artifacts(const Call& call) const;
  Response download_artifact(const Call& call) const;
  /// Reads a multipart submission (streamed when the adapter gave a stream): the "job" field
  /// and the file parts, whose bytes go to storage in chunks as they arrive.
  nlohmann::json read_form(const Request& request, const Caller& caller,
                           std::vector<FormPart>& files) const;
  /// Appends multipart file parts to the job's inputs, checked like JSON inputs.
  void add_uploaded_inputs(JobSpec& spec, std::vector<FormPart>& files) const;

  // api_tenants.cpp: tenants and runtime settings
  Response create_tenant(const Call& call) const;
  Response list_tenants(const Call& call) const;
  Response get_tenant(const Call& call) const;
  Response update_tenant(const Call& call) const;
  Response delete_tenant(const Call& call) const;
  Response list_config(const Call& call) const;
  Response get_config(const Call& call) const;
  Response put_config(const Call& call) const;
  Response delete_config(const Call& call) const;

  // webhooks_api.cpp
  Response create_webhook(const Call& call) const;
  Response list_webhooks(const Call& call) const;
  Response get_webhook(const Call& call) const;
  Response update_webhook(const Call& call) const;
  Response delete_webhook(const Call& call) const;
  Response list_webhook_deliveries(const Call& call) const;

  // api_content.cpp: the content library (docs/content.md)
  Response submit_content_import(const Call& call) const;
  Response submit_field_job(const Call& call) const;
  Response list_content(const Call& call) const;
  Response get_content(const Call& call) const;
  Response put_content_version(const Call& call) const;
  Response delete_content_version(const Call& call) const;
  Response delete_content(const Call& call) const;
  Response get_content_text(const Call& call) const;
  Response search_content(const Call& call) const;
  /// Appends one meta.generate step per field of a `field_generation` object (with the
  /// tenant's GENERATION__PROVIDER); errors name `prefix` + the field.
  void add_field_steps(nlohmann::json& steps, const nlohmann::json& generation,
                       const std::string& tenant, const std::string& prefix) const;
  /// parse_job() on steps the API built; a step error names `field_for_steps` instead.
  JobSpec content_job(const nlohmann::json& doc, const std::string& field_for_steps) const;
  void observe_search(double seconds) const {
    if (options_.observe_search) options_.observe_search(seconds);
  }

  // api.cpp: plugins, service routes
  Response list_generators(const Call& call) const;
  Response list_plugins(const Call& call) const;
  Response metrics(const Call& call) const;

  Database& db_;
  JobStore& jobs_;
  const PluginHost& plugins_;
  ApiOptions options_;
  std::unique_ptr<CredentialStore> credentials_;
  std::unique_ptr<TenantStore> tenants_;
  std::unique_ptr<ConfigStore> config_;
  std::unique_ptr<TokenSigner> signer_;
  std::unique_ptr<RateLimiter> rate_limiter_;
  std::unique_ptr<LoginThrottle> login_throttle_;
  std::unique_ptr<ReadCache> cache_;  ///< credentials, tenants and finished jobs (read_cache.hpp)
  std::unique_ptr<WebhookStore> webhooks_;
  std::unique_ptr<AddressPolicy> webhook_policy_;
  std::unique_ptr<content::Library> library_;
  Router router_;  ///< every route, once (the table in Api::Api)
};

}  // namespace gen::backend

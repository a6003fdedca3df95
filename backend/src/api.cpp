// The API's request pipeline and its one dispatch table: Api::Api registers every route of
// docs/api.md once, with its method, pattern, scope and handler; Api::handle() matches
// (router.hpp), authenticates and authorizes (api_auth.cpp), applies the rate limit and runs
// the handler, turning every failure into problem+json. The handlers live by area:
// api_auth.cpp, api_jobs.cpp, api_artifacts.cpp, api_tenants.cpp, webhooks_api.cpp.
#include "gen/backend/api.hpp"

#include <algorithm>
#include <exception>

#include <Poco/Data/DataException.h>
#include <nlohmann/json.hpp>

#include "api_internal.hpp"
#include "gen/core/base/clock.hpp"
#include "gen/core/base/log.hpp"
#include "gen/core/content/library.hpp"
#include "gen/core/metrics/metrics.hpp"
#include "gen/core/plugins/plugin_host.hpp"
#include "gen/core/storage/database.hpp"
#include "gen/core/tenancy/config_store.hpp"
#include "gen/core/tenancy/tenants.hpp"
#include "gen/core/webhooks/webhooks.hpp"
#include "job_request.hpp"
#include "openapi.hpp"
#include "rate_limit.hpp"
#include "read_cache.hpp"
#include "views.hpp"

namespace gen::backend {

using nlohmann::json;

Response json_response(int status, const json& body) {
  Response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

Response no_content() {
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

json body_object(const Request& request, const sdk::JsonLimits& limits) {
  if (request.media_type() != "application/json") {
    throw Error(ErrorCode::kUnsupportedMediaType, "Content-Type must be application/json, got '" +
                                                      request.header("Content-Type").value_or("") +
                                                      "'");
  }
  json doc = parse_json_body(request.body, limits);
  if (!doc.is_object())
    throw Error(ErrorCode::kValidationFailed, "request body must be a JSON object");
  return doc;
}

void only_keys(const json& doc, std::initializer_list<std::string_view> known,
               const std::string& prefix) {
  for (const auto& [key, value] : doc.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string allowed;
      for (auto k : known) allowed += (allowed.empty() ? "" : ", ") + std::string(k);
      throw Error(ErrorCode::kValidationFailed,
                  prefix + key + ": unknown field (allowed: " + allowed + ")", prefix + key);
    }
  }
}

bool bool_field(const json& doc, const std::string& name, bool fallback) {
  auto it = doc.find(name);
  if (it == doc.end()) return fallback;
  if (!it->is_boolean()) {
    throw Error(ErrorCode::kValidationFailed, name + ": must be true or false", name);
  }
  return it->get<bool>();
}

Error not_found_job(const std::string& id) {
  return Error(ErrorCode::kNotFound, "no job with id '" + id + "'", "id");
}

Api::Api(Database& db, JobStore& jobs, const PluginHost& plugins, ApiOptions options)
    : db_(db),
      jobs_(jobs),
      plugins_(plugins),
      options_(std::move(options)),
      credentials_(std::make_unique<CredentialStore>(db)),
      tenants_(std::make_unique<TenantStore>(db)),
      config_(std::make_unique<ConfigStore>(db, options_.config_environment)),
      signer_(std::make_unique<TokenSigner>(credentials_->token_secret(options_.token_secret))),
      rate_limiter_(std::make_unique<RateLimiter>([this](const std::string& tenant) {
        try {
          return config_->integer("LIMITS__REQUESTS_PER_S", tenant);
        } catch (const std::exception&) {
          return std::int64_t{0};  // a database hiccup must not block every request
        }
      })),
      login_throttle_(std::make_unique<LoginThrottle>()),
      cache_(std::make_unique<ReadCache>(db)),
      webhooks_(std::make_unique<WebhookStore>(db)),
      webhook_policy_(std::make_unique<AddressPolicy>(options_.webhook_allow_hosts)),
      library_(std::make_unique<content::Library>(db, jobs)) {
  // THE dispatch table: the routes of docs/api.md, tried in order (the order also decides
  // the Allow header of a 405). Each names the scope its caller needs (kNoScope: any
  // credential; kNoScope, kPublic: none) and the member function that answers it.
  auto on = [this](Response (Api::*handler)(const Call&) const) -> Handler {
    return [this, handler](const Call& call) { return (this->*handler)(call); };
  };
  const std::vector<Route> table = {
      {{"POST", "/api/v1/login/access_token", kNoScope, kPublic}, on(&Api::login)},
      // jobs: api_jobs.cpp; artifacts: api_artifacts.cpp
      {{"POST", "/api/v1/jobs", Scope::kWriteJobs}, on(&Api::submit_job)},
      {{"POST", "/api/v1/jobs/bulk", Scope::kWriteJobs}, on(&Api::submit_bulk)},
      // the content library: api_content.cpp
      {{"POST", "/api/v1/jobs/content_import", Scope::kWriteContent},
       on(&Api::submit_content_import)},
      {{"POST", "/api/v1/jobs/field", Scope::kWriteContent}, on(&Api::submit_field_job)},
      {{"GET", "/api/v1/jobs", Scope::kReadJobs}, on(&Api::list_jobs)},
      {{"GET", "/api/v1/jobs/{id}", Scope::kReadJobs}, on(&Api::get_job)},
      {{"DELETE", "/api/v1/jobs/{id}", Scope::kWriteJobs}, on(&Api::delete_job)},
      {{"POST", "/api/v1/jobs/{id}/cancel", Scope::kWriteJobs}, on(&Api::cancel_job)},
      {{"GET", "/api/v1/jobs/{id}/artifacts", Scope::kReadJobs}, on(&Api::list_artifacts)},
      {{"GET", "/api/v1/jobs/{id}/artifacts/{name}", Scope::kReadJobs},
       on(&Api::download_artifact)},
      {{"GET", "/api/v1/content", Scope::kReadContent}, on(&Api::list_content)},
      {{"GET", "/api/v1/content/{content_id}", Scope::kReadContent}, on(&Api::get_content)},
      {{"DELETE", "/api/v1/content/{content_id}", Scope::kWriteContent}, on(&Api::delete_content)},
      {{"PUT", "/api/v1/content/{content_id}/versions/{version}", Scope::kWriteContent},
       on(&Api::put_content_version)},
      {{"DELETE", "/api/v1/content/{content_id}/versions/{version}", Scope::kWriteContent},
       on(&Api::delete_content_version)},
      {{"GET", "/api/v1/content/{content_id}/versions/{version}/text", Scope::kReadContent},
       on(&Api::get_content_text)},
      {{"GET", "/api/v1/search", Scope::kReadContent}, on(&Api::search_content)},
      // plugins and the service routes: api.cpp, below
      {{"GET", "/api/v1/generators", Scope::kReadPlugins}, on(&Api::list_generators)},
      {{"GET", "/api/v1/plugins", Scope::kReadPlugins}, on(&Api::list_plugins)},
      // credentials: api_auth.cpp
      {{"POST", "/api/v1/credentials", Scope::kWriteCredentials}, on(&Api::create_credential)},
      {{"GET", "/api/v1/credentials", Scope::kReadCredentials}, on(&Api::list_credentials)},
      {{"GET", "/api/v1/credentials/{id}", Scope::kReadCredentials}, on(&Api::get_credential)},
      {{"PUT", "/api/v1/credentials/{id}", Scope::kWriteCredentials}, on(&Api::update_credential)},
      {{"DELETE", "/api/v1/credentials/{id}", Scope::kWriteCredentials},
       on(&Api::delete_credential)},
      // tenants and settings: api_tenants.cpp
      {{"POST", "/api/v1/app_management/tenants", Scope::kWriteTenants}, on(&Api::create_tenant)},
      {{"GET", "/api/v1/app_management/tenants", Scope::kReadTenants}, on(&Api::list_tenants)},
      {{"GET", "/api/v1/app_management/tenants/{id}", Scope::kReadTenants}, on(&Api::get_tenant)},
      {{"PUT", "/api/v1/app_management/tenants/{id}", Scope::kWriteTenants},
       on(&Api::update_tenant)},
      {{"DELETE", "/api/v1/app_management/tenants/{id}", Scope::kWriteTenants},
       on(&Api::delete_tenant)},
      {{"GET", "/api/v1/config", Scope::kReadConfig}, on(&Api::list_config)},
      {{"GET", "/api/v1/config/{name}", Scope::kReadConfig}, on(&Api::get_config)},
      {{"PUT", "/api/v1/config/{name}", Scope::kWriteConfig}, on(&Api::put_config)},
      {{"DELETE", "/api/v1/config/{name}", Scope::kWriteConfig}, on(&Api::delete_config)},
      // webhooks: webhooks_api.cpp
      {{"POST", "/api/v1/webhooks", Scope::kWriteWebhooks}, on(&Api::create_webhook)},
      {{"GET", "/api/v1/webhooks", Scope::kReadWebhooks}, on(&Api::list_webhooks)},
      {{"GET", "/api/v1/webhooks/{id}", Scope::kReadWebhooks}, on(&Api::get_webhook)},
      {{"PUT", "/api/v1/webhooks/{id}", Scope::kWriteWebhooks}, on(&Api::update_webhook)},
      {{"DELETE", "/api/v1/webhooks/{id}", Scope::kWriteWebhooks}, on(&Api::delete_webhook)},
      {{"GET", "/api/v1/webhooks/{id}/deliveries", Scope::kReadWebhooks},
       on(&Api::list_webhook_deliveries)},
      // service routes
      {{"GET", "/api/v1/openapi.json", kNoScope},
       [](const Call&) {
         Response r;
         r.body = openapi_document();
         return r;
       }},
      {{"GET", "/health", kNoScope, kPublic},
       [](const Call&) {
         return json_response(200, {{"status", "ok"}});
       }},
  };
  for (const Route& route : table) router_.add(route);
  if (options_.readiness) {  // monitoring (issue 6): database, migrations, plugins
    router_.add({{"GET", "/ready", kNoScope, kPublic},
                 [this](const Call&) { return options_.readiness(); }});
  }
  if (options_.enable_metrics && options_.metrics_text) {
    router_.add({{"GET", "/metrics", kNoScope, kPublic}, on(&Api::metrics)});
  }
}

Api::~Api() = default;

std::string Api::route_of(const Request& request) const {
  auto match = router_.match(request.method, request.path);
  return match.pattern.empty() ? "unmatched" : match.pattern;
}

bool Api::streams_body(const Request& request) const {
  return request.method == "POST" && request.media_type() == "multipart/form-data" &&
         route_of(request) == "/api/v1/jobs";
}

Response Api::handle(const Request& request) const {
  try {
    auto match = router_.match(request.method, request.path);
    const Route* found = match.route;
    bool is_public =
        found ? found->is_public : !(request.path.size() >= 1 && request.path[0] == "api");
    Caller caller;
    if (!is_public) caller = authenticate(request);  // 401 before 404: no route probing
    if (!found) {
      if (!match.allowed.empty()) {
        Response r = problem(Error(ErrorCode::kMethodNotAllowed,
                                   request.method + " is not allowed on " + request.raw_path +
                                       "; allowed: " + match.allowed));
        r.headers["Allow"] = match.allowed;
        return r;
      }
      return problem(Error(ErrorCode::kNotFound, "no route for " + request.method + " " +
                                                     request.raw_path + " (see docs/api.md)"));
    }
    authorize(*found, caller);
    if (!is_public) {
      if (std::int64_t wait_ms = rate_limiter_->acquire(caller.tenant, now_ms())) {
        Response r = problem(Error(
            ErrorCode::kTooManyRequests,
            "more than LIMITS__REQUESTS_PER_S requests per second" +
                (caller.tenant.empty() ? std::string() : " for tenant '" + caller.tenant + "'") +
                "; retry after the Retry-After seconds"));
        r.headers["Retry-After"] = std::to_string((wait_ms + 999) / 1000);
        return r;
      }
    }
    return found->handler(Call{request, match.params, caller});
  } catch (const Error& e) {
    if (http_status(e.code()) >= 500) {
      log::error("request failed", {{"method", request.method},
                                    {"path", request.raw_path},
                                    {"code", std::string(code_name(e.code()))},
                                    {"error", e.what()}});
    }
    Response r = problem(e);
    if (e.code() == ErrorCode::kUnauthorized) r.headers["WWW-Authenticate"] = "Bearer";
    return r;
  } catch (const Poco::Data::DataException& e) {
    log::error(
        "database error",
        {{"method", request.method}, {"path", request.raw_path}, {"error", e.displayText()}});
    return problem(
        Error(ErrorCode::kDatabaseUnavailable, "the database is unavailable or busy; retry later"));
  } catch (const std::exception& e) {
    log::error("unhandled exception",
               {{"method", request.method}, {"path", request.raw_path}, {"error", e.what()}});
    return problem(Error(ErrorCode::kInternal, "internal error; the backend log has the details"));
  } catch (...) {
    log::error("unhandled non-standard exception",
               {{"method", request.method}, {"path", request.raw_path}});
    return problem(Error(ErrorCode::kInternal, "internal error; the backend log has the details"));
  }
}

Response Api::list_generators(const Call&) const {
  json generators = json::array();
  for (const auto& info : plugins_.generators()) generators.push_back(to_json(info));
  return json_response(200, {{"generators", std::move(generators)}});
}

Response Api::list_plugins(const Call&) const {
  json plugins = json::array();
  for (const PluginRecord& p : plugins_.plugins()) plugins.push_back(plugin_json(p));
  return json_response(200, {{"plugins", std::move(plugins)}});
}

Response Api::metrics(const Call& call) const {
  // Never expose metrics through a load balancer: a forwarded request is refused (the
  // headers proxies add; the worker's /metrics has the same rule).
  for (const auto& [name, value] : call.request.headers) {
    if (metrics::is_forwarded_header(name)) {
      throw Error(ErrorCode::kNotFound,
                  "/metrics is not served to forwarded requests (" + name + " is set)");
    }
  }
  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = options_.metrics_text();
  return r;
}

}  // namespace gen::backend

#include "gen/backend/api.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <exception>
#include <filesystem>
#include <sstream>
#include <thread>

#include <Poco/Data/DataException.h>
#include <nlohmann/json.hpp>

#include "gen/core/base/log.hpp"
#include "gen/core/base/media_type.hpp"
#include "gen/core/base/params.hpp"
#include "gen/core/base/text.hpp"
#include "gen/core/plugins/plugin_host.hpp"
#include "gen/core/queue/job_store.hpp"
#include "gen/core/storage/database.hpp"
#include "gen/core/tenancy/config_store.hpp"
#include "gen/core/tenancy/tenants.hpp"
#include "gen/core/webhooks/webhooks.hpp"
#include "job_request.hpp"
#include "multipart.hpp"
#include "openapi.hpp"
#include "range.hpp"
#include "rate_limit.hpp"
#include "read_cache.hpp"
#include "views.hpp"

namespace gen::backend {

using nlohmann::json;

namespace {

Response json_response(int status, const json& body) {
  Response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

// The ASCII fallback for Content-Disposition's filename= (filename*= carries the UTF-8).
std::string quoted_filename(const std::string& name) {
  std::string out;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') out += '\\';
    out += (u < 0x20 || u >= 0x7F) ? '_' : c;
  }
  return out;
}

// Artifacts up to this size are answered from memory; larger ones stream chunk by chunk.
constexpr std::int64_t kInlineDownloadBytes = 1024 * 1024;

// If-None-Match: "*" or a list of entity tags, compared weakly (RFC 9110 13.1.2).
bool none_match(std::string_view header, const std::string& etag) {
  std::size_t pos = 0;
  while (pos <= header.size()) {
    auto comma = header.find(',', pos);
    if (comma == std::string_view::npos) comma = header.size();
    std::string_view tag = header.substr(pos, comma - pos);
    tag.remove_prefix(std::min(tag.find_first_not_of(" \t"), tag.size()));
    tag = tag.substr(0, tag.find_last_not_of(" \t") + 1);
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (!tag.empty() && tag == etag) return true;
    pos = comma + 1;
  }
  return false;
}

Error not_found_job(const std::string& id) {
  return Error(ErrorCode::kNotFound, "no job with id '" + id + "'", "id");
}

constexpr const char* kPublic = "public";
constexpr int kWaitPollMs = 50;

bool is_write(const std::string& scope) {
  return scope.starts_with("WRITE:");
}

// Subjects that exist per tenant; the others (tenants, credentials) are global only.
bool is_tenant_scoped(const std::string& scope) {
  return scope.ends_with(":JOBS") || scope.ends_with(":CONFIG") || scope.ends_with(":PLUGINS") ||
         scope.ends_with(":WEBHOOKS");
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

void only_keys(const json& doc, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : doc.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string allowed;
      for (auto k : known) allowed += (allowed.empty() ? "" : ", ") + std::string(k);
      throw Error(ErrorCode::kValidationFailed, key + ": unknown field (allowed: " + allowed + ")",
                  key);
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

std::vector<std::string> scope_list(const json& value, const std::string& field) {
  if (!value.is_array()) {
    throw Error(ErrorCode::kValidationFailed, field + ": must be an array of scopes", field);
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string()) {
      std::string f = field + "[" + std::to_string(i) + "]";
      throw Error(ErrorCode::kValidationFailed, f + ": must be a string like \"READ:JOBS\"", f);
    }
    out.push_back(value[i].get<std::string>());
  }
  return out;
}

}  // namespace

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
      cache_(std::make_unique<ReadCache>(db)) {
  // The routes of docs/api.md, tried in order.
  route("POST", "/api/v1/login/access_token", kPublic,
        [this](const Call& c) { return login(c.request); });
  route("POST", "/api/v1/jobs", "WRITE:JOBS", [this](const Call& c) { return submit_job(c); });
  route("POST", "/api/v1/jobs/bulk", "WRITE:JOBS",
        [this](const Call& c) { return submit_bulk(c); });
  route("GET", "/api/v1/jobs", "READ:JOBS", [this](const Call& c) { return list_jobs(c); });
  route("GET", "/api/v1/jobs/{id}", "READ:JOBS", [this](const Call& c) { return get_job(c); });
  route("DELETE", "/api/v1/jobs/{id}", "WRITE:JOBS",
        [this](const Call& c) { return delete_job(c); });
  route("POST", "/api/v1/jobs/{id}/cancel", "WRITE:JOBS",
        [this](const Call& c) { return cancel_job(c); });
  route("GET", "/api/v1/jobs/{id}/artifacts", "READ:JOBS",
        [this](const Call& c) { return list_artifacts(c); });
  route("GET", "/api/v1/jobs/{id}/artifacts/{name}", "READ:JOBS",
        [this](const Call& c) { return download_artifact(c); });
  route("GET", "/api/v1/generators", "READ:PLUGINS",
        [this](const Call&) { return list_generators(); });
  route("GET", "/api/v1/plugins", "READ:PLUGINS", [this](const Call&) { return list_plugins(); });
  route("POST", "/api/v1/credentials", "WRITE:CREDENTIALS",
        [this](const Call& c) { return create_credential(c); });
  route("GET", "/api/v1/credentials", "READ:CREDENTIALS",
        [this](const Call&) { return list_credentials(); });
  route("GET", "/api/v1/credentials/{id}", "READ:CREDENTIALS",
        [this](const Call& c) { return get_credential(c); });
  route("PUT", "/api/v1/credentials/{id}", "WRITE:CREDENTIALS",
        [this](const Call& c) { return update_credential(c); });
  route("DELETE", "/api/v1/credentials/{id}", "WRITE:CREDENTIALS",
        [this](const Call& c) { return delete_credential(c); });
  route("POST", "/api/v1/app_management/tenants", "WRITE:TENANTS",
        [this](const Call& c) { return create_tenant(c); });
  route("GET", "/api/v1/app_management/tenants", "READ:TENANTS",
        [this](const Call&) { return list_tenants(); });
  route("GET", "/api/v1/app_management/tenants/{id}", "READ:TENANTS",
        [this](const Call& c) { return get_tenant(c); });
  route("PUT", "/api/v1/app_management/tenants/{id}", "WRITE:TENANTS",
        [this](const Call& c) { return update_tenant(c); });
  route("DELETE", "/api/v1/app_management/tenants/{id}", "WRITE:TENANTS",
        [this](const Call& c) { return delete_tenant(c); });
  route("GET", "/api/v1/config", "READ:CONFIG", [this](const Call& c) { return list_config(c); });
  route("GET", "/api/v1/config/{name}", "READ:CONFIG",
        [this](const Call& c) { return get_config(c); });
  route("PUT", "/api/v1/config/{name}", "WRITE:CONFIG",
        [this](const Call& c) { return put_config(c); });
  route("DELETE", "/api/v1/config/{name}", "WRITE:CONFIG",
        [this](const Call& c) { return delete_config(c); });
  add_webhook_routes();  // /api/v1/webhooks...: webhooks_api.cpp
  route("GET", "/api/v1/openapi.json", "", [](const Call&) {
    Response r;
    r.body = openapi_document();
    return r;
  });
  route("GET", "/health", kPublic, [](const Call&) {
    return json_response(200, {{"status", "ok"}});
  });
  if (options_.readiness) {  // monitoring (issue 6): database, migrations, plugins
    route("GET", "/ready", kPublic, [this](const Call&) { return options_.readiness(); });
  }
  if (options_.enable_metrics && options_.metrics_text) {
    route("GET", "/metrics", kPublic, [this](const Call& c) { return metrics(c.request); });
  }
}

Api::~Api() = default;

void Api::route(const std::string& method, const std::string& pattern, const std::string& scope,
                ApiHandler handler) {
  RouteInfo info{method, pattern, scope};
  router_.add(method, pattern, [](const Request&, const PathParams&) { return Response{}; });
  handlers_[method + " " + pattern] = {info, std::move(handler)};
  route_info_.push_back(std::move(info));
}

std::string Api::route_of(const Request& request) const {
  auto match = router_.match(request.method, request.path);
  return match.pattern.empty() ? "unmatched" : match.pattern;
}

Caller Api::authenticate(const Request& request) const {
  Caller caller;
  // Checked after the credential: an anonymous caller learns nothing but 401.
  auto read_tenant = [&] {
    if (auto tenant = request.header("tenant-id")) {
      TenantStore::check_id(*tenant, "tenant-id");
      caller.tenant = *tenant;
    }
  };
  if (!options_.require_auth) {
    caller.credential.id = "root";
    caller.credential.is_root = true;
    read_tenant();
    return caller;
  }
  auto header = request.header("Authorization");
  if (!header || header->empty()) {
    throw Error(ErrorCode::kUnauthorized,
                "this route needs a credential: send 'Authorization: Bearer <API key or access "
                "token>' (see POST /api/v1/login/access_token)");
  }
  std::string value = *header;
  if (value.size() < 8 || !istarts_with(value, "bearer ")) {
    throw Error(ErrorCode::kUnauthorized,
                "malformed Authorization header: expected 'Bearer <API key or access token>'");
  }
  std::string token = value.substr(7);
  while (!token.empty() && token.front() == ' ') token.erase(0, 1);
  std::optional<Credential> credential;
  if (TokenSigner::looks_like_jwt(token)) {
    auto subject = signer_->verify(token, now_ms());
    if (!subject) throw Error(ErrorCode::kUnauthorized, "the access token is invalid or expired");
    const std::string& id = subject->credential_id;
    credential = cache_->credential("id:" + id, [&] { return credentials_->get(id); });
    // Another incarnation (deleted and created again, or deactivated since): not this token's.
    if (!credential || !credential->is_active || credential->generation != subject->generation) {
      throw Error(ErrorCode::kUnauthorized,
                  "the access token's credential was deactivated or deleted");
    }
  } else {
    credential = cache_->credential("key:" + hash_api_key(token),
                                    [&] { return credentials_->find_by_api_key(token); });
    if (!credential) throw Error(ErrorCode::kUnauthorized, "unknown, inactive or deleted API key");
  }
  caller.credential = std::move(*credential);
  read_tenant();
  return caller;
}

void Api::authorize(const RouteInfo& route, const Caller& caller) const {
  if (route.scope.empty() || route.scope == kPublic) return;
  bool tenant_scoped = is_tenant_scoped(route.scope);
  bool allowed = tenant_scoped ? caller.credential.allows(route.scope, caller.tenant)
                               : caller.credential.allows_globally(route.scope);
  if (!allowed) {
    throw Error(ErrorCode::kForbidden,
                "credential '" + caller.credential.id + "' lacks " + route.scope +
                    (tenant_scoped && !caller.tenant.empty()
                         ? " for tenant '" + caller.tenant + "'"
                         : std::string(tenant_scoped ? " in the system scope (no tenant-id)"
                                                     : " (a global scope)")));
  }
  if (tenant_scoped && !caller.tenant.empty()) {
    auto tenant = cache_->tenant(caller.tenant, [&] { return tenants_->get(caller.tenant); });
    if (!tenant) {
      throw Error(ErrorCode::kNotFound, "no tenant with id '" + caller.tenant + "'", "tenant-id");
    }
    if (!tenant->enabled && is_write(route.scope)) {
      throw Error(ErrorCode::kConflict,
                  "tenant '" + caller.tenant + "' is disabled: it cannot change anything",
                  "tenant-id");
    }
  }
}

Response Api::handle(const Request& request) const {
  try {
    auto match = router_.match(request.method, request.path);
    const std::pair<RouteInfo, ApiHandler>* found = nullptr;
    if (match.handler) {
      std::string method = request.method == "HEAD" ? "GET" : request.method;
      auto it = handlers_.find(method + " " + match.pattern);
      if (it != handlers_.end()) found = &it->second;
    }
    bool is_public = found ? found->first.scope == kPublic
                           : !(request.path.size() >= 1 && request.path[0] == "api");
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
    authorize(found->first, caller);
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
    return found->second(Call{request, match.params, caller});
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

Response Api::login(const Request& request) const {
  if (request.media_type() != "application/x-www-form-urlencoded") {
    throw Error(ErrorCode::kUnsupportedMediaType,
                "Content-Type must be application/x-www-form-urlencoded (OAuth2 token request)");
  }
  auto form = parse_query(request.body);
  auto field = [&](const std::string& name) {
    auto it = form.find(name);
    return it == form.end() ? std::string() : it->second;
  };
  std::string grant = field("grant_type");
  std::string id, secret;
  if (grant == "client_credentials") {
    id = field("client_id");
    secret = field("client_secret");
    // RFC 6749 2.3.1: the client may authenticate with HTTP Basic instead.
    if (auto basic = request.header("Authorization");
        id.empty() && basic && istarts_with(*basic, "basic ")) {
      auto decoded = decode_base64(basic->substr(6)).value_or("");
      auto colon = decoded.find(':');
      if (colon != std::string::npos) {
        id = percent_decode(decoded.substr(0, colon), true);
        secret = percent_decode(decoded.substr(colon + 1), true);
      }
    }
  } else if (grant == "password") {
    id = field("username");
    secret = field("password");
  } else {
    throw Error(ErrorCode::kBadRequest,
                "grant_type: must be client_credentials or password; got '" + grant + "'",
                "grant_type");
  }
  if (id.empty() || secret.empty()) {
    throw Error(ErrorCode::kBadRequest,
                grant == "password" ? "username and password are required"
                                    : "client_id and client_secret are required",
                grant == "password" ? "username" : "client_id");
  }
  if (std::int64_t wait_ms = login_throttle_->blocked_for(id, now_ms())) {
    Response r = problem(
        Error(ErrorCode::kTooManyRequests, "too many failed logins for '" + id + "'; retry later"));
    r.headers["Retry-After"] = std::to_string((wait_ms + 999) / 1000);
    return r;
  }
  std::optional<Credential> credential;
  try {
    credential = credentials_->check_password(id, secret);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kTooManyRequests) throw;
    Response r = problem(e);  // every hashing slot busy (AUTH__MAX_CONCURRENT_HASHES)
    r.headers["Retry-After"] = "1";
    return r;
  }
  if (!credential) {
    login_throttle_->failed(id, now_ms());
    throw Error(ErrorCode::kUnauthorized, "unknown credential, wrong secret, or inactive");
  }
  login_throttle_->succeeded(id);
  Response r = json_response(
      200, {{"access_token", signer_->issue(*credential, options_.token_ttl_s, now_ms())},
            {"token_type", "bearer"},
            {"expires_in", options_.token_ttl_s}});
  r.headers["Cache-Control"] = "no-store";
  log::info("token issued", {{"credential", credential->id}});
  return r;
}

std::int64_t Api::body_limit(const Caller& caller) const {
  return std::min(options_.max_request_bytes,
                  config_->integer("LIMITS__MAX_REQUEST_BYTES", caller.tenant));
}

bool Api::streams_body(const Request& request) const {
  return request.method == "POST" && request.media_type() == "multipart/form-data" &&
         route_of(request) == "/api/v1/jobs";
}

void Api::check_body_size(const Request& request, const Caller& caller) const {
  std::int64_t limit = body_limit(caller);
  if (static_cast<std::int64_t>(request.body.size()) > limit) {
    throw Error(ErrorCode::kPayloadTooLarge,
                "request body is larger than LIMITS__MAX_REQUEST_BYTES (" + std::to_string(limit) +
                    " bytes" + (caller.tenant.empty() ? "" : " for tenant " + caller.tenant) + ")");
  }
}

Response Api::submit_job(const Call& call) const {
  const Request& request = call.request;
  const std::string media_type = request.media_type();
  if (media_type != "application/json" && media_type != "multipart/form-data") {
    std::string got = request.header("Content-Type").value_or("");
    throw Error(ErrorCode::kUnsupportedMediaType,
                "Content-Type must be application/json or multipart/form-data, got '" + got + "'");
  }
  check_body_size(request, call.caller);
  json doc;
  // Uploaded files: their stored chunks are deleted when this handler fails (~BlobWriter).
  std::vector<FormPart> files;
  if (media_type == "multipart/form-data") {
    doc = read_form(request, call.caller, files);
  } else {
    doc = parse_json_body(request.body, options_.json_limits);
  }
  JobSpec spec = parse_job(doc, plugins_, "", now_ms());
  add_uploaded_inputs(spec, files);
  spec.tenant = call.caller.tenant;
  if (!doc.contains("priority")) {
    spec.priority =
        static_cast<int>(config_->integer("JOBS__DEFAULT_PRIORITY", call.caller.tenant));
  }
  if (auto key = request.header("Idempotency-Key")) {
    spec.idempotency_key = check_idempotency_key(*key, "Idempotency-Key");
  }
  Submitted submitted = jobs_.submit_all({spec}).front();
  for (FormPart& f : files) f.file->release();  // linked to the job (or deleted as a duplicate)
  auto job = jobs_.get_job(submitted.id);
  if (!job) {
    throw Error(ErrorCode::kInternal, "job " + submitted.id + " vanished right after submission");
  }
  if (submitted.created) {
    log::info("job queued",
              {{"job_id", submitted.id}, {"steps", spec.steps.size()}, {"tenant", spec.tenant}});
  }
  int status = submitted.created ? 202 : 200;
  if (auto it = request.query.find("wait"); it != request.query.end()) {
    const std::string& v = it->second;
    bool digits = !v.empty() && v.size() <= 4 &&
                  std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); });
    int wait_s = digits ? std::stoi(v) : -1;
    if (wait_s < 0 || wait_s > options_.max_wait_s) {
      throw Error(ErrorCode::kValidationFailed,
                  "wait: must be an integer between 0 and " + std::to_string(options_.max_wait_s) +
                      " (seconds); got '" + v + "'",
                  "wait");
    }
    // Holds this request thread while the job runs: the answer is the finished job when it
    // ends in time (200), else the usual 202.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
    while (!is_final(job->status) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kWaitPollMs));
      if (auto now = jobs_.get_job(submitted.id)) job = std::move(now);
    }
    if (is_final(job->status)) status = 200;
  }
  Response r = json_response(status, job_json(*job));
  r.headers["Location"] = job_url(submitted.id);
  return r;
}

Response Api::submit_bulk(const Call& call) const {
  const Request& request = call.request;
  if (request.media_type() != "application/json") {
    throw Error(ErrorCode::kUnsupportedMediaType, "Content-Type must be application/json, got '" +
                                                      request.header("Content-Type").value_or("") +
                                                      "'");
  }
  check_body_size(request, call.caller);
  json doc = parse_json_body(request.body, options_.json_limits);
  std::vector<JobSpec> specs = parse_bulk_request(doc, plugins_, now_ms());
  int default_priority =
      static_cast<int>(config_->integer("JOBS__DEFAULT_PRIORITY", call.caller.tenant));
  for (std::size_t i = 0; i < specs.size(); ++i) {
    specs[i].tenant = call.caller.tenant;
    if (!doc["jobs"][i].contains("priority")) specs[i].priority = default_priority;
  }
  std::vector<Submitted> submitted = jobs_.submit_all(specs);
  json jobs = json::array();
  bool any_created = false;
  for (const Submitted& s : submitted) {
    any_created = any_created || s.created;
    jobs.push_back({{"id", s.id}, {"created", s.created}, {"url", job_url(s.id)}});
  }
  log::info("jobs queued", {{"jobs", specs.size()}, {"tenant", call.caller.tenant}});
  return json_response(any_created ? 202 : 200, {{"jobs", std::move(jobs)}});
}

namespace {

// Collects the parts of a job submission; file bytes go to storage as they arrive.
class FormCollector final : public PartHandler {
 public:
  FormCollector(Database& db, std::string tenant, std::int64_t max_field_bytes,
                std::vector<FormPart>& files)
      : db_(db), tenant_(std::move(tenant)), max_field_bytes_(max_field_bytes), files_(files) {}

  void begin(const PartInfo& part) override {
    current_ = nullptr;
    if (!part.filename.empty()) {
      files_.push_back(FormPart{part, {}, std::make_unique<BlobWriter>(db_, tenant_)});
      current_ = &files_.back();
    } else if (part.name == "job") {
      if (have_job) {  // which one was meant is unknowable: refuse rather than pick one
        throw Error(ErrorCode::kValidationFailed,
                    "job: the form has more than one \"job\" part; send exactly one", "job");
      }
      job = FormPart{part, {}, nullptr};
      have_job = true;
      current_ = &job;
    } else {
      throw Error(ErrorCode::kValidationFailed,
                  part.name + ": unknown form field (expected a \"job\" part and file parts)",
                  part.name);
    }
  }
  void data(const char* bytes, std::size_t size) override {
    if (current_->file) {
      current_->file->write(bytes, size);
      return;
    }
    current_->data.append(bytes, size);
    if (static_cast<std::int64_t>(current_->data.size()) > max_field_bytes_) {
      throw Error(ErrorCode::kPayloadTooLarge,
                  "job: the form field is larger than LIMITS__MAX_REQUEST_BYTES", "job");
    }
  }
  void end() override {
    if (current_->file) current_->file->finish();
    current_ = nullptr;
  }
  /// The field being read ("" between parts), for errors.
  std::string reading() const {
    if (!current_) return {};
    if (!current_->file) return current_->info.name;
    return "inputs[" + std::to_string(files_.size() - 1) + "]";
  }

  FormPart job;
  bool have_job = false;

 private:
  Database& db_;
  std::string tenant_;
  std::int64_t max_field_bytes_;
  std::vector<FormPart>& files_;
  FormPart* current_ = nullptr;
};

}  // namespace

json Api::read_form(const Request& request, const Caller& caller,
                    std::vector<FormPart>& files) const {
  const std::int64_t limit = body_limit(caller);
  auto too_large = [&](const std::string& field) {
    return Error(ErrorCode::kPayloadTooLarge,
                 "request body is larger than LIMITS__MAX_REQUEST_BYTES (" + std::to_string(limit) +
                     " bytes" + (caller.tenant.empty() ? "" : " for tenant " + caller.tenant) + ")",
                 field);
  };
  if (auto length = request.header("Content-Length")) {
    // Refused before a byte is stored when the client announces too much.
    bool digits = !length->empty() && length->size() <= 18 &&
                  std::all_of(length->begin(), length->end(),
                              [](unsigned char c) { return std::isdigit(c); });
    if (digits && std::stoll(*length) > limit) throw too_large("Content-Length");
  }
  // A "job" part with the JSON job, and one part with a filename per input file.
  FormCollector collector(db_, caller.tenant, limit, files);
  const std::string content_type = request.header("Content-Type").value_or("");
  if (request.body_stream) {
    read_multipart(content_type, *request.body_stream, collector, limit,
                   [&] { throw too_large(collector.reading()); });
  } else {  // handlers called in-process
    std::istringstream in(request.body);
    read_multipart(content_type, in, collector, limit,
                   [&] { throw too_large(collector.reading()); });
  }
  if (!collector.have_job) {
    throw Error(ErrorCode::kValidationFailed, "job: is required: a form field holding the JSON job",
                "job");
  }
  return parse_json_body(collector.job.data, options_.json_limits);
}

void Api::add_uploaded_inputs(JobSpec& spec, std::vector<FormPart>& files) const {
  const sdk::GeneratorInfo* first = plugins_.info(spec.steps.front().generator);
  for (std::size_t i = 0; i < files.size(); ++i) {
    PartInfo& part = files[i].info;
    const std::string field = "inputs[" + std::to_string(spec.inputs.size()) + "]";
    std::string name = std::filesystem::path(part.filename).filename().string();
    if (auto why = file_name_problem(name)) {
      // Not quoted: the name may hold a NUL (which would end the message) or invalid UTF-8.
      throw Error(ErrorCode::kValidationFailed,
                  field + ".name: the uploaded file's name is not usable: it " + *why,
                  field + ".name");
    }
    for (const InputFile& existing : spec.inputs) {
      if (existing.name == name) {
        throw Error(ErrorCode::kValidationFailed,
                    field + ".name: duplicate input name '" + name + "'", field + ".name");
      }
    }
    std::string type = part.content_type.empty() ? "application/octet-stream" : part.content_type;
    if (std::string why = media_type_problem(type); !why.empty()) {
      throw Error(ErrorCode::kValidationFailed, field + ".media_type: " + why,
                  field + ".media_type");
    }
    if (first) {
      const auto& accepted = first->input_media_types;
      bool ok = std::any_of(accepted.begin(), accepted.end(),
                            [&](const std::string& p) { return media_type_matches(p, type); });
      if (!ok) {
        throw Error(ErrorCode::kValidationFailed,
                    field + ".media_type: '" + type + "' is not accepted by " + first->id,
                    field + ".media_type");
      }
    }
    BlobWriter& file = *files[i].file;
    if (file.chunked()) {
      spec.inputs.push_back(InputFile{name, type, {}, file.blob_id(), file.size(), file.sha256()});
    } else {
      spec.inputs.push_back(InputFile{name, type, std::move(file.data()), {}, 0, {}});
    }
  }
}

JobView Api::visible_job(const std::string& id, const Caller& caller) const {
  auto job = jobs_.get_job(id);
  // Another tenant's job is answered exactly like a job that does not exist.
  if (!job || job->tenant != caller.tenant) throw not_found_job(id);
  return std::move(*job);
}

Response Api::get_job(const Call& call) const {
  const std::string& id = call.params.at("id");
  // A finished job no longer changes (until it is deleted): its answer is served from cache.
  if (auto hit = cache_->finished_job(id)) {
    if (hit->tenant != call.caller.tenant) throw not_found_job(id);
    Response r;
    r.body = std::move(hit->body);
    return r;
  }
  const std::uint64_t epoch = cache_->jobs_epoch();
  JobView job = visible_job(id, call.caller);
  Response r = json_response(200, job_json(job));
  if (is_final(job.status)) {
    cache_->store_finished_job(id, {job.tenant, r.body}, epoch);
  }
  return r;
}

Response Api::list_jobs(const Call& call) const {
  const Request& request = call.request;
  static const std::vector<std::string> statuses = {"QUEUED", "RUNNING", "COMPLETED", "FAILED",
                                                    "CANCELLED"};
  std::string status;
  if (auto it = request.query.find("status"); it != request.query.end()) {
    status = it->second;
    status = ascii_upper(status);
    if (std::find(statuses.begin(), statuses.end(), status) == statuses.end()) {
      throw Error(ErrorCode::kValidationFailed,
                  "status: must be one of QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED; got '" +
                      it->second + "'",
                  "status");
    }
  }
  int limit = 100;
  if (auto it = request.query.find("limit"); it != request.query.end()) {
    const std::string& v = it->second;
    bool digits = !v.empty() && v.size() <= 4 &&
                  std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); });
    limit = digits ? std::stoi(v) : 0;
    if (limit < 1 || limit > 1000) {
      throw Error(ErrorCode::kValidationFailed,
                  "limit: must be an integer between 1 and 1000; got '" + v + "'", "limit");
    }
  }
  std::string cursor;
  if (auto it = request.query.find("cursor"); it != request.query.end()) cursor = it->second;

  JobPage page = jobs_.list_jobs(status, limit, cursor, call.caller.tenant);
  json jobs = json::array();
  for (const JobView& job : page.jobs) jobs.push_back(job_summary_json(job));
  return json_response(200, {{"jobs", std::move(jobs)},
                             {"next", page.next.empty() ? json(nullptr) : json(page.next)}});
}

Response Api::cancel_job(const Call& call) const {
  const std::string& id = call.params.at("id");
  visible_job(id, call.caller);
  auto job = jobs_.cancel_job(id);
  if (!job) throw not_found_job(id);
  log::info("job cancelled", {{"job_id", id}});
  return json_response(200, job_json(*job));
}

Response Api::delete_job(const Call& call) const {
  const std::string& id = call.params.at("id");
  visible_job(id, call.caller);
  const bool deleted = jobs_.delete_job(id);
  cache_->drop_jobs();
  if (!deleted) throw not_found_job(id);
  log::info("job deleted", {{"job_id", id}});
  return no_content();
}

Response Api::list_artifacts(const Call& call) const {
  const Request& request = call.request;
  const std::string& id = call.params.at("id");
  bool all = false;
  if (auto it = request.query.find("all"); it != request.query.end()) {
    if (it->second == "true" || it->second == "1") {
      all = true;
    } else if (it->second != "false" && it->second != "0") {
      throw Error(ErrorCode::kValidationFailed,
                  "all: must be true or false; got '" + it->second + "'", "all");
    }
  }
  visible_job(id, call.caller);
  json artifacts = json::array();
  for (const ArtifactMeta& a : jobs_.list_artifacts(id, all)) {
    artifacts.push_back(artifact_json(id, a));
  }
  return json_response(200, {{"artifacts", std::move(artifacts)}});
}

Response Api::download_artifact(const Call& call) const {
  const std::string& id = call.params.at("id");
  const std::string& name = call.params.at("name");
  visible_job(id, call.caller);
  auto found = jobs_.find_artifact(id, name);
  if (!found) {
    throw Error(ErrorCode::kNotFound, "job '" + id + "' has no artifact named '" + name + "'",
                "name");
  }
  const ArtifactMeta meta = std::move(*found);
  const std::int64_t size = meta.size_bytes;
  const std::string etag = "\"" + meta.sha256 + "\"";  // strong: the bytes' SHA-256
  Response r;
  r.headers["ETag"] = etag;
  r.headers["Accept-Ranges"] = "bytes";
  r.headers["Cache-Control"] = "private";
  if (auto match = call.request.header("If-None-Match"); match && none_match(*match, etag)) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  // Validated when stored; checked again because the value goes into a header (a row from
  // before validation existed must not split the response).
  r.content_type = content_type_for(meta.media_type);
  r.headers["Content-Disposition"] = "attachment; filename=\"" + quoted_filename(name) +
                                     "\"; filename*=UTF-8''" + percent_encode(name);
  ByteRange range{0, size - 1};
  r.status = 200;
  auto range_header = call.request.header("Range");
  // If-Range: the range applies only to this exact representation (strong comparison).
  if (auto if_range = call.request.header("If-Range"); if_range && *if_range != etag) {
    range_header.reset();
  }
  if (range_header) {
    switch (parse_range(*range_header, size, range)) {
      case RangeKind::kSatisfiable:
        r.status = 206;
        r.headers["Content-Range"] = "bytes " + std::to_string(range.first) + "-" +
                                     std::to_string(range.last) + "/" + std::to_string(size);
        break;
      case RangeKind::kUnsatisfiable: {
        Response refused = problem(Error(ErrorCode::kRangeNotSatisfiable,
                                         "Range: '" + *range_header + "' is outside the " +
                                             std::to_string(size) + " bytes of '" + name + "'",
                                         "Range"));
        refused.headers["Content-Range"] = "bytes */" + std::to_string(size);
        refused.headers["Accept-Ranges"] = "bytes";
        refused.headers["ETag"] = etag;
        return refused;
      }
      case RangeKind::kNone:
        range = {0, size - 1};
        break;
    }
  }
  const std::int64_t length = size == 0 ? 0 : range.last - range.first + 1;
  if (length <= kInlineDownloadBytes) {
    r.body.reserve(static_cast<std::size_t>(length));
    jobs_.read_artifact_bytes(meta, range.first, length,
                              [&](const char* data, std::size_t n) { r.body.append(data, n); });
    return r;
  }
  // Large: the adapter writes it chunk by chunk, at most one chunk in memory.
  r.body_length = length;
  r.body_writer = [this, meta, first = range.first, length](std::ostream& out) {
    jobs_.read_artifact_bytes(meta, first, length, [&](const char* data, std::size_t n) {
      out.write(data, static_cast<std::streamsize>(n));
      if (!out) throw Error(ErrorCode::kBadRequest, "the client stopped reading the download");
    });
    out.flush();
  };
  return r;
}

// --- credentials -----------------------------------------------------------------------------

Response Api::create_credential(const Call& call) const {
  json doc = body_object(call.request, options_.json_limits);
  only_keys(doc, {"id", "password", "is_active", "scopes", "tenants"});
  Credential c;
  if (auto it = doc.find("id"); it != doc.end() && it->is_string()) {
    c.id = it->get<std::string>();
  } else {
    throw Error(ErrorCode::kValidationFailed, "id: is required (a string)", "id");
  }
  std::string password;
  if (auto it = doc.find("password"); it != doc.end() && !it->is_null()) {
    if (!it->is_string()) {
      throw Error(ErrorCode::kValidationFailed, "password: must be a string", "password");
    }
    password = it->get<std::string>();
  }
  c.is_active = bool_field(doc, "is_active", true);
  if (auto it = doc.find("scopes"); it != doc.end()) c.scopes = scope_list(*it, "scopes");
  if (auto it = doc.find("tenants"); it != doc.end()) {
    if (!it->is_object()) {
      throw Error(ErrorCode::kValidationFailed,
                  "tenants: must be an object {\"tenant id\": [scopes]}", "tenants");
    }
    for (const auto& [tenant, scopes] : it->items()) {
      c.tenants[tenant] = scope_list(scopes, "tenants." + tenant);
    }
  }
  // Nobody hands out more than they hold.
  for (const auto& scope : c.scopes) {
    if (!call.caller.credential.allows_globally(scope)) {
      throw Error(ErrorCode::kForbidden,
                  "cannot grant " + scope + " globally: credential '" + call.caller.credential.id +
                      "' does not hold it globally",
                  "scopes");
    }
  }
  for (const auto& [tenant, scopes] : c.tenants) {
    for (const auto& scope : scopes) {
      if (!call.caller.credential.allows(scope, tenant)) {
        throw Error(ErrorCode::kForbidden,
                    "cannot grant " + scope + " for tenant '" + tenant + "': credential '" +
                        call.caller.credential.id + "' does not hold it there",
                    "tenants." + tenant);
      }
    }
  }
  IssuedCredential issued = credentials_->create(c, password);
  json body = credential_json(issued.credential);
  body["password"] = issued.password;
  body["api_key"] = issued.api_key;
  log::info("credential created",
            {{"credential", issued.credential.id}, {"by", call.caller.credential.id}});
  Response r = json_response(201, body);
  r.headers["Location"] = "/api/v1/credentials/" + percent_encode(issued.credential.id);
  r.headers["Cache-Control"] = "no-store";
  return r;
}

Response Api::list_credentials() const {
  json list = json::array();
  for (const Credential& c : credentials_->list()) list.push_back(credential_json(c));
  return json_response(200, {{"credentials", std::move(list)}});
}

Response Api::get_credential(const Call& call) const {
  const std::string& id = call.params.at("id");
  auto c = credentials_->get(id);
  if (!c) throw Error(ErrorCode::kNotFound, "no credential with id '" + id + "'", "id");
  return json_response(200, credential_json(*c));
}

Response Api::update_credential(const Call& call) const {
  const std::string& id = call.params.at("id");
  json doc = body_object(call.request, options_.json_limits);
  only_keys(doc, {"is_active"});
  if (!doc.contains("is_active")) {
    throw Error(ErrorCode::kValidationFailed, "is_active: is required", "is_active");
  }
  bool active = bool_field(doc, "is_active", true);
  auto existing = credentials_->get(id);
  if (!existing) throw Error(ErrorCode::kNotFound, "no credential with id '" + id + "'", "id");
  if (existing->is_root && !call.caller.credential.is_root) {
    throw Error(ErrorCode::kForbidden, "only the root credential may change the root", "id");
  }
  auto c = credentials_->set_active(id, active);
  cache_->drop_auth();
  if (!c) throw Error(ErrorCode::kNotFound, "no credential with id '" + id + "'", "id");
  log::info(active ? "credential activated" : "credential deactivated",
            {{"credential", id}, {"by", call.caller.credential.id}});
  return json_response(200, credential_json(*c));
}

Response Api::delete_credential(const Call& call) const {
  const std::string& id = call.params.at("id");
  auto existing = credentials_->get(id);
  if (!existing) throw Error(ErrorCode::kNotFound, "no credential with id '" + id + "'", "id");
  if (existing->is_root && !call.caller.credential.is_root) {
    throw Error(ErrorCode::kForbidden, "only the root credential may delete the root", "id");
  }
  credentials_->remove(id);
  cache_->drop_auth();
  log::info("credential deleted", {{"credential", id}, {"by", call.caller.credential.id}});
  return no_content();
}

// --- tenants ---------------------------------------------------------------------------------

Response Api::create_tenant(const Call& call) const {
  json doc = body_object(call.request, options_.json_limits);
  only_keys(doc, {"id", "enabled"});
  auto it = doc.find("id");
  if (it == doc.end() || !it->is_string()) {
    throw Error(ErrorCode::kValidationFailed, "id: is required (a string)", "id");
  }
  Tenant t = tenants_->create(it->get<std::string>(), bool_field(doc, "enabled", true));
  cache_->drop_auth();
  log::info("tenant created", {{"tenant", t.id}, {"by", call.caller.credential.id}});
  Response r = json_response(201, tenant_json(t));
  r.headers["Location"] = "/api/v1/app_management/tenants/" + percent_encode(t.id);
  return r;
}

Response Api::list_tenants() const {
  json list = json::array();
  for (const Tenant& t : tenants_->list()) list.push_back(tenant_json(t));
  return json_response(200, {{"tenants", std::move(list)}});
}

Response Api::get_tenant(const Call& call) const {
  const std::string& id = call.params.at("id");
  auto t = tenants_->get(id);
  if (!t) throw Error(ErrorCode::kNotFound, "no tenant with id '" + id + "'", "id");
  return json_response(200, tenant_json(*t));
}

Response Api::update_tenant(const Call& call) const {
  const std::string& id = call.params.at("id");
  json doc = body_object(call.request, options_.json_limits);
  only_keys(doc, {"enabled"});
  if (!doc.contains("enabled")) {
    throw Error(ErrorCode::kValidationFailed, "enabled: is required", "enabled");
  }
  auto t = tenants_->set_enabled(id, bool_field(doc, "enabled", true));
  cache_->drop_auth();
  if (!t) throw Error(ErrorCode::kNotFound, "no tenant with id '" + id + "'", "id");
  log::info("tenant updated", {{"tenant", id}, {"enabled", t->enabled}});
  return json_response(200, tenant_json(*t));
}

Response Api::delete_tenant(const Call& call) const {
  const std::string& id = call.params.at("id");
  const bool removed = tenants_->remove(id);
  cache_->drop_auth();
  if (!removed) {
    throw Error(ErrorCode::kNotFound, "no tenant with id '" + id + "'", "id");
  }
  log::info("tenant deleted", {{"tenant", id}, {"by", call.caller.credential.id}});
  return no_content();
}

// --- settings --------------------------------------------------------------------------------

Response Api::list_config(const Call& call) const {
  json list = json::array();
  for (const ConfigValue& v : config_->resolve_all(call.caller.tenant)) {
    list.push_back(config_json(v));
  }
  return json_response(
      200, {{"tenant", call.caller.tenant.empty() ? json(nullptr) : json(call.caller.tenant)},
            {"settings", std::move(list)}});
}

Response Api::get_config(const Call& call) const {
  return json_response(200,
                       config_json(config_->resolve(call.params.at("name"), call.caller.tenant)));
}

Response Api::put_config(const Call& call) const {
  const std::string& name = call.params.at("name");
  json doc = body_object(call.request, options_.json_limits);
  only_keys(doc, {"value"});
  if (!doc.contains("value")) {
    throw Error(ErrorCode::kValidationFailed, "value: is required", "value");
  }
  ConfigValue v = config_->set(name, call.caller.tenant, doc["value"]);
  rate_limiter_->invalidate();
  log::info("setting changed",
            {{"name", name}, {"tenant", call.caller.tenant}, {"by", call.caller.credential.id}});
  return json_response(200, config_json(v));
}

Response Api::delete_config(const Call& call) const {
  config_->unset(call.params.at("name"), call.caller.tenant);
  rate_limiter_->invalidate();
  return no_content();
}

Response Api::list_generators() const {
  json generators = json::array();
  for (const auto& info : plugins_.generators()) generators.push_back(to_json(info));
  return json_response(200, {{"generators", std::move(generators)}});
}

Response Api::list_plugins() const {
  json plugins = json::array();
  for (const PluginRecord& p : plugins_.plugins()) plugins.push_back(plugin_json(p));
  return json_response(200, {{"plugins", std::move(plugins)}});
}

Response Api::metrics(const Request& request) const {
  // Never expose metrics through a load balancer: a forwarded request is refused (the
  // headers proxies add: X-Forwarded-*, Forwarded, X-Real-IP, Via).
  for (const auto& [name, value] : request.headers) {
    std::string lower = ascii_lower(name);
    if (lower.starts_with("x-forwarded-") || lower == "forwarded" || lower == "x-real-ip" ||
        lower == "via") {
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

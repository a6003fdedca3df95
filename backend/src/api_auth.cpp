// Authentication and authorization of every /api request (Api::handle() calls
// authenticate() and authorize() with the matched route's scope), the token endpoint and the
// credential routes (docs/api.md, "Authentication" and "Credentials").
#include <optional>

#include <nlohmann/json.hpp>

#include "api_internal.hpp"
#include "gen/backend/api.hpp"
#include "gen/core/base/clock.hpp"
#include "gen/core/base/log.hpp"
#include "gen/core/base/text.hpp"
#include "gen/core/storage/database.hpp"
#include "gen/core/tenancy/scopes.hpp"
#include "gen/core/tenancy/tenants.hpp"
#include "job_request.hpp"
#include "rate_limit.hpp"
#include "read_cache.hpp"
#include "views.hpp"

namespace gen::backend {

using nlohmann::json;

namespace {

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
  if (!route.scope) return;  // public, or any credential
  const std::optional<Scope>& scope = route.scope;
  bool tenant_scoped = is_tenant_scoped(*scope);
  bool allowed = tenant_scoped ? caller.credential.allows(*scope, caller.tenant)
                               : caller.credential.allows_globally(*scope);
  if (!allowed) {
    throw Error(ErrorCode::kForbidden,
                "credential '" + caller.credential.id + "' lacks " +
                    std::string(to_string(*scope)) +
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
    if (!tenant->enabled && is_write(*scope)) {
      throw Error(ErrorCode::kConflict,
                  "tenant '" + caller.tenant + "' is disabled: it cannot change anything",
                  "tenant-id");
    }
  }
}

Response Api::login(const Call& call) const {
  const Request& request = call.request;
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

Response Api::list_credentials(const Call&) const {
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

}  // namespace gen::backend

// Tenants (docs/api.md, "Tenants": global, root-managed) and the runtime settings of the
// system scope or of the caller's tenant ("Configuration").
#include <nlohmann/json.hpp>

#include "api_internal.hpp"
#include "gen/backend/api.hpp"
#include "gen/core/base/log.hpp"
#include "gen/core/tenancy/config_store.hpp"
#include "gen/core/tenancy/tenants.hpp"
#include "rate_limit.hpp"
#include "read_cache.hpp"
#include "views.hpp"

namespace gen::backend {

using nlohmann::json;

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

Response Api::list_tenants(const Call&) const {
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

}  // namespace gen::backend

// The webhook routes of the REST API v1 (docs/api.md, "Webhooks"): subscriptions per tenant
// (the tenant-id header), their deliveries and tries. Another tenant's webhook is answered
// like one that does not exist (404).
#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "api_internal.hpp"
#include "gen/backend/api.hpp"
#include "gen/core/base/log.hpp"
#include "gen/core/storage/database.hpp"
#include "gen/core/webhooks/webhooks.hpp"
#include "job_request.hpp"
#include "views.hpp"

namespace gen::backend {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxUrlBytes = 2048;
constexpr std::size_t kMinSecretBytes = 16;

Error invalid(const std::string& field, const std::string& why) {
  return Error(ErrorCode::kValidationFailed, field + ": " + why, field);
}

std::string string_field(const json& doc, const std::string& name, const std::string& field) {
  auto it = doc.find(name);
  if (it == doc.end() || !it->is_string() || it->get<std::string>().empty()) {
    throw invalid(field, "is required (a non-empty string)");
  }
  return it->get<std::string>();
}

// Reads "url", "events", "auth" and "enabled" of a create or update request.
WebhookChange parse_change(const json& doc, const AddressPolicy& policy, bool create) {
  only_keys(doc, {"url", "events", "auth", "enabled"});
  WebhookChange change;
  if (auto it = doc.find("url"); it != doc.end()) {
    if (!it->is_string()) throw invalid("url", "must be a string (an http:// or https:// URL)");
    std::string url = it->get<std::string>();
    if (url.size() > kMaxUrlBytes) {
      throw invalid("url", "is longer than " + std::to_string(kMaxUrlBytes) + " bytes");
    }
    policy.check(url, "url");  // 422 naming "url" when refused
    change.url = url;
  } else if (create) {
    throw invalid("url", "is required (an http:// or https:// URL)");
  }
  if (auto it = doc.find("events"); it != doc.end()) {
    if (!it->is_array() || it->empty()) {
      throw invalid("events", "must be a non-empty array of event names (JOB_PROCESSED)");
    }
    std::vector<std::string> events;
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& e = (*it)[i];
      if (!e.is_string() || e.get<std::string>() != kJobProcessed) {
        throw invalid("events[" + std::to_string(i) + "]",
                      "unknown event " + e.dump() + " (known: JOB_PROCESSED)");
      }
      if (std::find(events.begin(), events.end(), e.get<std::string>()) == events.end()) {
        events.push_back(e.get<std::string>());
      }
    }
    change.events = events;
  }
  if (auto it = doc.find("auth"); it != doc.end()) {
    if (!it->is_object()) {
      throw invalid("auth", "must be an object {\"type\": \"none\" | \"basic\" | \"hmac\", ...}");
    }
    const json& auth = *it;
    std::string type = string_field(auth, "type", "auth.type");
    if (type == "none") {
      only_keys(auth, {"type"}, "auth.");
    } else if (type == "basic") {
      only_keys(auth, {"type", "username", "password"}, "auth.");
      change.basic_user = string_field(auth, "username", "auth.username");
      if (change.basic_user.find(':') != std::string::npos) {
        throw invalid("auth.username", "must not contain ':'");
      }
      change.secret = string_field(auth, "password", "auth.password");
    } else if (type == "hmac") {
      only_keys(auth, {"type", "secret"}, "auth.");
      if (auto s = auth.find("secret"); s != auth.end() && !s->is_null()) {
        if (!s->is_string() || s->get<std::string>().size() < kMinSecretBytes) {
          throw invalid("auth.secret", "must be a string of at least " +
                                           std::to_string(kMinSecretBytes) +
                                           " characters (omit it to have one generated)");
        }
        change.secret = s->get<std::string>();
      }
    } else {
      throw invalid("auth.type", "must be none, basic or hmac; got '" + type + "'");
    }
    change.auth = type;
  }
  if (auto it = doc.find("enabled"); it != doc.end()) {
    if (!it->is_boolean()) throw invalid("enabled", "must be true or false");
    change.enabled = it->get<bool>();
  }
  return change;
}

std::string webhook_url(const std::string& id) {
  return "/api/v1/webhooks/" + percent_encode(id);
}

json webhook_json(const Webhook& w, const std::string& generated_secret = {}) {
  json auth = {{"type", w.auth}};
  if (w.auth == "basic") auth["username"] = w.basic_user;
  if (!generated_secret.empty()) auth["secret"] = generated_secret;
  return {{"id", w.id},
          {"url", w.url},
          {"events", w.events},
          {"auth", auth},
          {"enabled", w.enabled},
          {"created_at", iso_time(w.created_at_ms)},
          {"updated_at", iso_time(w.updated_at_ms)},
          {"deliveries_url", webhook_url(w.id) + "/deliveries"}};
}

json delivery_json(const WebhookDelivery& d) {
  json attempts = json::array();
  for (const WebhookAttempt& a : d.attempts) {
    attempts.push_back({{"attempt", a.attempt},
                        {"worker", a.worker},
                        {"started_at", iso_time(a.started_at_ms)},
                        {"finished_at", iso_time(a.finished_at_ms)},
                        {"http_status", a.http_status ? json(*a.http_status) : json(nullptr)},
                        {"error", a.error.empty() ? json(nullptr) : json(a.error)}});
  }
  bool waiting = d.state == "PENDING";
  return {{"id", d.id},
          {"event", d.event},
          {"job_id", d.job_id},
          {"job_status", d.job_status},
          {"state", d.state},
          {"attempt", d.attempt},
          {"max_attempts", d.max_attempts},
          {"next_attempt_at", waiting ? iso_time(d.next_attempt_at_ms) : json(nullptr)},
          {"last_error", d.last_error.empty() ? json(nullptr) : json(d.last_error)},
          {"created_at", iso_time(d.created_at_ms)},
          {"finished_at", iso_time(d.finished_at_ms)},
          {"attempts", std::move(attempts)}};
}

Error no_webhook(const std::string& id) {
  return Error(ErrorCode::kNotFound, "no webhook with id '" + id + "'", "id");
}

}  // namespace

Response Api::create_webhook(const Call& call) const {
  WebhookChange change =
      parse_change(body_object(call.request, options_.json_limits), *webhook_policy_, true);
  auto [webhook, secret] = webhooks_->create(call.caller.tenant, change);
  log::info("webhook created", {{"webhook", webhook.id},
                                {"tenant", webhook.tenant},
                                {"url", webhook.url},
                                {"by", call.caller.credential.id}});
  Response r = json_response(201, webhook_json(webhook, secret));
  r.headers["Location"] = webhook_url(webhook.id);
  r.headers["Cache-Control"] = "no-store";
  return r;
}

Response Api::list_webhooks(const Call& call) const {
  json list = json::array();
  for (const Webhook& w : webhooks_->list(call.caller.tenant)) list.push_back(webhook_json(w));
  return json_response(200, {{"webhooks", std::move(list)}});
}

Response Api::get_webhook(const Call& call) const {
  const std::string& id = call.params.at("id");
  auto w = webhooks_->get(call.caller.tenant, id);
  if (!w) throw no_webhook(id);
  return json_response(200, webhook_json(*w));
}

Response Api::update_webhook(const Call& call) const {
  const std::string& id = call.params.at("id");
  json doc = body_object(call.request, options_.json_limits);
  if (!webhooks_->get(call.caller.tenant, id)) throw no_webhook(id);  // 404 before 422
  WebhookChange change = parse_change(doc, *webhook_policy_, false);
  auto updated = webhooks_->update(call.caller.tenant, id, change);
  if (!updated) throw no_webhook(id);
  log::info("webhook updated",
            {{"webhook", id}, {"tenant", call.caller.tenant}, {"by", call.caller.credential.id}});
  Response r = json_response(200, webhook_json(updated->first, updated->second));
  if (!updated->second.empty()) r.headers["Cache-Control"] = "no-store";
  return r;
}

Response Api::delete_webhook(const Call& call) const {
  const std::string& id = call.params.at("id");
  if (!webhooks_->remove(call.caller.tenant, id)) throw no_webhook(id);
  log::info("webhook deleted",
            {{"webhook", id}, {"tenant", call.caller.tenant}, {"by", call.caller.credential.id}});
  return no_content();
}

Response Api::list_webhook_deliveries(const Call& call) const {
  const std::string& id = call.params.at("id");
  int limit = 100;
  if (auto it = call.request.query.find("limit"); it != call.request.query.end()) {
    const std::string& v = it->second;
    bool digits = !v.empty() && v.size() <= 4 &&
                  std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); });
    limit = digits ? std::stoi(v) : 0;
    if (limit < 1 || limit > 1000) {
      throw invalid("limit", "must be an integer between 1 and 1000; got '" + v + "'");
    }
  }
  if (!webhooks_->get(call.caller.tenant, id)) throw no_webhook(id);
  json list = json::array();
  for (const WebhookDelivery& d : webhooks_->deliveries(id, limit)) {
    list.push_back(delivery_json(d));
  }
  return json_response(200, {{"deliveries", std::move(list)}});
}

}  // namespace gen::backend

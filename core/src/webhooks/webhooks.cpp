// Webhook subscriptions, the outbox hook of the job store, and the outbound address policy.
// Delivery itself is in webhook_delivery.cpp.
#include "gen/core/webhooks/webhooks.hpp"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <nlohmann/json.hpp>

#include "gen/core/base/clock.hpp"
#include "gen/core/base/errors.hpp"
#include "gen/core/base/text.hpp"
#include "gen/core/queue/states.hpp"
#include "gen/core/storage/database.hpp"
#include "gen/core/tenancy/auth.hpp"
#include "storage/record_values.hpp"
#include "storage/session.hpp"
#include "webhooks/job_events.hpp"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace gen {
namespace {

using rows::i64;
using rows::opt_i64;
using rows::str;

Webhook webhook_row(const RecordSet& rs, std::size_t r) {
  Webhook w;
  w.id = str(rs, 0, r);
  w.tenant = str(rs, 1, r);
  w.url = str(rs, 2, r);
  auto events = nlohmann::json::parse(str(rs, 3, r), nullptr, false);
  if (events.is_array()) {
    for (const auto& e : events) {
      if (e.is_string()) w.events.push_back(e.get<std::string>());
    }
  }
  w.auth = str(rs, 4, r);
  w.basic_user = str(rs, 5, r);
  w.enabled = i64(rs, 6, r) != 0;
  w.created_at_ms = i64(rs, 7, r);
  w.updated_at_ms = i64(rs, 8, r);
  return w;
}

const char* kWebhookColumns =
    "id, tenant, url, events, auth_kind, basic_user, enabled, created_at_ms, updated_at_ms";

std::string new_secret() {
  return "whsec_" + base64url(random_bytes(32));
}

std::string placeholders(std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += i ? ", ?" : "?";
  return out;
}

}  // namespace

// --- AddressPolicy -----------------------------------------------------------------------------

AddressPolicy::AddressPolicy(const std::string& allow_list) {
  if (auto problem = egress::Policy::parse(allow_list, policy_)) {
    throw Error(ErrorCode::kInvalidConfiguration, "WEBHOOKS__ALLOW_HOSTS: " + *problem,
                "WEBHOOKS__ALLOW_HOSTS");
  }
}

std::string AddressPolicy::internal_kind(const std::string& address) {
  return egress::internal_kind(std::string_view(address));
}

AddressPolicy::Target AddressPolicy::check(const std::string& url, const std::string& field) const {
  Target t;
  if (auto problem = policy_.check(url, "outbound webhooks", t)) {
    if (*problem == "must not carry user info") {
      *problem += "; use \"auth\": {\"type\": \"basic\", ...} instead";
    }
    throw Error(ErrorCode::kValidationFailed, field + ": " + *problem, field);
  }
  return t;
}

// --- WebhookStore ------------------------------------------------------------------------------

std::pair<Webhook, std::string> WebhookStore::create(const std::string& tenant,
                                                     const WebhookChange& change) {
  std::string id = new_id();
  std::string generated;
  std::string secret = change.secret;
  std::string auth = change.auth.value_or("hmac");
  if (auth == "hmac" && secret.empty()) generated = secret = new_secret();
  std::string user = auth == "basic" ? change.basic_user : std::string();
  if (auth == "none") secret.clear();
  std::string events =
      nlohmann::json(change.events.value_or(std::vector<std::string>{kJobProcessed})).dump();
  std::string url = change.url.value_or("");
  std::string t = tenant;
  int enabled = change.enabled.value_or(true) ? 1 : 0;
  Poco::Int64 at = now_ms();
  db_.write_transaction([&](Session& s) {
    s << db_.sql(
        "INSERT INTO webhooks (id, tenant, url, events, auth_kind, basic_user, secret, enabled,"
        " created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        use(id), use(t), use(url), use(events), use(auth), use(user), use(secret), use(enabled),
        use(at), use(at), now;
  });
  auto w = get(tenant, id);
  if (!w) throw Error(ErrorCode::kInternal, "webhook " + id + " vanished right after creation");
  return {std::move(*w), generated};
}

std::vector<Webhook> WebhookStore::list(const std::string& tenant) {
  std::vector<Webhook> out;
  db_.read([&](Session& s) {
    std::string t = tenant;
    Statement st(s);
    st << db_.sql(std::string("SELECT ") + kWebhookColumns +
                  " FROM webhooks WHERE tenant = ? ORDER BY created_at_ms, id"),
        use(t);
    st.execute();
    RecordSet rs(st);
    for (std::size_t r = 0; r < rs.rowCount(); ++r) out.push_back(webhook_row(rs, r));
  });
  return out;
}

std::optional<Webhook> WebhookStore::get(const std::string& tenant, const std::string& id) {
  std::optional<Webhook> found;
  db_.read([&](Session& s) {
    std::string t = tenant;
    std::string i = id;
    Statement st(s);
    st << db_.sql(std::string("SELECT ") + kWebhookColumns +
                  " FROM webhooks WHERE id = ? AND tenant = ?"),
        use(i), use(t);
    st.execute();
    RecordSet rs(st);
    if (rs.rowCount() > 0) found = webhook_row(rs, 0);
  });
  return found;
}

std::optional<std::pair<Webhook, std::string>> WebhookStore::update(const std::string& tenant,
                                                                    const std::string& id,
                                                                    const WebhookChange& change) {
  bool found = false;
  std::string generated;
  db_.write_transaction([&](Session& s) {
    std::string t = tenant;
    std::string i = id;
    int n = 0;
    s << db_.sql("SELECT COUNT(*) FROM webhooks WHERE id = ? AND tenant = ?"), use(i), use(t),
        into(n), now;
    if (n == 0) return;
    found = true;
    Poco::Int64 at = now_ms();
    s << db_.sql("UPDATE webhooks SET updated_at_ms = ? WHERE id = ?"), use(at), use(i), now;
    if (change.url) {
      std::string url = *change.url;
      s << db_.sql("UPDATE webhooks SET url = ? WHERE id = ?"), use(url), use(i), now;
    }
    if (change.events) {
      std::string events = nlohmann::json(*change.events).dump();
      s << db_.sql("UPDATE webhooks SET events = ? WHERE id = ?"), use(events), use(i), now;
    }
    if (change.enabled) {
      int enabled = *change.enabled ? 1 : 0;
      s << db_.sql("UPDATE webhooks SET enabled = ? WHERE id = ?"), use(enabled), use(i), now;
    }
    if (change.auth) {
      std::string auth = *change.auth;
      std::string secret = change.secret;
      if (auth == "hmac" && secret.empty()) generated = secret = new_secret();
      if (auth == "none") secret.clear();
      std::string user = auth == "basic" ? change.basic_user : std::string();
      s << db_.sql("UPDATE webhooks SET auth_kind = ?, basic_user = ?, secret = ? WHERE id = ?"),
          use(auth), use(user), use(secret), use(i), now;
    }
  });
  if (!found) return std::nullopt;
  auto w = get(tenant, id);
  if (!w) return std::nullopt;
  return std::make_pair(std::move(*w), generated);
}

bool WebhookStore::remove(const std::string& tenant, const std::string& id) {
  bool removed = false;
  db_.write_transaction([&](Session& s) {
    std::string t = tenant;
    std::string i = id;
    int n = 0;
    s << db_.sql("SELECT COUNT(*) FROM webhooks WHERE id = ? AND tenant = ?"), use(i), use(t),
        into(n), now;
    if (n == 0) return;
    s << db_.sql(
        "DELETE FROM webhook_delivery_attempts WHERE delivery_id IN (SELECT id FROM"
        " webhook_deliveries WHERE webhook_id = ?)"),
        use(i), now;
    s << db_.sql("DELETE FROM webhook_deliveries WHERE webhook_id = ?"), use(i), now;
    s << db_.sql("DELETE FROM webhooks WHERE id = ?"), use(i), now;
    removed = true;
  });
  return removed;
}

std::vector<WebhookDelivery> WebhookStore::deliveries(const std::string& webhook_id, int limit) {
  std::vector<WebhookDelivery> out;
  db_.read([&](Session& s) {
    std::string w = webhook_id;
    int n = limit;
    Statement st(s);
    st << db_.sql(
        "SELECT id, webhook_id, event, job_id, job_status, state, attempt, max_attempts,"
        " next_attempt_at_ms, last_error, created_at_ms, finished_at_ms FROM webhook_deliveries"
        " WHERE webhook_id = ? ORDER BY created_at_ms DESC, id DESC LIMIT ?"),
        use(w), use(n);
    st.execute();
    RecordSet rs(st);
    for (std::size_t r = 0; r < rs.rowCount(); ++r) {
      WebhookDelivery d;
      d.id = str(rs, 0, r);
      d.webhook_id = str(rs, 1, r);
      d.event = str(rs, 2, r);
      d.job_id = str(rs, 3, r);
      d.job_status = str(rs, 4, r);
      d.state = str(rs, 5, r);
      d.attempt = static_cast<int>(i64(rs, 6, r));
      d.max_attempts = static_cast<int>(i64(rs, 7, r));
      d.next_attempt_at_ms = i64(rs, 8, r);
      d.last_error = str(rs, 9, r);
      d.created_at_ms = i64(rs, 10, r);
      d.finished_at_ms = opt_i64(rs, 11, r);
      out.push_back(std::move(d));
    }
    if (out.empty()) return;
    Statement at(s);
    at << db_.sql(
        "SELECT delivery_id, attempt, worker, started_at_ms, finished_at_ms, http_status, error"
        " FROM webhook_delivery_attempts WHERE delivery_id IN (" +
        placeholders(out.size()) + ") ORDER BY delivery_id, attempt");
    std::vector<std::string> ids;
    for (const WebhookDelivery& d : out) ids.push_back(d.id);
    for (std::string& id : ids) at, use(id);
    at.execute();
    RecordSet ar(at);
    for (std::size_t r = 0; r < ar.rowCount(); ++r) {
      std::string id = str(ar, 0, r);
      for (WebhookDelivery& d : out) {
        if (d.id != id) continue;
        WebhookAttempt a;
        a.attempt = static_cast<int>(i64(ar, 1, r));
        a.worker = str(ar, 2, r);
        a.started_at_ms = i64(ar, 3, r);
        a.finished_at_ms = opt_i64(ar, 4, r);
        if (auto status = opt_i64(ar, 5, r)) a.http_status = static_cast<int>(*status);
        a.error = str(ar, 6, r);
        d.attempts.push_back(std::move(a));
      }
    }
  });
  return out;
}

// --- the outbox hook -----------------------------------------------------------------------------

namespace {

// "'COMPLETED', 'FAILED', 'CANCELLED'": the final job statuses as an SQL list.
const std::string& final_job_statuses_sql() {
  static const std::string list = [] {
    std::string out;
    for (JobStatus status : kAllJobStatuses) {
      if (!is_final(status)) continue;
      out += (out.empty() ? "'" : ", '") + std::string(to_string(status)) + "'";
    }
    return out;
  }();
  return list;
}

}  // namespace

std::string job_events_insert_sql(const std::string& jobs, const std::string& max_attempts,
                                  const std::string& at) {
  return "INSERT INTO webhook_deliveries (id, webhook_id, tenant, event, job_id, job_status,"
         " job_error, job_error_code, job_created_at_ms, job_started_at_ms, job_finished_at_ms,"
         " state, attempt, max_attempts, next_attempt_at_ms, created_at_ms)"
         " SELECT w.id || '.JOB_PROCESSED.' || j.id, w.id, w.tenant, 'JOB_PROCESSED', j.id,"
         " j.status, j.error, j.error_code, j.created_at_ms, j.started_at_ms, j.finished_at_ms,"
         " 'PENDING', 0, " +
         max_attempts + ", " + at + ", " + at + " FROM " + jobs +
         " JOIN webhooks w ON w.tenant = j.tenant AND w.enabled = 1"
         " AND w.events LIKE '%\"JOB_PROCESSED\"%'"
         " WHERE j.status IN (" +
         final_job_statuses_sql() + ")";
}

void enqueue_job_events(const Database& db, Session& s, const std::vector<std::string>& job_ids) {
  if (job_ids.empty()) return;
  Poco::Int64 at = now_ms();
  int max_attempts = kWebhookMaxAttempts;
  // The delivery id names the webhook, the event and the job: queuing twice is a no-op, and
  // receivers can deduplicate on it (Generator-Delivery). The job's state is copied so the
  // payload survives the job's deletion.
  Statement st(s);
  st << db.sql(job_events_insert_sql("jobs j", "CAST(? AS INTEGER)", "CAST(? AS BIGINT)") +
               " AND j.id IN (" + placeholders(job_ids.size()) + ") ON CONFLICT (id) DO NOTHING"),
      use(max_attempts), use(at), use(at);
  std::vector<std::string> ids = job_ids;
  for (std::string& id : ids) st, use(id);
  st.execute();
}

}  // namespace gen

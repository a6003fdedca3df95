// Webhook delivery: claims due rows of webhook_deliveries under a lease, POSTs them to the
// subscriber (connecting only to an address the policy allowed), records every try, and
// retries with exponential backoff and jitter. See webhooks.hpp for the contract.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <mutex>
#include <random>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPBasicCredentials.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Nullable.h>
#include <Poco/URI.h>
#include <nlohmann/json.hpp>

#include "gen/core/base/clock.hpp"
#include "gen/core/base/errors.hpp"
#include "gen/core/base/log.hpp"
#include "gen/core/base/text.hpp"
#include "gen/core/queue/states.hpp"
#include "gen/core/storage/database.hpp"
#include "gen/core/webhooks/webhooks.hpp"
#include "storage/record_values.hpp"
#include "storage/session.hpp"

using namespace Poco::Data::Keywords;
using nlohmann::json;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace gen {
namespace {

using rows::i64;
using rows::opt_i64;
using rows::str;

// Most of a receiver's answer we read (and discard) before closing the connection.
constexpr std::size_t kMaxResponseBytes = 64 * 1024;
constexpr std::int64_t kMaxBackoffMs = 3600 * 1000;
// The lease covers connect + send + receive, each bounded by the timeout, and some slack.
constexpr std::int64_t kLeaseSlackMs = 30000;

json iso_time(std::optional<std::int64_t> ms) {
  return ms ? json(format_iso_time(*ms)) : json(nullptr);
}

std::string placeholders(std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += i ? ", ?" : "?";
  return out;
}

std::string url_encode(const std::string& s) {
  std::string out;
  Poco::URI::encode(s, "!#$&'()*+,/:;=?@[]", out);
  return out;
}

// Connects to the address the policy checked, whatever the host name resolves to by now;
// the Host header, TLS server name and certificate check still use the host name.
template <class Base>
class PinnedSession : public Base {
 public:
  template <class... Args>
  explicit PinnedSession(Poco::Net::SocketAddress pinned, Args&&... args)
      : Base(std::forward<Args>(args)...), pinned_(std::move(pinned)) {}

 protected:
  void connect(const Poco::Net::SocketAddress&) override { Base::connect(pinned_); }

 private:
  Poco::Net::SocketAddress pinned_;
};

Poco::Net::Context::Ptr tls_context() {
  static std::once_flag once;
  static Poco::Net::Context::Ptr context;
  std::call_once(once, [] {
    Poco::Net::initializeSSL();
    context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", "",
                                     Poco::Net::Context::VERIFY_RELAXED, 9, true,
                                     "ALL:!ADH:!LOW:!EXP:!MD5:@STRENGTH");
  });
  return context;
}

}  // namespace

struct WebhookDeliverer::Claimed {
  std::string id;
  std::string webhook_id;
  std::string tenant;
  std::string event;
  std::string job_id;
  std::string job_status;
  std::string job_error;
  std::string job_error_code;
  std::optional<std::int64_t> job_created_at_ms, job_started_at_ms, job_finished_at_ms;
  int attempt = 0;
  int max_attempts = 0;
  // The subscription, read in the claim.
  bool webhook_found = false;
  bool enabled = false;
  std::string url;
  std::string auth;
  std::string basic_user;
  std::string secret;
  std::string receiver;  ///< webhook_receiver(url)
};

std::string webhook_receiver(const std::string& url) {
  try {
    Poco::URI uri(url);
    std::string host = uri.getHost();
    if (!host.empty()) return ascii_lower(host) + ":" + std::to_string(uri.getPort());
  } catch (const Poco::Exception&) {
  }
  return url;
}

WebhookDeliverer::WebhookDeliverer(Database& db, std::string worker, WebhookOptions options)
    : db_(db),
      worker_(std::move(worker)),
      options_(std::move(options)),
      policy_(options_.allow_hosts) {
  options_.concurrency = std::max(1, options_.concurrency);
  options_.max_per_receiver = std::max(1, options_.max_per_receiver);
  options_.max_per_tenant = std::max(1, options_.max_per_tenant);
}

WebhookDeliverer::~WebhookDeliverer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  // Claimed but never picked up (only when stopping): their leases expire and another worker
  // retries them, as for a worker that died.
}

std::string WebhookDeliverer::signature(const std::string& secret, std::int64_t unix_seconds,
                                        const std::string& body) {
  std::string signed_text = std::to_string(unix_seconds) + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac, &len);
  return "t=" + std::to_string(unix_seconds) +
         ",v1=" + to_hex({reinterpret_cast<const char*>(mac), len});
}

std::int64_t WebhookDeliverer::backoff_ms(int next_attempt) const {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.75, 1.25);
  double base = static_cast<double>(options_.retry_base_ms) *
                std::pow(2.0, std::clamp(next_attempt - 2, 0, 30));
  return static_cast<std::int64_t>(std::min(base, static_cast<double>(kMaxBackoffMs)) *
                                   jitter(rng));
}

void WebhookDeliverer::claim(DbSession& s, const std::vector<std::string>& ids,
                             std::vector<Claimed>& out) {
  Poco::Int64 at = now_ms();
  Poco::Int64 expires = at + 3 * options_.timeout_ms + kLeaseSlackMs;
  std::string owner = worker_;
  for (const std::string& candidate : ids) {
    std::string id = candidate;
    Statement st(s);
    // "state = 'PENDING'": another worker may have claimed it since it was read.
    st << db_.sql(
        "UPDATE webhook_deliveries SET state = 'RUNNING', attempt = attempt + 1,"
        " lease_owner = ?, lease_expires_at_ms = ? WHERE id = ? AND state = 'PENDING'"
        " RETURNING id, webhook_id, tenant, event, job_id, job_status, job_error,"
        " job_error_code, job_created_at_ms, job_started_at_ms, job_finished_at_ms, attempt,"
        " max_attempts"),
        use(owner), use(expires), use(id);
    st.execute();
    RecordSet rs(st);
    if (rs.rowCount() == 0) continue;
    Claimed c;
    c.id = str(rs, 0, 0);
    c.webhook_id = str(rs, 1, 0);
    c.tenant = str(rs, 2, 0);
    c.event = str(rs, 3, 0);
    c.job_id = str(rs, 4, 0);
    c.job_status = str(rs, 5, 0);
    c.job_error = str(rs, 6, 0);
    c.job_error_code = str(rs, 7, 0);
    c.job_created_at_ms = opt_i64(rs, 8, 0);
    c.job_started_at_ms = opt_i64(rs, 9, 0);
    c.job_finished_at_ms = opt_i64(rs, 10, 0);
    c.attempt = static_cast<int>(i64(rs, 11, 0));
    c.max_attempts = static_cast<int>(i64(rs, 12, 0));
    int attempt = c.attempt;
    s << db_.sql(
        "INSERT INTO webhook_delivery_attempts (delivery_id, attempt, worker, started_at_ms)"
        " VALUES (?, ?, ?, ?)"),
        use(c.id), use(attempt), use(owner), use(at), now;
    Statement ws(s);
    ws << db_.sql("SELECT url, auth_kind, basic_user, secret, enabled FROM webhooks WHERE id = ?"),
        use(c.webhook_id);
    ws.execute();
    RecordSet wr(ws);
    if (wr.rowCount() > 0) {
      c.webhook_found = true;
      c.url = str(wr, 0, 0);
      c.auth = str(wr, 1, 0);
      c.basic_user = str(wr, 2, 0);
      c.secret = str(wr, 3, 0);
      c.enabled = i64(wr, 4, 0) != 0;
    }
    c.receiver = webhook_receiver(c.url);
    out.push_back(std::move(c));
  }
}

bool WebhookDeliverer::deliver_one() {
  std::vector<Claimed> claimed;
  db_.write_transaction([&](DbSession& s) {
    claimed.clear();
    Poco::Int64 at = now_ms();
    std::string lock = db_.dialect() == Dialect::kPostgres ? " FOR UPDATE SKIP LOCKED" : "";
    std::vector<std::string> ids;
    s << db_.sql(
        "SELECT id FROM webhook_deliveries WHERE state = 'PENDING' AND next_attempt_at_ms <= ?"
        " ORDER BY next_attempt_at_ms, id LIMIT 1" +
        lock),
        use(at), into(ids), now;
    claim(s, ids, claimed);
  });
  if (claimed.empty()) return false;
  send(claimed.front());
  return true;
}

int WebhookDeliverer::start_due() {
  std::vector<Claimed> claimed;
  // The caps as they stand; only this thread adds to the counts, so they can only go down
  // meanwhile (a delivery finishing), which errs on the safe side.
  std::map<std::string, int> receivers, tenants;
  int free_slots = 0;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return 0;
    free_slots = options_.concurrency - in_flight_;
    receivers = per_receiver_;
    tenants = per_tenant_;
    if (std::chrono::steady_clock::now() - receivers_learned_at_ > std::chrono::seconds(60)) {
      receiver_of_.clear();
      receivers_learned_at_ = std::chrono::steady_clock::now();
    }
  }
  if (free_slots <= 0) return 0;

  db_.write_transaction([&](DbSession& s) {
    claimed.clear();
    std::map<std::string, int> r_count = receivers, t_count = tenants;
    std::vector<std::string> chosen;
    // A few rounds: a window full of capped receivers' rows teaches which webhooks to skip
    // in SQL, and the next window reaches past them.
    for (int round = 0; round < 3 && static_cast<int>(chosen.size()) < free_slots; ++round) {
      std::vector<std::string> skip_tenants, skip_webhooks;
      for (const auto& [tenant, n] : t_count) {
        if (n >= options_.max_per_tenant) skip_tenants.push_back(tenant);
      }
      for (const auto& [webhook, receiver] : receiver_of_) {
        auto it = r_count.find(receiver);
        if (it != r_count.end() && it->second >= options_.max_per_receiver) {
          skip_webhooks.push_back(webhook);
        }
      }
      Poco::Int64 at = now_ms();
      std::string sql =
          "SELECT d.id, d.tenant, d.webhook_id, w.url FROM webhook_deliveries d"
          " LEFT JOIN webhooks w ON w.id = d.webhook_id"
          " WHERE d.state = 'PENDING' AND d.next_attempt_at_ms <= ?";
      if (!skip_tenants.empty()) {
        sql += " AND d.tenant NOT IN (" + placeholders(skip_tenants.size()) + ")";
      }
      if (!skip_webhooks.empty()) {
        sql += " AND d.webhook_id NOT IN (" + placeholders(skip_webhooks.size()) + ")";
      }
      if (!chosen.empty()) sql += " AND d.id NOT IN (" + placeholders(chosen.size()) + ")";
      sql += " ORDER BY d.next_attempt_at_ms, d.id LIMIT 100";
      if (db_.dialect() == Dialect::kPostgres) sql += " FOR UPDATE OF d SKIP LOCKED";
      Statement st(s);
      st << db_.sql(sql), use(at);
      for (std::string& v : skip_tenants) st, use(v);
      for (std::string& v : skip_webhooks) st, use(v);
      std::vector<std::string> chosen_copy = chosen;
      for (std::string& v : chosen_copy) st, use(v);
      st.execute();
      RecordSet rs(st);
      if (rs.rowCount() == 0) break;
      for (std::size_t r = 0; r < rs.rowCount(); ++r) {
        if (static_cast<int>(chosen.size()) >= free_slots) break;
        std::string tenant = str(rs, 1, r);
        std::string webhook = str(rs, 2, r);
        std::string receiver = webhook_receiver(str(rs, 3, r));
        {
          std::lock_guard lock(mutex_);
          receiver_of_.insert_or_assign(webhook, receiver);
        }
        if (t_count[tenant] >= options_.max_per_tenant) continue;
        if (r_count[receiver] >= options_.max_per_receiver) continue;
        ++t_count[tenant];
        ++r_count[receiver];
        chosen.push_back(str(rs, 0, r));
      }
      if (rs.rowCount() < 100) break;  // the window held every due row
    }
    claim(s, chosen, claimed);
  });
  if (claimed.empty()) return 0;

  std::lock_guard lock(mutex_);
  for (Claimed& c : claimed) {
    ++in_flight_;
    ++per_receiver_[c.receiver];
    ++per_tenant_[c.tenant];
    queue_.push_back(std::move(c));
  }
  while (threads_.size() < static_cast<std::size_t>(options_.concurrency) &&
         threads_.size() < static_cast<std::size_t>(in_flight_)) {
    threads_.emplace_back([this] { delivery_thread(); });
  }
  work_cv_.notify_all();
  return static_cast<int>(claimed.size());
}

void WebhookDeliverer::delivery_thread() {
  for (;;) {
    Claimed c;
    {
      std::unique_lock lock(mutex_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      c = std::move(queue_.front());
      queue_.erase(queue_.begin());
    }
    try {
      send(c);
    } catch (const std::exception& e) {
      // The outcome could not be recorded (database down): the lease expires and the
      // delivery is retried.
      log::warning("webhook delivery failed", {{"delivery", c.id}, {"error", e.what()}});
    }
    {
      std::lock_guard lock(mutex_);
      --in_flight_;
      if (--per_receiver_[c.receiver] <= 0) per_receiver_.erase(c.receiver);
      if (--per_tenant_[c.tenant] <= 0) per_tenant_.erase(c.tenant);
    }
    done_cv_.notify_all();
  }
}

void WebhookDeliverer::wait_for_slot(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  int before = in_flight_;
  done_cv_.wait_for(lock, timeout, [&] { return stopping_ || in_flight_ < before; });
}

int WebhookDeliverer::in_flight() {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

void WebhookDeliverer::send(const Claimed& c) {
  if (!c.webhook_found || !c.enabled) {
    finish(c, std::nullopt,
           c.webhook_found ? "the webhook was disabled before delivery" : "the webhook was deleted",
           true);
    return;
  }

  // The payload: the job as it ended, with links to its results.
  json artifacts = json::array();
  if (parse_job_status(c.job_status) == JobStatus::kCompleted) {
    std::string job = c.job_id;
    std::vector<std::string> names, types, digests;
    std::vector<Poco::Int64> sizes;
    db_.read([&](Session& s) {
      s << db_.sql(
          "SELECT name, media_type, sha256, size_bytes FROM artifacts WHERE job_id = ? AND"
          " step = (SELECT step_count - 1 FROM jobs WHERE id = ?) ORDER BY seq"),
          use(job), use(job), into(names), into(types), into(digests), into(sizes), now;
    });
    for (std::size_t i = 0; i < names.size(); ++i) {
      artifacts.push_back(
          {{"name", names[i]},
           {"media_type", types[i]},
           {"size_bytes", sizes[i]},
           {"sha256", digests[i]},
           {"url", "/api/v1/jobs/" + url_encode(c.job_id) + "/artifacts/" + url_encode(names[i])}});
    }
  }
  json error = nullptr;
  if (!c.job_error_code.empty() || !c.job_error.empty()) {
    error = {{"code", c.job_error_code}, {"message", c.job_error}};
  }
  json payload = {{"event", c.event},
                  {"delivery_id", c.id},
                  {"webhook_id", c.webhook_id},
                  {"tenant", c.tenant.empty() ? json(nullptr) : json(c.tenant)},
                  {"job",
                   {{"id", c.job_id},
                    {"status", c.job_status},
                    {"error", error},
                    {"created_at", iso_time(c.job_created_at_ms)},
                    {"started_at", iso_time(c.job_started_at_ms)},
                    {"finished_at", iso_time(c.job_finished_at_ms)},
                    {"url", "/api/v1/jobs/" + url_encode(c.job_id)},
                    {"artifacts", std::move(artifacts)}}}};
  const std::string body = payload.dump();

  AddressPolicy::Target target;
  try {
    target = policy_.check(c.url, "url");
  } catch (const Error& e) {
    log::warning("webhook delivery refused",
                 {{"delivery", c.id}, {"url", c.url}, {"error", e.what()}});
    finish(c, std::nullopt, e.what(), true);
    return;
  }

  std::optional<int> status;
  std::string error_text;
  try {
    Poco::Net::SocketAddress address(Poco::Net::IPAddress(target.addresses.front()),
                                     static_cast<Poco::UInt16>(target.port));
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (target.scheme == "https") {
      session = std::make_unique<PinnedSession<Poco::Net::HTTPSClientSession>>(
          address, target.host, static_cast<Poco::UInt16>(target.port), tls_context());
    } else {
      session = std::make_unique<PinnedSession<Poco::Net::HTTPClientSession>>(
          address, target.host, static_cast<Poco::UInt16>(target.port));
    }
    session->setTimeout(Poco::Timespan(options_.timeout_ms * 1000));
    session->setKeepAlive(false);
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, target.path,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    request.set("User-Agent", std::string("Generator-Webhooks/") + GENERATOR_VERSION);
    request.set("Generator-Event", c.event);
    request.set("Generator-Delivery", c.id);
    request.set("Generator-Attempt", std::to_string(c.attempt));
    if (c.auth == "hmac") {
      request.set("Generator-Signature", signature(c.secret, now_ms() / 1000, body));
    } else if (c.auth == "basic") {
      Poco::Net::HTTPBasicCredentials(c.basic_user, c.secret).authenticate(request);
    }
    session->sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session->receiveResponse(response);
    char buf[4096];
    std::size_t read = 0;
    while (read < kMaxResponseBytes && in.read(buf, sizeof buf).gcount() > 0) {
      read += static_cast<std::size_t>(in.gcount());
    }
    status = static_cast<int>(response.getStatus());
    if (*status < 200 || *status > 299) {
      error_text =
          "the receiver answered HTTP " + std::to_string(*status) + " " + response.getReason();
    }
  } catch (const Poco::Exception& e) {
    error_text = "cannot deliver to " + target.host + " (" + target.addresses.front() +
                 "): " + e.displayText();
  } catch (const std::exception& e) {
    error_text = std::string("cannot deliver to ") + target.host + ": " + e.what();
  }
  if (!error_text.empty()) {
    log::info("webhook delivery failed",
              {{"delivery", c.id}, {"attempt", c.attempt}, {"error", error_text}});
  }
  finish(c, status, error_text, false);
}

void WebhookDeliverer::finish(const Claimed& c, std::optional<int> http_status,
                              const std::string& error, bool permanent) {
  db_.write_transaction([&](Session& s) {
    Poco::Int64 at = now_ms();
    std::string id = c.id;
    int attempt = c.attempt;
    std::vector<std::string> applied;
    std::string err = error;
    if (error.empty()) {
      s << db_.sql(
          "UPDATE webhook_deliveries SET state = 'DELIVERED', lease_owner = NULL,"
          " lease_expires_at_ms = NULL, last_error = NULL, finished_at_ms = ? WHERE id = ?"
          " AND attempt = ? AND state = 'RUNNING' RETURNING id"),
          use(at), use(id), use(attempt), into(applied), now;
    } else if (!permanent && attempt < c.max_attempts) {
      Poco::Int64 next = at + backoff_ms(attempt + 1);
      s << db_.sql(
          "UPDATE webhook_deliveries SET state = 'PENDING', lease_owner = NULL,"
          " lease_expires_at_ms = NULL, last_error = ?, next_attempt_at_ms = ? WHERE id = ?"
          " AND attempt = ? AND state = 'RUNNING' RETURNING id"),
          use(err), use(next), use(id), use(attempt), into(applied), now;
    } else {
      s << db_.sql(
          "UPDATE webhook_deliveries SET state = 'FAILED', lease_owner = NULL,"
          " lease_expires_at_ms = NULL, last_error = ?, finished_at_ms = ? WHERE id = ?"
          " AND attempt = ? AND state = 'RUNNING' RETURNING id"),
          use(err), use(at), use(id), use(attempt), into(applied), now;
    }
    if (applied.empty()) return;  // fenced: rescued (and maybe retried) meanwhile
    Poco::Nullable<int> status;
    if (http_status) status = *http_status;
    Poco::Nullable<std::string> err_or_null;
    if (!error.empty()) err_or_null = error;
    s << db_.sql(
        "UPDATE webhook_delivery_attempts SET finished_at_ms = ?, http_status = ?, error = ?"
        " WHERE delivery_id = ? AND attempt = ?"),
        use(at), use(status), use(err_or_null), use(id), use(attempt), now;
  });
}

int WebhookDeliverer::rescue_expired() {
  std::vector<Claimed> expired;
  std::vector<std::string> owners;
  db_.read([&](Session& s) {
    Poco::Int64 at = now_ms();
    Statement st(s);
    st << db_.sql(
        "SELECT id, attempt, max_attempts, lease_owner FROM webhook_deliveries"
        " WHERE state = 'RUNNING' AND lease_expires_at_ms < ? LIMIT 100"),
        use(at);
    st.execute();
    RecordSet rs(st);
    for (std::size_t r = 0; r < rs.rowCount(); ++r) {
      Claimed c;
      c.id = str(rs, 0, r);
      c.attempt = static_cast<int>(i64(rs, 1, r));
      c.max_attempts = static_cast<int>(i64(rs, 2, r));
      expired.push_back(std::move(c));
      owners.push_back(str(rs, 3, r));
    }
  });
  for (std::size_t i = 0; i < expired.size(); ++i) {
    finish(expired[i], std::nullopt,
           "lease expired: worker " + owners[i] + " stopped before the delivery finished", false);
  }
  return static_cast<int>(expired.size());
}

int WebhookDeliverer::prune() {
  if (options_.retention_ms <= 0) return 0;
  int pruned = 0;
  db_.write_transaction([&](Session& s) {
    Poco::Int64 before = now_ms() - options_.retention_ms;
    std::vector<std::string> ids;
    s << db_.sql(
        "SELECT id FROM webhook_deliveries WHERE finished_at_ms IS NOT NULL AND"
        " finished_at_ms < ? ORDER BY finished_at_ms LIMIT 500"),
        use(before), into(ids), now;
    for (std::string& id : ids) {
      s << db_.sql("DELETE FROM webhook_delivery_attempts WHERE delivery_id = ?"), use(id), now;
      s << db_.sql("DELETE FROM webhook_deliveries WHERE id = ?"), use(id), now;
    }
    pruned = static_cast<int>(ids.size());
  });
  return pruned;
}

}  // namespace gen

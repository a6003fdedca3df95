// Webhooks: per-tenant subscriptions to job events, delivered by the workers.
//
// When a job ends (COMPLETED, FAILED or CANCELLED) the job store writes one delivery row per
// subscribed webhook *in the transaction that ends the job* (a transactional outbox:
// `enqueue_job_events`), so an event is never lost and never queued for a job that did not
// end. Worker processes claim due deliveries like tasks (a lease, an attempt number that
// fences the completion), POST them with retries and exponential backoff, and record every
// try. Delivery is at least once: receivers deduplicate on the Generator-Delivery header.
// A process sends several deliveries at once, at most so many per receiver (host:port) and per
// tenant, so a receiver that never answers holds a few slots of its own tenant and no more.
//
// Outbound requests never reach loopback, private, link-local, CGNAT, multicast or
// unspecified addresses unless WEBHOOKS__ALLOW_HOSTS lists the host or a CIDR block holding
// the address; the check runs when a subscription is created or changed and again at every
// delivery, which connects to the very address it checked (no DNS rebinding).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gen/egress/address_policy.hpp>

namespace gen {

class Database;
class DbSession;

/// The one event so far: a job ended, successfully or not.
inline constexpr const char* kJobProcessed = "JOB_PROCESSED";
/// Tries per delivery before it is marked FAILED.
inline constexpr int kWebhookMaxAttempts = 8;

/// The address rules for outbound webhook requests: gen::egress::Policy (shared with the
/// plugins that reach user-supplied URLs), with gen::Error for its refusals.
class AddressPolicy {
 public:
  /// `allow_list`: comma-separated host names (matched exactly, case-insensitively) and IP
  /// addresses or CIDR blocks ("127.0.0.1/32", "10.0.0.0/8", "::1"). Throws gen::Error
  /// (kInvalidConfiguration, field WEBHOOKS__ALLOW_HOSTS) on a malformed entry.
  explicit AddressPolicy(const std::string& allow_list = {});

  /// Why `address` (a literal IPv4 or IPv6 address) may not be reached ("a loopback
  /// address" ...), or "" when it is a public address. Ignores the allow-list.
  static std::string internal_kind(const std::string& address);

  using Target = egress::Target;

  /// Parses and checks `url` (http or https, a host, no user info), resolves its host and
  /// returns the target when every address may be reached. Throws gen::Error
  /// (kValidationFailed, `field`) naming the reason otherwise.
  Target check(const std::string& url, const std::string& field) const;

 private:
  egress::Policy policy_;
};

/// The runtime settings of webhook delivery (WEBHOOKS__* in the environment).
struct WebhookOptions {
  std::string allow_hosts;                ///< WEBHOOKS__ALLOW_HOSTS
  std::int64_t retry_base_ms = 5000;      ///< WEBHOOKS__RETRY_BASE_MS: first retry's delay
  std::int64_t timeout_ms = 10000;        ///< WEBHOOKS__TIMEOUT_MS: per request
  std::int64_t retention_ms = 604800000;  ///< finished deliveries older than this are pruned
  int concurrency = 8;                    ///< WEBHOOKS__CONCURRENCY: deliveries in flight
  int max_per_receiver = 2;               ///< WEBHOOKS__MAX_PER_RECEIVER: ... to one host:port
  int max_per_tenant = 4;                 ///< WEBHOOKS__MAX_PER_TENANT: ... for one tenant
};

/// The receiver a webhook URL names, for the per-receiver cap: "host:port" (host lowercased,
/// the scheme's port when none is given); the URL itself when it does not parse.
std::string webhook_receiver(const std::string& url);

/// A subscription as shown by the API (secrets never leave the store after creation).
struct Webhook {
  std::string id;
  std::string tenant;
  std::string url;
  std::vector<std::string> events;
  std::string auth;        ///< "none", "basic" or "hmac"
  std::string basic_user;  ///< auth = basic
  bool enabled = true;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

/// What a subscription is made or changed with; absent fields keep their value on update.
struct WebhookChange {
  std::optional<std::string> url;
  std::optional<std::vector<std::string>> events;
  std::optional<std::string> auth;  ///< when set, `basic_user` / `secret` go with it
  std::string basic_user;
  std::string secret;  ///< basic password or HMAC key; empty with hmac: generated
  std::optional<bool> enabled;
};

struct WebhookAttempt {
  int attempt = 0;
  std::string worker;
  std::int64_t started_at_ms = 0;
  std::optional<std::int64_t> finished_at_ms;
  std::optional<int> http_status;
  std::string error;
};

struct WebhookDelivery {
  std::string id;
  std::string webhook_id;
  std::string event;
  std::string job_id;
  std::string job_status;
  std::string state;  ///< PENDING, RUNNING, DELIVERED, FAILED
  int attempt = 0;
  int max_attempts = 0;
  std::int64_t next_attempt_at_ms = 0;
  std::string last_error;
  std::int64_t created_at_ms = 0;
  std::optional<std::int64_t> finished_at_ms;
  std::vector<WebhookAttempt> attempts;
};

/// The subscriptions of each tenant and their deliveries.
class WebhookStore {
 public:
  explicit WebhookStore(Database& db) : db_(db) {}

  /// Stores a new subscription (`change.url`, `change.auth` must be set; the caller has
  /// validated them). Returns it and the HMAC secret when one was generated ("" otherwise).
  std::pair<Webhook, std::string> create(const std::string& tenant, const WebhookChange& change);
  std::vector<Webhook> list(const std::string& tenant);
  /// nullopt when absent or another tenant's.
  std::optional<Webhook> get(const std::string& tenant, const std::string& id);
  /// Applies the set fields; nullopt when absent. Returns the generated HMAC secret too.
  std::optional<std::pair<Webhook, std::string>> update(const std::string& tenant,
                                                        const std::string& id,
                                                        const WebhookChange& change);
  /// Deletes it with its deliveries; false when absent.
  bool remove(const std::string& tenant, const std::string& id);
  /// The newest `limit` deliveries of a webhook, each with its attempts.
  std::vector<WebhookDelivery> deliveries(const std::string& webhook_id, int limit);

 private:
  Database& db_;
};

/// The job store's outbox hook (enqueue_job_events) is private to core:
/// core/src/webhooks/job_events.hpp.

/// Delivers due webhook deliveries; one per worker process, driven by one thread that calls
/// start_due() and wait_for_slot() in a loop, sending on up to options.concurrency threads of
/// its own.
class WebhookDeliverer {
 public:
  WebhookDeliverer(Database& db, std::string worker, WebhookOptions options);
  /// Waits for the deliveries in flight (each bounded by the timeout) and stops the threads.
  ~WebhookDeliverer();
  WebhookDeliverer(const WebhookDeliverer&) = delete;
  WebhookDeliverer& operator=(const WebhookDeliverer&) = delete;

  /// Claims the oldest due delivery, sends it on the calling thread and records the outcome
  /// (DELIVERED, a retry after a backoff, or FAILED after the last attempt or when the target
  /// is refused). Returns false when nothing was due. Ignores the caps.
  bool deliver_one();
  /// Claims due deliveries, oldest first, as long as a slot is free and their receiver and
  /// tenant are under their caps (one tenant's or receiver's backlog is skipped, not waited
  /// for), and starts sending them on the delivery threads. Returns how many it started.
  int start_due();
  /// Blocks until a delivery in flight finishes or `timeout` passes.
  void wait_for_slot(std::chrono::milliseconds timeout);
  /// Deliveries being sent right now.
  int in_flight();
  /// Deliveries whose holder stopped before finishing: recorded as a failed try and retried.
  int rescue_expired();
  /// Deletes finished deliveries older than the retention; returns how many.
  int prune();

  /// The Generator-Signature header value for `body` at `unix_seconds`:
  /// "t=<seconds>,v1=<hex HMAC-SHA256(secret, "<seconds>.<body>")>".
  static std::string signature(const std::string& secret, std::int64_t unix_seconds,
                               const std::string& body);
  /// Delay before attempt `next_attempt` (2, 3, ...): base x 2^(n-2), x 0.75-1.25, max 1 h.
  std::int64_t backoff_ms(int next_attempt) const;

 private:
  struct Claimed;
  /// Claims the rows `ids` still PENDING (in the caller's transaction); fills `out`.
  void claim(DbSession& s, const std::vector<std::string>& ids, std::vector<Claimed>& out);
  /// Sends one claimed delivery and records the outcome.
  void send(const Claimed& claimed);
  void finish(const Claimed& claimed, std::optional<int> http_status, const std::string& error,
              bool permanent);
  void delivery_thread();

  Database& db_;
  std::string worker_;
  WebhookOptions options_;
  AddressPolicy policy_;

  // The delivery threads and what they share (guarded by mutex_).
  std::mutex mutex_;
  std::condition_variable work_cv_;  ///< a claimed delivery waits, or stopping
  std::condition_variable done_cv_;  ///< a delivery finished
  std::vector<Claimed> queue_;       ///< claimed, not yet picked up by a thread
  std::vector<std::thread> threads_;
  bool stopping_ = false;
  int in_flight_ = 0;
  std::map<std::string, int> per_receiver_;
  std::map<std::string, int> per_tenant_;
  /// Webhook id -> receiver, learned from claim windows: lets a claim skip the backlog of a
  /// receiver at its cap in SQL. Forgotten now and then (URLs change).
  std::map<std::string, std::string> receiver_of_;
  std::chrono::steady_clock::time_point receivers_learned_at_{};
};

}  // namespace gen

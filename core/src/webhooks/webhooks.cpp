// Webhook subscriptions, the outbox hook of the job store, and the outbound address policy.
// Delivery itself is in webhook_delivery.cpp.
#include "gen/core/webhooks/webhooks.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>
#include <Poco/Net/DNS.h>
#include <Poco/Net/HostEntry.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/NetException.h>
#include <Poco/URI.h>
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

using Bytes = std::vector<unsigned char>;

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::optional<Bytes> parse_address(const std::string& text) {
  Poco::Net::IPAddress ip;
  if (!Poco::Net::IPAddress::tryParse(text, ip)) return std::nullopt;
  const auto* p = static_cast<const unsigned char*>(ip.addr());
  return Bytes(p, p + ip.length());
}

// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are IPv4 addresses for every check.
Bytes normalized(Bytes b) {
  if (b.size() == 16) {
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(b.data(), mapped, 12) == 0) return Bytes(b.begin() + 12, b.end());
  }
  return b;
}

bool in_block(const Bytes& b, const Bytes& net, int prefix) {
  if (b.size() != net.size()) return false;
  int full = prefix / 8;
  if (std::memcmp(b.data(), net.data(), static_cast<std::size_t>(full)) != 0) return false;
  int rest = prefix % 8;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (b[full] & mask) == (net[full] & mask);
}

std::string v4_kind(const Bytes& b) {
  struct Rule {
    Bytes net;
    int prefix;
    const char* kind;
  };
  static const std::vector<Rule> rules = {
      {{0, 0, 0, 0}, 8, "an unspecified (this-network) address"},
      {{10, 0, 0, 0}, 8, "a private address"},
      {{100, 64, 0, 0}, 10, "a shared (CGNAT) address"},
      {{127, 0, 0, 0}, 8, "a loopback address"},
      {{169, 254, 0, 0}, 16, "a link-local address"},
      {{172, 16, 0, 0}, 12, "a private address"},
      {{192, 0, 0, 0}, 24, "a reserved address"},
      {{192, 0, 2, 0}, 24, "a reserved (documentation) address"},
      {{192, 88, 99, 0}, 24, "a reserved (6to4 relay anycast) address"},
      {{192, 168, 0, 0}, 16, "a private address"},
      {{198, 18, 0, 0}, 15, "a reserved (benchmarking) address"},
      {{198, 51, 100, 0}, 24, "a reserved (documentation) address"},
      {{203, 0, 113, 0}, 24, "a reserved (documentation) address"},
      {{224, 0, 0, 0}, 4, "a multicast address"},
      {{240, 0, 0, 0}, 4, "a reserved (or broadcast) address"},
  };
  for (const Rule& r : rules) {
    if (in_block(b, r.net, r.prefix)) return r.kind;
  }
  return {};
}

// The IANA IPv6 Special-Purpose Address Registry (checked 2026-12): every block that is not
// globally reachable is refused, and so is everything outside global unicast (2000::/3) except
// NAT64's well-known prefix, whose embedded IPv4 address is judged as IPv4.
std::string v6_kind(const Bytes& b) {
  Bytes zero(16, 0);
  if (b == zero) return "an unspecified address";
  Bytes one = zero;
  one[15] = 1;
  if (b == one) return "a loopback address";
  auto embedded = [&](std::size_t at) { return Bytes(b.begin() + at, b.begin() + at + 4); };
  auto net = [](std::initializer_list<unsigned char> head) {
    Bytes n(16, 0);
    std::copy(head.begin(), head.end(), n.begin());
    return n;
  };
  // 64:ff9b::/96 (RFC 6052): the IPv4 address in the last 32 bits is the real destination.
  if (in_block(b, net({0, 0x64, 0xff, 0x9b}), 96)) return v4_kind(embedded(12));
  // 2002::/16 6to4 (RFC 3056): bits 16-47 are the IPv4 address of the site's relay.
  if (in_block(b, net({0x20, 0x02}), 16)) {
    std::string kind = v4_kind(embedded(2));
    if (!kind.empty()) return kind + " (in a 6to4 address)";
  }
  struct Rule {
    Bytes net;
    int prefix;
    const char* kind;
  };
  static const std::vector<Rule> rules = {
      // ::/8 holds ::/128, ::1/128, IPv4-compatible ::a.b.c.d (deprecated) and
      // IPv4-translated ::ffff:0:a.b.c.d (RFC 2765); IPv4-mapped ones were judged as IPv4.
      {net({0}), 8, "a reserved (IPv4-compatible or IPv4-translated) address"},
      {net({0, 0x64, 0xff, 0x9b, 0, 1}), 48, "a local-use NAT64 address"},  // RFC 8215
      {net({0x01, 0x00}), 64, "a discard-only address"},                    // 100::/64
      {net({0x01, 0x00, 0, 0, 0, 0, 0, 1}), 64, "a reserved (dummy) address"},
      // 2001::/23, IETF protocol assignments: Teredo 2001::/32 (embeds an IPv4 server and an
      // obfuscated client), benchmarking 2001:2::/48, ORCHID and the rest.
      {net({0x20, 0x01, 0x00, 0x00}), 23, "a reserved (Teredo or IETF protocol) address"},
      {net({0x20, 0x01, 0x0d, 0xb8}), 32, "a reserved (documentation) address"},
      {net({0x3f, 0xff}), 20, "a reserved (documentation) address"},  // RFC 9637
      {net({0x5f, 0x00}), 16, "a reserved (SRv6 segment identifier) address"},
      {net({0xfc, 0x00}), 7, "a private (unique local) address"},
      {net({0xfe, 0x80}), 10, "a link-local address"},
      {net({0xfe, 0xc0}), 10, "a private (site-local) address"},
      {net({0xff, 0x00}), 8, "a multicast address"},
  };
  for (const Rule& r : rules) {
    if (in_block(b, r.net, r.prefix)) return r.kind;
  }
  if (!in_block(b, net({0x20}), 3)) return "a reserved (unallocated) address";
  return {};
}

std::string kind_of(const Bytes& raw) {
  Bytes b = normalized(raw);
  return b.size() == 4 ? v4_kind(b) : v6_kind(b);
}

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
  std::size_t start = 0;
  while (start <= allow_list.size()) {
    std::size_t comma = allow_list.find(',', start);
    if (comma == std::string::npos) comma = allow_list.size();
    std::string entry = trim(allow_list.substr(start, comma - start));
    start = comma + 1;
    if (entry.empty()) continue;
    std::string address = entry;
    int prefix = -1;
    if (auto slash = entry.find('/'); slash != std::string::npos) {
      address = entry.substr(0, slash);
      std::string bits = entry.substr(slash + 1);
      bool digits =
          !bits.empty() && bits.size() <= 3 &&
          std::all_of(bits.begin(), bits.end(), [](unsigned char c) { return std::isdigit(c); });
      prefix = digits ? std::stoi(bits) : 1000;
    }
    std::optional<Bytes> bytes = parse_address(address);
    if (!bytes) {
      bool hostname = prefix < 0 && std::all_of(entry.begin(), entry.end(), [](unsigned char c) {
                        return std::isalnum(c) || c == '-' || c == '.' || c == '_';
                      });
      if (!hostname) {
        throw Error(ErrorCode::kInvalidConfiguration,
                    "WEBHOOKS__ALLOW_HOSTS: '" + entry +
                        "' is neither a host name nor an IP address or CIDR block",
                    "WEBHOOKS__ALLOW_HOSTS");
      }
      hosts_.push_back(ascii_lower(entry));
      continue;
    }
    Bytes b = normalized(*bytes);
    int max_prefix = static_cast<int>(b.size() * 8);
    if (prefix < 0) prefix = max_prefix;
    if (prefix > max_prefix) {
      throw Error(ErrorCode::kInvalidConfiguration,
                  "WEBHOOKS__ALLOW_HOSTS: '" + entry + "' has a prefix length above " +
                      std::to_string(max_prefix),
                  "WEBHOOKS__ALLOW_HOSTS");
    }
    blocks_.push_back(Block{std::move(b), prefix});
  }
}

std::string AddressPolicy::internal_kind(const std::string& address) {
  std::optional<Bytes> b = parse_address(address);
  if (!b) return "not an IP address";
  return kind_of(*b);
}

bool AddressPolicy::allowed_host(const std::string& host) const {
  return std::find(hosts_.begin(), hosts_.end(), ascii_lower(host)) != hosts_.end();
}

bool AddressPolicy::allowed_address(const Bytes& raw) const {
  Bytes b = normalized(raw);
  return std::any_of(blocks_.begin(), blocks_.end(),
                     [&](const Block& block) { return in_block(b, block.bytes, block.prefix); });
}

AddressPolicy::Target AddressPolicy::check(const std::string& url, const std::string& field) const {
  auto refuse = [&](const std::string& why) {
    return Error(ErrorCode::kValidationFailed, field + ": " + why, field);
  };
  Poco::URI uri;
  try {
    uri = Poco::URI(url);
  } catch (const Poco::Exception& e) {
    throw refuse("'" + url + "' is not a valid URL (" + e.displayText() + ")");
  }
  Target t;
  t.scheme = ascii_lower(uri.getScheme());
  if (t.scheme != "http" && t.scheme != "https") {
    throw refuse("must be an http:// or https:// URL; got '" + url + "'");
  }
  if (!uri.getUserInfo().empty()) {
    throw refuse("must not carry user info; use \"auth\": {\"type\": \"basic\", ...} instead");
  }
  t.host = uri.getHost();
  if (t.host.empty()) throw refuse("has no host: '" + url + "'");
  t.port = uri.getPort();
  t.path = uri.getPathEtc();
  if (t.path.empty() || t.path.front() != '/') t.path = "/" + t.path;

  std::vector<Bytes> resolved;
  if (std::optional<Bytes> literal = parse_address(t.host)) {
    resolved.push_back(*literal);
  } else {
    try {
      const Poco::Net::HostEntry entry = Poco::Net::DNS::hostByName(t.host);
      for (const Poco::Net::IPAddress& ip : entry.addresses()) {
        const auto* p = static_cast<const unsigned char*>(ip.addr());
        resolved.emplace_back(p, p + ip.length());
      }
    } catch (const Poco::Exception& e) {
      throw refuse("cannot resolve host '" + t.host + "' (" + e.displayText() + ")");
    }
  }
  if (resolved.empty()) throw refuse("host '" + t.host + "' has no address");
  bool host_allowed = allowed_host(t.host);
  for (const Bytes& b : resolved) {
    std::string text =
        Poco::Net::IPAddress(b.data(), static_cast<poco_socklen_t>(b.size())).toString();
    std::string kind = kind_of(b);
    if (!kind.empty() && !host_allowed && !allowed_address(b)) {
      throw refuse("refused: host '" + t.host + "' resolves to " + text + ", " + kind +
                   "; outbound webhooks reach such addresses only when WEBHOOKS__ALLOW_HOSTS "
                   "allows them");
    }
    t.addresses.push_back(text);
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

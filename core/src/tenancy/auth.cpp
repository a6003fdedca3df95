#include "gen/core/tenancy/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/random.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/DigestEngine.h>
#include <Poco/JWT/JWTException.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/SHA2Engine.h>
#include <nlohmann/json.hpp>

#include "gen/core/base/clock.hpp"
#include "gen/core/base/errors.hpp"
#include "gen/core/base/text.hpp"
#include "gen/core/storage/database.hpp"
#include "gen/core/tenancy/tenants.hpp"
#include "storage/session.hpp"

using namespace Poco::Data::Keywords;
using nlohmann::json;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace gen {
namespace {

constexpr int kPasswordIterations = 100000;
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
constexpr std::size_t kMinPasswordBytes = 12;
constexpr std::size_t kMaxIdBytes = 64;
constexpr const char* kRootId = "root";

std::string pbkdf2(const std::string& password, const std::string& salt, int rounds) {
  unsigned char out[kHashBytes];
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), rounds, EVP_sha256(), kHashBytes,
                        out) != 1) {
    throw Error(ErrorCode::kInternal, "PBKDF2 failed");
  }
  return std::string(reinterpret_cast<char*>(out), kHashBytes);
}

[[noreturn]] void invalid(const std::string& field, const std::string& message) {
  throw Error(ErrorCode::kValidationFailed, field + ": " + message, field);
}

void check_id(const std::string& id, const std::string& field, const std::string& what) {
  if (id.empty() || id.size() > kMaxIdBytes) {
    invalid(field, what + " must be 1 to " + std::to_string(kMaxIdBytes) + " characters");
  }
  for (unsigned char c : id) {
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.' && c != '@') {
      invalid(field, what + " may contain only letters, digits, '-', '_', '.' and '@'");
    }
  }
}

void check_scopes(const std::vector<std::string>& scopes, const std::string& field) {
  for (std::size_t i = 0; i < scopes.size(); ++i) {
    if (!parse_scope(scopes[i])) {
      std::string list;
      for (const auto& k : known_scopes()) list += (list.empty() ? "" : ", ") + k;
      invalid(field + "[" + std::to_string(i) + "]",
              "unknown scope '" + scopes[i] + "' (known: " + list + ")");
    }
  }
}

const char* kColumns =
    "id, is_active, is_root, scopes, tenants, created_at_ms, updated_at_ms, generation";

// A credential's incarnation (Credential::generation).
std::string new_generation() {
  return to_hex(random_bytes(16));
}

// The process-wide bound on concurrent password hashing: PBKDF2 is CPU work on a request
// thread, and a flood of logins must leave CPU (and request threads) for every other request.
// As many checks as run may wait for a slot, each at most max_wait_ms; the others are refused
// at once, so a flood holds at most 2 x max_concurrent request threads.
class HashGate {
 public:
  void configure(HashLimits limits) {
    std::lock_guard lock(mutex_);
    limits_ = limits;
    if (limits_.max_concurrent <= 0) {
      limits_.max_concurrent =
          std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / 2);
    }
    cv_.notify_all();
  }
  int max_concurrent() {
    std::lock_guard lock(mutex_);
    return limits_.max_concurrent;
  }
  // Holds one of the slots for its lifetime; kTooManyRequests when none freed in time.
  class Slot {
   public:
    explicit Slot(HashGate& gate) : gate_(gate) {
      std::unique_lock lock(gate_.mutex_);
      if (gate_.running_ >= gate_.limits_.max_concurrent &&
          gate_.waiting_ >= gate_.limits_.max_concurrent) {
        throw busy();
      }
      ++gate_.waiting_;
      auto until = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(std::max<std::int64_t>(0, gate_.limits_.max_wait_ms));
      bool free = gate_.cv_.wait_until(
          lock, until, [&] { return gate_.running_ < gate_.limits_.max_concurrent; });
      --gate_.waiting_;
      if (!free) throw busy();
      ++gate_.running_;
    }
    ~Slot() {
      std::lock_guard lock(gate_.mutex_);
      --gate_.running_;
      gate_.cv_.notify_one();
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    static Error busy() {
      return Error(ErrorCode::kTooManyRequests,
                   "too many logins are being checked at once; retry in a second");
    }
    HashGate& gate_;
  };

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  HashLimits limits_{std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / 2), 1000};
  int running_ = 0;
  int waiting_ = 0;
};

HashGate& hash_gate() {
  static HashGate gate;
  return gate;
}

Credential credential_from(const RecordSet& rs, std::size_t row) {
  Credential c;
  c.id = rs.value(0, row).convert<std::string>();
  c.is_active = rs.value(1, row).convert<int>() != 0;
  c.is_root = rs.value(2, row).convert<int>() != 0;
  c.scopes = json::parse(rs.value(3, row).convert<std::string>()).get<std::vector<std::string>>();
  c.tenants = json::parse(rs.value(4, row).convert<std::string>())
                  .get<std::map<std::string, std::vector<std::string>>>();
  c.created_at_ms = rs.value(5, row).convert<Poco::Int64>();
  c.updated_at_ms = rs.value(6, row).convert<Poco::Int64>();
  c.generation = rs.value(7, row).convert<std::string>();
  return c;
}

// `if_absent`: no error when the id exists (several backends installing the root at once).
void insert_credential(const Database& db, Session& s, const Credential& c,
                       const std::string& password_hash, bool if_absent = false) {
  std::string id = c.id, hash = password_hash, scopes = json(c.scopes).dump(),
              tenants = json(c.tenants).dump(), generation = c.generation;
  int active = c.is_active ? 1 : 0, root = c.is_root ? 1 : 0;
  Poco::Int64 at = c.created_at_ms;
  s << db.sql(
      "INSERT INTO credentials (id, password_hash, is_active, is_root, scopes, tenants,"
      " created_at_ms, updated_at_ms, generation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)" +
      std::string(if_absent ? " ON CONFLICT (id) DO NOTHING" : "")),
      use(id), use(hash), use(active), use(root), use(scopes), use(tenants), use(at), use(at),
      use(generation), now;
}

void insert_key(const Database& db, Session& s, const std::string& credential_id,
                const std::string& key, const std::string& source, bool if_absent = false) {
  std::string hash = hash_api_key(key), id = credential_id, src = source;
  Poco::Int64 at = now_ms();
  s << db.sql(std::string("INSERT INTO api_keys (key_hash, credential_id, source, created_at_ms)"
                          " VALUES (?, ?, ?, ?)") +
              (if_absent ? " ON CONFLICT (key_hash) DO NOTHING" : "")),
      use(hash), use(id), use(src), use(at), now;
}

bool exists(const Database& db, Session& s, const std::string& id) {
  std::string v = id;
  int n = 0;
  s << db.sql("SELECT COUNT(*) FROM credentials WHERE id = ?"), use(v), into(n), now;
  return n > 0;
}

}  // namespace

const std::vector<std::string>& known_scopes() {
  static const std::vector<std::string> scopes = [] {
    std::vector<std::string> out;
    for (Scope s : kAllScopes) out.emplace_back(to_string(s));
    return out;
  }();
  return scopes;
}

namespace {

bool holds(const std::vector<std::string>& held, Scope scope) {
  return std::find(held.begin(), held.end(), to_string(scope)) != held.end();
}

}  // namespace

bool Credential::allows_globally(Scope scope) const {
  return is_root || holds(scopes, scope);
}

bool Credential::allows(Scope scope, const std::string& tenant) const {
  if (allows_globally(scope)) return true;
  if (tenant.empty()) return false;
  auto it = tenants.find(tenant);
  return it != tenants.end() && holds(it->second, scope);
}

bool Credential::allows_globally(const std::string& scope) const {
  const std::optional<Scope> s = parse_scope(scope);
  return s ? allows_globally(*s) : is_root;
}

bool Credential::allows(const std::string& scope, const std::string& tenant) const {
  const std::optional<Scope> s = parse_scope(scope);
  return s ? allows(*s, tenant) : is_root;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::getrandom(out.data() + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::kInternal, "getrandom() failed");
    }
    got += static_cast<std::size_t>(r);
  }
  return out;
}

std::string new_api_key() {
  return "gen_" + base64url(random_bytes(32));
}

std::string hash_password(const std::string& password) {
  std::string salt = random_bytes(kSaltBytes);
  return "pbkdf2-sha256$" + std::to_string(kPasswordIterations) + "$" + to_hex(salt) + "$" +
         to_hex(pbkdf2(password, salt, kPasswordIterations));
}

bool verify_password(const std::string& password, const std::string& stored) {
  // pbkdf2-sha256$<rounds>$<salt>$<hash>
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    auto d = stored.find('$', start);
    parts.push_back(stored.substr(start, d - start));
    if (d == std::string::npos) break;
    start = d + 1;
  }
  if (parts.size() != 4 || parts[0] != "pbkdf2-sha256") return false;
  int rounds = 0;
  try {
    rounds = std::stoi(parts[1]);
  } catch (const std::exception&) {
    return false;
  }
  auto salt = from_hex(parts[2]);
  auto expected = from_hex(parts[3]);
  if (rounds < 1 || !salt || !expected || expected->size() != kHashBytes) return false;
  std::string actual = pbkdf2(password, *salt, rounds);
  return CRYPTO_memcmp(actual.data(), expected->data(), kHashBytes) == 0;
}

std::string hash_api_key(const std::string& key) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(key.data(), key.size());
  return Poco::DigestEngine::digestToHex(engine.digest());
}

IssuedCredential CredentialStore::create(Credential c, std::string password) {
  check_id(c.id, "id", "a credential id");
  if (c.id == kRootId) invalid("id", "'root' is reserved for the root credential");
  check_scopes(c.scopes, "scopes");
  for (const auto& [tenant, scopes] : c.tenants) {
    TenantStore::check_id(tenant, "tenants");
    check_scopes(scopes, "tenants." + tenant);
  }
  if (password.empty()) {
    password = base64url(random_bytes(24));
  } else if (password.size() < kMinPasswordBytes) {
    invalid("password", "must be at least " + std::to_string(kMinPasswordBytes) + " characters");
  }
  c.is_root = false;
  c.created_at_ms = c.updated_at_ms = now_ms();
  c.generation = new_generation();  // a credential created again under this id is another one
  IssuedCredential issued{c, password, new_api_key()};
  std::string hash = hash_password(password);  // slow on purpose: outside the transaction
  db_.write_transaction([&](Session& s) {
    if (exists(db_, s, c.id)) {
      throw Error(ErrorCode::kConflict, "a credential with id '" + c.id + "' exists", "id");
    }
    insert_credential(db_, s, c, hash);
    insert_key(db_, s, c.id, issued.api_key, "created");
  });
  return issued;
}

IssuedCredential CredentialStore::create_root() {
  Credential c;
  c.id = kRootId;
  c.is_root = true;
  c.created_at_ms = c.updated_at_ms = now_ms();
  c.generation = new_generation();
  IssuedCredential issued{c, base64url(random_bytes(24)), new_api_key()};
  std::string hash = hash_password(issued.password);
  db_.write_transaction([&](Session& s) {
    if (exists(db_, s, kRootId)) {
      throw Error(ErrorCode::kConflict,
                  "the root credential exists; delete it first to create a new one", "id");
    }
    insert_credential(db_, s, c, hash);
    insert_key(db_, s, kRootId, issued.api_key, "created");
  });
  return issued;
}

void CredentialStore::install_root_api_key(const std::string& key) {
  // The root's password is random and never shown: a root from the environment logs in with
  // its API key only.
  std::string unusable = hash_password(base64url(random_bytes(24)));
  // Several backends may start at once: every insert tolerates the others' rows.
  db_.write_transaction([&](Session& s) {
    if (!exists(db_, s, kRootId)) {
      Credential c;
      c.id = kRootId;
      c.is_root = true;
      c.created_at_ms = c.updated_at_ms = now_ms();
      c.generation = new_generation();
      insert_credential(db_, s, c, unusable, true);
    }
    std::string hash = hash_api_key(key);
    std::vector<std::string> current;
    s << db_.sql("SELECT key_hash FROM api_keys WHERE credential_id = 'root' AND source = 'env'"),
        into(current), now;
    if (current.size() == 1 && current[0] == hash) return;
    s << "DELETE FROM api_keys WHERE credential_id = 'root' AND source = 'env'", now;
    s << db_.sql("DELETE FROM api_keys WHERE key_hash = ?"), use(hash), now;
    insert_key(db_, s, kRootId, key, "env", true);
  });
}

std::vector<Credential> CredentialStore::list() {
  std::vector<Credential> out;
  db_.read([&](Session& s) {
    Statement st(s);
    st << "SELECT " << kColumns << " FROM credentials ORDER BY id";
    st.execute();
    RecordSet rs(st);
    for (std::size_t r = 0; r < rs.rowCount(); ++r) out.push_back(credential_from(rs, r));
  });
  return out;
}

std::optional<Credential> CredentialStore::get(const std::string& id) {
  std::optional<Credential> found;
  db_.read([&](Session& s) {
    Statement st(s);
    std::string v = id;
    st << db_.sql(std::string("SELECT ") + kColumns + " FROM credentials WHERE id = ?"), use(v);
    st.execute();
    RecordSet rs(st);
    if (rs.rowCount() > 0) found = credential_from(rs, 0);
  });
  return found;
}

std::optional<Credential> CredentialStore::set_active(const std::string& id, bool active) {
  std::string v = id;
  int a = active ? 1 : 0;
  Poco::Int64 at = now_ms();
  db_.write_transaction([&](Session& s) {
    if (active) {
      s << db_.sql("UPDATE credentials SET is_active = ?, updated_at_ms = ? WHERE id = ?"), use(a),
          use(at), use(v), now;
    } else {
      // A new incarnation: tokens issued before stay revoked after a later reactivation.
      std::string generation = new_generation();
      s << db_.sql(
          "UPDATE credentials SET is_active = ?, updated_at_ms = ?, generation = ? WHERE id = ?"),
          use(a), use(at), use(generation), use(v), now;
    }
  });
  return get(id);
}

bool CredentialStore::remove(const std::string& id) {
  bool found = false;
  db_.write_transaction([&](Session& s) {
    std::string v = id;
    found = exists(db_, s, id);
    s << db_.sql("DELETE FROM api_keys WHERE credential_id = ?"), use(v), now;
    s << db_.sql("DELETE FROM credentials WHERE id = ?"), use(v), now;
  });
  return found;
}

std::optional<Credential> CredentialStore::check_password(const std::string& id,
                                                          const std::string& password) {
  std::string v = id;
  std::vector<std::string> hashes;
  db_.read([&](Session& s) {
    s << db_.sql("SELECT password_hash FROM credentials WHERE id = ? AND is_active = 1"), use(v),
        into(hashes), now;
  });
  // Unknown ids cost as much as wrong passwords, so timing does not reveal which ids exist:
  // the dummy has the same parameters as every stored hash.
  static const std::string dummy = hash_password("not a password");
  bool ok = false;
  {
    HashGate::Slot slot(hash_gate());
    ok = verify_password(password, hashes.empty() ? dummy : hashes[0]);
  }
  if (!ok || hashes.empty()) return std::nullopt;
  return get(id);
}

std::optional<Credential> CredentialStore::find_by_api_key(const std::string& key) {
  std::string hash = hash_api_key(key);
  std::vector<std::string> ids;
  db_.read([&](Session& s) {
    s << db_.sql("SELECT credential_id FROM api_keys WHERE key_hash = ?"), use(hash), into(ids),
        now;
  });
  if (ids.empty()) return std::nullopt;
  auto c = get(ids[0]);
  if (!c || !c->is_active) return std::nullopt;
  return c;
}

std::string CredentialStore::token_secret(const std::string& configured) {
  if (!configured.empty()) return configured;
  std::string fresh = to_hex(random_bytes(32));
  Poco::Int64 at = now_ms();
  std::vector<std::string> values;
  db_.write_transaction([&](Session& s) {
    // The first backend's secret wins; the others read it (ON CONFLICT: they may race).
    s << db_.sql(
        "INSERT INTO server_secrets (name, value, created_at_ms) VALUES ('token_secret', ?, ?)"
        " ON CONFLICT (name) DO NOTHING"),
        use(fresh), use(at), now;
    s << "SELECT value FROM server_secrets WHERE name = 'token_secret'", into(values), now;
  });
  if (values.empty()) throw Error(ErrorCode::kInternal, "the token secret could not be stored");
  return values[0];
}

void set_hash_limits(HashLimits limits) {
  hash_gate().configure(limits);
}

int max_concurrent_hashes() {
  return hash_gate().max_concurrent();
}

std::string TokenSigner::issue(const Credential& credential, std::int64_t ttl_s,
                               std::int64_t now_ms) const {
  Poco::JWT::Token token;
  token.setType("JWT");
  token.setSubject(credential.id);
  token.payload().set("gen", credential.generation);
  token.setId(base64url(random_bytes(12)));
  token.setIssuedAt(Poco::Timestamp(now_ms * 1000));
  token.setExpiration(Poco::Timestamp((now_ms + ttl_s * 1000) * 1000));
  Poco::JWT::Signer signer(secret_);
  return signer.sign(token, Poco::JWT::Signer::ALGO_HS256);
}

std::optional<TokenSigner::Subject> TokenSigner::verify(const std::string& text,
                                                        std::int64_t now_ms) const {
  Poco::JWT::Signer signer(secret_);  // allows HS256 only
  Poco::JWT::Token token;
  try {
    if (!signer.tryVerify(text, token)) return std::nullopt;
  } catch (const Poco::Exception&) {
    return std::nullopt;
  }
  if (!token.payload().has("exp")) return std::nullopt;
  if (token.getExpiration().epochMicroseconds() <= now_ms * 1000) return std::nullopt;
  Subject subject;
  subject.credential_id = token.getSubject();
  if (subject.credential_id.empty()) return std::nullopt;
  // Tokens issued before schema 13 carry no incarnation: they match credentials stored then.
  try {
    if (token.payload().has("gen"))
      subject.generation = token.payload().getValue<std::string>("gen");
  } catch (const Poco::Exception&) {
    return std::nullopt;
  }
  return subject;
}

bool TokenSigner::looks_like_jwt(const std::string& token) {
  return token.starts_with("eyJ") && std::count(token.begin(), token.end(), '.') == 2;
}

}  // namespace gen

// Credentials, scopes and bearer tokens of the REST API.
//
// A credential has an id, a password (the OAuth2 client secret) and one API key. Both secrets
// are random unless the creator chose the password, are shown once at creation, and are stored
// only as hashes:
//  - passwords: PBKDF2-HMAC-SHA256, 16-byte random salt, kPasswordIterations rounds
//    ("pbkdf2-sha256$<rounds>$<salt hex>$<hash hex>"), so a leaked table does not reveal a
//    human-chosen password cheaply;
//  - API keys ("gen_" + 43 base64url characters = 256 random bits): SHA-256 of the key. A key
//    with 256 bits of entropy cannot be brute-forced, and an unsalted digest lets a request be
//    matched with one indexed lookup.
// Access tokens are JWTs (HS256) naming the credential (`sub`) and its incarnation (`gen`, a
// random value stored with the credential) with an expiry; each request re-reads the
// credential and compares both, so deactivating or deleting one revokes its tokens for good: a
// credential created again under the same id, or reactivated, has a new incarnation.
//
// Password checks cost one PBKDF2 each (known id or not, so timing does not tell which ids
// exist); at most `max_concurrent` run at once in a process, as many more may wait up to
// `max_wait_ms` for a slot, and any other is refused at once with kTooManyRequests, so a flood
// of logins can take neither the CPU nor the request threads from every other request.
//
// Scopes pair a verb with a subject, "READ:JOBS", "WRITE:CONFIG" ..., held globally or per
// tenant. The root credential holds every scope everywhere.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gen/core/tenancy/scopes.hpp"

namespace gen {

class Database;

/// The scopes a credential can hold, spelled (kAllScopes in scopes.hpp). WRITE does not imply
/// READ.
const std::vector<std::string>& known_scopes();

struct Credential {
  std::string id;
  bool is_active = true;
  bool is_root = false;
  std::vector<std::string> scopes;                          ///< held for every tenant
  std::map<std::string, std::vector<std::string>> tenants;  ///< tenant id -> scopes there
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  /// The incarnation: random, new at creation and at deactivation; access tokens carry it.
  /// "" for credentials stored before schema 13 (and for tokens issued before it).
  std::string generation;

  /// Whether this credential holds `scope` for `tenant` ("" = the system scope): root, a
  /// global scope, or the scope listed under that tenant.
  bool allows(Scope scope, const std::string& tenant) const;
  /// Whether it holds `scope` globally (or is root).
  bool allows_globally(Scope scope) const;
  /// The same for a scope spelled as a string; one parse_scope() does not know is held by
  /// root only.
  bool allows(const std::string& scope, const std::string& tenant) const;
  bool allows_globally(const std::string& scope) const;
};

/// What creation returns: the stored credential and its secrets, in clear text this once.
struct IssuedCredential {
  Credential credential;
  std::string password;  ///< the client secret (the one given, or a generated one)
  std::string api_key;
};

/// Random bytes from the operating system (getrandom). Throws kInternal when unavailable.
std::string random_bytes(std::size_t n);
/// A fresh API key: "gen_" + 256 random bits in base64url.
std::string new_api_key();

/// "pbkdf2-sha256$rounds$salt$hash" for `password` with a fresh salt.
std::string hash_password(const std::string& password);
/// Constant-time check of `password` against a hash_password() result.
bool verify_password(const std::string& password, const std::string& stored);
/// Hex SHA-256 of an API key, as stored.
std::string hash_api_key(const std::string& key);

/// The process-wide bound on concurrent password hashing (AUTH__MAX_CONCURRENT_HASHES).
struct HashLimits {
  int max_concurrent = 0;  ///< 0: max(1, cores / 2)
  std::int64_t max_wait_ms = 1000;
};
/// Sets the bound for every later check_password() in this process.
void set_hash_limits(HashLimits limits);
/// How many password hashes may run at once (the resolved max_concurrent).
int max_concurrent_hashes();

class CredentialStore {
 public:
  explicit CredentialStore(Database& db) : db_(db) {}

  /// Validates and stores `credential` with `password` (generated when empty) and a fresh API
  /// key. Throws kValidationFailed (field "id", "password", "scopes[1]", "tenants.acme[0]") or
  /// kConflict when the id is taken.
  IssuedCredential create(Credential credential, std::string password);
  /// The root credential ("root") with a fresh password and API key; kConflict if it exists.
  IssuedCredential create_root();
  /// Makes `key` (chosen by the operator, AUTH__ROOT_API_KEY) an API key of the root
  /// credential, creating the credential when missing; replaces a key installed this way
  /// before. Idempotent, safe when several backends start at once.
  void install_root_api_key(const std::string& key);

  std::vector<Credential> list();
  std::optional<Credential> get(const std::string& id);
  /// Sets is_active; returns the credential after the change, nullopt when unknown.
  /// Deactivating gives the credential a new incarnation: its access tokens stay revoked.
  std::optional<Credential> set_active(const std::string& id, bool active);
  /// Deletes a credential and its key; false when unknown.
  bool remove(const std::string& id);

  /// The active credential with this id and password, else nullopt. Costs one password hash
  /// whether or not the id exists. Throws kTooManyRequests when the process already runs its
  /// maximum of hashes and none finished within the wait bound (see set_hash_limits()).
  std::optional<Credential> check_password(const std::string& id, const std::string& password);
  /// The active credential owning this API key, else nullopt.
  std::optional<Credential> find_by_api_key(const std::string& key);

  /// The HS256 key for access tokens: `configured` when non-empty, else a random secret
  /// generated once and stored in the database, so every backend signs with the same key.
  std::string token_secret(const std::string& configured);

 private:
  Database& db_;
};

/// Signs and checks access tokens (JWT, HS256).
class TokenSigner {
 public:
  explicit TokenSigner(std::string secret) : secret_(std::move(secret)) {}
  /// What a valid token names.
  struct Subject {
    std::string credential_id;
    std::string generation;  ///< the credential's incarnation when issued ("" before schema 13)
  };
  /// A token for `credential` (its id and incarnation) valid for `ttl_s` seconds from `now_ms`.
  std::string issue(const Credential& credential, std::int64_t ttl_s, std::int64_t now_ms) const;
  /// The subject of a valid, unexpired token; nullopt otherwise (bad signature, malformed,
  /// expired, wrong algorithm). The caller still compares the incarnation with the stored one.
  std::optional<Subject> verify(const std::string& token, std::int64_t now_ms) const;
  /// Whether `token` looks like a JWT (three dot-separated parts starting "eyJ").
  static bool looks_like_jwt(const std::string& token);

 private:
  std::string secret_;
};

}  // namespace gen

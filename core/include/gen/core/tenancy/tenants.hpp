// Tenants: the isolation unit of the API. A tenant's jobs, artifacts and settings are visible
// only to requests that name it (the `tenant-id` header); ids are case-sensitive. The empty id
// is the system scope, used by requests without the header.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gen {

class Database;

struct Tenant {
  std::string id;
  bool enabled = true;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

class TenantStore {
 public:
  explicit TenantStore(Database& db) : db_(db) {}

  /// Throws kValidationFailed (field "id") for a bad id, kConflict when it exists.
  Tenant create(const std::string& id, bool enabled);
  std::vector<Tenant> list();
  std::optional<Tenant> get(const std::string& id);
  /// Sets `enabled`; nullopt when unknown.
  std::optional<Tenant> set_enabled(const std::string& id, bool enabled);
  /// Deletes the tenant and its settings; its jobs stay until retention prunes them, reachable
  /// again only if a tenant with the same id is created. False when unknown.
  bool remove(const std::string& id);

  /// Throws kValidationFailed naming `field` unless `id` is 1-64 of [A-Za-z0-9._-].
  static void check_id(const std::string& id, const std::string& field);

 private:
  Database& db_;
};

}  // namespace gen

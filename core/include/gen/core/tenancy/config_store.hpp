// Runtime settings with two scopes: a system value and per-tenant overrides, stored in the
// database, over defaults from the environment. Resolution: tenant > system > environment >
// built-in default. Each setting is typed and validated; a bad value is refused with
// kValidationFailed whose field is the setting's name.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gen {

class Database;

struct ConfigDefinition {
  std::string name;  ///< "PDF__DEFAULT_PAGE_SIZE"
  std::string type;  ///< "integer", "string", "enum"
  nlohmann::json default_value;
  std::string description;
  std::int64_t min = 0, max = 0;     ///< integers
  std::vector<std::string> allowed;  ///< enums
  /// A credential (GENERATION__LLM_API_KEY): generators read it through the SDK context, but
  /// the API never shows its value, only whether it is set (backend config_json).
  bool secret = false;
};

struct ConfigValue {
  const ConfigDefinition* definition = nullptr;
  nlohmann::json value;
  std::string source;  ///< "tenant", "system", "environment", "default"
};

class ConfigStore {
 public:
  /// `environment` provides the defaults (NAME -> text), e.g. the process environment.
  ConfigStore(Database& db, std::map<std::string, std::string> environment);

  /// Every setting a tenant or the system can set.
  static const std::vector<ConfigDefinition>& catalog();
  /// nullptr when unknown.
  static const ConfigDefinition* find(const std::string& name);
  /// The checked value (an integer given as a JSON number, enums case-sensitive). Throws
  /// kValidationFailed naming the setting.
  static nlohmann::json validate(const ConfigDefinition& def, const nlohmann::json& value);

  /// The effective value for `tenant` ("" = system). Throws kNotFound for an unknown name.
  ConfigValue resolve(const std::string& name, const std::string& tenant);
  /// Every setting, resolved for `tenant`.
  std::vector<ConfigValue> resolve_all(const std::string& tenant);
  /// Stores an override at `tenant` ("" = system); returns the resolved value.
  ConfigValue set(const std::string& name, const std::string& tenant, const nlohmann::json& value);
  /// Removes the override at `tenant`; false when there was none.
  bool unset(const std::string& name, const std::string& tenant);

  /// Convenience for integer settings.
  std::int64_t integer(const std::string& name, const std::string& tenant);

 private:
  std::map<std::string, nlohmann::json> stored(const std::string& tenant);
  Database& db_;
  std::map<std::string, std::string> environment_;
};

/// The settings generators read through `sdk::Context::setting()` in the worker: resolved per
/// tenant (tenant > system > environment > default) and cached for `ttl`, so a busy worker
/// asks the database at most once per tenant per `ttl`, and only when a generator asks.
/// Thread-safe.
class TenantSettings {
 public:
  TenantSettings(ConfigStore& store, std::chrono::milliseconds ttl) : store_(store), ttl_(ttl) {}
  /// The value as text (numbers in decimal); nullopt when `name` is not in the catalog.
  /// Throws like ConfigStore (e.g. the database is unavailable).
  std::optional<std::string> get(const std::string& tenant, std::string_view name);

 private:
  struct Entry {
    std::chrono::steady_clock::time_point loaded;
    std::map<std::string, std::string, std::less<>> values;
  };
  ConfigStore& store_;
  std::chrono::milliseconds ttl_;
  std::mutex mutex_;
  std::map<std::string, Entry> cache_;
};

}  // namespace gen

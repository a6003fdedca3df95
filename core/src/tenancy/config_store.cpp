#include "gen/core/tenancy/config_store.hpp"

#include <algorithm>

#include <Poco/Data/Session.h>

#include "gen/core/base/clock.hpp"
#include "gen/core/base/errors.hpp"
#include "gen/core/storage/database.hpp"
#include "storage/session.hpp"

using namespace Poco::Data::Keywords;
using nlohmann::json;
using Poco::Data::Session;

namespace gen {

ConfigStore::ConfigStore(Database& db, std::map<std::string, std::string> environment)
    : db_(db), environment_(std::move(environment)) {}

const std::vector<ConfigDefinition>& ConfigStore::catalog() {
  static const std::vector<ConfigDefinition> defs = {
      {"LIMITS__MAX_REQUEST_BYTES",
       "integer",
       64ll * 1024 * 1024,
       "Largest accepted request body in bytes; a tenant override limits that tenant's uploads.",
       1024,
       16ll << 30,
       {}},
      {"LIMITS__REQUESTS_PER_S",
       "integer",
       0,
       "Requests per second one backend accepts from a tenant (the system scope counts as one "
       "tenant); more get 429 with Retry-After. 0: unlimited.",
       0,
       1000000,
       {}},
      {"JOBS__DEFAULT_PRIORITY",
       "integer",
       0,
       "Priority of a submitted job that names none (-1000 to 1000; higher runs first).",
       -1000,
       1000,
       {}},
      {"RETENTION__MAX_AGE_S",
       "integer",
       604800,
       "Finished jobs older than this many seconds are pruned (0 keeps them).",
       0,
       100ll * 365 * 24 * 3600,
       {}},
      {"GENERATION__PROVIDER",
       "enum",
       "native",
       "How content metadata (TITLE, SUMMARY, KEYWORDS ...) is generated: native (offline, "
       "extractive methods) or openai (an OpenAI-compatible endpoint).",
       0,
       0,
       {"native", "openai"}},
      // meta.generate's openai provider (docs/generators/meta.generate.md).
      {"GENERATION__LLM_URL",
       "string",
       "",
       "Base URL of the OpenAI-compatible API the openai provider calls "
       "(<url>/chat/completions), e.g. https://api.openai.com/v1; under the webhooks' address "
       "policy (WEBHOOKS__ALLOW_HOSTS).",
       0,
       2048,
       {}},
      {"GENERATION__LLM_MODEL",
       "string",
       "",
       "The model the openai provider asks for, e.g. gpt-4o-mini.",
       0,
       200,
       {}},
      {"GENERATION__LLM_API_KEY",
       "string",
       "",
       "Bearer token for GENERATION__LLM_URL (none sent when empty). Secret: the API never "
       "returns it, only whether it is set.",
       0,
       4096,
       {},
       true},
      {"GENERATION__LLM_TIMEOUT_MS",
       "integer",
       60000,
       "Time limit of one request to GENERATION__LLM_URL (connect, send, answer), in ms; never "
       "past the task's own time limit.",
       1000,
       600000,
       {}},
      {"PDF__DEFAULT_PAGE_SIZE",
       "enum",
       "A4",
       "Page size pdf.render uses when a job names none.",
       0,
       0,
       {"A3", "A4", "A5", "Letter", "Legal"}},
  };
  return defs;
}

const ConfigDefinition* ConfigStore::find(const std::string& name) {
  for (const auto& d : catalog()) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

json ConfigStore::validate(const ConfigDefinition& def, const json& value) {
  auto bad = [&](const std::string& expected) -> json {
    // A secret's value is never echoed, not even a wrong one.
    const std::string got = !def.secret ? value.dump()
                            : value.is_string()
                                ? "a string of " +
                                      std::to_string(value.get_ref<const std::string&>().size()) +
                                      " characters"
                                : std::string(value.type_name());
    throw Error(ErrorCode::kValidationFailed, def.name + ": expected " + expected + ", got " + got,
                def.name);
  };
  if (def.type == "integer") {
    if (!value.is_number_integer()) {
      return bad("an integer between " + std::to_string(def.min) + " and " +
                 std::to_string(def.max));
    }
    std::int64_t v = value.is_number_unsigned() && value.get<std::uint64_t>() > (1ull << 62)
                         ? def.max + 1
                         : value.get<std::int64_t>();
    if (v < def.min || v > def.max) {
      return bad("an integer between " + std::to_string(def.min) + " and " +
                 std::to_string(def.max));
    }
    return v;
  }
  if (def.type == "enum") {
    if (!value.is_string() || std::find(def.allowed.begin(), def.allowed.end(),
                                        value.get<std::string>()) == def.allowed.end()) {
      std::string list;
      for (const auto& a : def.allowed) list += (list.empty() ? "" : ", ") + a;
      return bad("one of " + list);
    }
    return value;
  }
  if (!value.is_string() || value.get_ref<const std::string&>().size() < std::size_t(def.min) ||
      value.get_ref<const std::string&>().size() > std::size_t(def.max)) {
    return bad("a string of " + std::to_string(def.min) + " to " + std::to_string(def.max) +
               " characters");
  }
  return value;
}

std::map<std::string, json> ConfigStore::stored(const std::string& tenant) {
  std::vector<std::string> names, values;
  std::string t = tenant;
  db_.read([&](Session& s) {
    s << db_.sql("SELECT name, value FROM config_values WHERE tenant = ?"), use(t), into(names),
        into(values), now;
  });
  std::map<std::string, json> out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    out[names[i]] = json::parse(values[i], nullptr, false);
  }
  return out;
}

std::vector<ConfigValue> ConfigStore::resolve_all(const std::string& tenant) {
  auto system = stored("");
  std::map<std::string, json> own;
  if (!tenant.empty()) own = stored(tenant);
  std::vector<ConfigValue> out;
  for (const auto& def : catalog()) {
    ConfigValue v{&def, def.default_value, "default"};
    if (auto it = environment_.find(def.name); it != environment_.end()) {
      // The environment speaks text; a value the catalog refuses is ignored (the services
      // validate their own settings at start-up).
      json parsed =
          def.type == "integer" ? json::parse(it->second, nullptr, false) : json(it->second);
      try {
        v.value = validate(def, parsed);
        v.source = "environment";
      } catch (const Error&) {
      }
    }
    if (auto it = system.find(def.name); it != system.end()) {
      v.value = it->second;
      v.source = "system";
    }
    if (auto it = own.find(def.name); it != own.end()) {
      v.value = it->second;
      v.source = "tenant";
    }
    out.push_back(std::move(v));
  }
  return out;
}

ConfigValue ConfigStore::resolve(const std::string& name, const std::string& tenant) {
  if (!find(name)) {
    throw Error(ErrorCode::kNotFound, "no setting named '" + name + "' (see GET /api/v1/config)",
                "name");
  }
  for (auto& v : resolve_all(tenant)) {
    if (v.definition->name == name) return v;
  }
  throw Error(ErrorCode::kInternal, "setting " + name + " vanished");
}

ConfigValue ConfigStore::set(const std::string& name, const std::string& tenant,
                             const json& value) {
  const ConfigDefinition* def = find(name);
  if (!def) {
    throw Error(ErrorCode::kNotFound, "no setting named '" + name + "' (see GET /api/v1/config)",
                "name");
  }
  std::string text = validate(*def, value).dump();
  std::string n = name, t = tenant;
  Poco::Int64 at = now_ms();
  db_.write_transaction([&](Session& s) {
    s << db_.sql("DELETE FROM config_values WHERE tenant = ? AND name = ?"), use(t), use(n), now;
    s << db_.sql(
        "INSERT INTO config_values (tenant, name, value, updated_at_ms) VALUES (?, ?, ?, ?)"),
        use(t), use(n), use(text), use(at), now;
  });
  return resolve(name, tenant);
}

bool ConfigStore::unset(const std::string& name, const std::string& tenant) {
  if (!find(name)) {
    throw Error(ErrorCode::kNotFound, "no setting named '" + name + "' (see GET /api/v1/config)",
                "name");
  }
  std::string n = name, t = tenant;
  int count = 0;
  db_.write_transaction([&](Session& s) {
    s << db_.sql("SELECT COUNT(*) FROM config_values WHERE tenant = ? AND name = ?"), use(t),
        use(n), into(count), now;
    s << db_.sql("DELETE FROM config_values WHERE tenant = ? AND name = ?"), use(t), use(n), now;
  });
  return count > 0;
}

std::int64_t ConfigStore::integer(const std::string& name, const std::string& tenant) {
  return resolve(name, tenant).value.get<std::int64_t>();
}

std::optional<std::string> TenantSettings::get(const std::string& tenant, std::string_view name) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  auto it = cache_.find(tenant);
  if (it == cache_.end() || now - it->second.loaded >= ttl_) {
    Entry entry{now, {}};
    for (const ConfigValue& v : store_.resolve_all(tenant)) {
      entry.values[v.definition->name] =
          v.value.is_string() ? v.value.get<std::string>() : v.value.dump();
    }
    if (cache_.size() > 10000) cache_.clear();  // bounded: many tenants, few hot ones
    it = cache_.insert_or_assign(tenant, std::move(entry)).first;
  }
  auto value = it->second.values.find(name);
  if (value == it->second.values.end()) return std::nullopt;
  return value->second;
}

}  // namespace gen

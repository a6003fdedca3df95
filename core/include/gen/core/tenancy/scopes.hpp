// The scopes a credential can hold, and their one spelling ("READ:JOBS", "WRITE:CONFIG" ...:
// a verb and a subject), as the REST API shows them and the credentials table stores them.
// Code names scopes by the enum; strings are made or read only at the edges, with to_string()
// and parse_scope().
#pragma once

#include <array>
#include <optional>
#include <string_view>
#include <utility>

namespace gen {

enum class Scope {
  kReadJobs,
  kWriteJobs,
  kReadPlugins,
  kReadConfig,
  kWriteConfig,
  kReadTenants,
  kWriteTenants,
  kReadCredentials,
  kWriteCredentials,
  kReadWebhooks,
  kWriteWebhooks,
  kReadContent,
  kWriteContent,
};

namespace scopes_detail {

struct ScopeName {
  Scope scope;
  std::string_view name;
  bool per_tenant;  ///< the subject exists per tenant (tenants and credentials are global only)
};

inline constexpr std::array<ScopeName, 13> kScopes = {{
    {Scope::kReadJobs, "READ:JOBS", true},
    {Scope::kWriteJobs, "WRITE:JOBS", true},
    {Scope::kReadPlugins, "READ:PLUGINS", true},
    {Scope::kReadConfig, "READ:CONFIG", true},
    {Scope::kWriteConfig, "WRITE:CONFIG", true},
    {Scope::kReadTenants, "READ:TENANTS", false},
    {Scope::kWriteTenants, "WRITE:TENANTS", false},
    {Scope::kReadCredentials, "READ:CREDENTIALS", false},
    {Scope::kWriteCredentials, "WRITE:CREDENTIALS", false},
    {Scope::kReadWebhooks, "READ:WEBHOOKS", true},
    {Scope::kWriteWebhooks, "WRITE:WEBHOOKS", true},
    {Scope::kReadContent, "READ:CONTENT", true},
    {Scope::kWriteContent, "WRITE:CONTENT", true},
}};

constexpr const ScopeName* find(Scope scope) {
  for (const ScopeName& s : kScopes) {
    if (s.scope == scope) return &s;
  }
  return nullptr;
}

}  // namespace scopes_detail

/// Every scope, in the order the API lists them.
inline constexpr std::array<Scope, scopes_detail::kScopes.size()> kAllScopes = [] {
  std::array<Scope, scopes_detail::kScopes.size()> all{};
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = scopes_detail::kScopes[i].scope;
  return all;
}();

/// "READ:JOBS", "WRITE:JOBS" ...
constexpr std::string_view to_string(Scope scope) {
  const scopes_detail::ScopeName* s = scopes_detail::find(scope);
  return s ? s->name : std::string_view();
}

/// The scope spelled exactly `text` (case matters); nullopt for anything else.
constexpr std::optional<Scope> parse_scope(std::string_view text) {
  for (const scopes_detail::ScopeName& s : scopes_detail::kScopes) {
    if (s.name == text) return s.scope;
  }
  return std::nullopt;
}

/// A WRITE scope (WRITE does not imply READ).
constexpr bool is_write(Scope scope) {
  return to_string(scope).starts_with("WRITE:");
}

/// Whether the scope's subject exists per tenant (jobs, config, plugins, webhooks), so a
/// credential may hold it for one tenant only; tenants and credentials are global subjects.
constexpr bool is_tenant_scoped(Scope scope) {
  const scopes_detail::ScopeName* s = scopes_detail::find(scope);
  return s != nullptr && s->per_tenant;
}

}  // namespace gen

// Credential scopes and their one spelling (core/include/gen/core/tenancy/scopes.hpp).
#include "gen/core/tenancy/scopes.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace gen {
namespace {

TEST(Scopes, SpellingsAreVerbColonSubject) {
  EXPECT_EQ(to_string(Scope::kReadJobs), "READ:JOBS");
  EXPECT_EQ(to_string(Scope::kWriteJobs), "WRITE:JOBS");
  EXPECT_EQ(to_string(Scope::kReadPlugins), "READ:PLUGINS");
  EXPECT_EQ(to_string(Scope::kReadConfig), "READ:CONFIG");
  EXPECT_EQ(to_string(Scope::kWriteConfig), "WRITE:CONFIG");
  EXPECT_EQ(to_string(Scope::kReadTenants), "READ:TENANTS");
  EXPECT_EQ(to_string(Scope::kWriteTenants), "WRITE:TENANTS");
  EXPECT_EQ(to_string(Scope::kReadCredentials), "READ:CREDENTIALS");
  EXPECT_EQ(to_string(Scope::kWriteCredentials), "WRITE:CREDENTIALS");
  EXPECT_EQ(to_string(Scope::kReadWebhooks), "READ:WEBHOOKS");
  EXPECT_EQ(to_string(Scope::kWriteWebhooks), "WRITE:WEBHOOKS");
  EXPECT_EQ(to_string(Scope::kReadContent), "READ:CONTENT");
  EXPECT_EQ(to_string(Scope::kWriteContent), "WRITE:CONTENT");
  EXPECT_EQ(kAllScopes.size(), 13u);
}

TEST(Scopes, ParseIsTheInverseOfToString) {
  std::set<std::string_view> names;
  for (Scope s : kAllScopes) {
    EXPECT_EQ(parse_scope(to_string(s)), s) << to_string(s);
    names.insert(to_string(s));
  }
  EXPECT_EQ(names.size(), kAllScopes.size());
}

TEST(Scopes, UnknownSpellingsAreRefused) {
  for (const char* text :
       {"", "read:jobs", "READ:JOB", "EAT:JOBS", "READ", "READ:JOBS ", "WRITE:PLUGINS", "ADMIN"}) {
    EXPECT_EQ(parse_scope(text), std::nullopt) << "'" << text << "'";
  }
}

TEST(Scopes, WriteIsItsOwnScope) {
  for (Scope s : kAllScopes) {
    EXPECT_EQ(is_write(s), to_string(s).starts_with("WRITE:")) << to_string(s);
  }
  EXPECT_FALSE(is_write(Scope::kReadJobs));
  EXPECT_TRUE(is_write(Scope::kWriteJobs));
}

TEST(Scopes, TenantsAndCredentialsAreGlobalSubjects) {
  for (Scope s : {Scope::kReadJobs, Scope::kWriteJobs, Scope::kReadPlugins, Scope::kReadConfig,
                  Scope::kWriteConfig, Scope::kReadWebhooks, Scope::kWriteWebhooks}) {
    EXPECT_TRUE(is_tenant_scoped(s)) << to_string(s);
  }
  for (Scope s : {Scope::kReadTenants, Scope::kWriteTenants, Scope::kReadCredentials,
                  Scope::kWriteCredentials}) {
    EXPECT_FALSE(is_tenant_scoped(s)) << to_string(s);
  }
}

}  // namespace
}  // namespace gen

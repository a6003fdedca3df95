// Credential::allows and known_scopes (core/src/tenancy/auth.cpp).
#include "gen/core/tenancy/auth.hpp"

#include <gtest/gtest.h>

namespace gen {
namespace {

TEST(KnownScopes, AreEveryScopeSpelledInOrder) {
  const std::vector<std::string>& known = known_scopes();
  ASSERT_EQ(known.size(), kAllScopes.size());
  for (std::size_t i = 0; i < known.size(); ++i) EXPECT_EQ(known[i], to_string(kAllScopes[i]));
}

TEST(CredentialAllows, GlobalScopesHoldForEveryTenantAndTheSystem) {
  Credential c{.id = "reader", .scopes = {"READ:JOBS"}};
  EXPECT_TRUE(c.allows(Scope::kReadJobs, ""));
  EXPECT_TRUE(c.allows(Scope::kReadJobs, "acme"));
  EXPECT_TRUE(c.allows_globally(Scope::kReadJobs));
  EXPECT_FALSE(c.allows(Scope::kWriteJobs, "acme"));  // WRITE is not implied by READ
  EXPECT_FALSE(c.allows_globally(Scope::kWriteJobs));
}

TEST(CredentialAllows, TenantScopesHoldForThatTenantOnly) {
  Credential c{.id = "acme-user", .tenants = {{"acme", {"READ:JOBS", "WRITE:JOBS"}}}};
  EXPECT_TRUE(c.allows(Scope::kWriteJobs, "acme"));
  EXPECT_FALSE(c.allows(Scope::kWriteJobs, "other"));
  EXPECT_FALSE(c.allows(Scope::kWriteJobs, ""));
  EXPECT_FALSE(c.allows(Scope::kWriteJobs, "ACME"));  // tenant ids are case-sensitive
  EXPECT_FALSE(c.allows_globally(Scope::kReadJobs));
}

TEST(CredentialAllows, RootHoldsEveryScopeEverywhere) {
  Credential root{.id = "root", .is_root = true};
  for (Scope s : kAllScopes) {
    EXPECT_TRUE(root.allows(s, "")) << to_string(s);
    EXPECT_TRUE(root.allows(s, "acme")) << to_string(s);
    EXPECT_TRUE(root.allows_globally(s)) << to_string(s);
  }
}

TEST(CredentialAllows, SpelledScopesAnswerLikeTheEnum) {
  Credential c{.id = "mixed", .scopes = {"READ:CONFIG"}, .tenants = {{"acme", {"WRITE:JOBS"}}}};
  for (Scope s : kAllScopes) {
    const std::string name(to_string(s));
    for (const char* tenant : {"", "acme", "other"}) {
      EXPECT_EQ(c.allows(name, tenant), c.allows(s, tenant)) << name << " " << tenant;
    }
    EXPECT_EQ(c.allows_globally(name), c.allows_globally(s)) << name;
  }
  // A spelling no scope has is held by nobody but root.
  EXPECT_FALSE(c.allows("EAT:JOBS", ""));
  EXPECT_FALSE(c.allows_globally("read:config"));
  EXPECT_TRUE(Credential{.is_root = true}.allows("EAT:JOBS", "acme"));
}

}  // namespace
}  // namespace gen

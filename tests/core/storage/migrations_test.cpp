// The embedded migration files (core/src/storage/migrations/*.sql) as the database runs them.
#include "storage/migrations.hpp"

#include <string>

#include <gtest/gtest.h>

#include "gen/core/storage/database.hpp"

namespace gen::storage {
namespace {

TEST(Migrations, AreNumberedFromOneWithoutGaps) {
  const auto& all = migrations();
  ASSERT_FALSE(all.empty());
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].version, static_cast<int>(i) + 1);
    EXPECT_FALSE(all[i].statements.empty()) << "migration " << all[i].version;
  }
  EXPECT_EQ(Database::latest_schema_version(), all.back().version);
}

TEST(Migrations, StatementsAreSplitAtBlankLinesWithoutComments) {
  const auto& first = migrations().front().statements;
  ASSERT_EQ(first.size(), 9u);  // 4 tables and 5 indexes
  EXPECT_TRUE(first.front().starts_with("CREATE TABLE jobs (\n  id TEXT PRIMARY KEY,"));
  for (const auto& m : migrations()) {
    for (const std::string& sql : m.statements) {
      EXPECT_EQ(sql.find("--"), std::string::npos) << sql;
      EXPECT_FALSE(sql.ends_with(";")) << sql;
    }
  }
  // A trailing comment goes, the line stays.
  EXPECT_NE(first[8].find("step INTEGER NOT NULL,\n"), std::string::npos) << first[8];
}

TEST(Migrations, DialectPrefixesNameAKnownDialect) {
  int dialect_only = 0;
  for (const auto& m : migrations()) {
    for (const std::string& sql : m.statements) {
      // A prefix is a word and a colon before the statement's first blank.
      if (sql.find(':') >= sql.find_first_of(" \n(")) continue;
      EXPECT_TRUE(sql.starts_with("sqlite:") || sql.starts_with("postgresql:")) << sql;
      ++dialect_only;
    }
  }
  EXPECT_GT(dialect_only, 0);
}

}  // namespace
}  // namespace gen::storage

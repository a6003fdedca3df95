// GoogleTest fixtures over the harness: a fresh stack per test, its logs printed on failure;
// a test run once per database.
#pragma once

#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "harness.hpp"
#include "test_database.hpp"

namespace gen::itest {

class StackTest : public ::testing::Test {
 protected:
  /// Override to change the services' options.
  virtual StackOptions options() { return {}; }

  void SetUp() override {
    try {
      stack_ = std::make_unique<Stack>(options());
    } catch (const std::exception& e) {
      FAIL() << "could not start the services: " << e.what();  // the test body is skipped
    }
  }
  void TearDown() override {
    if (HasFailure() && stack_) std::cerr << stack_->logs();
    stack_.reset();
  }

  Stack& stack() { return *stack_; }
  const HttpClient& api() { return stack_->api(); }

  std::unique_ptr<Stack> stack_;
};

/// A test the suite runs once per database, with
///   INSTANTIATE_TEST_SUITE_P(Databases, X, ::testing::ValuesIn(test::all_backends()));
/// database_env() is the services' environment for the parameter's database: a fresh
/// PostgreSQL database (kept until the test ends) for "postgres", nothing for "sqlite" (the
/// stack's own SQLite file).
class PerDatabaseTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::map<std::string, std::string> database_env() {
    if (GetParam() != "postgres") return {};
    pg_ = std::make_unique<test::TestDatabase>("postgres");
    return {{"DATABASE__URL", pg_->url()}};
  }

 private:
  std::unique_ptr<test::TestDatabase> pg_;
};

}  // namespace gen::itest

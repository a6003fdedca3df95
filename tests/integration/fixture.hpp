// GoogleTest fixtures over the harness: a fresh stack per test, its logs printed on failure.
#pragma once

#include <gtest/gtest.h>

#include <iostream>
#include <memory>

#include "harness.hpp"

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

}  // namespace gen::itest

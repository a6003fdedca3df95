// gen::validate_params: the host's wrapper of the SDK's rule (the rules themselves are tested
// in tests/sdk/params_test.cpp). What is checked here is what the REST edge sees: the error
// code, the field, the message, the completed params; and that the SDK harness says the same.
#include "gen/core/base/params.hpp"

#include <gtest/gtest.h>

#include <gen/sdk/testing.hpp>
#include <string>

#include "gen/core/base/errors.hpp"
#include "sample_generator_info.hpp"

namespace gen {
namespace {

using nlohmann::json;
using sdk::ParamType;

sdk::GeneratorInfo sample_info() {
  return test::sample_generator_info();
}

/// The gen::Error thrown by validate_params, or a failure when none is thrown.
Error error_of(const json& params, const std::string& prefix = "steps[0].params") {
  try {
    validate_params(sample_info(), params, prefix);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error for " << params.dump();
  return Error(ErrorCode::kInternal, "none");
}

TEST(ValidateParams, FillsDefaultsAndKeepsGivenValues) {
  const json out = validate_params(sample_info(), {{"template", "t"}, {"copies", 2}}, "p");
  EXPECT_EQ(out,
            (json{{"template", "t"}, {"copies", 2}, {"data", json::object()}, {"size", "A4"}}));
}

TEST(ValidateParams, NullParamsMeanNoParams) {
  sdk::GeneratorInfo info = sample_info();
  info.params[0].required = false;
  EXPECT_EQ(validate_params(info, nullptr, "p"), (json{{"data", json::object()}, {"size", "A4"}}));
}

TEST(ValidateParams, RefusalIsAValidationErrorNamingTheField) {
  const Error e = error_of(json::object());
  EXPECT_EQ(e.code(), ErrorCode::kValidationFailed);
  EXPECT_EQ(e.field(), "steps[0].params.template");
  EXPECT_STREQ(e.what(), "required parameter missing");

  const Error wrong = error_of({{"template", 5}});
  EXPECT_EQ(wrong.code(), ErrorCode::kValidationFailed);
  EXPECT_EQ(wrong.field(), "steps[0].params.template");
  EXPECT_STREQ(wrong.what(), "expected string, got number");

  EXPECT_STREQ(error_of({{"templat", "t"}}).what(),
               "unknown parameter (known: copies, data, draft, extra, output_name, pages, scale, "
               "size, template)");
  EXPECT_STREQ(error_of({{"template", "t"}, {"size", "A5"}}).what(), "must be one of: A4, Letter");
  EXPECT_STREQ(error_of({{"template", "t"}, {"output_name", "a/b"}}).what(),
               "must be a plain file name (no '/' or '\\')");
}

TEST(ValidateParams, IntegersAcceptIntegralFloatsOnly) {
  const json out = validate_params(sample_info(), {{"template", "t"}, {"copies", 2.0}}, "p");
  EXPECT_TRUE(out["copies"].is_number_integer());
  EXPECT_EQ(out["copies"], 2);

  const Error e = error_of({{"template", "t"}, {"copies", 2.5}});
  EXPECT_EQ(e.field(), "steps[0].params.copies");
  EXPECT_STREQ(e.what(), "expected integer, got non-integral number 2.5");
  EXPECT_STREQ(error_of({{"template", "t"}, {"copies", 1e30}}).what(),
               "expected integer, got number 1e+30 outside the 64-bit range");
}

TEST(ValidateParams, NonObjectParamsNameThePrefix) {
  const Error e = error_of(json::array({1}));
  EXPECT_EQ(e.field(), "steps[0].params");
  EXPECT_STREQ(e.what(), "expected object, got array");
}

TEST(ValidateParams, EmptyPrefixGivesBareNames) {
  EXPECT_EQ(error_of(json::object(), "").field(), "template");
}

/// A generator with sample_info()'s params that records what it was given.
class Sample final : public sdk::Generator {
 public:
  sdk::GeneratorInfo info() const override { return sample_info(); }
  sdk::Status run(sdk::Context& ctx) override {
    seen = ctx.params();
    return sdk::Status::ok();
  }
  json seen;
};

// The issue this rule came from: the host accepted 2.0 for an integer and the harness refused
// it, and their messages differed. Both now call gen::sdk::complete_params.
TEST(ValidateParams, TheSdkHarnessAcceptsAndRefusesTheSameParamsWithTheSameWords) {
  const json cases[] = {
      json::object(),
      {{"template", "t"}},
      {{"template", "t"}, {"copies", 2.0}},
      {{"template", "t"}, {"copies", 2.5}},
      {{"template", "t"}, {"copies", 1e30}},
      {{"template", 5}},
      {{"template", "t"}, {"templat", "t"}},
      {{"template", "t"}, {"size", "A5"}},
      {{"template", "t"}, {"scale", true}},
      {{"template", "t"}, {"extra", nullptr}},
      {{"template", "t"}, {"output_name", ".."}},
      json::array(),
  };
  for (const json& params : cases) {
    Sample generator;
    sdk::testing::FakeContext ctx(params);
    const sdk::Status status = ctx.run(generator);
    try {
      const json host = validate_params(sample_info(), params, "params");
      EXPECT_TRUE(status.is_ok()) << params << ": " << status.message();
      EXPECT_EQ(generator.seen, host) << params;
    } catch (const Error& e) {
      EXPECT_EQ(status.kind(), sdk::Status::Kind::kPermanent) << params;
      EXPECT_EQ(status.message(), e.field() + ": " + e.what()) << params;
    }
  }
}

}  // namespace
}  // namespace gen

#include "gen/core/base/params.hpp"

#include <gtest/gtest.h>

#include <string>

#include "gen/core/base/errors.hpp"

namespace gen {
namespace {

using nlohmann::json;
using sdk::ParamType;

sdk::GeneratorInfo sample_info() {
  sdk::GeneratorInfo info;
  info.id = "sample.render";
  info.version = "1.0.0";
  info.params = {
      {.name = "template", .type = ParamType::kString, .required = true},
      {.name = "data", .type = ParamType::kObject, .default_value = json::object()},
      {.name = "size",
       .type = ParamType::kString,
       .default_value = "A4",
       .allowed_values = {"A4", "Letter"}},
      {.name = "copies", .type = ParamType::kInteger},
      {.name = "scale", .type = ParamType::kNumber},
      {.name = "draft", .type = ParamType::kBoolean},
      {.name = "pages", .type = ParamType::kArray},
      {.name = "extra", .type = ParamType::kAny},
  };
  return info;
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

TEST(ValidateParams, RequiredMissing) {
  const Error e = error_of(json::object());
  EXPECT_EQ(e.code(), ErrorCode::kValidationFailed);
  EXPECT_EQ(e.field(), "steps[0].params.template");
  EXPECT_STREQ(e.what(), "required parameter missing");
}

TEST(ValidateParams, WrongTypeNamesBothTypes) {
  const Error e = error_of({{"template", 5}});
  EXPECT_EQ(e.field(), "steps[0].params.template");
  EXPECT_STREQ(e.what(), "expected string, got number");

  EXPECT_STREQ(error_of({{"template", "t"}, {"data", {1, 2}}}).what(),
               "expected object, got array");
  EXPECT_STREQ(error_of({{"template", "t"}, {"draft", "yes"}}).what(),
               "expected boolean, got string");
  EXPECT_STREQ(error_of({{"template", "t"}, {"pages", {{"a", 1}}}}).what(),
               "expected array, got object");
  EXPECT_STREQ(error_of({{"template", "t"}, {"scale", true}}).what(),
               "expected number, got boolean");
  EXPECT_STREQ(error_of({{"template", nullptr}}).what(), "expected string, got null");
}

TEST(ValidateParams, UnknownParameterListsTheKnownOnes) {
  const Error e = error_of({{"templat", "t"}});
  EXPECT_EQ(e.field(), "steps[0].params.templat");
  EXPECT_STREQ(e.what(),
               "unknown parameter (known: copies, data, draft, extra, pages, scale, size, "
               "template)");

  sdk::GeneratorInfo none;
  none.id = "x.none";
  try {
    validate_params(none, {{"a", 1}}, "p");
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "unknown parameter (x.none takes no parameters)");
  }
}

TEST(ValidateParams, AllowedValues) {
  const Error e = error_of({{"template", "t"}, {"size", "A5"}});
  EXPECT_EQ(e.field(), "steps[0].params.size");
  EXPECT_STREQ(e.what(), "must be one of: A4, Letter");
  EXPECT_EQ(validate_params(sample_info(), {{"template", "t"}, {"size", "Letter"}}, "p")["size"],
            "Letter");
}

TEST(ValidateParams, IntegersAcceptIntegralFloatsOnly) {
  const json out = validate_params(sample_info(), {{"template", "t"}, {"copies", 2.0}}, "p");
  EXPECT_TRUE(out["copies"].is_number_integer());
  EXPECT_EQ(out["copies"], 2);

  const Error e = error_of({{"template", "t"}, {"copies", 2.5}});
  EXPECT_EQ(e.field(), "steps[0].params.copies");
  EXPECT_STREQ(e.what(), "expected integer, got non-integral number 2.5");
  EXPECT_STREQ(error_of({{"template", "t"}, {"copies", 1e30}}).what(),
               "expected integer, got non-integral number 1e+30");
  EXPECT_STREQ(error_of({{"template", "t"}, {"copies", "2"}}).what(),
               "expected integer, got string");
}

TEST(ValidateParams, NumbersAndAnyAcceptTheirValues) {
  EXPECT_EQ(validate_params(sample_info(), {{"template", "t"}, {"scale", 3}}, "p")["scale"], 3);
  EXPECT_EQ(validate_params(sample_info(), {{"template", "t"}, {"scale", 0.5}}, "p")["scale"], 0.5);
  EXPECT_EQ(validate_params(sample_info(), {{"template", "t"}, {"extra", nullptr}}, "p")["extra"],
            nullptr);
  const json nested = {{"deep", {1, "two", {{"three", 3}}}}};
  EXPECT_EQ(validate_params(sample_info(), {{"template", "t"}, {"extra", nested}}, "p")["extra"],
            nested);
}

TEST(ValidateParams, NonObjectParamsNameThePrefix) {
  const Error e = error_of(json::array({1}));
  EXPECT_EQ(e.field(), "steps[0].params");
  EXPECT_STREQ(e.what(), "expected object, got array");
}

TEST(ValidateParams, EmptyPrefixGivesBareNames) {
  EXPECT_EQ(error_of(json::object(), "").field(), "template");
}

}  // namespace
}  // namespace gen

// gen::sdk::complete_params and gen::sdk::file_name_problem: the one parameter rule shared by
// the host, FakeContext and generator-plugin-check. Links gen::sdk alone.
#include <gen/sdk/params.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

#include "sample_generator_info.hpp"

namespace {

using gen::sdk::complete_params;
using gen::sdk::file_name_problem;
using gen::sdk::GeneratorInfo;
using gen::sdk::param_value_problem;
using gen::sdk::ParamError;
using gen::sdk::ParamSpec;
using gen::sdk::ParamType;
using nlohmann::json;

// The shared sample, with output_name defaulting to "" (the tests here rely on it).
GeneratorInfo sample_info() {
  GeneratorInfo info = gen::test::sample_generator_info();
  info.params.back().default_value = "";
  return info;
}

/// The completed params; a failure when they are refused.
json completed(json params, const GeneratorInfo& info = sample_info()) {
  if (auto error = complete_params(info, params)) ADD_FAILURE() << error->describe();
  return params;
}

/// The refusal; a failure when there is none.
ParamError error_of(json params, std::string_view prefix = "params") {
  if (auto error = complete_params(sample_info(), params, prefix)) return *error;
  ADD_FAILURE() << "no error for " << params.dump();
  return {};
}

TEST(CompleteParams, FillsDefaultsAndKeepsGivenValues) {
  EXPECT_EQ(completed({{"template", "t"}, {"copies", 2}}), (json{{"template", "t"},
                                                                 {"copies", 2},
                                                                 {"data", json::object()},
                                                                 {"size", "A4"},
                                                                 {"output_name", ""}}));
}

TEST(CompleteParams, NullParamsMeanNoParamsAndNullDefaultsStayAbsent) {
  GeneratorInfo info = sample_info();
  info.params[0].required = false;
  const json out = completed(nullptr, info);
  EXPECT_EQ(out, (json{{"data", json::object()}, {"size", "A4"}, {"output_name", ""}}));
  EXPECT_FALSE(out.contains("copies"));
}

TEST(CompleteParams, RequiredMissing) {
  const ParamError e = error_of(json::object());
  EXPECT_EQ(e.field, "params.template");
  EXPECT_EQ(e.message, "required parameter missing");
  EXPECT_EQ(e.describe(), "params.template: required parameter missing");
}

TEST(CompleteParams, UnknownNamesComeFirstAndListTheKnownOnes) {
  // Also missing "template": the unknown name is what the caller most likely got wrong.
  const ParamError e = error_of({{"templat", "t"}});
  EXPECT_EQ(e.field, "params.templat");
  EXPECT_EQ(e.message,
            "unknown parameter (known: copies, data, draft, extra, output_name, pages, scale, "
            "size, template)");

  GeneratorInfo none;
  none.id = "x.none";
  json params = {{"a", 1}};
  const std::optional<ParamError> error = complete_params(none, params);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->message, "unknown parameter (x.none takes no parameters)");
}

TEST(CompleteParams, WrongTypeNamesBothTypesWithNumbersAllCalledNumber) {
  EXPECT_EQ(error_of({{"template", 5}}).describe(), "params.template: expected string, got number");
  EXPECT_EQ(error_of({{"template", 5.5}}).message, "expected string, got number");
  EXPECT_EQ(error_of({{"template", "t"}, {"data", {1, 2}}}).message, "expected object, got array");
  EXPECT_EQ(error_of({{"template", "t"}, {"draft", "yes"}}).message,
            "expected boolean, got string");
  EXPECT_EQ(error_of({{"template", "t"}, {"pages", {{"a", 1}}}}).message,
            "expected array, got object");
  EXPECT_EQ(error_of({{"template", "t"}, {"scale", true}}).message, "expected number, got boolean");
  EXPECT_EQ(error_of({{"template", "t"}, {"copies", "2"}}).message, "expected integer, got string");
}

TEST(CompleteParams, ExplicitNullIsAValueOnlyAnyAccepts) {
  EXPECT_EQ(error_of({{"template", nullptr}}).message, "expected string, got null");
  EXPECT_EQ(error_of({{"template", "t"}, {"copies", nullptr}}).message,
            "expected integer, got null");
  EXPECT_EQ(completed({{"template", "t"}, {"extra", nullptr}})["extra"], nullptr);
}

TEST(CompleteParams, IntegersAreNumbersWithZeroFraction) {
  // JSON Schema: 2.0 is an integer. It is stored as the integer 2, so a generator's
  // get<int>() and is_number_integer() see what the author declared.
  json out = completed({{"template", "t"}, {"copies", 2.0}});
  EXPECT_TRUE(out["copies"].is_number_integer());
  EXPECT_EQ(out["copies"], 2);
  out = completed({{"template", "t"}, {"copies", -0.0}});
  EXPECT_TRUE(out["copies"].is_number_integer());
  EXPECT_EQ(out["copies"], 0);
  out = completed({{"template", "t"}, {"copies", -9223372036854775808.0}});
  EXPECT_EQ(out["copies"].get<std::int64_t>(), INT64_MIN);
  // Integers as parsed stay as they are, unsigned ones too.
  EXPECT_EQ(completed({{"template", "t"}, {"copies", -7}})["copies"], -7);
  EXPECT_EQ(completed({{"template", "t"}, {"copies", 18446744073709551615ULL}})["copies"],
            18446744073709551615ULL);

  const ParamError e = error_of({{"template", "t"}, {"copies", 2.5}});
  EXPECT_EQ(e.field, "params.copies");
  EXPECT_EQ(e.message, "expected integer, got non-integral number 2.5");
  EXPECT_EQ(error_of({{"template", "t"}, {"copies", 1e30}}).message,
            "expected integer, got number 1e+30 outside the 64-bit range");
  EXPECT_EQ(error_of({{"template", "t"}, {"copies", 9223372036854775808.0}}).message,
            "expected integer, got number 9.223372036854776e+18 outside the 64-bit range");
}

TEST(CompleteParams, NumbersAndAnyAcceptTheirValuesUnchanged) {
  EXPECT_EQ(completed({{"template", "t"}, {"scale", 3}})["scale"], 3);
  const json half = completed({{"template", "t"}, {"scale", 2.0}})["scale"];
  EXPECT_TRUE(half.is_number_float());  // a number param is not normalised
  EXPECT_EQ(completed({{"template", "t"}, {"scale", 0.5}})["scale"], 0.5);
  const json nested = {{"deep", {1, "two", {{"three", 3}}}}};
  EXPECT_EQ(completed({{"template", "t"}, {"extra", nested}})["extra"], nested);
  EXPECT_EQ(completed({{"template", "t"}, {"extra", 2.0}})["extra"], 2.0);
}

TEST(CompleteParams, AllowedValuesApplyToStrings) {
  const ParamError e = error_of({{"template", "t"}, {"size", "A5"}});
  EXPECT_EQ(e.field, "params.size");
  EXPECT_EQ(e.message, "must be one of: A4, Letter");
  EXPECT_EQ(completed({{"template", "t"}, {"size", "Letter"}})["size"], "Letter");

  GeneratorInfo info;
  info.id = "x.any";
  info.params = {{.name = "v", .type = ParamType::kAny, .allowed_values = {"x"}}};
  EXPECT_EQ(completed({{"v", 1}}, info)["v"], 1);  // a non-string value: no list to match
  json refused = {{"v", "y"}};
  EXPECT_TRUE(complete_params(info, refused));
}

TEST(CompleteParams, OutputNameMustBeAFileName) {
  EXPECT_EQ(completed({{"template", "t"}, {"output_name", "a.pdf"}})["output_name"], "a.pdf");
  EXPECT_EQ(completed({{"template", "t"}, {"output_name", ""}})["output_name"], "");
  const ParamError e = error_of({{"template", "t"}, {"output_name", "../x"}});
  EXPECT_EQ(e.field, "params.output_name");
  EXPECT_EQ(e.message, "must be a plain file name (no '/' or '\\')");
  EXPECT_EQ(error_of({{"template", "t"}, {"output_name", ".."}}).message,
            "must not be '.' or '..'");
}

TEST(CompleteParams, NonObjectParamsNameThePrefix) {
  const ParamError e = error_of(json::array({1}));
  EXPECT_EQ(e.field, "params");
  EXPECT_EQ(e.describe(), "params: expected object, got array");
  EXPECT_EQ(error_of("text").message, "expected object, got string");
  EXPECT_EQ(error_of(7).message, "expected object, got number");
}

TEST(CompleteParams, PrefixNamesTheField) {
  EXPECT_EQ(error_of(json::object(), "steps[2].params").field, "steps[2].params.template");
  const ParamError bare = error_of(json::object(), "");
  EXPECT_EQ(bare.field, "template");
  EXPECT_EQ(bare.describe(), "template: required parameter missing");
  EXPECT_EQ(error_of(json::array(), "").describe(), "expected object, got array");
}

// One value by the rules complete_params() applies to each given value (the host checks a
// manifest's defaults with it).
TEST(ParamValueProblem, OneValueByTheSameRules) {
  ParamSpec copies{.name = "copies", .type = ParamType::kInteger};
  json two = 2.0;
  EXPECT_EQ(param_value_problem(copies, two), std::nullopt);
  EXPECT_TRUE(two.is_number_integer());
  json half = 2.5;
  EXPECT_EQ(param_value_problem(copies, half), "expected integer, got non-integral number 2.5");
  json text = "three";
  EXPECT_EQ(param_value_problem(copies, text), "expected integer, got string");
  ParamSpec paper{.name = "paper", .type = ParamType::kString, .allowed_values = {"A4", "Letter"}};
  json a5 = "A5";
  EXPECT_EQ(param_value_problem(paper, a5), "must be one of: A4, Letter");
  ParamSpec output{.name = "output_name", .type = ParamType::kString};
  json path = "../x.pdf";
  EXPECT_EQ(param_value_problem(output, path), "must be a plain file name (no '/' or '\\')");
}

TEST(FileNameProblem, AcceptsPlainUtf8Names) {
  EXPECT_EQ(file_name_problem("report.pdf"), std::nullopt);
  EXPECT_EQ(file_name_problem("Ωmega счёт 📄.pdf"), std::nullopt);
  EXPECT_EQ(file_name_problem(".hidden"), std::nullopt);
  EXPECT_EQ(file_name_problem(std::string(255, 'a')), std::nullopt);
}

TEST(FileNameProblem, RefusesWhatCannotNameAFile) {
  EXPECT_EQ(file_name_problem(""), "must not be empty");
  EXPECT_EQ(file_name_problem(std::string(256, 'a')), "must be at most 255 bytes");
  EXPECT_EQ(file_name_problem("."), "must not be '.' or '..'");
  EXPECT_EQ(file_name_problem("a/b"), "must be a plain file name (no '/' or '\\')");
  EXPECT_EQ(file_name_problem("a\\b"), "must be a plain file name (no '/' or '\\')");
  EXPECT_EQ(file_name_problem(std::string("a\0b", 3)),
            "must not contain control characters (found NUL)");
  EXPECT_EQ(file_name_problem("a\r\nb"), "must not contain control characters (found byte 13)");
  EXPECT_EQ(file_name_problem("a\x7f"), "must not contain control characters (found byte 127)");
  EXPECT_EQ(file_name_problem("\xff.pdf"), "must be valid UTF-8");
  EXPECT_EQ(file_name_problem("\xc0\xaf"), "must be valid UTF-8");          // overlong '/'
  EXPECT_EQ(file_name_problem("\xed\xa0\x80"), "must be valid UTF-8");      // a surrogate
  EXPECT_EQ(file_name_problem("\xf4\x90\x80\x80"), "must be valid UTF-8");  // past U+10FFFF
  EXPECT_EQ(file_name_problem("ab\xe2\x82"), "must be valid UTF-8");        // cut short
}

}  // namespace

// core/src/base/problem.cpp: the problem+json body both HTTP services answer errors with.
#include "gen/core/base/problem.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace gen {
namespace {

using nlohmann::json;

TEST(Problem, CarriesStatusCodeTitleDetailAndField) {
  Problem p = problem_for(Error(ErrorCode::kValidationFailed, "steps: is required", "steps"));
  EXPECT_EQ(p.status, 422);
  EXPECT_EQ(json::parse(p.body), (json{{"type", "https://generator.dev/problems/validation_failed"},
                                       {"title", "Unprocessable Content"},
                                       {"status", 422},
                                       {"code", "VALIDATION_FAILED"},
                                       {"detail", "steps: is required"},
                                       {"field", "steps"}}));
  EXPECT_EQ(kProblemContentType, "application/problem+json");
}

TEST(Problem, HasNoFieldWhenTheErrorNamesNone) {
  json body = json::parse(problem_for(Error(ErrorCode::kNotFound, "no route for GET /x")).body);
  EXPECT_EQ(body["status"], 404);
  EXPECT_EQ(body["title"], "Not Found");
  EXPECT_FALSE(body.contains("field"));
}

TEST(Problem, AnUnsetCodeIsAnInternalError) {
  Problem p = problem_for(Error(ErrorCode::kUnset, "oops"));
  EXPECT_EQ(p.status, 500);
  json body = json::parse(p.body);
  EXPECT_EQ(body["code"], "INTERNAL_ERROR");
  EXPECT_EQ(body["title"], "Internal Server Error");
}

TEST(Problem, InvalidUtf8InTheDetailIsReplacedNotThrown) {
  Problem p;
  ASSERT_NO_THROW(p = problem_for(Error(ErrorCode::kBadRequest, "bad \xff\xfe input")));
  EXPECT_EQ(json::parse(p.body)["detail"], "bad \xEF\xBF\xBD\xEF\xBF\xBD input");
}

TEST(Problem, TitlesFollowTheStatus) {
  EXPECT_EQ(status_title(405), "Method Not Allowed");
  EXPECT_EQ(status_title(503), "Service Unavailable");
  EXPECT_EQ(status_title(418), "Error");
}

}  // namespace
}  // namespace gen

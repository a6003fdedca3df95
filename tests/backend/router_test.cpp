// The API's dispatch table (backend/src/router.cpp) on its own: which route a method and path
// reach, what they capture, and what a miss tells Api::handle() (404 vs 405 with Allow).
#include "gen/backend/router.hpp"

#include <optional>
#include <stdexcept>

#include <gtest/gtest.h>

#include "gen/backend/api.hpp"

namespace gen::backend {
namespace {

// A handler that answers with its own name, to tell which route ran.
Handler named(std::string name) {
  return [name](const Call&) {
    Response r;
    r.body = name;
    return r;
  };
}

Router jobs_router() {
  Router router;
  router.add({{"POST", "/jobs", Scope::kWriteJobs}, named("submit")});
  router.add({{"POST", "/jobs/bulk", Scope::kWriteJobs}, named("bulk")});
  router.add({{"GET", "/jobs/{id}", Scope::kReadJobs}, named("get")});
  router.add({{"DELETE", "/jobs/{id}", Scope::kWriteJobs}, named("delete")});
  router.add({{"POST", "/jobs/{id}/cancel", Scope::kWriteJobs}, named("cancel")});
  router.add({{"GET", "/jobs/{id}/artifacts/{name}", Scope::kReadJobs}, named("artifact")});
  router.add({{"GET", "/health", std::nullopt, true}, named("health")});
  return router;
}

std::string run(const Router::Match& match) {
  Request request;
  Caller caller;
  return match.route->handler(Call{request, match.params, caller}).body;
}

TEST(Router, CapturesDecodedSegmentsAndAnEncodedSlashStaysInOne) {
  Router router = jobs_router();
  auto match = router.match("GET", split_path("/jobs/j1/artifacts/a%2Fb%20c.txt"));
  ASSERT_NE(match.route, nullptr);
  EXPECT_EQ(run(match), "artifact");
  EXPECT_EQ(match.params.at("id"), "j1");
  EXPECT_EQ(match.params.at("name"), "a/b c.txt");
  EXPECT_EQ(match.params.size(), 2u);
  EXPECT_EQ(match.pattern, "/jobs/{id}/artifacts/{name}");
  EXPECT_EQ(match.route->scope, Scope::kReadJobs);
  EXPECT_TRUE(match.allowed.empty());
}

TEST(Router, RoutesAreTriedInOrderAndALiteralBeforeACaptureWins) {
  Router router = jobs_router();
  auto bulk = router.match("POST", split_path("/jobs/bulk"));
  ASSERT_NE(bulk.route, nullptr);
  EXPECT_EQ(run(bulk), "bulk");
  EXPECT_TRUE(bulk.params.empty());
  // The same path with GET reaches the capture: "bulk" is then a job id.
  auto get = router.match("GET", split_path("/jobs/bulk"));
  ASSERT_NE(get.route, nullptr);
  EXPECT_EQ(run(get), "get");
  EXPECT_EQ(get.params.at("id"), "bulk");
}

TEST(Router, HeadIsAnsweredByTheGetRouteOnly) {
  Router router = jobs_router();
  auto head = router.match("HEAD", split_path("/jobs/j1"));
  ASSERT_NE(head.route, nullptr);
  EXPECT_EQ(run(head), "get");
  EXPECT_EQ(head.route->method, "GET");
  // No GET route on the path: HEAD is a wrong method like any other.
  auto no_get = router.match("HEAD", split_path("/jobs/j1/cancel"));
  EXPECT_EQ(no_get.route, nullptr);
  EXPECT_EQ(no_get.allowed, "POST");
}

TEST(Router, WrongMethodListsTheAllowedMethodsInRouteOrderOnce) {
  Router router = jobs_router();
  router.add(
      {{"GET", "/jobs/{name}", std::nullopt}, named("shadowed")});  // same shape, a second GET
  auto match = router.match("PUT", split_path("/jobs/bulk"));
  EXPECT_EQ(match.route, nullptr);
  EXPECT_EQ(match.allowed, "POST, GET, DELETE");  // "/jobs/bulk" (POST) comes first
  // The first route whose path matched names the request in metrics.
  EXPECT_EQ(match.pattern, "/jobs/bulk");
  EXPECT_TRUE(match.params.empty());
  auto capture_only = router.match("PUT", split_path("/jobs/x"));
  EXPECT_EQ(capture_only.allowed, "GET, DELETE");
  EXPECT_EQ(capture_only.pattern, "/jobs/{id}");
}

TEST(Router, UnknownPathHasNoRouteAndNoAllowedMethods) {
  Router router = jobs_router();
  for (const char* path : {"/jobs/x/y", "/nothing", "/", "/jobs/j1/artifacts"}) {
    auto match = router.match("GET", split_path(path));
    EXPECT_EQ(match.route, nullptr) << path;
    EXPECT_TRUE(match.allowed.empty()) << path;  // 404, not 405
    EXPECT_TRUE(match.pattern.empty()) << path;
  }
}

TEST(Router, SegmentsMatchWholeAndEmptySegmentsAreIgnored) {
  Router router = jobs_router();
  EXPECT_EQ(router.match("GET", split_path("/healthz")).route, nullptr);
  EXPECT_EQ(router.match("GET", split_path("/health/x")).route, nullptr);
  auto slashes = router.match("GET", split_path("//health/"));
  ASSERT_NE(slashes.route, nullptr);
  EXPECT_EQ(run(slashes), "health");
  // A capture takes any one segment, including one that looks like a literal elsewhere.
  auto cancel = router.match("POST", split_path("/jobs/cancel/cancel"));
  ASSERT_NE(cancel.route, nullptr);
  EXPECT_EQ(cancel.params.at("id"), "cancel");
}

TEST(Router, MethodsCompareExactly) {
  Router router = jobs_router();
  auto lower = router.match("get", split_path("/health"));
  EXPECT_EQ(lower.route, nullptr);
  EXPECT_EQ(lower.allowed, "GET");
}

TEST(Router, RoutesListsEveryRouteWithItsScopeInOrder) {
  Router router = jobs_router();
  auto routes = router.routes();
  ASSERT_EQ(routes.size(), 7u);
  EXPECT_EQ(routes.front().method, "POST");
  EXPECT_EQ(routes.front().pattern, "/jobs");
  EXPECT_EQ(routes.front().scope, Scope::kWriteJobs);
  EXPECT_FALSE(routes.front().is_public);
  EXPECT_EQ(routes[5].pattern, "/jobs/{id}/artifacts/{name}");
  EXPECT_EQ(routes.back().scope, std::nullopt);
  EXPECT_TRUE(routes.back().is_public);
}

TEST(Router, APublicRouteNamingAScopeIsRefused) {
  Router router;
  EXPECT_THROW(router.add({{"GET", "/health", Scope::kReadJobs, true}, named("health")}),
               std::invalid_argument);
  EXPECT_TRUE(router.routes().empty());
}

TEST(Router, EmptyRouterMatchesNothing) {
  Router router;
  auto match = router.match("GET", split_path("/health"));
  EXPECT_EQ(match.route, nullptr);
  EXPECT_TRUE(match.allowed.empty());
  EXPECT_TRUE(router.routes().empty());
}

}  // namespace
}  // namespace gen::backend

// docs/openapi.json against the routes the backend really answers: every route is documented
// with its method, every documented operation exists, and the served document is the file.
#include <gtest/gtest.h>

#include <set>

#include "gen/backend/api.hpp"
#include "gen/core/plugins/plugin_host.hpp"
#include "gen/core/queue/job_store.hpp"
#include "gen/core/storage/database.hpp"
#include "harness.hpp"

namespace gen::itest {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class OpenApi : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = Database::open("sqlite://" + (dir_.path() / "o.db").string(), 1);
    db_->migrate();
    jobs_ = std::make_unique<JobStore>(*db_);
    backend::ApiOptions options;
    options.require_auth = false;
    options.metrics_text = [] { return std::string(); };
    options.readiness = [] { return backend::Response{}; };  // every optional route on
    api_ = std::make_unique<backend::Api>(*db_, *jobs_, plugins_, options);
    doc_ = json::parse(read_file(std::string(GEN_TEST_SOURCE_DIR) + "/docs/openapi.json"));
  }
  TempDir dir_;
  std::unique_ptr<Database> db_;
  PluginHost plugins_{""};
  std::unique_ptr<JobStore> jobs_;
  std::unique_ptr<backend::Api> api_;
  json doc_;
};

TEST_F(OpenApi, EveryRouteIsDocumentedAndEveryOperationIsARoute) {
  ASSERT_EQ(doc_["openapi"], "3.1.0");
  std::set<std::pair<std::string, std::string>> routes, documented;
  for (const auto& r : api_->routes()) routes.insert({lower(r.method), r.pattern});
  for (const auto& [path, item] : doc_["paths"].items()) {
    for (const auto& [method, op] : item.items()) documented.insert({method, path});
  }
  for (const auto& r : routes) {
    EXPECT_TRUE(documented.count(r))
        << r.first << " " << r.second << " is not in docs/openapi.json";
  }
  for (const auto& d : documented) {
    EXPECT_TRUE(routes.count(d)) << d.first << " " << d.second << " is documented but not served";
  }
  EXPECT_GE(routes.size(), 28u);
}

TEST_F(OpenApi, DocumentedSecurityMatchesTheRoutes) {
  for (const auto& r : api_->routes()) {
    const json& op = doc_["paths"][r.pattern][lower(r.method)];
    SCOPED_TRACE(r.method + " " + r.pattern);
    bool documented_public = op.contains("security") && op["security"].empty();
    EXPECT_EQ(documented_public, r.is_public);
    if (r.scope) {
      const std::string scope(to_string(*r.scope));
      EXPECT_NE(op.value("description", "").find("`" + scope + "`"), std::string::npos)
          << "the description should name the scope";
      EXPECT_TRUE(op["responses"].contains("401"));
      EXPECT_TRUE(op["responses"].contains("403"));
    }
  }
}

TEST_F(OpenApi, ServedDocumentIsTheFile) {
  backend::Request r;
  r.method = "GET";
  r.raw_path = "/api/v1/openapi.json";
  r.path = backend::split_path(r.raw_path);
  backend::Response response = api_->handle(r);
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(json::parse(response.body), doc_);
}

}  // namespace
}  // namespace gen::itest

// Generators read runtime settings through the SDK context, resolved for the job's tenant:
// tenant > system > environment > built-in default. Exercised with the real pdf.render
// (PDF__DEFAULT_PAGE_SIZE) in the real worker; the page size is read back with pdfinfo.
#include <array>
#include <cstdio>
#include <fstream>
#include <thread>

#include "fixture.hpp"

namespace gen::itest {
namespace {

using namespace std::chrono_literals;

class TenantSettings : public StackTest {
 protected:
  StackOptions options() override {
    StackOptions o;
    o.env["PDF__DEFAULT_PAGE_SIZE"] = "A5";  // the environment's default
    return o;
  }

  void create_tenant(const std::string& id) {
    HttpResponse r = api().post_json("/api/v1/app_management/tenants", {{"id", id}});
    ASSERT_EQ(r.status, 201) << r.body;
  }

  void set(const std::string& tenant, const std::string& name, const json& value) {
    std::map<std::string, std::string> headers;
    if (!tenant.empty()) headers["tenant-id"] = tenant;
    HttpResponse r = api().request("PUT", "/api/v1/config/" + name, json{{"value", value}}.dump(),
                                   "application/json", headers);
    ASSERT_EQ(r.status, 200) << r.body;
  }

  // Renders a one-line document for `tenant` and returns pdfinfo's "Page size:" line.
  std::string rendered_page_size(const std::string& tenant, const json& extra_params = {}) {
    json params = {{"markdown", "# Settings\n\nHello."}};
    for (const auto& [k, v] : extra_params.items()) params[k] = v;
    json body = {{"steps", {{{"generator", "pdf.render"}, {"params", params}}}}};
    const std::map<std::string, std::string> headers = {{"tenant-id", tenant}};
    HttpResponse submitted =
        api().request("POST", "/api/v1/jobs", body.dump(), "application/json", headers);
    if (submitted.status != 202) return "submit answered " + submitted.body;
    const std::string id = submitted.json_body()["id"];
    json job;
    for (auto deadline = std::chrono::steady_clock::now() + 60s;
         std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(50ms)) {
      job = api().request("GET", "/api/v1/jobs/" + id, {}, {}, headers).json_body();
      if (job.value("status", "") == "COMPLETED" || job.value("status", "") == "FAILED") break;
    }
    if (job.value("status", "") != "COMPLETED") return "job ended as " + job.dump();
    HttpResponse pdf =
        api().request("GET", job["artifacts"][0]["url"].get<std::string>(), {}, {}, headers);
    if (pdf.status != 200) return "download answered " + std::to_string(pdf.status);
    const auto file = stack().dir() / (id + ".pdf");
    std::ofstream(file, std::ios::binary) << pdf.body;
    std::string out;
    if (FILE* p = ::popen(("pdfinfo '" + file.string() + "' 2>&1").c_str(), "r")) {
      std::array<char, 4096> buf{};
      while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
      ::pclose(p);
    }
    const auto at = out.find("Page size:");
    if (at == std::string::npos) return "pdfinfo said: " + out;
    return out.substr(at, out.find('\n', at) - at);
  }
};

TEST_F(TenantSettings, PdfRenderUsesTheTenantsDefaultPageSize) {
  create_tenant("acme");
  create_tenant("beta");
  create_tenant("gamma");
  set("", "PDF__DEFAULT_PAGE_SIZE", "Legal");       // system value over the environment's A5
  set("acme", "PDF__DEFAULT_PAGE_SIZE", "Letter");  // acme's own over the system value
  set("gamma", "PDF__DEFAULT_PAGE_SIZE", "A3");

  // pdfinfo rounds: Letter 612 x 792, Legal 612 x 1008, A3 841.89 x 1190.55, A5 419.53 x 595.28.
  EXPECT_NE(rendered_page_size("acme").find("612 x 792"), std::string::npos)
      << rendered_page_size("acme");
  EXPECT_NE(rendered_page_size("beta").find("612 x 1008"), std::string::npos);
  EXPECT_NE(rendered_page_size("gamma").find("841.89 x 1190.55"), std::string::npos);
  // A page size the job names wins over every setting.
  EXPECT_NE(rendered_page_size("acme", {{"page_size", "A3"}}).find("841.89 x 1190.55"),
            std::string::npos);

  // Without the system value, a tenant without its own falls back to the environment (A5).
  HttpResponse r = api().request("DELETE", "/api/v1/config/PDF__DEFAULT_PAGE_SIZE");
  ASSERT_EQ(r.status, 204) << r.body;
  // The worker caches a tenant's settings for 2 s.
  std::this_thread::sleep_for(2500ms);
  EXPECT_NE(rendered_page_size("beta").find("419.53 x 595.28"), std::string::npos)
      << rendered_page_size("beta");
}

// GENERATION__LLM_API_KEY is a secret: set through the API like any setting and read by
// the worker's generators, but no answer ever carries its value, only `is_set`.
TEST_F(TenantSettings, TheLlmApiKeyIsNeverReturned) {
  create_tenant("acme");
  const std::map<std::string, std::string> acme = {{"tenant-id", "acme"}};
  const std::string key = "sk-proj-very-secret-0123456789";
  auto get = [&](const std::map<std::string, std::string>& headers) {
    HttpResponse r =
        api().request("GET", "/api/v1/config/GENERATION__LLM_API_KEY", {}, {}, headers);
    EXPECT_EQ(r.status, 200) << r.body;
    return r;
  };
  json before = get(acme).json_body();
  EXPECT_EQ(before["secret"], true);
  EXPECT_EQ(before["is_set"], false);
  EXPECT_TRUE(before["value"].is_null());

  HttpResponse put = api().request("PUT", "/api/v1/config/GENERATION__LLM_API_KEY",
                                   json{{"value", key}}.dump(), "application/json", acme);
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.body.find(key), std::string::npos) << put.body;
  EXPECT_EQ(put.json_body()["is_set"], true);
  EXPECT_EQ(put.json_body()["source"], "tenant");
  EXPECT_TRUE(put.json_body()["value"].is_null());

  HttpResponse one = get(acme);
  EXPECT_EQ(one.body.find(key), std::string::npos) << one.body;
  EXPECT_EQ(one.json_body()["is_set"], true);
  HttpResponse list = api().request("GET", "/api/v1/config", {}, {}, acme);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.body.find(key), std::string::npos);
  bool listed = false;
  const json listing = list.json_body();
  for (const json& s : listing["settings"]) {
    if (s["name"] != "GENERATION__LLM_API_KEY") continue;
    listed = true;
    EXPECT_EQ(s["is_set"], true);
    EXPECT_TRUE(s["value"].is_null());
  }
  EXPECT_TRUE(listed) << list.body.substr(0, 2000);
  // The other LLM settings are ordinary ones.
  HttpResponse timeout =
      api().request("GET", "/api/v1/config/GENERATION__LLM_TIMEOUT_MS", {}, {}, acme);
  EXPECT_EQ(timeout.json_body()["value"], 60000) << timeout.body;
  // Another scope does not see acme's key as set; a refused value is not echoed either.
  EXPECT_EQ(get({}).json_body()["is_set"], false);
  const std::string too_long(5000, 'k');
  HttpResponse refused = api().request("PUT", "/api/v1/config/GENERATION__LLM_API_KEY",
                                       json{{"value", too_long}}.dump(), "application/json", acme);
  EXPECT_EQ(refused.status, 422) << refused.body.substr(0, 300);
  EXPECT_EQ(refused.body.find("kkkkkkkkkk"), std::string::npos);
  EXPECT_NE(refused.body.find("a string of 5000 characters"), std::string::npos);

  ASSERT_EQ(api().request("DELETE", "/api/v1/config/GENERATION__LLM_API_KEY", {}, {}, acme).status,
            204);
  EXPECT_EQ(get(acme).json_body()["is_set"], false);
}

TEST(TenantSettingsStartup, ABadEnvironmentDefaultStopsTheService) {
  TempDir dir;
  auto env = service_environment({{"DATABASE__URL", "sqlite://" + (dir.path() / "g.db").string()},
                                  {"PDF__DEFAULT_PAGE_SIZE", "A9"},
                                  {"HOSTING__PORT", std::to_string(free_port())}});
  auto [code, output] =
      run_to_completion(build_dir() / "bin/generator-backend", {}, env, std::chrono::seconds(30));
  EXPECT_NE(code, 0) << output;
  EXPECT_NE(output.find("PDF__DEFAULT_PAGE_SIZE"), std::string::npos) << output;
}

}  // namespace
}  // namespace gen::itest

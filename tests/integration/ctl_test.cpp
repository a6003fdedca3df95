// generatorctl against the real backend and worker: submit --wait downloads the artifacts,
// exit codes for refusals, failures, usage and an unreachable server, and the host-side
// commands (migrate, credentials create --root) on a database of their own.
#include <fstream>

#include "fixture.hpp"

namespace gen::itest {
namespace {

using namespace std::chrono_literals;

class Ctl : public StackTest {
 protected:
  std::pair<int, std::string> ctl(std::vector<std::string> args,
                                  std::map<std::string, std::string> env = {}) {
    std::map<std::string, std::string> full = service_environment({});
    full["GENERATOR_URL"] = "http://127.0.0.1:" + std::to_string(stack().port());
    full["GENERATOR_TOKEN"] = kRootApiKey;
    for (const auto& [k, v] : env) full[k] = v;
    return run_to_completion(build_dir() / "bin/generatorctl", args, full, 120s);
  }
};

TEST_F(Ctl, SubmitWaitDownloadsTheArtifacts) {
  TempDir out;
  auto [code, output] = ctl({"submit", "--step", "text.template", "--params",
                             R"({"template":"Hello {{name}}!","data":{"name":"ctl"}})", "--wait",
                             "--output", out.path().string()});
  ASSERT_EQ(code, 0) << output;
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(out.path())) {
    EXPECT_EQ(read_file(entry.path()), "Hello ctl!");
    EXPECT_NE(output.find(entry.path().string()), std::string::npos) << output;
    ++files;
  }
  EXPECT_EQ(files, 1);
  EXPECT_NE(output.find("100% COMPLETED"), std::string::npos) << output;
}

TEST_F(Ctl, SubmitFromAFileWithAnInputAndJobCommands) {
  TempDir dir;
  {
    std::ofstream(dir.path() / "job.json") << R"({"steps":[{"generator":"fixture.echo"}]})";
    std::ofstream(dir.path() / "in.txt") << "input";
  }
  auto [code, id] = ctl({"submit", "--file", (dir.path() / "job.json").string(), "--input",
                         (dir.path() / "in.txt").string(), "--priority", "3"});
  ASSERT_EQ(code, 0) << id;
  id = id.substr(0, id.find('\n'));
  json job = stack().get_job(id);
  EXPECT_EQ(job["priority"], 3);
  auto [list_code, list] = ctl({"jobs", "list"});
  EXPECT_EQ(list_code, 0);
  EXPECT_NE(list.find(id), std::string::npos) << list;
  auto [inputs_code, inputs] = ctl({"artifacts", "list", id, "--all"});
  EXPECT_NE(inputs.find("in.txt"), std::string::npos) << inputs;
  EXPECT_EQ(ctl({"jobs", "delete", id}).first, 0);
  auto [gone, message] = ctl({"jobs", "show", id});
  EXPECT_EQ(gone, 1) << message;
  EXPECT_NE(message.find("404 NOT_FOUND"), std::string::npos) << message;
}

TEST_F(Ctl, ExitCodes) {
  EXPECT_EQ(ctl({"submit", "--step", "fixture.fail_permanent", "--wait"}).first, 4);
  EXPECT_EQ(ctl({"jobs", "list"}, {{"GENERATOR_TOKEN", ""}}).first, 1);
  EXPECT_EQ(ctl({"frobnicate"}).first, 2);
  EXPECT_EQ(ctl({"submit"}).first, 2);
  EXPECT_EQ(
      ctl({"jobs", "list"}, {{"GENERATOR_URL", "http://127.0.0.1:" + std::to_string(free_port())}})
          .first,
      3);
  EXPECT_EQ(ctl({"--help"}).first, 0);
}

TEST_F(Ctl, TenantsCredentialsAndConfig) {
  EXPECT_EQ(ctl({"tenants", "create", "acme"}).first, 0);
  auto [code, created] = ctl({"credentials", "create", "acme-bot", "--tenant-scope",
                              "acme:READ:CONFIG", "--tenant-scope", "acme:WRITE:CONFIG"});
  ASSERT_EQ(code, 0) << created;
  json issued = json::parse(created.substr(created.find('{')));
  std::string key = issued["api_key"];
  auto [set_code, set] =
      ctl({"--tenant", "acme", "config", "set", "PDF__DEFAULT_PAGE_SIZE", "Letter"},
          {{"GENERATOR_TOKEN", key}});
  ASSERT_EQ(set_code, 0) << set;
  EXPECT_EQ(json::parse(set)["source"], "tenant");
  auto [get_code, got] = ctl({"config", "get", "PDF__DEFAULT_PAGE_SIZE"});
  EXPECT_EQ(json::parse(got)["value"], "A4");  // the system scope is untouched
  // The tenant credential cannot act outside its tenant.
  EXPECT_EQ(ctl({"config", "get", "PDF__DEFAULT_PAGE_SIZE"}, {{"GENERATOR_TOKEN", key}}).first, 1);
}

TEST(CtlHost, MigrateAndRootCredentialWriteTheDatabaseDirectly) {
  TempDir dir;
  auto env = service_environment({{"DATABASE__URL", "sqlite://" + (dir.path() / "g.db").string()},
                                  {"STORAGE__DATA_DIR", dir.path().string()}});
  auto ctl = build_dir() / "bin/generatorctl";
  auto [migrated, m] = run_to_completion(ctl, {"migrate"}, env, 60s);
  EXPECT_EQ(migrated, 0) << m;
  auto [created, out] = run_to_completion(ctl, {"credentials", "create", "--root"}, env, 60s);
  ASSERT_EQ(created, 0) << out;
  json root = json::parse(out.substr(out.find('{')), nullptr, false);
  ASSERT_TRUE(root.is_object()) << out;
  EXPECT_TRUE(root["api_key"].get<std::string>().starts_with("gen_"));
  EXPECT_EQ(run_to_completion(ctl, {"credentials", "create", "--root"}, env, 60s).first, 1);
}

}  // namespace
}  // namespace gen::itest

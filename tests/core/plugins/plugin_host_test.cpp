// The plugin host against the fixture plugins (tests/plugins) and the real text plugin.
#include "gen/core/plugins/plugin_host.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <gen/sdk/testing.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "gen/core/base/errors.hpp"

namespace gen {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using sdk::testing::FakeContext;
using ::testing::HasSubstr;
using ::testing::StartsWith;

fs::path build_dir() {
  const char* dir = std::getenv("GENERATOR_BUILD_DIR");
  if (dir == nullptr) {
    ADD_FAILURE() << "GENERATOR_BUILD_DIR is not set (run the tests through ctest)";
    return {};
  }
  return dir;
}

std::string fixture_dir() {
  return (build_dir() / "tests" / "fixture-plugins").string();
}
std::string plugin_dir() {
  return (build_dir() / "lib" / "generator" / "plugins").string();
}

const PluginRecord* record_for(const PluginHost& host, const std::string& file_name) {
  for (const auto& record : host.plugins()) {
    if (fs::path(record.path).filename() == file_name) return &record;
  }
  return nullptr;
}

/// Runs the generator `id` through the SDK's FakeContext, which validates and completes the
/// params with the backend's own rule (gen::sdk::complete_params) first.
sdk::Status run(const PluginHost& host, std::string_view id, FakeContext& ctx) {
  sdk::Generator* generator = host.find(id);
  EXPECT_NE(generator, nullptr) << id;
  if (generator == nullptr) return sdk::Status::permanent("missing generator");
  return ctx.run(*generator);
}

class FixturePlugins : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    host_ = new PluginHost(fixture_dir());
    host_->load_all();
  }
  static void TearDownTestSuite() {
    delete host_;
    host_ = nullptr;
  }
  static PluginHost* host_;
};
PluginHost* FixturePlugins::host_ = nullptr;

TEST_F(FixturePlugins, ScansEverySoFileSortedWithAbsolutePaths) {
  std::vector<std::string> names;
  for (const auto& record : host_->plugins()) {
    EXPECT_TRUE(fs::path(record.path).is_absolute()) << record.path;
    names.push_back(fs::path(record.path).filename().string());
  }
  const std::vector<std::string> expected = {
      "fixture_bad_generators.so",     "fixture_broken_manifest.so",
      "fixture_not_a_plugin.so",       "fixture_ok.so",
      "fixture_throws_on_register.so", "fixture_wrong_abi.so",
      "fixture_z_duplicate.so",        "garbage.so"};
  EXPECT_EQ(names, expected);
}

TEST_F(FixturePlugins, GoodPluginLoadsWithItsManifestAndGenerators) {
  const PluginRecord* ok = record_for(*host_, "fixture_ok.so");
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ(ok->state, PluginState::kLoaded);
  EXPECT_EQ(ok->error, "");
  EXPECT_EQ(ok->name, "fixture_ok");
  EXPECT_EQ(ok->version, "1.2.3");
  EXPECT_EQ(ok->description, "Test generators for the host and the worker");
  const std::vector<std::string> expected = {
      "fixture.crash",      "fixture.echo",   "fixture.fail_permanent", "fixture.fail_retryable",
      "fixture.hog",        "fixture.record", "fixture.sleep",          "fixture.spin",
      "fixture.spin_retry", "fixture.throws", "fixture.write"};
  EXPECT_EQ(ok->generators, expected);
}

TEST_F(FixturePlugins, WrongAbiIsIncompatibleWithAReason) {
  const PluginRecord* record = record_for(*host_, "fixture_wrong_abi.so");
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->state, PluginState::kIncompatible);
  EXPECT_EQ(record->error, "built for SDK ABI " + std::to_string(sdk::kAbiVersion + 1) +
                               ", this host supports ABI " + std::to_string(sdk::kAbiVersion));
  EXPECT_EQ(record->name, "fixture_wrong_abi");  // the manifest itself was readable
  EXPECT_TRUE(record->generators.empty());
  EXPECT_EQ(host_->find("fixture.minimal"), nullptr);
}

TEST_F(FixturePlugins, BrokenManifestIsInvalidNamingEachKey) {
  const PluginRecord* record = record_for(*host_, "fixture_broken_manifest.so");
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->state, PluginState::kInvalid);
  EXPECT_THAT(record->error, StartsWith("invalid manifest: "));
  EXPECT_THAT(record->error, HasSubstr("key 'name' is missing"));
  EXPECT_THAT(record->error, HasSubstr("key 'sdk_abi' must be an integer, got string"));
  EXPECT_EQ(record->name, "");
}

TEST_F(FixturePlugins, ThrowingRegistrationFailsAndKeepsNothing) {
  const PluginRecord* record = record_for(*host_, "fixture_throws_on_register.so");
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->state, PluginState::kFailed);
  EXPECT_EQ(record->error, "register_generators() threw: fixture: registration exploded");
  EXPECT_TRUE(record->generators.empty());
  EXPECT_EQ(host_->find("fixture.half_registered"), nullptr);
}

TEST_F(FixturePlugins, DuplicateIdIsRefusedAndTheFirstOwnerKept) {
  const PluginRecord* record = record_for(*host_, "fixture_z_duplicate.so");
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->state, PluginState::kFailed);
  EXPECT_THAT(
      record->error,
      StartsWith("generator 'fixture.echo' is already registered by plugin 'fixture_ok' ("));
  EXPECT_TRUE(record->generators.empty());
  ASSERT_NE(host_->info("fixture.echo"), nullptr);
  EXPECT_EQ(host_->info("fixture.echo")->version, "1.0.0");  // fixture_ok's, not 9.9.9
}

TEST_F(FixturePlugins, NonPluginFilesAreInvalid) {
  for (const char* file : {"fixture_not_a_plugin.so", "garbage.so"}) {
    const PluginRecord* record = record_for(*host_, file);
    ASSERT_NE(record, nullptr) << file;
    EXPECT_EQ(record->state, PluginState::kInvalid) << file;
    EXPECT_THAT(record->error, StartsWith("not a Generator plugin: ")) << file;
    EXPECT_THAT(record->error, HasSubstr(file));
  }
}

TEST_F(FixturePlugins, BadGeneratorInfosAreRefusedOneByOne) {
  const PluginRecord* record = record_for(*host_, "fixture_bad_generators.so");
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->state, PluginState::kLoaded);
  EXPECT_EQ(record->generators, std::vector<std::string>{"fixture_bad.valid"});
  EXPECT_NE(host_->find("fixture_bad.valid"), nullptr);
  for (const char* expected : {
           "generator id 'Fixture.UpperCase' is invalid",
           "generator id 'nodot' is invalid",
           "generator 'fixture_bad.no_version': version is empty",
           "generator 'fixture_bad.zero_attempts': max_attempts must be >= 1, got 0",
           "generator 'fixture_bad.zero_timeout': timeout_ms must be > 0, got 0",
           "generator 'fixture_bad.param_twice': parameter 'x' is declared twice",
           "generator 'fixture_bad.bad_default': parameter 'n' has an invalid default "
           "\"three\": expected integer, got string",
           "registered a null generator",
           "Generator::info() threw: info exploded",
       }) {
    EXPECT_THAT(record->error, HasSubstr(expected));
  }
  for (const char* id : {"fixture_bad.no_version", "fixture_bad.zero_attempts",
                         "fixture_bad.zero_timeout", "fixture_bad.param_twice", "nodot"}) {
    EXPECT_EQ(host_->find(id), nullptr) << id;
  }
}

TEST_F(FixturePlugins, GeneratorsAreListedSortedById) {
  std::vector<std::string> ids;
  for (const auto& info : host_->generators()) ids.push_back(info.id);
  const std::vector<std::string> expected = {
      "fixture.crash",      "fixture.echo",   "fixture.fail_permanent", "fixture.fail_retryable",
      "fixture.hog",        "fixture.record", "fixture.sleep",          "fixture.spin",
      "fixture.spin_retry", "fixture.throws", "fixture.write",          "fixture_bad.valid"};
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(host_->find("no.such"), nullptr);
  EXPECT_EQ(host_->info("no.such"), nullptr);
}

TEST_F(FixturePlugins, EchoRunsThroughAContext) {
  const std::string input_bytes = std::string("a\0b", 3);
  FakeContext ctx({{"count", 3}});
  ctx.add_input("in.bin", "application/octet-stream", input_bytes);
  const sdk::Status status = run(*host_, "fixture.echo", ctx);
  ASSERT_TRUE(status.is_ok()) << status.message();
  ASSERT_NE(ctx.output("in.bin"), nullptr);
  EXPECT_EQ(ctx.output_data("in.bin"), input_bytes);
  EXPECT_EQ(ctx.output("in.bin")->media_type, "application/octet-stream");
  ASSERT_NE(ctx.output("params.json"), nullptr);
  EXPECT_EQ(json::parse(ctx.output_data("params.json")),
            (json{{"count", 3}, {"message", "hello"}}));  // the default filled in
  ASSERT_FALSE(ctx.progress_values().empty());
  EXPECT_EQ(ctx.progress_values().back(), 1.0);
}

TEST_F(FixturePlugins, FailingFixturesReportTheirKind) {
  FakeContext permanent;
  const sdk::Status p = run(*host_, "fixture.fail_permanent", permanent);
  EXPECT_EQ(p.kind(), sdk::Status::Kind::kPermanent);
  EXPECT_EQ(p.message(), "fixture: permanent failure");

  FakeContext retryable;
  EXPECT_EQ(run(*host_, "fixture.fail_retryable", retryable).kind(), sdk::Status::Kind::kRetryable);
  FakeContext succeeds({{"succeed_on_attempt", 1}});
  EXPECT_TRUE(run(*host_, "fixture.fail_retryable", succeeds).is_ok());
  EXPECT_EQ(succeeds.output_data("attempt.txt"), "1");

  // Called directly the exception escapes; FakeContext::run() catches it, as the host does.
  FakeContext throws;
  ASSERT_NE(host_->find("fixture.throws"), nullptr);
  EXPECT_THROW(host_->find("fixture.throws")->run(throws), std::runtime_error);
  EXPECT_EQ(run(*host_, "fixture.throws", throws).kind(), sdk::Status::Kind::kRetryable);
}

TEST_F(FixturePlugins, RecordAppendsOneLinePerExecution) {
  const fs::path file = fs::temp_directory_path() / ("gen_record_" + std::to_string(::getpid()));
  fs::remove(file);
  for (int i = 0; i < 2; ++i) {
    FakeContext ctx({{"path", file.string()}});
    ctx.set_task_id("task-1");
    ASSERT_TRUE(run(*host_, "fixture.record", ctx).is_ok());
    EXPECT_EQ(ctx.output_data("record.txt"), "task-1 1\n");
  }
  std::ifstream in(file);
  const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "task-1 1\ntask-1 1\n");
  fs::remove(file);
}

TEST(PluginHost, MissingFoldersAndRepeatsAreHarmless) {
  PluginHost host("/nonexistent/generator-plugins::" + fixture_dir() + ":" + fixture_dir());
  host.load_all();
  std::size_t ok_count = 0;
  for (const auto& record : host.plugins()) {
    if (fs::path(record.path).filename() == "fixture_ok.so") ++ok_count;
  }
  EXPECT_EQ(ok_count, 1u);  // the repeated folder did not load it twice
  EXPECT_NE(host.find("fixture.echo"), nullptr);
}

TEST(PluginHost, TwoHostsInTurnEachGetTheirGenerators) {
  for (int i = 0; i < 2; ++i) {
    PluginHost host(fixture_dir());
    host.load_all();
    ASSERT_NE(host.find("fixture.echo"), nullptr);
    const PluginRecord* ok = record_for(host, "fixture_ok.so");
    ASSERT_NE(ok, nullptr);
    EXPECT_EQ(ok->state, PluginState::kLoaded);
  }
}

TEST(PluginHost, StateNames) {
  EXPECT_EQ(to_string(PluginState::kLoaded), "LOADED");
  EXPECT_EQ(to_string(PluginState::kInvalid), "INVALID");
  EXPECT_EQ(to_string(PluginState::kIncompatible), "INCOMPATIBLE");
  EXPECT_EQ(to_string(PluginState::kFailed), "FAILED");
}

TEST(PluginHost, GeneratorInfoToJson) {
  sdk::GeneratorInfo info;
  info.id = "x.y";
  info.version = "2.0.0";
  info.description = "d";
  info.params = {{.name = "size",
                  .type = sdk::ParamType::kString,
                  .required = false,
                  .default_value = "A4",
                  .description = "page",
                  .allowed_values = {"A4", "Letter"}},
                 {.name = "n", .type = sdk::ParamType::kInteger, .required = true}};
  info.output_media_types = {"application/pdf"};
  info.timeout_ms = std::chrono::milliseconds(1500);
  info.max_attempts = 4;
  const json expected = {{"id", "x.y"},
                         {"version", "2.0.0"},
                         {"description", "d"},
                         {"params",
                          {{{"name", "size"},
                            {"type", "string"},
                            {"required", false},
                            {"default", "A4"},
                            {"description", "page"},
                            {"allowed_values", {"A4", "Letter"}}},
                           {{"name", "n"},
                            {"type", "integer"},
                            {"required", true},
                            {"default", nullptr},
                            {"description", ""},
                            {"allowed_values", json::array()}}}},
                         {"input_media_types", {"*/*"}},
                         {"output_media_types", {"application/pdf"}},
                         {"timeout_ms", 1500},
                         {"max_attempts", 4}};
  EXPECT_EQ(to_json(info), expected);
}

// --- the real text plugin ---------------------------------------------------------------

class TextPlugin : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    host_ = new PluginHost(plugin_dir());
    host_->load_all();
  }
  static void TearDownTestSuite() {
    delete host_;
    host_ = nullptr;
  }
  static sdk::Status render(FakeContext& ctx) { return run(*host_, "text.template", ctx); }
  static PluginHost* host_;
};
PluginHost* TextPlugin::host_ = nullptr;

TEST_F(TextPlugin, IsLoaded) {
  const PluginRecord* record = record_for(*host_, "generator-text.so");
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->state, PluginState::kLoaded) << record->error;
  EXPECT_EQ(record->name, "text");
  EXPECT_EQ(record->generators, std::vector<std::string>{"text.template"});
}

TEST_F(TextPlugin, RendersTheContractExample) {
  FakeContext ctx({{"template", "Hello {{name}}!"},
                   {"data", {{"name", "World"}}},
                   {"media_type", "text/plain"}});
  const sdk::Status status = render(ctx);
  ASSERT_TRUE(status.is_ok()) << status.message();
  ASSERT_EQ(ctx.outputs().size(), 1u);
  EXPECT_EQ(ctx.output_data("output.txt"), "Hello World!");
  EXPECT_EQ(ctx.output("output.txt")->media_type, "text/plain");
}

TEST_F(TextPlugin, TemplateErrorIsPermanentAndNamesTheParam) {
  FakeContext ctx({{"template", "{{#items}}unclosed"}});
  const sdk::Status status = render(ctx);
  EXPECT_EQ(status.kind(), sdk::Status::Kind::kPermanent);
  EXPECT_THAT(status.message(), StartsWith("params.template: "));
  EXPECT_THAT(status.message(), HasSubstr("items"));
  EXPECT_TRUE(ctx.outputs().empty());
}

TEST_F(TextPlugin, EscapesOnlyForMarkup) {
  const json data = {{"x", "<b>&\"'"}};
  FakeContext plain({{"template", "{{x}}"}, {"data", data}});
  ASSERT_TRUE(render(plain).is_ok());
  EXPECT_EQ(plain.output_data("output.txt"), "<b>&\"'");
  EXPECT_EQ(plain.output("output.txt")->media_type, "text/plain; charset=utf-8");

  FakeContext html({{"template", "{{x}}|{{{x}}}"}, {"data", data}, {"media_type", "text/html"}});
  ASSERT_TRUE(render(html).is_ok());
  ASSERT_NE(html.output("output.html"), nullptr);
  EXPECT_EQ(html.output_data("output.html"), "&lt;b&gt;&amp;&quot;&#39;|<b>&\"'");
}

TEST_F(TextPlugin, ConvertsJsonNaturally) {
  const json data = {{"i", 42},
                     {"neg", -7},
                     {"f", 2.5},
                     {"whole", 3.0},
                     {"yes", true},
                     {"no", false},
                     {"nothing", nullptr},
                     {"items", {{{"n", "a"}}, {{"n", "b"}}}},
                     {"obj", {{"k", "v"}}}};
  FakeContext ctx({{"template",
                    "{{i}} {{neg}} {{f}} {{whole}} {{#yes}}Y{{/yes}}{{^no}}N{{/no}}"
                    "{{#nothing}}X{{/nothing}}{{^nothing}}0{{/nothing}}"
                    " {{#items}}[{{n}}]{{/items}} {{obj.k}}"},
                   {"data", data},
                   {"media_type", "text/markdown"}});
  ASSERT_TRUE(render(ctx).is_ok());
  ASSERT_NE(ctx.output("output.md"), nullptr);
  EXPECT_EQ(ctx.output_data("output.md"), "42 -7 2.5 3 YN0 [a][b] v");
}

TEST_F(TextPlugin, FollowsTheMustacheSpec) {
  const json data = {{"title", "Invoice"},
                     {"currency", "EUR"},
                     {"flag", true},
                     {"tags", {"x", "y"}},
                     {"lines", {{{"sku", "A"}, {"qty", 1}}, {{"sku", "B"}, {"qty", 2}}}},
                     {"empty", json::array()},
                     {"nested", {{"deeper", {{"value", "deep"}}}}}};
  const std::string tmpl =
      "{{! a comment line, removed }}\n"
      "# {{title}}\n"
      "{{#lines}}\n"
      "  - {{sku}} x{{qty}} {{currency}}\n"  // currency from the outer context
      "{{/lines}}\n"
      "{{^empty}}no items{{/empty}} {{#tags}}<{{.}}>{{/tags}} {{flag}} [{{missing}}]\n"
      "{{nested.deeper.value}}|{{nested.nope.value}}|{{#nested}}{{deeper.value}}{{/nested}}\n"
      "{{=<% %>=}}<% title %> {{title}}\n";
  FakeContext ctx({{"template", tmpl}, {"data", data}});
  ASSERT_TRUE(render(ctx).is_ok());
  EXPECT_EQ(ctx.output_data("output.txt"),
            "# Invoice\n"
            "  - A x1 EUR\n"
            "  - B x2 EUR\n"
            "no items <x><y> true []\n"
            "deep||deep\n"
            "Invoice {{title}}\n");
}

TEST_F(TextPlugin, SyntaxErrorsSayWhereAndWhat) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a\n {{#items}}x", "params.template: unclosed section 'items' (opened at line 2, column 2)"},
      {"{{#a}}{{/b}}",
       "params.template: section 'a' (opened at line 1, column 1) closed by 'b' at line 1, "
       "column 7"},
      {"x{{/a}}", "params.template: closing tag 'a' at line 1, column 2 has no open section"},
      {"{{name", "params.template: unclosed tag (opened at line 1, column 1)"},
      {"{{> part}}", "params.template: partials are not supported ('part' at line 1, column 1)"},
      {"{{a..b}}", "params.template: invalid name 'a..b' at line 1, column 1"},
  };
  for (const auto& [tmpl, message] : cases) {
    FakeContext ctx({{"template", tmpl}});
    const sdk::Status status = render(ctx);
    EXPECT_EQ(status.kind(), sdk::Status::Kind::kPermanent) << tmpl;
    EXPECT_EQ(status.message(), message) << tmpl;
  }
}

TEST_F(TextPlugin, PrintsNumbersInTheirShortestRoundTripForm) {
  const json data = {{"n",
                      {0.1, 10.99, -2.5, 123456.789, 0.1 + 0.2, 1e-7, 1e20, -0.0, 4.0, -17.0,
                       1234567.125, 18446744073709551615ULL, -9007199254740991}}};
  FakeContext ctx({{"template", "{{#n}}{{.}} {{/n}}"}, {"data", data}});
  ASSERT_TRUE(render(ctx).is_ok());
  EXPECT_EQ(ctx.output_data("output.txt"),
            "0.1 10.99 -2.5 123456.789 0.30000000000000004 1e-07 1e+20 0 4 -17 1234567.125 "
            "18446744073709551615 -9007199254740991 ");
}

TEST_F(TextPlugin, MergesJsonInputsUnderParamsData) {
  const std::string input_json =
      R"({"name": "input", "customer": {"city": "Oslo", "zip": "0150"}})";
  FakeContext ctx({{"template", "{{name}} {{customer.city}} {{customer.zip}}"},
                   {"data", {{"customer", {{"city", "Bergen"}}}}},
                   {"output_name", "greeting.txt"}});
  ctx.add_input("data.json", "application/json; charset=utf-8", input_json);
  ASSERT_TRUE(render(ctx).is_ok());
  EXPECT_EQ(ctx.output_data("greeting.txt"), "input Bergen 0150");
}

TEST_F(TextPlugin, TakesTheTemplateFromAnInput) {
  FakeContext ctx({{"data", {{"who", "input"}}}});
  ctx.add_input("greeting.mustache", "application/octet-stream", "Hi {{who}}");
  ASSERT_TRUE(render(ctx).is_ok());
  EXPECT_EQ(ctx.output_data("output.txt"), "Hi input");

  FakeContext broken;
  broken.add_input("t", "text/x-mustache", "{{#a}}");
  const sdk::Status status = render(broken);
  EXPECT_EQ(status.kind(), sdk::Status::Kind::kPermanent);
  EXPECT_THAT(status.message(), StartsWith("inputs[t]: "));
}

TEST_F(TextPlugin, RefusesMissingTemplateAndBadJsonInput) {
  FakeContext missing;
  const sdk::Status no_template = render(missing);
  EXPECT_EQ(no_template.kind(), sdk::Status::Kind::kPermanent);
  EXPECT_THAT(no_template.message(), StartsWith("params.template: required parameter missing"));

  FakeContext bad({{"template", "x"}});
  bad.add_input("d.json", "application/json", "{not json");
  const sdk::Status bad_json = render(bad);
  EXPECT_EQ(bad_json.kind(), sdk::Status::Kind::kPermanent);
  EXPECT_THAT(bad_json.message(), StartsWith("inputs[d.json]: not valid JSON: "));
}

}  // namespace
}  // namespace gen

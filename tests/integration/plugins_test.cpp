// GET /api/v1/plugins and /api/v1/generators report what the real plugin host found,
// including the broken fixture plugins, which must not take the backend down.
#include <filesystem>

#include "fixture.hpp"

namespace gen::itest {
namespace {

class Plugins : public StackTest {
 protected:
  StackOptions options() override { return {.worker = false}; }

  // The plugin record whose file name is `file`; an empty object when there is none.
  json plugin(const json& plugins, const std::string& file) {
    for (const json& p : plugins) {
      if (std::filesystem::path(p.value("path", "")).filename() == file) return p;
    }
    ADD_FAILURE() << "no plugin " << file << " in " << plugins.dump(2);
    return json::object();
  }
};

TEST_F(Plugins, ListsEveryPluginWithItsState) {
  HttpResponse r = api().get("/api/v1/plugins");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  json plugins = r.json_body()["plugins"];

  json text = plugin(plugins, "generator-text.so");
  EXPECT_EQ(text["state"], "LOADED");
  EXPECT_TRUE(text["error"].is_null());
  EXPECT_NE(std::find(text["generators"].begin(), text["generators"].end(), "text.template"),
            text["generators"].end());

  json ok = plugin(plugins, "fixture_ok.so");
  EXPECT_EQ(ok["state"], "LOADED");
  EXPECT_EQ(ok["version"], "1.2.3");
  EXPECT_NE(std::find(ok["generators"].begin(), ok["generators"].end(), "fixture.echo"),
            ok["generators"].end());

  struct Broken {
    const char* file;
    const char* state;
  };
  for (Broken b : {Broken{"fixture_wrong_abi.so", "INCOMPATIBLE"},
                   Broken{"fixture_broken_manifest.so", "INVALID"},
                   Broken{"fixture_throws_on_register.so", "FAILED"},
                   Broken{"fixture_not_a_plugin.so", "INVALID"}, Broken{"garbage.so", "INVALID"}}) {
    SCOPED_TRACE(b.file);
    json p = plugin(plugins, b.file);
    EXPECT_EQ(p["state"], b.state) << p.dump();
    ASSERT_TRUE(p["error"].is_string()) << p.dump();
    EXPECT_FALSE(p["error"].get<std::string>().empty());
    EXPECT_TRUE(p["generators"].empty());
  }

  // Still serving after meeting them.
  EXPECT_EQ(api().get("/health").status, 200);
}

TEST_F(Plugins, GeneratorsDescribeTheirParams) {
  HttpResponse r = api().get("/api/v1/generators");
  ASSERT_EQ(r.status, 200) << r.body;
  json text;
  std::vector<std::string> ids;
  const json body = r.json_body();
  for (const json& g : body["generators"]) {
    ids.push_back(g["id"]);
    if (g["id"] == "text.template") text = g;
  }
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  ASSERT_TRUE(text.is_object()) << r.body;
  bool has_template_param = false;
  for (const json& p : text["params"]) has_template_param |= p["name"] == "template";
  EXPECT_TRUE(has_template_param) << text.dump(2);
}

}  // namespace
}  // namespace gen::itest

// The content library end to end, on SQLite and PostgreSQL: the real backend and worker, the
// real content and meta plugins, documents made here (a PDF rendered by pdf.render, Markdown,
// HTML, a DOCX and a SCORM package as real zips), over HTTP.
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <thread>

#include "fixture.hpp"
#include "harness.hpp"
#include "zip_writer.hpp"

namespace gen::itest {
namespace {

using namespace std::chrono_literals;

constexpr const char* kDocx =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

class ContentFlow : public PerDatabaseTest {
 protected:
  void SetUp() override {
    try {
      stack_ = std::make_unique<Stack>(StackOptions{.worker = true, .env = database_env()});
    } catch (const std::exception& e) {
      FAIL() << "could not start the services: " << e.what();
    }
  }
  void TearDown() override {
    if (HasFailure() && stack_) std::cerr << stack_->logs();
    stack_.reset();
  }

  const HttpClient& api() { return stack_->api(); }

  HttpResponse post_import(const std::string& content_id, const std::string& name,
                           const std::string& media_type, const std::string& data,
                           json extra = json::object()) {
    json body = std::move(extra);
    body["content_id"] = content_id;
    body["inputs"] = json::array(
        {{{"name", name}, {"media_type", media_type}, {"content_base64", base64_encode(data)}}});
    return api().post_json("/api/v1/jobs/content_import", body);
  }

  // Imports and waits for the job; returns the finished job.
  json import(const std::string& content_id, const std::string& name, const std::string& media_type,
              const std::string& data, json extra = json::object(),
              const std::string& expect = "COMPLETED") {
    auto r = post_import(content_id, name, media_type, data, std::move(extra));
    EXPECT_EQ(r.status, 202) << r.body;
    json job = r.json_body();
    EXPECT_EQ(job["type"], "CONTENT_IMPORT") << r.body;
    json done = stack_->wait_for_job(job.value("id", ""), 60s);
    if (!expect.empty()) {
      EXPECT_EQ(done["status"], expect) << done.dump();
    }
    done["content"] = job["content"];
    return done;
  }

  json segments(const std::string& content_id, int version) {
    auto r = api().get("/api/v1/content/" + content_id + "/versions/" + std::to_string(version) +
                       "/text?format=json");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json_body()["segments"];
  }

  std::set<std::string> locations(const json& segs) {
    std::set<std::string> out;
    for (const auto& s : segs) out.insert(s["location"].get<std::string>());
    return out;
  }

  std::string text_at(const json& segs, const std::string& location) {
    for (const auto& s : segs) {
      if (s["location"] == location) return s["text"];
    }
    return "<no segment at '" + location + "'>";
  }

  json search(const std::string& q, const std::string& extra = {}) {
    auto r = api().get("/api/v1/search?q=" + percent(q) + extra);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json_body()["results"];
  }

  static std::string percent(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
        out += static_cast<char>(c);
      } else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", c);
        out += buf;
      }
    }
    return out;
  }

  std::unique_ptr<Stack> stack_;
};

const std::string kMarkdown =
    "# Printer Guide\n\nThis guide explains printers.\n\n## Setup\n\nConnect the printer to "
    "power. The printers were running all night.\n\n### Paper\n\nLoad paper into the tray.\n\n"
    "## Faults\n\nA paper jam stops the printer.\n";

const std::string kHtml =
    "<!DOCTYPE html><html><head><title>Garden Notes</title><style>body{color:red}</style>"
    "<script>var secret = 'scriptword';</script></head><body><h1>Garden</h1><p>Roses need "
    "sun.</p><h2>Watering</h2><p>Water the tulips weekly.</p><noscript>noscriptword</noscript>"
    "</body></html>";

std::string scorm_package() {
  const std::string manifest = R"(<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="course" version="1.0"
  xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="org1">
    <organization identifier="org1">
      <title>Safety Course</title>
      <item identifier="m1">
        <title>Module One</title>
        <item identifier="l1" identifierref="r1"><title>Fire Drills</title></item>
        <item identifier="l2" identifierref="r2"><title>First Aid</title></item>
      </item>
    </organization>
  </organizations>
  <resources>
    <resource identifier="r1" type="webcontent" adlcp:scormtype="sco" href="lesson1.html">
      <file href="lesson1.html"/>
    </resource>
    <resource identifier="r2" type="webcontent" adlcp:scormtype="sco" xml:base="pages/"
      href="aid.html">
      <file href="aid.html"/>
    </resource>
  </resources>
</manifest>)";
  return test::make_zip(
      {{"imsmanifest.xml", manifest},
       {"lesson1.html",
        "<html><body><h1>Fire drills</h1><p>Leave the building by the stairs.</p></body></html>"},
       {"pages/aid.html",
        "<html><body><p>Apply pressure to a bleeding wound.</p><script>x()</script></body>"
        "</html>"}});
}

TEST_P(ContentFlow, EachFormatsTextComesBackWithItsLocations) {
  // A PDF made by pdf.render: two pages.
  json pdf_job =
      stack_->submit({{"steps",
                       {{{"generator", "pdf.render"},
                         {"params",
                          {{"markdown",
                            "# Volcanoes\n\nMagma rises through the crust.\n\n\\newpage\n\n"
                            "Lava cools into basalt."}}}}}}});
  ASSERT_EQ(stack_->wait_for_job(pdf_job["id"], 60s)["status"], "COMPLETED");
  auto listed = api().get("/api/v1/jobs/" + pdf_job["id"].get<std::string>() + "/artifacts");
  ASSERT_EQ(listed.status, 200);
  auto pdf = api().get(listed.json_body()["artifacts"][0]["url"].get<std::string>());
  ASSERT_EQ(pdf.status, 200);
  ASSERT_EQ(pdf.body.rfind("%PDF-", 0), 0u);

  import("volcano", "volcano.pdf", "application/pdf", pdf.body);
  import("guide", "guide.md", "text/markdown", kMarkdown);
  import("garden", "garden.html", "text/html", kHtml);
  import("report", "report.docx", kDocx,
         test::make_docx({{"Title", "Quarterly Report"},
                          {"Heading1", "Sales"},
                          {"", "Sales grew in every region."},
                          {"Heading2", "Europe"},
                          {"", "Germany led the growth."},
                          {"Heading1", "Outlook"},
                          { "",
                            "We expect steady demand." }},
                         "Quarterly Report"));
  import("course", "course.zip", "application/zip", scorm_package());
  import("notes", "notes.txt", "text/plain",
         "Notes\n\nFirst paragraph here.\n\nSecond paragraph there.");

  json pdf_segments = segments("volcano", 1);
  EXPECT_NE(text_at(pdf_segments, "page 1").find("Magma rises"), std::string::npos)
      << pdf_segments.dump();
  EXPECT_NE(text_at(pdf_segments, "page 2").find("basalt"), std::string::npos);

  json md = segments("guide", 1);
  EXPECT_NE(text_at(md, "Printer Guide > Setup").find("Connect the printer"), std::string::npos)
      << md.dump();
  EXPECT_NE(text_at(md, "Printer Guide > Setup > Paper").find("Load paper"), std::string::npos);
  EXPECT_NE(text_at(md, "Printer Guide > Faults").find("paper jam"), std::string::npos);

  json html = segments("garden", 1);
  EXPECT_NE(text_at(html, "Garden > Watering").find("tulips"), std::string::npos) << html.dump();
  EXPECT_EQ(html.dump().find("scriptword"), std::string::npos);
  EXPECT_EQ(html.dump().find("color:red"), std::string::npos);

  json docx = segments("report", 1);
  EXPECT_NE(text_at(docx, "Quarterly Report > Sales > Europe").find("Germany"), std::string::npos)
      << docx.dump();
  EXPECT_NE(text_at(docx, "Quarterly Report > Outlook").find("steady demand"), std::string::npos);

  json scorm = segments("course", 1);
  EXPECT_NE(text_at(scorm, "Module One > Fire Drills").find("stairs"), std::string::npos)
      << scorm.dump();
  EXPECT_NE(text_at(scorm, "Module One > First Aid").find("pressure"), std::string::npos);

  json txt = segments("notes", 1);
  EXPECT_EQ(text_at(txt, "paragraph 1"), "Notes");  // a title line stands alone
  EXPECT_EQ(text_at(txt, "paragraphs 2-3"), "First paragraph here.\n\nSecond paragraph there.")
      << txt.dump();
  for (const auto& s : txt) EXPECT_GT(s["tokens"].get<int>(), 0);

  // The whole text as text/plain.
  auto plain = api().get("/api/v1/content/guide/versions/1/text");
  EXPECT_EQ(plain.status, 200);
  EXPECT_NE(plain.body.find("Load paper into the tray."), std::string::npos);

  // Search across formats, tenant-wide and per content.
  EXPECT_EQ(search("basalt").size(), 1u);
  EXPECT_EQ(search("bleeding wound")[0]["content_id"], "course");
  EXPECT_EQ(search("\"steady demand\"")[0]["location"], "Quarterly Report > Outlook");
  EXPECT_TRUE(search("scriptword").empty());
  EXPECT_EQ(search("paper", "&content_id=guide").size(), 2u);
}

TEST_P(ContentFlow, VersionsActivationConflictsAndDeletion) {
  json v1 = import("guide", "guide.md", "text/markdown", kMarkdown);
  EXPECT_EQ(v1["content"]["version"], 1);
  json v2 = import("guide", "guide.md", "text/markdown", "# Printer Guide\n\nToner only now.\n");
  EXPECT_EQ(v2["content"]["version"], 2);
  auto content = api().get("/api/v1/content/guide").json_body();
  EXPECT_EQ(content["active_version"], 2) << content.dump();
  ASSERT_EQ(content["versions"].size(), 2u);
  EXPECT_FALSE(content["versions"][0]["is_active"]);
  EXPECT_TRUE(content["versions"][1]["is_active"]);
  // Only the active version is searched by default.
  EXPECT_TRUE(search("jam").empty());
  EXPECT_EQ(search("jam", "&active_only=false").size(), 1u);
  EXPECT_EQ(search("toner").size(), 1u);

  auto conflict = post_import("guide", "guide.md", "text/markdown", kMarkdown,
                              {{"may_create_new_version", false}});
  expect_problem(conflict, 409, "CONFLICT", "content_id");
  EXPECT_EQ(api().get("/api/v1/content/guide").json_body()["versions"].size(), 2u);

  // Activate version 1 again.
  auto put = api().request("PUT", "/api/v1/content/guide/versions/1", R"({"is_active":true})",
                           "application/json");
  EXPECT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.json_body()["active_version"], 1);
  EXPECT_EQ(search("jam").size(), 1u);

  // Deleting removes it from search.
  EXPECT_EQ(api().del("/api/v1/content/guide/versions/1").status, 204);
  EXPECT_TRUE(search("jam", "&active_only=false").empty());
  EXPECT_EQ(api().del("/api/v1/content/guide").status, 204);
  EXPECT_TRUE(search("toner", "&active_only=false").empty());
  expect_problem(api().get("/api/v1/content/guide"), 404, "NOT_FOUND");
}

TEST_P(ContentFlow, TenantsNeverSeeEachOthersContent) {
  create_tenant(api(), "acme");
  create_tenant(api(), "globex");
  auto in = [&](const std::string& tenant) {
    return std::map<std::string, std::string>{{"tenant-id", tenant}};
  };
  json body = {{"content_id", "secret"},
               {"inputs",
                json::array({{{"name", "s.md"},
                              {"media_type", "text/markdown"},
                              {"content_base64", base64_encode("# Plans\n\nZeppelin launch.")}}})}};
  auto r = api().request("POST", "/api/v1/jobs/content_import", body.dump(), "application/json",
                         in("acme"));
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string job_path = "/api/v1/jobs/" + r.json_body()["id"].get<std::string>();
  for (auto until = std::chrono::steady_clock::now() + 60s;
       api().request("GET", job_path, {}, {}, in("acme")).json_body()["status"] != "COMPLETED";) {
    ASSERT_LT(std::chrono::steady_clock::now(), until) << "the import did not complete";
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(api().request("GET", job_path, {}, {}, in("globex")).status, 404);
  auto hits = [&](const std::string& tenant) {
    auto s = api().request("GET", "/api/v1/search?q=zeppelin", {}, {}, in(tenant));
    EXPECT_EQ(s.status, 200) << s.body;
    return s.json_body()["results"].size();
  };
  EXPECT_EQ(hits("acme"), 1u);
  EXPECT_EQ(hits("globex"), 0u);
  EXPECT_EQ(api().request("GET", "/api/v1/content/secret", {}, {}, in("globex")).status, 404);
  EXPECT_EQ(api().request("GET", "/api/v1/content/secret", {}, {}, in("acme")).status, 200);
}

TEST_P(ContentFlow, BadDocumentsGetPreciseErrorsAndTheServicesKeepServing) {
  // An unsupported format: refused at the door, nothing stored.
  expect_problem(post_import("img", "a.png", "image/png", "\x89PNG\r\n\x1a\n...."), 422,
                 "VALIDATION_FAILED", "inputs[0].media_type");
  expect_problem(post_import("img", "a.bin", "application/octet-stream",
                             std::string("\x89PNG\r\n\x1a\n\xff\xfe\x00\x01", 12)),
                 415, "UNSUPPORTED_MEDIA_TYPE", "inputs[0].media_type");
  expect_problem(post_import("fake", "a.docx", kDocx, "not a zip at all"), 422, "VALIDATION_FAILED",
                 "inputs[0].media_type");
  expect_problem(post_import("empty", "e.md", "text/markdown", ""), 422, "VALIDATION_FAILED",
                 "inputs[0]");
  EXPECT_EQ(api().get("/api/v1/content").json_body()["content"].size(), 0u);

  // A zip bomb disguised as a DOCX and as a SCORM package: the extract step fails with the
  // limit it hit, fast, and the version says so.
  std::string zeros(300u << 20, '\0');
  std::string bomb =
      test::make_zip({{"[Content_Types].xml", "<Types/>"}, {"word/document.xml", zeros}});
  zeros.clear();
  zeros.shrink_to_fit();
  ASSERT_LT(bomb.size(), 2u << 20);
  json failed = import("bomb", "bomb.docx", kDocx, bomb, json::object(), "FAILED");
  EXPECT_FALSE(failed["error"].is_null()) << failed.dump();
  auto version = api().get("/api/v1/content/bomb").json_body()["versions"][0];
  EXPECT_EQ(version["status"], "FAILED") << version.dump();
  EXPECT_FALSE(version["error"].is_null());

  std::string big(300u << 20, ' ');
  std::string scorm_bomb = test::make_zip(
      {{"imsmanifest.xml",
        "<manifest><organizations default=\"o\"><organization identifier=\"o\"><title>T</title>"
        "<item identifier=\"i\" identifierref=\"r\"><title>I</title></item></organization>"
        "</organizations><resources><resource identifier=\"r\" href=\"a.html\"/></resources>"
        "</manifest>"},
       {"a.html", big}});
  big.clear();
  big.shrink_to_fit();
  import("sbomb", "course.zip", "application/zip", scorm_bomb, json::object(), "FAILED");

  // An HTML page of 10 MB is imported (or refused with a reason): never a crash or a hang.
  std::string page = "<html><body><h1>Big</h1>";
  while (page.size() < (10u << 20)) page += "<p>Lorem ipsum dolor sit amet, consectetur.</p>";
  page += "</body></html>";
  json huge = import("huge", "huge.html", "text/html", page, json::object(), "");
  EXPECT_TRUE(huge["status"] == "COMPLETED" || !huge["error"].is_null()) << huge.dump();

  // A document with no text at all.
  json blank = import("blank", "blank.md", "text/markdown", "\n\n   \n", json::object(), "FAILED");
  EXPECT_NE(blank.dump().find("no text"), std::string::npos) << blank.dump();

  EXPECT_EQ(api().get("/health").status, 200);
  json ok = import("after", "after.md", "text/markdown", "# Fine\n\nStill serving.");
  EXPECT_EQ(ok["status"], "COMPLETED");
}

// docs/content.md's import example, submitted as the page writes it.
TEST_P(ContentFlow, TheDocumentedImportExampleRuns) {
  std::string page = read_file(std::string(GEN_TEST_SOURCE_DIR) + "/docs/content.md");
  auto at = page.find("## Import");
  ASSERT_NE(at, std::string::npos);
  auto start = page.find("```json\n", at);
  ASSERT_NE(start, std::string::npos);
  start += 8;
  auto end = page.find("```", start);
  json example = json::parse(page.substr(start, end - start));
  auto r = api().post_json("/api/v1/jobs/content_import", example);
  ASSERT_EQ(r.status, 202) << r.body;
  json done = stack_->wait_for_job(r.json_body()["id"], 60s);
  EXPECT_EQ(done["status"], "COMPLETED") << done.dump();
  json content = api().get("/api/v1/content/printer-guide").json_body();
  ASSERT_EQ(content["versions"].size(), 1u) << content.dump();
  std::set<std::string> fields;
  for (const auto& f : content["versions"][0]["fields"]) fields.insert(f["field"]);
  EXPECT_EQ(fields, (std::set<std::string>{"KEYWORDS", "SUMMARY", "TITLE"})) << content.dump();
  EXPECT_GE(search("toner", "&mode=field").size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Databases, ContentFlow, ::testing::ValuesIn(test::all_backends()));

}  // namespace
}  // namespace gen::itest

// content.extract on a real document of each format, made by the test: exact locations,
// texts, titles and token estimates.
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <gen/sdk/testing.hpp>
#include <nlohmann/json.hpp>

#include "content_test_support.hpp"
#include "render_generator.hpp"
#include "segments.hpp"
#include "toolkit.hpp"

namespace {

using gen::content::test::Entries;
using gen::content::test::make_zip;
using gen::content::test::run_extract;
using gen::content::test::segments_json;
using gen::sdk::testing::FakeContext;
using nlohmann::json;

constexpr const char* kDocx =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// [location, kind, text] of each segment.
std::vector<std::vector<std::string>> located(const json& doc) {
  std::vector<std::vector<std::string>> out;
  for (const json& s : doc.at("segments")) {
    out.push_back({s.at("location").get<std::string>(), s.at("location_kind").get<std::string>(),
                   s.at("text").get<std::string>()});
  }
  return out;
}

json extract(const std::string& name, const std::string& media_type, const std::string& data,
             json params = json::object()) {
  FakeContext context(std::move(params));
  context.add_input(name, media_type, data);
  const gen::sdk::Status status = run_extract(context);
  EXPECT_TRUE(status.is_ok()) << status.message();
  if (!status.is_ok()) return json::object();
  EXPECT_EQ(context.outputs().size(), 1u);
  EXPECT_EQ(context.outputs().front().media_type,
            "application/vnd.generator.content-segments+json");
  return segments_json(context);
}

TEST(ContentTokens, CeilingOfCodePointsOverFour) {
  EXPECT_EQ(gen::content::estimate_tokens(""), 0u);
  EXPECT_EQ(gen::content::estimate_tokens("abcd"), 1u);
  EXPECT_EQ(gen::content::estimate_tokens("abcde"), 2u);
  EXPECT_EQ(gen::content::estimate_tokens("h\xC3\xA9llo"), 2u);  // 5 code points, 6 bytes
  EXPECT_EQ(gen::content::estimate_tokens("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xF0\x9F\x98\x80"),
            1u);  // 4 code points, 13 bytes
}

// ---- PDF ---------------------------------------------------------------------------------

TEST(ContentPdf, OneSegmentPerPageWithTheSameTextAsPdfExtractText) {
  FakeContext render_context;
  render_context.add_input("report.md", "text/markdown",
                           "# Quarterly Report\n\nRevenue grew in every region.\n\n\\pagebreak\n\n"
                           "Costs fell by a tenth.\n");
  gen::pdf::RenderGenerator render;
  ASSERT_TRUE(render_context.run(render).is_ok());
  const std::string pdf = render_context.outputs().front().data;

  const json doc = extract("report.pdf", "application/pdf", pdf);
  EXPECT_EQ(doc.at("format"), "pdf");
  EXPECT_EQ(doc.at("title"), "Quarterly Report");  // pdf.render's /Title: the first heading
  EXPECT_TRUE(doc.at("language").is_null());

  // The pdf plugin's own extraction of the same file, page by page.
  FakeContext reference({{"format", "json"}});
  reference.add_input("report.pdf", "application/pdf", pdf);
  gen::pdf::ExtractTextGenerator extract_text;
  ASSERT_TRUE(reference.run(extract_text).is_ok());
  const json pages = json::parse(reference.outputs().front().data).at("pages");
  ASSERT_EQ(pages.size(), 2u);

  const auto segments = located(doc);
  ASSERT_EQ(segments.size(), 2u);
  EXPECT_EQ(segments[0][0], "page 1");
  EXPECT_EQ(segments[0][1], "page");
  EXPECT_EQ(segments[1][0], "page 2");
  EXPECT_EQ(segments[0][2], gen::content::trim(pages[0].at("text").get<std::string>()));
  EXPECT_EQ(segments[1][2], gen::content::trim(pages[1].at("text").get<std::string>()));
  EXPECT_NE(segments[0][2].find("Revenue grew in every region."), std::string::npos);
  EXPECT_EQ(segments[1][2], "Costs fell by a tenth.\n2 / 2");  // pdf.render's page footer
  EXPECT_EQ(doc.at("segments")[1].at("tokens"), 7);            // 28 code points
}

TEST(ContentPdf, NoTitleWithoutAnInfoTitle) {
  FakeContext render_context({{"title", ""}});
  render_context.add_input("plain.md", "text/markdown", "Just one line, no heading.\n");
  gen::pdf::RenderGenerator render;
  ASSERT_TRUE(render_context.run(render).is_ok());
  const json doc =
      extract("plain.pdf", "application/octet-stream", render_context.outputs().front().data);
  EXPECT_EQ(doc.at("format"), "pdf");
  EXPECT_TRUE(doc.at("title").is_null()) << doc.at("title");
  ASSERT_EQ(doc.at("segments").size(), 1u);
  EXPECT_EQ(doc.at("segments")[0].at("text"), "Just one line, no heading.\n1 / 1");
}

// ---- Markdown ----------------------------------------------------------------------------

TEST(ContentMarkdown, SectionsByHeadingPath) {
  const std::string markdown =
      "Intro line before headings.\n\n"
      "# Guide\n\nWelcome to the *guide*.\n\n"
      "## Install\n\nRun `make`, then [read](https://x.test) on.\n\n```sh\nmake install\n```\n\n"
      "### On Debian\n\n- apt-get install foo\n- then run it\n\n"
      "| Name | Value |\n|------|-------|\n| a    | 1     |\n\n"
      "<div>raw html</div>\n\n"
      "## Empty\n\n"
      "# Usage\n\n> quoted\n> text\n";
  const json doc = extract("guide.md", "text/markdown", markdown);
  EXPECT_EQ(doc.at("format"), "markdown");
  EXPECT_EQ(doc.at("title"), "Guide");
  using Row = std::vector<std::string>;
  const std::vector<Row> expected = {
      {"", "heading", "Intro line before headings."},
      {"Guide", "heading", "Welcome to the guide."},
      {"Guide > Install", "heading", "Run make, then read on.\n\nmake install"},
      {"Guide > Install > On Debian", "heading",
       "apt-get install foo\nthen run it\n\nName | Value\na | 1"},
      {"Usage", "heading", "quoted text"},
  };
  EXPECT_EQ(located(doc), expected);
  EXPECT_EQ(doc.at("segments")[1].at("tokens"), 6);  // "Welcome to the guide.": 21
}

TEST(ContentMarkdown, TitleFallsBackToTheFirstHeadingOfAnyLevel) {
  const json doc = extract("notes.markdown", "application/octet-stream",
                           "## Notes\n\nSome text.\n\n# Later top\n\nMore.\n");
  EXPECT_EQ(doc.at("format"), "markdown");  // by the extension
  EXPECT_EQ(doc.at("title"), "Later top");  // a level-1 heading wins wherever it is
  const json none = extract("x.md", "text/plain", "No heading at all.\n");
  EXPECT_EQ(none.at("format"), "markdown");  // .md beats text/plain
  EXPECT_TRUE(none.at("title").is_null());
}

// ---- HTML --------------------------------------------------------------------------------

TEST(ContentHtml, VisibleTextBySectionsWithoutScriptsOrStyles) {
  const std::string html =
      "<!DOCTYPE html><html><head><title> Page  Title </title>"
      "<style>body{color:red}</style><script>var secret=1;</script></head>\n"
      "<body><p>Before   any\nheading.</p><script>alert('x')</script>\n"
      "<h1>Main <em>Topic</em></h1><p>First para.</p><div>Line one<br>Line two</div>\n"
      "<noscript>no js</noscript><template><p>tmpl</p></template>\n"
      "<h2>Details</h2><ul><li>one</li><li>two</li></ul>"
      "<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table>\n"
      "<pre>keep   this\n  spacing</pre>\n"
      "<h1>Other</h1><p>Caf&eacute; &amp; <b>more</b></p></body></html>";
  const json doc = extract("page.html", "text/html", html);
  EXPECT_EQ(doc.at("format"), "html");
  EXPECT_EQ(doc.at("title"), "Page Title");
  using Row = std::vector<std::string>;
  const std::vector<Row> expected = {
      {"", "heading", "Before any heading."},
      {"Main Topic", "heading", "First para.\n\nLine one\nLine two"},
      {"Main Topic > Details", "heading", "one\ntwo\n\nA | B\n1 | 2\n\nkeep   this\n  spacing"},
      {"Other", "heading", "Caf\xC3\xA9 & more"},
  };
  EXPECT_EQ(located(doc), expected);
  const std::string all = doc.dump();
  for (const char* hidden : {"secret", "alert", "no js", "tmpl", "color:red"}) {
    EXPECT_EQ(all.find(hidden), std::string::npos) << hidden;
  }
}

TEST(ContentHtml, TitleFromTheFirstH1WithoutTitleElement) {
  const json doc = extract("page.xhtml", "application/octet-stream",
                           "<html><body><h2>Sub</h2><p>a</p><h1>Top</h1><p>b</p></body></html>");
  EXPECT_EQ(doc.at("format"), "html");
  EXPECT_EQ(doc.at("title"), "Top");
}

TEST(ContentHtml, SniffedFromContentWhenTheNameSaysNothing) {
  const json doc = extract("upload", "text/plain", "  <!doctype html><p>Hello</p>");
  EXPECT_EQ(doc.at("format"), "html");
  EXPECT_EQ(located(doc).at(0).at(2), "Hello");
}

TEST(ContentHtml, NestingUpToTheLimitIsWalked) {
  std::string html = "<p>top</p>";
  for (int i = 0; i < 500; ++i) html += "<div><p>x</p><br><li>item";  // p, br, li do not nest
  html += "deep";
  const json doc = extract("deep.html", "text/html", html);
  const std::string text = located(doc).at(0).at(2);
  EXPECT_TRUE(text.starts_with("top\n\nx\n\nitem\n\nx")) << text.substr(0, 40);
  EXPECT_TRUE(text.ends_with("itemdeep")) << text.substr(text.size() - 40);
}

// ---- DOCX --------------------------------------------------------------------------------

const char* kStyles = R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
  <w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>
  <w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/></w:style>
  <w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/>
    <w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style>
  <w:style w:type="paragraph" w:styleId="berschrift2"><w:name w:val="heading 2"/></w:style>
  <w:style w:type="paragraph" w:styleId="BaseOutline"><w:name w:val="Base"/>
    <w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style>
  <w:style w:type="paragraph" w:styleId="MyHeading"><w:name w:val="My Heading"/>
    <w:basedOn w:val="BaseOutline"/></w:style>
</w:styles>)";

std::string docx_body(const std::string& body) {
  return R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>)" +
         body + "<w:sectPr/></w:body></w:document>";
}

std::string paragraph(const std::string& style, const std::string& text) {
  std::string p = "<w:p>";
  if (!style.empty()) p += "<w:pPr><w:pStyle w:val=\"" + style + "\"/></w:pPr>";
  return p + "<w:r><w:t>" + text + "</w:t></w:r></w:p>";
}

const char* kContentTypes = R"(<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
</Types>)";

std::string handbook_docx(bool with_core) {
  const std::string document = docx_body(
      paragraph("Title", "Employee Handbook") +
      R"(<w:p><w:r><w:t xml:space="preserve">Welcome </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>aboard</w:t></w:r><w:r><w:t>.</w:t></w:r></w:p>)" +
      paragraph("Heading1", "Benefits") +
      R"(<w:p><w:r><w:t>Health</w:t><w:tab/><w:t>Dental</w:t><w:br/><w:t>Vision</w:t></w:r></w:p>)" +
      paragraph("berschrift2", "Leave") +
      R"(<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Type</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Days</w:t></w:r></w:p></w:tc></w:tr>)"
      R"(<w:tr><w:tc><w:p><w:r><w:t>Annual</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>25</w:t></w:r></w:p></w:tc></w:tr></w:tbl>)" +
      paragraph("MyHeading", "Custom Section") +
      R"(<w:p><w:hyperlink><w:r><w:t>Custom &amp; text &#x263A;</w:t></w:r></w:hyperlink><w:del><w:r><w:delText>deleted</w:delText></w:r></w:del></w:p>)"
      R"(<w:p><w:pPr><w:outlineLvl w:val="1"/></w:pPr><w:r><w:t>Direct Outline</w:t></w:r></w:p>)" +
      paragraph("", "Under the direct one."));
  Entries entries = {{"[Content_Types].xml", kContentTypes},
                     {"word/document.xml", document},
                     {"word/styles.xml", kStyles}};
  if (with_core) {
    entries.push_back({"docProps/core.xml", R"(<?xml version="1.0" encoding="UTF-8"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Handbook 2026</dc:title></cp:coreProperties>)"});
  }
  return make_zip(entries);
}

TEST(ContentDocx, SectionsFromParagraphStyles) {
  const json doc = extract("handbook.docx", kDocx, handbook_docx(true));
  EXPECT_EQ(doc.at("format"), "docx");
  EXPECT_EQ(doc.at("title"), "Handbook 2026");  // docProps/core.xml
  using Row = std::vector<std::string>;
  const std::vector<Row> expected = {
      {"Employee Handbook", "heading", "Welcome aboard."},
      {"Employee Handbook > Benefits", "heading", "Health\tDental\nVision"},
      {"Employee Handbook > Benefits > Leave", "heading", "Type | Days\nAnnual | 25"},
      {"Employee Handbook > Custom Section", "heading", "Custom & text \xE2\x98\xBA"},
      {"Employee Handbook > Custom Section > Direct Outline", "heading", "Under the direct one."},
  };
  EXPECT_EQ(located(doc), expected);
  EXPECT_EQ(doc.at("segments")[0].at("tokens"), 4);  // "Welcome aboard.": 15
}

TEST(ContentDocx, TitleFromTheTitleParagraphWithoutCoreProperties) {
  const json doc = extract("handbook.bin", "application/octet-stream", handbook_docx(false));
  EXPECT_EQ(doc.at("format"), "docx");  // sniffed: a zip with word/document.xml
  EXPECT_EQ(doc.at("title"), "Employee Handbook");
}

// ---- SCORM -------------------------------------------------------------------------------

std::string page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html><html><head><title>" + title +
         "</title><script>track()</script></head><body>" + body + "</body></html>";
}

TEST(ContentScorm, Scorm12ItemsOfTheDefaultOrganization) {
  const std::string manifest = R"(<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="course" version="1.2"
    xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
    xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="ORG-1">
    <organization identifier="ORG-0"><title>Wrong organization</title>
      <item identifier="X" identifierref="R1"><title>Wrong</title></item></organization>
    <organization identifier="ORG-1"><title>Safety Course</title>
      <item identifier="M1"><title>Module 1</title>
        <item identifier="L1" identifierref="R1"><title>Lesson 1</title></item>
        <item identifier="L2" identifierref="R2"><title>Lesson 2</title></item>
      </item>
      <item identifier="M2" identifierref="R3"><title>Module 2</title></item>
      <item identifier="M3" identifierref="R4"><title>Quiz data</title></item>
    </organization>
  </organizations>
  <resources xml:base="content/">
    <resource identifier="R1" type="webcontent" adlcp:scormtype="sco" href="lesson1/index.html">
      <file href="lesson1/index.html"/><file href="lesson1/more.htm"/><file href="lesson1/style.css"/>
    </resource>
    <resource identifier="R2" type="webcontent" adlcp:scormtype="sco" xml:base="lesson2/"
        href="page.html?step=1#top"><file href="page.html"/></resource>
    <resource identifier="R3" type="webcontent" adlcp:scormtype="asset"
        href="shared/./intro%20page.html"/>
    <resource identifier="R4" type="webcontent" adlcp:scormtype="asset" href="data/quiz.json"/>
  </resources>
</manifest>)";
  const std::string zip = make_zip({
      {"imsmanifest.xml", manifest},
      {"content/lesson1/index.html", page("L1", "<h1>Hazards</h1><p>Spot the hazard.</p>")},
      {"content/lesson1/more.htm", page("L1b", "<p>More text.</p>")},
      {"content/lesson1/style.css", "p { color: red }"},
      {"content/lesson2/page.html", page("L2", "<p>Lesson two text.</p>")},
      {"content/shared/intro page.html", page("I", "<div>Intro text.</div>")},
      {"content/data/quiz.json", "{}"},
  });
  const json doc = extract("course.zip", "application/zip", zip);
  EXPECT_EQ(doc.at("format"), "scorm");
  EXPECT_EQ(doc.at("title"), "Safety Course");
  using Row = std::vector<std::string>;
  const std::vector<Row> expected = {
      {"Module 1 > Lesson 1", "item", "Hazards\n\nSpot the hazard.\n\nMore text."},
      {"Module 1 > Lesson 2", "item", "Lesson two text."},
      {"Module 2", "item", "Intro text."},
  };
  EXPECT_EQ(located(doc), expected);
  EXPECT_EQ(doc.dump().find("track()"), std::string::npos);
}

TEST(ContentScorm, Scorm2004PrefixedNamespacesAndDeepItems) {
  const std::string manifest = R"(<?xml version="1.0" encoding="UTF-8"?>
<imscp:manifest identifier="c2004" version="1"
    xmlns:imscp="http://www.imsglobal.org/xsd/imscp_v1p1"
    xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3"
    xmlns:imsss="http://www.imsglobal.org/xsd/imsss">
  <imscp:metadata><imscp:schema>ADL SCORM</imscp:schema>
    <imscp:schemaversion>2004 4th Edition</imscp:schemaversion></imscp:metadata>
  <imscp:organizations default="O">
    <imscp:organization identifier="O"><imscp:title>Data Basics</imscp:title>
      <imscp:item identifier="U"><imscp:title>Unit A</imscp:title>
        <imscp:item identifier="T"><imscp:title>Topic 1</imscp:title>
          <imscp:item identifier="P1" identifierref="SCO1"><imscp:title>Page 1</imscp:title></imscp:item>
          <imscp:item identifier="P2" identifierref="SCO2"><imscp:title>Page 2</imscp:title></imscp:item>
        </imscp:item>
        <imsss:sequencing><imsss:controlMode flow="true"/></imsss:sequencing>
      </imscp:item>
    </imscp:organization>
  </imscp:organizations>
  <imscp:resources>
    <imscp:resource identifier="SCO1" type="webcontent" adlcp:scormType="sco" xml:base="sco1/"
        href="index.html"><imscp:file href="index.html"/></imscp:resource>
    <imscp:resource identifier="SCO2" type="webcontent" adlcp:scormType="sco" href="sco2/a.html">
      <imscp:file href="sco2/a.html"/><imscp:file href="sco2/b.html"/></imscp:resource>
  </imscp:resources>
</imscp:manifest>)";
  const std::string zip = make_zip({
      {"imsmanifest.xml", manifest},
      {"sco1/index.html", page("1", "<p>Rows and columns.</p>")},
      {"sco2/a.html", page("2a", "<p>Keys.</p>")},
      {"sco2/b.html", page("2b", "<p>Indexes.</p>")},
  });
  const json doc = extract("course2004.zip", "application/x-zip-compressed", zip);
  EXPECT_EQ(doc.at("format"), "scorm");
  EXPECT_EQ(doc.at("title"), "Data Basics");
  using Row = std::vector<std::string>;
  const std::vector<Row> expected = {
      {"Unit A > Topic 1 > Page 1", "item", "Rows and columns."},
      {"Unit A > Topic 1 > Page 2", "item", "Keys.\n\nIndexes."},
  };
  EXPECT_EQ(located(doc), expected);
}

// ---- Plain text --------------------------------------------------------------------------

TEST(ContentText, ShortParagraphsShareASegmentTheTitleStandsAlone) {
  const std::string text =
      "Short Title\r\n\r\nFirst paragraph line one.\nline two.   \n\n\n   \nSecond paragraph.";
  const json doc = extract("notes.txt", "text/plain", text);
  EXPECT_EQ(doc.at("format"), "text");
  EXPECT_EQ(doc.at("title"), "Short Title");
  using Row = std::vector<std::string>;
  const std::vector<Row> expected = {
      {"paragraph 1", "paragraph", "Short Title"},
      {"paragraphs 2-3", "paragraph", "First paragraph line one.\nline two.\n\nSecond paragraph."},
  };
  EXPECT_EQ(located(doc), expected);
  EXPECT_EQ(doc.at("segments")[1].at("tokens"), 14);  // 54 code points

  // A UTF-8 BOM is dropped; UTF-16 with a BOM (both byte orders) reads the same.
  EXPECT_EQ(located(extract("bom.txt", "text/plain", "\xEF\xBB\xBF" + text)), expected);
  std::string le = "\xFF\xFE";
  std::string be = "\xFE\xFF";
  for (char c : text) {
    le += c, le += '\0';
    be += '\0', be += c;
  }
  EXPECT_EQ(located(extract("le.txt", "text/plain", le)), expected);
  EXPECT_EQ(located(extract("be.txt", "application/octet-stream", be)), expected);
}

TEST(ContentText, ASegmentEndsBeforeItWouldPassItsSizeAndNeverSplitsAParagraph) {
  const std::string a(900, 'a'), b(700, 'b'), c(3000, 'c'), d(10, 'd');
  const json doc = extract("long.txt", "text/plain", a + "\n\n" + b + "\n\n" + c + "\n\n" + d);
  using Row = std::vector<std::string>;
  const std::vector<Row> expected = {
      {"paragraph 1", "paragraph", a},  // a + b would pass 1,500 bytes
      {"paragraph 2", "paragraph", b},
      {"paragraph 3", "paragraph", c},  // longer than a segment, whole
      {"paragraph 4", "paragraph", d},
  };
  EXPECT_EQ(located(doc), expected);
}

TEST(ContentText, NoTitleForALongFirstLineOrASingleParagraph) {
  EXPECT_TRUE(extract("a.txt", "text/plain", "Only one paragraph.").at("title").is_null());
  EXPECT_TRUE(
      extract("b.txt", "text/plain", std::string(101, 'x') + "\n\nbody").at("title").is_null());
  EXPECT_TRUE(extract("c.txt", "text/plain", "two\nlines\n\nbody").at("title").is_null());
}

TEST(ContentText, Utf16SurrogatePairsConvert) {
  // U+1F600 as a surrogate pair, little-endian, then "ok".
  const std::string le("\xFF\xFE\x3D\xD8\x00\xDE\x20\x00o\x00k\x00", 12);
  const json doc = extract("emoji.txt", "text/plain", le);
  EXPECT_EQ(located(doc).at(0).at(2), "\xF0\x9F\x98\x80 ok");
}

// ---- Concurrency -------------------------------------------------------------------------

TEST(ContentThreads, ConcurrentRunsGiveTheSameResults) {
  // The worker runs several tasks at once: libxml2's error handler and the DOCTYPE hook are
  // per thread, gumbo and cmark keep no global state.
  struct Doc {
    std::string name, type, data;
  };
  const std::vector<Doc> docs = {
      {"h.docx", kDocx, handbook_docx(true)},
      {"g.md", "text/markdown", "# Guide\n\nText *here*.\n\n## Sub\n\nMore.\n"},
      {"p.html", "text/html", "<title>T</title><h1>A</h1><p>one</p><h2>B</h2><p>two</p>"},
      {"bad.docx", kDocx,
       make_zip({{"word/document.xml", "<?xml version=\"1.0\"?><!DOCTYPE x []><x/>"}})},
  };
  auto run_one = [](const Doc& doc) {
    FakeContext context;
    context.add_input(doc.name, doc.type, doc.data);
    const gen::sdk::Status status = run_extract(context);
    return status.is_ok() ? context.output_data("segments.json") : status.message();
  };
  std::vector<std::string> expected;
  for (const Doc& doc : docs) expected.push_back(run_one(doc));
  EXPECT_NE(expected[3].find("has a DOCTYPE"), std::string::npos) << expected[3];
  std::vector<std::vector<std::string>> seen(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 25; ++round) {
        for (const Doc& doc : docs) seen[t].push_back(run_one(doc));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const auto& results : seen) {
    ASSERT_EQ(results.size(), 100u);
    for (std::size_t i = 0; i < results.size(); ++i) {
      EXPECT_EQ(results[i], expected[i % docs.size()]);
    }
  }
}

}  // namespace

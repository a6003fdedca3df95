// content.extract on bad and hostile input: each refused at once with a message naming the
// input and what is wrong, within a bounded time; cancellation.
#include <chrono>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <gen/sdk/testing.hpp>
#include <nlohmann/json.hpp>

#include "content_test_support.hpp"
#include "render_generator.hpp"
#include "toolkit.hpp"

namespace {

using gen::content::test::Entries;
using gen::content::test::make_zip;
using gen::content::test::RawEntry;
using gen::content::test::run_extract;
using gen::content::test::segments_json;
using gen::content::test::stored_entry;
using gen::content::test::write_raw_zip;
using gen::content::test::zeros_entry;
using gen::sdk::Status;
using gen::sdk::testing::FakeContext;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kDocx =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

long peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

struct Outcome {
  Status status;
  double seconds;
};

Outcome run_on(const std::string& name, const std::string& media_type, const std::string& data,
               json params = json::object()) {
  FakeContext context(std::move(params));
  context.add_input(name, media_type, data);
  const auto start = Clock::now();
  Status status = run_extract(context);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (status.is_ok()) {
    EXPECT_EQ(context.outputs().size(), 1u);
  }
  return {std::move(status), seconds};
}

/// Expects a permanent failure whose message contains each of `parts`.
void expect_refused(const Outcome& outcome, std::initializer_list<std::string> parts) {
  EXPECT_EQ(outcome.status.kind(), Status::Kind::kPermanent) << outcome.status.message();
  for (const std::string& part : parts) {
    EXPECT_NE(outcome.status.message().find(part), std::string::npos)
        << "'" << part << "' not in: " << outcome.status.message();
  }
}

const char* kManifestHead = R"(<?xml version="1.0"?>
<manifest identifier="m" xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2">
<organizations default="O"><organization identifier="O"><title>T</title>
<item identifier="I" identifierref="R"><title>Lesson</title></item></organization></organizations>
<resources>)";

std::string manifest_with(const std::string& href) {
  return std::string(kManifestHead) + "<resource identifier=\"R\" type=\"webcontent\" href=\"" +
         href + "\"/></resources></manifest>";
}

const char* kMinimalDocument =
    R"(<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">)"
    R"(<w:body><w:p><w:r><w:t>x</w:t></w:r></w:p></w:body></w:document>)";

// ---- Unsupported and mismatched input ---------------------------------------------------

TEST(ContentBadInput, PngIsUnsupported) {
  const std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0", 29);
  expect_refused(run_on("photo.png", "application/octet-stream", png),
                 {"input 'photo.png' is not a supported document", "found a PNG image"});
}

TEST(ContentBadInput, DeclaredDocxButNotAZip) {
  expect_refused(run_on("x.docx", kDocx, "just some text"),
                 {"input 'x.docx' is not a DOCX file: no zip signature (found: text)"});
  expect_refused(run_on("x.docx", "application/octet-stream", "%!PS-Adobe\n\x80\xFF"),
                 {"input 'x.docx' is not a DOCX file: no zip signature (found: binary data)"});
}

TEST(ContentBadInput, DeclaredPdfButNotAPdf) {
  expect_refused(run_on("scan.pdf", "application/pdf", "hello"),
                 {"input 'scan.pdf' is not a PDF file: no %PDF- header"});
}

TEST(ContentBadInput, EncryptedPdf) {
  FakeContext render_context;
  render_context.add_input("r.md", "text/markdown", "Secret text.\n");
  gen::pdf::RenderGenerator render;
  ASSERT_TRUE(render_context.run(render).is_ok());
  FakeContext encrypt_context({{"owner_password", "o"}, {"user_password", "u"}});
  encrypt_context.add_input("r.pdf", "application/pdf", render_context.outputs().front().data);
  gen::pdf::EncryptGenerator encrypt;
  ASSERT_TRUE(encrypt_context.run(encrypt).is_ok());
  expect_refused(run_on("locked.pdf", "application/pdf", encrypt_context.outputs().front().data),
                 {"input 'locked.pdf': encrypted PDF: content.extract reads unencrypted PDFs "
                  "only; decrypt it first (pdf.decrypt)"});
}

TEST(ContentBadInput, NamedFormatMustMatchTheContent) {
  expect_refused(run_on("a.md", "text/markdown", "# Hi\n\ntext", {{"format", "docx"}}),
                 {"input 'a.md' is not a DOCX file: no zip signature"});
  const std::string docx = make_zip({{"word/document.xml", kMinimalDocument}});
  expect_refused(run_on("a.zip", "application/zip", docx, {{"format", "scorm"}}),
                 {"is not a SCORM package: the zip has no imsmanifest.xml at its root"});
  expect_refused(run_on("b.txt", "text/plain", "\xFF\xFF\xFF not text", {{"format", "text"}}),
                 {"input 'b.txt' is not a text file: not valid UTF-8 (at byte 0)"});
}

TEST(ContentBadInput, ZipThatIsNeitherDocxNorScorm) {
  expect_refused(run_on("a.zip", "application/zip", make_zip({{"readme.txt", "hi"}})),
                 {"input 'a.zip' is a zip archive, but neither a DOCX file", "imsmanifest.xml"});
}

TEST(ContentBadInput, DamagedZip) {
  std::string zip = make_zip({{"word/document.xml", kMinimalDocument}});
  zip.resize(zip.size() - 10);  // the end record cut
  expect_refused(run_on("cut.docx", kDocx, zip), {"input 'cut.docx': damaged zip archive"});
}

TEST(ContentBadInput, NotWellFormedXml) {
  const std::string zip = make_zip({{"word/document.xml", "<w:document><w:body>"}});
  expect_refused(run_on("bad.docx", kDocx, zip),
                 {"input 'bad.docx': word/document.xml is not well-formed XML (line 1)"});
}

TEST(ContentBadInput, ExactlyOneInput) {
  FakeContext context;
  context.add_input("a.txt", "text/plain", "a").add_input("b.txt", "text/plain", "b");
  const Status status = run_extract(context);
  EXPECT_EQ(status.kind(), Status::Kind::kPermanent);
  EXPECT_EQ(status.message(), "content.extract: takes exactly one input (the document), got 2");
}

TEST(ContentBadInput, ParamsAreValidated) {
  expect_refused(run_on("a.txt", "text/plain", "a", {{"format", "odt"}}),
                 {"params.format: must be one of: auto, pdf"});
  expect_refused(run_on("a.txt", "text/plain", "a", {{"max_text_bytes", 0}}),
                 {"params.max_text_bytes: must be a positive integer"});
}

// ---- Empty documents --------------------------------------------------------------------

TEST(ContentEmpty, NoTextIsAPermanentFailureNamingTheInput) {
  expect_refused(run_on("empty.txt", "text/plain", ""),
                 {"input 'empty.txt': the document has no text"});
  expect_refused(run_on("blank.md", "text/markdown", "\n\n   \n# \n---\n"),
                 {"input 'blank.md': the document has no text"});
  expect_refused(run_on("script.html", "text/html",
                        "<html><head><title>Only a title</title></head><body><script>x()"
                        "</script></body></html>"),
                 {"input 'script.html': the document has no text"});
  const std::string docx =
      make_zip({{"word/document.xml", R"(<w:document xmlns:w="urn:w"><w:body><w:p/>)"
                                      R"(</w:body></w:document>)"}});
  expect_refused(run_on("empty.docx", kDocx, docx), {"the document has no text"});
}

// ---- Zip bombs and zip limits -----------------------------------------------------------

/// A DOCX whose word/document.xml is ~4 GB of zeros (4,095 MiB, deflated to ~4 MB),
/// declared honestly or (declared_size != 0) as something small.
std::string docx_bomb(std::uint32_t declared_size) {
  return write_raw_zip({stored_entry("[Content_Types].xml", "<Types/>"),
                        zeros_entry("word/document.xml", 4095, declared_size)});
}

TEST(ContentZipBomb, SanityTheBombInflatesToZeros) {
  // The repeated-chunk deflate stream is what it claims (checked on 3 MiB with zlib).
  std::uint32_t crc = 0;
  const std::string stream = gen::content::test::deflated_zeros(3, crc);
  std::string out(3u << 20, 'x');
  z_stream z{};
  inflateInit2(&z, -15);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(stream.data()));
  z.avail_in = static_cast<uInt>(stream.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  EXPECT_EQ(z.total_out, 3u << 20);
  inflateEnd(&z);
  EXPECT_EQ(out.find_first_not_of('\0'), std::string::npos);
  EXPECT_EQ(crc, crc32(0, reinterpret_cast<const Bytef*>(out.data()), out.size()));
}

TEST(ContentZipBomb, FourGigabytesDeclaredAsDocxIsRefusedBeforeInflating) {
  const std::string zip = docx_bomb(0);
  ASSERT_LT(zip.size(), 8u << 20);
  const Outcome outcome = run_on("bomb.docx", kDocx, zip);
  expect_refused(outcome, {"input 'bomb.docx': zip entry 'word/document.xml' inflates to "
                           "4293918720 bytes, more than 256 MiB (the limit per entry)"});
  EXPECT_LT(outcome.seconds, 0.5);
}

TEST(ContentZipBomb, FourGigabytesWithALyingHeaderStopsAtTheDeclaredSize) {
  const Outcome outcome = run_on("liar.docx", kDocx, docx_bomb(1000));
  expect_refused(outcome, {"input 'liar.docx': zip entry 'word/document.xml' inflates to more "
                           "than the 1000 bytes its header declares"});
  EXPECT_LT(outcome.seconds, 0.5);
}

TEST(ContentZipBomb, ScormPageAndManifestBombs) {
  // The launch page: 4 GB of zeros, declared honestly; then declared as 2 kB.
  for (std::uint32_t declared : {0u, 2048u}) {
    const std::string zip =
        write_raw_zip({stored_entry("imsmanifest.xml", manifest_with("index.html")),
                       zeros_entry("index.html", 4095, declared)});
    const Outcome outcome = run_on("course.zip", "application/zip", zip);
    expect_refused(outcome, {"input 'course.zip': zip entry 'index.html' inflates to"});
    EXPECT_LT(outcome.seconds, 0.5);
  }
  // The manifest itself.
  const std::string zip = write_raw_zip({zeros_entry("imsmanifest.xml", 4095, 4096)});
  const Outcome outcome = run_on("course.zip", "application/zip", zip, {{"format", "scorm"}});
  expect_refused(outcome, {"zip entry 'imsmanifest.xml' inflates to more than the 4096 bytes"});
  EXPECT_LT(outcome.seconds, 0.5);
}

TEST(ContentZipBomb, TotalInflatedBytesAreCapped) {
  // Five 1 MiB pages, each under every per-entry limit; together over max_unzipped_bytes.
  std::string manifest = std::string(kManifestHead) +
                         "<resource identifier=\"R\" type=\"webcontent\" href=\"p0.html\">";
  Entries entries;
  for (int i = 0; i < 5; ++i) {
    manifest += "<file href=\"p" + std::to_string(i) + ".html\"/>";
    entries.push_back({"p" + std::to_string(i) + ".html", "<p>" + std::string(1 << 20, 'a')});
  }
  manifest += "</resource></resources></manifest>";
  entries.insert(entries.begin(), {"imsmanifest.xml", manifest});
  const Outcome outcome =
      run_on("course.zip", "application/zip", make_zip(entries), {{"max_unzipped_bytes", 3 << 20}});
  expect_refused(outcome, {"input 'course.zip': the zip inflates to more than 3 MiB "
                           "(params.max_unzipped_bytes)"});
}

TEST(ContentZipBomb, MoreThanTenThousandEntries) {
  std::vector<RawEntry> entries;
  for (int i = 0; i <= 10000; ++i) entries.push_back(stored_entry("f" + std::to_string(i), ""));
  entries.push_back(stored_entry("word/document.xml", kMinimalDocument));
  const Outcome outcome = run_on("many.docx", kDocx, write_raw_zip(entries));
  expect_refused(outcome,
                 {"input 'many.docx': the zip archive has 10002 entries, more than 10000"});
}

TEST(ContentZipBomb, NestedZipsAreNotOpened) {
  // A SCORM page that is really a zip: read as (bad) HTML text, never inflated further.
  const std::string inner = make_zip({{"a.html", std::string(1 << 20, ' ')}});
  const std::string zip = make_zip({{"imsmanifest.xml", manifest_with("index.html")},
                                    {"index.html", "<p>ok</p>"},
                                    {"nested.zip", inner}});
  const Outcome outcome = run_on("course.zip", "application/zip", zip);
  EXPECT_TRUE(outcome.status.is_ok()) << outcome.status.message();
}

// ---- XML attacks ------------------------------------------------------------------------

TEST(ContentXml, BillionLaughsInDocumentXmlIsRefusedAtTheDoctype) {
  std::string laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n";
  laughs += "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n";
  for (int i = 2; i <= 9; ++i) {
    laughs += "<!ENTITY lol" + std::to_string(i) + " \"";
    for (int k = 0; k < 10; ++k) laughs += "&lol" + std::to_string(i - 1) + ";";
    laughs += "\">\n";
  }
  laughs +=
      "]>\n<w:document xmlns:w=\"urn:w\"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p>"
      "</w:body></w:document>";
  const Outcome outcome = run_on("laughs.docx", kDocx, make_zip({{"word/document.xml", laughs}}));
  expect_refused(outcome, {"input 'laughs.docx': word/document.xml has a DOCTYPE"});
  EXPECT_LT(outcome.seconds, 0.5);
}

TEST(ContentXml, TreePartsAreBoundedBeforeParsing) {
  std::string styles = "<w:styles xmlns:w=\"urn:w\">";
  for (int i = 0; i < 100001; ++i) styles += "<w:s a=\"\" b=\"\" c=\"\" d=\"\"/>";
  const Outcome outcome = run_on("s.docx", kDocx,
                                 make_zip({{"word/document.xml", kMinimalDocument},
                                           {"word/styles.xml", styles + "</w:styles>"}}));
  expect_refused(outcome, {"input 's.docx': word/styles.xml has 500008 tags and attributes, "
                           "more than 500000 (the limit for this part)"});
  EXPECT_LT(outcome.seconds, 0.5);
}

TEST(ContentXml, LargeDocumentXmlIsStreamed) {
  // ~12 MB of Word-like markup: streamed, not built into a tree (which took ~15x its size).
  const std::string para =
      R"(<w:p w:rsidR="00A1B2C3"><w:pPr><w:pStyle w:val="Normal"/></w:pPr><w:r><w:rPr><w:b/>)"
      R"(</w:rPr><w:t>Some ordinary text.</w:t></w:r></w:p>)";
  std::string body;
  for (int i = 0; i < 90000; ++i) body += para;
  const std::string document =
      "<w:document xmlns:w=\"urn:w\"><w:body>" + body + "</w:body></w:document>";
  FakeContext context;
  context.add_input("big.docx", kDocx, make_zip({{"word/document.xml", document}}));
  ASSERT_TRUE(run_extract(context).is_ok());
  const json doc = segments_json(context);
  ASSERT_EQ(doc.at("segments").size(), 1u);
  EXPECT_EQ(doc.at("segments")[0].at("text").get<std::string>().size(), 90000u * 21 - 2);
}

TEST(ContentXml, ExternalEntityInTheManifestIsRefused) {
  const std::string manifest =
      "<?xml version=\"1.0\"?><!DOCTYPE m SYSTEM \"http://attacker.test/x.dtd\">"
      "<manifest><organizations/></manifest>";
  expect_refused(run_on("c.zip", "application/zip", make_zip({{"imsmanifest.xml", manifest}})),
                 {"input 'c.zip': imsmanifest.xml has a DOCTYPE"});
}

// ---- SCORM paths ------------------------------------------------------------------------

TEST(ContentScormPaths, EscapesAndAbsolutePathsAreRefused) {
  struct Case {
    const char* href;
    const char* why;
  };
  for (const Case& c : {Case{"../../etc/passwd.html", "climbs out of the package"},
                        Case{"a/../../etc/x.html", "climbs out of the package"},
                        Case{"%2e%2e/secret.html", "climbs out of the package"},
                        Case{"/etc/passwd.html", "is an absolute path"},
                        Case{"http://evil.test/x.html", "is a URL or drive path"},
                        Case{"C:\\x.html", "is a URL or drive path"}}) {
    const std::string zip = make_zip({{"imsmanifest.xml", manifest_with(c.href)}});
    expect_refused(run_on("course.zip", "application/zip", zip),
                   {"input 'course.zip': SCORM item 'Lesson': the page '" + std::string(c.href) +
                    "' " + c.why});
  }
}

TEST(ContentScormPaths, InsideDotDotIsFineAndAMissingPageIsNamed) {
  const std::string ok = make_zip(
      {{"imsmanifest.xml", manifest_with("a/../index.html")}, {"index.html", "<p>Fine.</p>"}});
  EXPECT_TRUE(run_on("ok.zip", "application/zip", ok).status.is_ok());
  const std::string missing = make_zip({{"imsmanifest.xml", manifest_with("gone.html")}});
  expect_refused(run_on("m.zip", "application/zip", missing),
                 {"input 'm.zip': SCORM item 'Lesson': the page 'gone.html' named by "
                  "imsmanifest.xml is not in the package"});
}

// ---- Size limits ------------------------------------------------------------------------

/// A generated page of `bytes` (approximately): sections with headings, paragraphs with
/// inline markup, lists and table rows.
std::string big_page(std::size_t bytes) {
  std::string html = "<!DOCTYPE html><html><head><title>Big</title></head><body>\n";
  for (int i = 0; html.size() < bytes; ++i) {
    const std::string n = std::to_string(i);
    html += "<h2>Section " + n + "</h2>\n<p>Paragraph <b>" + n +
            "</b> with <a href=\"#x\">a link</a> and some ordinary words.</p>\n"
            "<ul><li>first item</li><li>second item</li></ul>\n"
            "<table><tr><td>cell " +
            n + "</td><td>value</td></tr></table>\n";
  }
  return html + "</body></html>";
}

TEST(ContentHtml, TenMegabytePageSucceeds) {
  const std::string html = big_page(10u << 20);
  const long rss_before = peak_rss_kb();
  FakeContext context;
  context.add_input("big.html", "text/html", html);
  const auto start = Clock::now();
  const Status status = run_extract(context);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_TRUE(status.is_ok()) << status.message();
  const json doc = segments_json(context);
  EXPECT_GT(doc.at("segments").size(), 45000u);
  EXPECT_EQ(doc.at("segments")[0].at("location"), "Section 0");
  EXPECT_EQ(doc.at("segments")[0].at("text"),
            "Paragraph 0 with a link and some ordinary words.\n\nfirst item\nsecond item\n\n"
            "cell 0 | value");
  std::printf(
      "[ figures  ] 10 MB HTML page (%zu bytes, %zu segments): %.2f s, peak RSS grew by "
      "%ld MB (to %ld MB)\n",
      html.size(), doc.at("segments").size(), seconds, (peak_rss_kb() - rss_before) / 1024,
      peak_rss_kb() / 1024);
}

TEST(ContentHtml, PagesOverTheLimitsAreRefusedBeforeParsing) {
  const Outcome large = run_on("huge.html", "text/html", std::string((32u << 20) + 1, ' '));
  expect_refused(large, {"input 'huge.html': the HTML is 33554433 bytes, more than 32 MiB"});
  EXPECT_LT(large.seconds, 0.5);
  std::string many;
  for (int i = 0; i <= 1'000'000; ++i) many += "<p>x";
  const Outcome tags = run_on("tags.html", "text/html", many);
  expect_refused(tags, {"input 'tags.html': the HTML has 1000001 start tags, more than 1000000"});
  EXPECT_LT(tags.seconds, 0.5);
  // Unclosed elements that a sibling closes do not count as nesting.
  std::string flat;
  for (int i = 0; i < 5000; ++i) flat += "<a href=x>link<li>item<p>para<h2>head";
  const Outcome flat_outcome = run_on("flat.html", "text/html", flat);
  EXPECT_TRUE(flat_outcome.status.is_ok())
      << static_cast<int>(flat_outcome.status.kind()) << flat_outcome.status.message();
}

TEST(ContentHtml, DeepNestingIsRefusedBeforeParsing) {
  // 100,000 nested <div>s (500 kB) took gumbo 65 s: its scope checks walk the open elements.
  for (const char* tag : {"<div>", "<b>", "<span/>", "<DIV class=x>"}) {
    std::string html;
    for (int i = 0; i < 100000; ++i) html += tag;
    const Outcome outcome = run_on("deep.html", "text/html", html + "x");
    expect_refused(outcome, {"input 'deep.html': the HTML nests elements more than 512 deep"});
    EXPECT_LT(outcome.seconds, 0.5) << tag;
  }
  // Closed elements, comments and scripts do not count.
  std::string html = "<script>";
  for (int i = 0; i < 1000; ++i) html += "<div>";
  html += "</script><!--";
  for (int i = 0; i < 1000; ++i) html += "<div>";
  html += "-->";
  for (int i = 0; i < 1000; ++i) html += "<div><span>a</span></div><svg><path/></svg>";
  EXPECT_TRUE(run_on("ok.html", "text/html", html).status.is_ok());
}

TEST(ContentHtml, CloningAmplificationIsBoundedByGumbosMemory) {
  // 400 distinct <b>s closed by </div> stay "active" and are cloned before each later text:
  // 12 bytes of input make 400 elements (10,000 repetitions took 1.5 GB unbounded).
  std::string html = "<div>";
  for (int i = 0; i < 400; ++i) html += "<b id=" + std::to_string(i) + ">";
  html += "</div>";
  for (int i = 0; i < 30000; ++i) html += "<div>x</div>";
  const Outcome outcome = run_on("clones.html", "text/html", html);
  expect_refused(outcome, {"input 'clones.html': the HTML builds a document tree larger than "
                           "768 MiB (the limit)"});
  EXPECT_LT(outcome.seconds, 4.0);
}

TEST(ContentHtml, TooManyAttributesOnOneTag) {
  // gumbo compares each attribute with the tag's others: 50,000 took 14.5 s.
  std::string html = "<p";
  for (int i = 0; i < 50000; ++i) html += " a" + std::to_string(i);
  const Outcome outcome = run_on("attrs.html", "text/html", html + ">x</p>");
  expect_refused(outcome, {"input 'attrs.html': the HTML has a tag with more than 256 attributes"});
  EXPECT_LT(outcome.seconds, 0.5);
  // Quoted values may hold '>' and look like attributes: they are values.
  std::string quoted = "<p title=\"";
  for (int i = 0; i < 1000; ++i) quoted += " a> b=";
  EXPECT_TRUE(run_on("q.html", "text/html", quoted + "\">text</p>").status.is_ok());
}

TEST(ContentCancel, CancelledDuringGumbosParse) {
  FakeContext context;
  context.add_input("big.html", "text/html", big_page(4u << 20));
  context.cancel_after_polls(2);  // the first poll is before parsing; the next inside it
  const Status status = run_extract(context);
  EXPECT_EQ(status.message(), "content.extract: cancelled");
  EXPECT_LE(context.cancellation_polls(), 3);
}

TEST(ContentLimits, MaxTextBytes) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "Paragraph number " + std::to_string(i) + ".\n\n";
  expect_refused(run_on("t.txt", "text/plain", text, {{"max_text_bytes", 500}}),
                 {"input 't.txt': the extracted text is larger than 500 bytes "
                  "(params.max_text_bytes)"});
  EXPECT_TRUE(run_on("t.txt", "text/plain", text, {{"max_text_bytes", 5000}}).status.is_ok());
}

TEST(ContentLimits, MarkdownNestedTooDeeply) {
  expect_refused(run_on("deep.md", "text/markdown", std::string(1000, '>') + " x"),
                 {"input 'deep.md': the Markdown is nested too deeply"});
}

// ---- Cancellation -----------------------------------------------------------------------

TEST(ContentCancel, StopsPromptlyInEveryFormat) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "line " + std::to_string(i) + "\n\n";
  std::string markdown;
  for (int i = 0; i < 2000; ++i) markdown += "## H" + std::to_string(i) + "\n\npara\n\n";
  struct Case {
    const char* name;
    const char* type;
    std::string data;
  };
  const std::string scorm = make_zip(
      {{"imsmanifest.xml", manifest_with("index.html")}, {"index.html", big_page(200000)}});
  for (const Case& c :
       {Case{"t.txt", "text/plain", text}, Case{"m.md", "text/markdown", markdown},
        Case{"h.html", "text/html", big_page(2u << 20)}, Case{"c.zip", "application/zip", scorm}}) {
    FakeContext context;
    context.add_input(c.name, c.type, c.data);
    context.cancel_after_polls(3);
    const Status status = run_extract(context);
    EXPECT_FALSE(status.is_ok()) << c.name;
    EXPECT_EQ(status.message(), "content.extract: cancelled") << c.name;
    EXPECT_TRUE(context.outputs().empty()) << c.name;
    EXPECT_GE(context.cancellation_polls(), 3) << c.name;
  }
}

}  // namespace

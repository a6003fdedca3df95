// pdf.render: Markdown in, PDF out, checked with qpdf and poppler-utils.
#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <gen/sdk/testing.hpp>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFOutlineDocumentHelper.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>

#include "pdf_tools.hpp"
#include "render_generator.hpp"

namespace {

using gen::pdf::test::pdf_text;
using gen::pdf::test::run_command;
using gen::pdf::test::TempFile;
using gen::pdf::test::test_data;
using gen::pdf::test::words_of;
using gen::sdk::testing::FakeContext;

/// Runs pdf.render; returns the PDF bytes (fails the test when the status is not ok).
std::string render(FakeContext& context) {
  gen::pdf::RenderGenerator generator;
  const gen::sdk::Status status = generator.run(context);
  EXPECT_TRUE(status.is_ok()) << status.message();
  if (!status.is_ok()) return {};
  EXPECT_EQ(context.outputs().size(), 1u);
  if (context.outputs().empty()) return {};
  const auto& output = context.outputs().front();
  EXPECT_EQ(output.media_type, "application/pdf");
  return output.data;
}

std::string render_markdown(const std::string& markdown, nlohmann::json params = {}) {
  if (params.is_null()) params = nlohmann::json::object();
  FakeContext context(params);
  context.add_input("doc.md", "text/markdown", markdown);
  return render(context);
}

gen::sdk::Status run_expecting_failure(FakeContext& context) {
  gen::pdf::RenderGenerator generator;
  return generator.run(context);
}

/// Adds the inputs of the all-elements document to `context`.
void add_all_elements_inputs(FakeContext& context) {
  context.add_input("all_elements.md", "text/markdown", test_data("all_elements.md"));
  context.add_input("gradient.png", "image/png", test_data("gradient.png"));
  context.add_input("badge.png", "image/png", test_data("badge.png"));
  context.add_input("photo.jpg", "image/jpeg", test_data("photo.jpg"));
}

/// True when `needles` occur in `haystack` in this order.
::testing::AssertionResult contains_in_order(const std::string& haystack,
                                             const std::vector<std::string>& needles) {
  size_t at = 0;
  for (const std::string& needle : needles) {
    const size_t found = haystack.find(needle, at);
    if (found == std::string::npos) {
      return ::testing::AssertionFailure()
             << "'" << needle << "' missing after offset " << at << " in:\n"
             << haystack;
    }
    at = found + needle.size();
  }
  return ::testing::AssertionSuccess();
}

std::string info_field(const std::string& pdfinfo, const std::string& field) {
  const size_t at = pdfinfo.find(field + ":");
  if (at == std::string::npos) return {};
  size_t start = at + field.size() + 1;
  while (start < pdfinfo.size() && pdfinfo[start] == ' ') ++start;
  return pdfinfo.substr(start, pdfinfo.find('\n', start) - start);
}

TEST(PdfRender, EveryElementRendersAndPassesQpdfCheck) {
  FakeContext context({{"author", "Ada Lovelace"}, {"subject", "Q3"}});
  add_all_elements_inputs(context);
  const std::string pdf = render(context);
  gen::pdf::test::keep_artifact("all_elements", pdf);
  TempFile file(pdf);
  const auto check = run_command("qpdf --check '" + file.path() + "'");
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("No syntax or stream encoding errors"), std::string::npos);

  // The source text comes back, in order (raw mode: content-stream order).
  const std::string text = run_command("pdftotext -raw -enc UTF-8 '" + file.path() + "' -").output;
  EXPECT_TRUE(contains_in_order(text, {"Quarterly Report",
                                       "This paragraph has bold words, italic words, bold italic,",
                                       "inline code",
                                       "link to",
                                       "example",
                                       "https://generator.example.org/docs",
                                       "struck text",
                                       "Lists",
                                       "first bullet",
                                       "second bullet",
                                       "nested bullet alpha",
                                       "deep ordered one",
                                       "deep ordered two",
                                       "third bullet",
                                       "ordered one",
                                       "ordered three",
                                       "finished task",
                                       "open task",
                                       "Table",
                                       "Item",
                                       "Quantity",
                                       "Price",
                                       "Apples",
                                       "3",
                                       "1.20",
                                       "Pears",
                                       "12",
                                       "0.80",
                                       "Total",
                                       "15",
                                       "13.20",
                                       "A block quote with wisdom that spans two source lines.",
                                       "int main() {",
                                       "return 42; // a code block",
                                       "Images",
                                       "Missing picture alt text",
                                       "Second page heading",
                                       "Text after the page break.",
                                       "Smallest heading",
                                       "The end."}));
  const std::string info = run_command("pdfinfo '" + file.path() + "'").output;
  const int pages = std::stoi(info_field(info, "Pages"));
  EXPECT_GE(pages, 2);
  // The page break: the text before it and the text after it are on different pages.
  auto page_of = [&](const std::string& needle) {
    for (int page = 1; page <= pages; ++page) {
      if (pdf_text(file.path(), page).find(needle) != std::string::npos) return page;
    }
    return 0;
  };
  const int before = page_of("Missing picture alt text");
  EXPECT_GT(before, 0);
  EXPECT_EQ(page_of("Second page heading"), before + 1);
  EXPECT_EQ(page_of("Text after the page break."), before + 1);
  EXPECT_EQ(info_field(info, "Title"), "Quarterly Report");  // the first h1
  EXPECT_EQ(info_field(info, "Author"), "Ada Lovelace");
  EXPECT_EQ(info_field(info, "Subject"), "Q3");
  EXPECT_NE(info_field(info, "Page size").find("595.28 x 841.89"), std::string::npos);

  // The missing image was reported, not fatal.
  ASSERT_EQ(context.log_lines().size(), 1u);
  EXPECT_NE(context.log_lines()[0].message.find("nowhere.png"), std::string::npos);
}

TEST(PdfRender, FontsAreEmbeddedSubsetWithToUnicode) {
  FakeContext context;
  add_all_elements_inputs(context);
  TempFile file(render(context));
  const std::string fonts = run_command("pdffonts '" + file.path() + "'").output;
  std::vector<std::string> rows;
  std::istringstream in(fonts);
  for (std::string line; std::getline(in, line);) {
    if (line.find("CID TrueType") != std::string::npos) rows.push_back(line);
  }
  ASSERT_EQ(rows.size(), 5u) << fonts;  // regular, bold, italic, bold italic, mono
  for (const char* face : {"+DejaVuSans ", "+DejaVuSans-Bold ", "+DejaVuSans-Oblique ",
                           "+DejaVuSans-BoldOblique ", "+DejaVuSansMono "}) {
    const auto row = std::find_if(rows.begin(), rows.end(), [&](const std::string& r) {
      return r.find(face) != std::string::npos;
    });
    ASSERT_NE(row, rows.end()) << face << "\n" << fonts;
    const std::vector<std::string> cells = words_of(*row);
    // name type type encoding emb sub uni object-id generation
    ASSERT_GE(cells.size(), 8u);
    EXPECT_EQ(cells[0].size(), 7 + std::string(face).size() - 2) << *row;  // "ABCDEF+" tag
    EXPECT_EQ(cells[3], "Identity-H");
    EXPECT_EQ(cells[4], "yes") << "embedded: " << *row;
    EXPECT_EQ(cells[5], "yes") << "subset: " << *row;
    EXPECT_EQ(cells[6], "yes") << "ToUnicode: " << *row;
  }
  // Subsetting keeps the file small: the five DejaVu files weigh about 2.3 MB.
  EXPECT_LT(gen::pdf::test::read_file(file.path()).size(), 200'000u);
}

TEST(PdfRender, OutlineNestsHeadingsByLevel) {
  FakeContext context;
  add_all_elements_inputs(context);
  TempFile file(render(context));
  QPDF pdf;
  pdf.processFile(file.path().c_str());
  QPDFOutlineDocumentHelper outlines(pdf);
  ASSERT_TRUE(outlines.hasOutlines());
  auto top = outlines.getTopLevelOutlines();
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].getTitle(), "Quarterly Report");
  auto level2 = top[0].getKids();
  ASSERT_EQ(level2.size(), 1u);
  EXPECT_EQ(level2[0].getTitle(), "Lists");
  auto level3 = level2[0].getKids();
  ASSERT_EQ(level3.size(), 1u);
  EXPECT_EQ(level3[0].getTitle(), "Table");
  auto level4 = level3[0].getKids();
  ASSERT_EQ(level4.size(), 1u);
  EXPECT_EQ(level4[0].getTitle(), "Images");
  auto level5 = level4[0].getKids();
  ASSERT_EQ(level5.size(), 1u);
  EXPECT_EQ(level5[0].getTitle(), "Second page heading");
  // The bookmark points at the last page, where the heading is.
  QPDFObjectHandle dest = level5[0].getDest();
  ASSERT_TRUE(dest.isArray());
  auto pages = QPDFPageDocumentHelper(pdf).getAllPages();
  ASSERT_GE(pages.size(), 2u);
  EXPECT_EQ(dest.getArrayItem(0).getObjGen(), pages.back().getObjectHandle().getObjGen());
  ASSERT_EQ(level5[0].getKids().size(), 1u);
  EXPECT_EQ(level5[0].getKids()[0].getTitle(), "Smallest heading");
}

TEST(PdfRender, NoOutlineWhenDisabled) {
  FakeContext context({{"outline", false}});
  add_all_elements_inputs(context);
  TempFile file(render(context));
  QPDF pdf;
  pdf.processFile(file.path().c_str());
  EXPECT_FALSE(QPDFOutlineDocumentHelper(pdf).hasOutlines());
}

TEST(PdfRender, LinksAreClickableUriAnnotations) {
  FakeContext context;
  add_all_elements_inputs(context);
  TempFile file(render(context));
  QPDF pdf;
  pdf.processFile(file.path().c_str());
  auto pages = QPDFPageDocumentHelper(pdf).getAllPages();
  std::vector<std::string> uris;
  for (auto& annot : pages[0].getAnnotations("/Link")) {
    QPDFObjectHandle action = annot.getObjectHandle().getKey("/A");
    EXPECT_EQ(action.getKey("/S").getName(), "/URI");
    uris.push_back(action.getKey("/URI").getStringValue());
    const auto rect = annot.getRect();
    EXPECT_GT(rect.urx, rect.llx);
    EXPECT_GT(rect.ury, rect.lly);
  }
  // "link to example" wraps onto two lines: one annotation per line.
  EXPECT_GE(std::count(uris.begin(), uris.end(), "https://example.com/report"), 1);
  EXPECT_EQ(std::count(uris.begin(), uris.end(), "https://generator.example.org/docs"), 1);
}

TEST(PdfRender, ImagesBecomeXObjects) {
  FakeContext context;
  add_all_elements_inputs(context);
  TempFile file(render(context));
  QPDF pdf;
  pdf.processFile(file.path().c_str());
  auto pages = QPDFPageDocumentHelper(pdf).getAllPages();
  auto images = pages[0].getImages();
  ASSERT_EQ(images.size(), 3u);  // gradient.png, badge.png (with alpha), photo.jpg
  int dct = 0, masked = 0;
  for (auto [name, image] : images) {
    QPDFObjectHandle dict = image.getDict();
    if (dict.getKey("/Filter").isName() && dict.getKey("/Filter").getName() == "/DCTDecode") ++dct;
    if (dict.hasKey("/SMask")) ++masked;
    if (dict.getKey("/Width").getIntValue() == 120) {
      EXPECT_EQ(dict.getKey("/Height").getIntValue(), 80);
      // The decoded samples are the PNG's RGB pixels.
      EXPECT_EQ(image.getStreamData(qpdf_dl_generalized)->getSize(), 120u * 80u * 3u);
    }
  }
  EXPECT_EQ(dct, 1);
  EXPECT_EQ(masked, 1);
}

TEST(PdfRender, GreekAndCyrillicRoundTrip) {
  const std::string greek = "Καλημέρα κόσμε, η γρήγορη καφέ αλεπού";
  const std::string cyrillic = "Съешь же ещё этих мягких французских булок";
  const std::string pdf = render_markdown("# Ελληνικά и русский\n\n" + greek + "\n\n**" + cyrillic +
                                          "**\n\n*Ἀρχιμήδης* `код`\n");
  TempFile file(pdf);
  EXPECT_EQ(run_command("qpdf --check '" + file.path() + "'").exit_code, 0);
  const std::string text = pdf_text(file.path());
  EXPECT_TRUE(contains_in_order(text, {"Ελληνικά и русский", greek, cyrillic, "Ἀρχιμήδης", "код"}));
  const std::string info = run_command("pdfinfo '" + file.path() + "'").output;
  EXPECT_EQ(info_field(info, "Title"), "Ελληνικά и русский");
}

TEST(PdfRender, MissingGlyphsFallBackToNotdef) {
  // DejaVu has no CJK or emoji glyphs: they render as .notdef, the rest is intact.
  const std::string pdf = render_markdown("Before 漢字 😀 after\n");
  TempFile file(pdf);
  EXPECT_EQ(run_command("qpdf --check '" + file.path() + "'").exit_code, 0);
  EXPECT_TRUE(contains_in_order(pdf_text(file.path()), {"Before", "after"}));
}

TEST(PdfRender, LongDocumentPaginatesWithFooters) {
  std::string markdown = "# Long\n\n";
  for (int i = 0; i < 300; ++i) {
    markdown += "Paragraph number " + std::to_string(i) +
                " carries enough words to fill a line or two of the page body text.\n\n";
  }
  FakeContext context(nlohmann::json{{"header", "Long report - page {{page}}"}});
  context.add_input("long.md", "text/markdown", markdown);
  TempFile file(render(context));
  const std::string info = run_command("pdfinfo '" + file.path() + "'").output;
  const int pages = std::stoi(info_field(info, "Pages"));
  ASSERT_GT(pages, 1);
  for (int page = 1; page <= pages; ++page) {
    const std::string text = run_command("pdftotext -raw -enc UTF-8 -f " + std::to_string(page) +
                                         " -l " + std::to_string(page) + " '" + file.path() + "' -")
                                 .output;
    EXPECT_NE(text.find(std::to_string(page) + " / " + std::to_string(pages)), std::string::npos)
        << "page " << page << ":\n"
        << text;
    EXPECT_NE(text.find("Long report - page " + std::to_string(page)), std::string::npos);
  }
  // Nothing lost across page breaks.
  const std::string all = run_command("pdftotext -raw '" + file.path() + "' -").output;
  for (int i = 0; i < 300; i += 37) {
    EXPECT_NE(all.find("Paragraph number " + std::to_string(i) + " carries"), std::string::npos);
  }
}

// From 64 kB a document is parsed in parts on a helper thread, into arenas: every section,
// its table and its link still render, and the outline has every heading.
TEST(PdfRender, LargeDocumentParsedInParts) {
  constexpr int kSections = 80;
  std::string markdown = "# Large\n\n";
  for (int i = 0; i < kSections; ++i) {
    markdown += "## Section " + std::to_string(i) + "\n\n";
    for (int p = 0; p < 6; ++p) {
      markdown += "Some **bold** and *italic* text with `code` and a [link](https://example.com/" +
                  std::to_string(i) + ") in paragraph " + std::to_string(p) +
                  " of this section, long enough to wrap over a couple of lines of body text.\n\n";
    }
    markdown += "| Key | Value |\n|---|---:|\n| k" + std::to_string(i) + " | " +
                std::to_string(i * 7) + " |\n\n";
  }
  ASSERT_GT(markdown.size(), 64u * 1024);
  FakeContext context;
  context.add_input("large.md", "text/markdown", markdown);
  TempFile file(render(context));
  EXPECT_EQ(run_command("qpdf --check '" + file.path() + "'").exit_code, 0);
  const std::string text = run_command("pdftotext '" + file.path() + "' -").output;
  for (int i = 0; i < kSections; ++i) {
    EXPECT_NE(text.find("Section " + std::to_string(i) + "\n"), std::string::npos) << i;
    EXPECT_NE(text.find("k" + std::to_string(i)), std::string::npos) << i;
  }
  QPDF pdf;
  pdf.processFile(file.path().c_str());
  QPDFOutlineDocumentHelper outlines(pdf);
  ASSERT_EQ(outlines.getTopLevelOutlines().size(), 1u);
  EXPECT_EQ(outlines.getTopLevelOutlines()[0].getKids().size(), static_cast<size_t>(kSections));
  size_t links = 0;
  for (QPDFPageObjectHelper& page : QPDFPageDocumentHelper(pdf).getAllPages()) {
    QPDFObjectHandle annots = page.getObjectHandle().getKey("/Annots");
    if (annots.isArray()) links += static_cast<size_t>(annots.getArrayNItems());
  }
  EXPECT_GE(links, static_cast<size_t>(kSections * 6));
}

TEST(PdfRender, OverLongTableCellWraps) {
  std::string long_word(600, 'x');
  std::string long_text;
  for (int i = 0; i < 200; ++i) long_text += "word" + std::to_string(i) + " ";
  const std::string markdown =
      "| A | B |\n|---|---|\n| " + long_word + " | " + long_text + " |\n| short | cell |\n";
  const std::string pdf = render_markdown(markdown);
  TempFile file(pdf);
  EXPECT_EQ(run_command("qpdf --check '" + file.path() + "'").exit_code, 0);
  const std::string text = run_command("pdftotext -raw '" + file.path() + "' -").output;
  EXPECT_TRUE(contains_in_order(text, {"word0", "word100", "word199", "short", "cell"}));
  // The long word was cut into lines: all 600 x's are there, none dropped.
  EXPECT_EQ(std::count(text.begin(), text.end(), 'x'), 600);
}

TEST(PdfRender, TallTableRowContinuesOnNextPage) {
  std::string cell;
  for (int i = 0; i < 120; ++i) cell += "line" + std::to_string(i) + "<br>";
  const std::string pdf = render_markdown("| A |\n|---|\n| " + cell + " |\n");
  TempFile file(pdf);
  EXPECT_EQ(run_command("qpdf --check '" + file.path() + "'").exit_code, 0);
  const std::string info = run_command("pdfinfo '" + file.path() + "'").output;
  EXPECT_GE(std::stoi(info_field(info, "Pages")), 2);
  EXPECT_TRUE(contains_in_order(run_command("pdftotext -raw '" + file.path() + "' -").output,
                                {"line0", "line60", "line119"}));
}

TEST(PdfRender, LongCodeLinesWrap) {
  const std::string code_line(400, 'c');
  const std::string pdf = render_markdown("```\n" + code_line + "\nshort\n```\n");
  TempFile file(pdf);
  const std::string text = run_command("pdftotext -raw '" + file.path() + "' -").output;
  EXPECT_EQ(std::count(text.begin(), text.end(), 'c'), 400);
  EXPECT_NE(text.find("short"), std::string::npos);
}

TEST(PdfRender, PageSizesAndMargins) {
  struct Case {
    nlohmann::json page_size;
    std::string expected;
  };
  for (const Case& c :
       {Case{"Letter", "612 x 792"}, Case{"legal", "612 x 1008"}, Case{"A3", "841.89 x 1190.55"},
        Case{"A5", "419.53 x 595.28"}, Case{"100x150", "283.46 x 425.2"}}) {
    TempFile file(render_markdown("Hello", {{"page_size", c.page_size}, {"margins_mm", 10}}));
    const std::string info = run_command("pdfinfo '" + file.path() + "'").output;
    EXPECT_NE(info_field(info, "Page size").find(c.expected), std::string::npos)
        << c.page_size << ": " << info_field(info, "Page size");
  }
  TempFile file(render_markdown(
      "Hello", {{"margins_mm", {{"top", 5}, {"left", 40}, {"right", 10}, {"bottom", 15}}}}));
  const auto bbox = run_command("pdftotext -bbox '" + file.path() + "' -").output;
  // The word starts 40 mm (113.4 pt) from the left edge.
  EXPECT_NE(bbox.find("xMin=\"113.3"), std::string::npos) << bbox;
}

TEST(PdfRender, MarkdownParamWhenNoInput) {
  FakeContext context(
      nlohmann::json{{"markdown", "# From a param\n\nBody"}, {"output_name", "out.pdf"}});
  gen::pdf::RenderGenerator generator;
  ASSERT_TRUE(generator.run(context).is_ok());
  ASSERT_NE(context.output("out.pdf"), nullptr);
  TempFile file(context.output_data("out.pdf"));
  EXPECT_TRUE(contains_in_order(pdf_text(file.path()), {"From a param", "Body"}));
}

TEST(PdfRender, PermanentErrorsForBadInput) {
  struct Case {
    nlohmann::json params;
    bool with_input;
    std::string message;
  };
  const std::vector<Case> cases = {
      {nlohmann::json::object(), false,
       "pdf.render: no Markdown given: add an input artifact named *.md (or of media type "
       "text/markdown) or set params.markdown"},
      {{{"page_size", "A9"}},
       true,
       "params.page_size: unknown size 'A9' (use A3, A4, A5, Letter, Legal or WIDTHxHEIGHT in "
       "mm, e.g. 210x297)"},
      {{{"page_size", "10x10"}},
       true,
       "params.page_size: '10x10' must be between 50 and 5000 mm each way"},
      {{{"margins_mm", "wide"}},
       true,
       "params.margins_mm: must be a number or an object {top, right, bottom, left}"},
      {{{"margins_mm", {{"middle", 3}}}},
       true,
       "params.margins_mm: unknown side 'middle' (use top, right, bottom, left)"},
      {{{"margins_mm", -1}}, true, "params.margins_mm: must be between 0 and 200 mm"},
      {{{"margins_mm", 100}},
       true,
       "params.margins_mm: margins leave less than 1 inch for the text on the page"},
      {{{"font_size", 200}}, true, "params.font_size: must be between 4 and 72 points"},
      {{{"outline", "yes"}}, true, "params.outline: must be true or false"},
      {{{"title", 5}}, true, "params.title: must be a string"},
  };
  for (const Case& c : cases) {
    FakeContext context(c.params);
    if (c.with_input) context.add_input("a.md", "text/markdown", "# Hi");
    const gen::sdk::Status status = run_expecting_failure(context);
    EXPECT_EQ(status.kind(), gen::sdk::Status::Kind::kPermanent) << c.params;
    EXPECT_EQ(status.message(), c.message) << c.params;
    EXPECT_TRUE(context.outputs().empty());
  }
}

TEST(PdfRender, DamagedImageRendersAltText) {
  FakeContext context;
  context.add_input("doc.md", "text/markdown", "Look: ![the alt text](broken.png) done");
  context.add_input("broken.png", "image/png", std::string("\x89PNG\r\n\x1a\n garbage", 17));
  TempFile file(render(context));
  EXPECT_TRUE(contains_in_order(pdf_text(file.path()), {"Look:", "the alt text", "done"}));
  ASSERT_EQ(context.log_lines().size(), 1u);
  EXPECT_NE(context.log_lines()[0].message.find("broken.png"), std::string::npos);
}

TEST(PdfRender, ConcurrentRunsShareOneGenerator) {
  // The host calls run() from several threads at once on one generator instance.
  gen::pdf::RenderGenerator generator;
  const std::string markdown = test_data("all_elements.md");
  std::vector<std::string> outputs(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < outputs.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 3; ++round) {
        FakeContext context;
        context.add_input("doc.md", "text/markdown", markdown);
        context.add_input("gradient.png", "image/png", test_data("gradient.png"));
        if (generator.run(context).is_ok()) outputs[i] = context.output_data("document.pdf");
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const std::string& output : outputs) {
    ASSERT_FALSE(output.empty());
    EXPECT_EQ(output, outputs[0]);
  }
}

TEST(PdfRender, OutputIsDeterministic) {
  const std::string a = render_markdown("# Same\n\nInput gives the same bytes.");
  const std::string b = render_markdown("# Same\n\nInput gives the same bytes.");
  EXPECT_EQ(a, b);
}

/// The trailer's /ID (QPDF's fixed test ID overwritten with a hash of the file).
std::string trailer_id(const std::string& pdf_bytes) {
  QPDF pdf;
  pdf.processMemoryFile("id.pdf", pdf_bytes.data(), pdf_bytes.size());
  QPDFObjectHandle id = pdf.getTrailer().getKey("/ID");
  EXPECT_TRUE(id.isArray() && id.getArrayNItems() == 2);
  if (!id.isArray() || id.getArrayNItems() != 2) return {};
  EXPECT_EQ(id.getArrayItem(0).getStringValue(), id.getArrayItem(1).getStringValue());
  return id.getArrayItem(0).getStringValue();
}

TEST(PdfRender, FileIdIsAHashOfTheFile) {
  const std::string a = trailer_id(render_markdown("# One\n\nA document."));
  const std::string b = trailer_id(render_markdown("# One\n\nA document!"));
  ASSERT_EQ(a.size(), 16u);
  ASSERT_EQ(b.size(), 16u);
  EXPECT_NE(a, b);
  // Not QPDF's fixed test ID, which the file is written with first.
  EXPECT_NE(a, std::string("\x31\x41\x59\x26\x53\x58\x97\x93\x23\x84\x62\x64\x33\x83\x27\x95"));
}

}  // namespace

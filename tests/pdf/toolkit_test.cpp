// The QPDF toolkit generators, on PDFs made by pdf.render and on a malformed corpus.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <gen/sdk/testing.hpp>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFWriter.hh>

#include "pdf_tools.hpp"
#include "render_generator.hpp"
#include "toolkit.hpp"

namespace {

using gen::pdf::test::run_command;
using gen::pdf::test::TempFile;
using gen::sdk::Status;
using gen::sdk::testing::FakeContext;

/// A PDF of `pages` pages; page i shows "<label> page i".
std::string make_pdf(const std::string& label, int pages) {
  std::string markdown;
  for (int i = 1; i <= pages; ++i) {
    if (i > 1) markdown += "\n\\pagebreak\n\n";
    markdown += label + " page " + std::to_string(i) + "\n";
  }
  FakeContext context(nlohmann::json{{"markdown", markdown}, {"footer", ""}, {"title", label}});
  gen::pdf::RenderGenerator generator;
  EXPECT_TRUE(generator.run(context).is_ok());
  return context.output_data("document.pdf");
}

struct Loaded {
  std::unique_ptr<QPDF> pdf = std::make_unique<QPDF>();
  std::vector<QPDFPageObjectHelper> pages;
};

Loaded load(const std::string& bytes) {
  Loaded loaded;
  loaded.pdf->processMemoryFile("output", bytes.data(), bytes.size());
  loaded.pages = QPDFPageDocumentHelper(*loaded.pdf).getAllPages();
  return loaded;
}

std::string text_of(const std::string& pdf) {
  TempFile file(pdf);
  return run_command("pdftotext -raw '" + file.path() + "' -").output;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == '\f') line.erase(0, 1);  // page separator
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

void expect_valid(const std::string& pdf) {
  TempFile file(pdf);
  const auto check = run_command("qpdf --check '" + file.path() + "'");
  EXPECT_EQ(check.exit_code, 0) << check.output;
}

Status run(gen::sdk::Generator& generator, FakeContext& context) {
  return generator.run(context);
}

TEST(PdfMerge, ConcatenatesAllPagesInInputOrder) {
  FakeContext context;
  context.add_input("a.pdf", "application/pdf", make_pdf("Alpha", 3));
  context.add_input("b.pdf", "application/pdf", make_pdf("Beta", 2));
  gen::pdf::MergeGenerator merge;
  ASSERT_TRUE(run(merge, context).is_ok());
  const std::string& out = context.output_data("merged.pdf");
  expect_valid(out);
  EXPECT_EQ(load(out).pages.size(), 5u);
  EXPECT_EQ(lines_of(text_of(out)),
            (std::vector<std::string>{"Alpha page 1", "Alpha page 2", "Alpha page 3", "Beta page 1",
                                      "Beta page 2"}));
}

TEST(PdfMerge, PageRangesPerInput) {
  FakeContext context(nlohmann::json{{"ranges", {"3,1", "z"}}, {"output_name", "picked.pdf"}});
  context.add_input("a.pdf", "application/pdf", make_pdf("Alpha", 3));
  context.add_input("b.pdf", "application/pdf", make_pdf("Beta", 2));
  gen::pdf::MergeGenerator merge;
  ASSERT_TRUE(run(merge, context).is_ok());
  const std::string& out = context.output_data("picked.pdf");
  EXPECT_EQ(lines_of(text_of(out)),
            (std::vector<std::string>{"Alpha page 3", "Alpha page 1", "Beta page 2"}));
}

TEST(PdfMerge, BadRangeIsPermanent) {
  FakeContext context(nlohmann::json{{"ranges", {"2-7"}}});
  context.add_input("a.pdf", "application/pdf", make_pdf("Alpha", 3));
  gen::pdf::MergeGenerator merge;
  const Status status = run(merge, context);
  EXPECT_EQ(status.kind(), Status::Kind::kPermanent);
  EXPECT_EQ(
      status.message().rfind("params.ranges[0]: bad page range '2-7' (document has 3 pages)", 0),
      0u)
      << status.message();
}

TEST(PdfSplit, EveryPageByDefault) {
  FakeContext context;
  context.add_input("report.pdf", "application/pdf", make_pdf("Gamma", 3));
  gen::pdf::SplitGenerator split;
  ASSERT_TRUE(run(split, context).is_ok());
  ASSERT_EQ(context.outputs().size(), 3u);
  for (int i = 1; i <= 3; ++i) {
    const std::string& out = context.output_data("report-" + std::to_string(i) + ".pdf");
    expect_valid(out);
    EXPECT_EQ(load(out).pages.size(), 1u);
    EXPECT_EQ(lines_of(text_of(out)), std::vector<std::string>{"Gamma page " + std::to_string(i)});
  }
}

TEST(PdfSplit, ByRangesAndEveryN) {
  FakeContext by_ranges(nlohmann::json{{"ranges", {"1-2", "3-z"}}, {"output_prefix", "part"}});
  by_ranges.add_input("doc.pdf", "application/pdf", make_pdf("Delta", 5));
  gen::pdf::SplitGenerator split;
  ASSERT_TRUE(run(split, by_ranges).is_ok());
  ASSERT_EQ(by_ranges.outputs().size(), 2u);
  EXPECT_EQ(load(by_ranges.output_data("part-1.pdf")).pages.size(), 2u);
  EXPECT_EQ(lines_of(text_of(by_ranges.output_data("part-2.pdf"))),
            (std::vector<std::string>{"Delta page 3", "Delta page 4", "Delta page 5"}));

  FakeContext every(nlohmann::json{{"every", 2}});
  every.add_input("doc.pdf", "application/pdf", make_pdf("Delta", 5));
  ASSERT_TRUE(run(split, every).is_ok());
  ASSERT_EQ(every.outputs().size(), 3u);  // 2 + 2 + 1
  EXPECT_EQ(load(every.output_data("doc-3.pdf")).pages.size(), 1u);

  FakeContext two_inputs;
  two_inputs.add_input("a.pdf", "application/pdf", make_pdf("A", 1));
  two_inputs.add_input("b.pdf", "application/pdf", make_pdf("B", 1));
  const Status status = run(split, two_inputs);
  EXPECT_EQ(status.message(), "pdf.split: takes exactly one PDF input, got 2");
}

TEST(PdfRotate, RotatesSelectedPages) {
  FakeContext context(nlohmann::json{{"angle", 90}, {"pages", "2"}});
  context.add_input("doc.pdf", "application/pdf", make_pdf("Epsilon", 3));
  gen::pdf::RotateGenerator rotate;
  ASSERT_TRUE(run(rotate, context).is_ok());
  const std::string& out = context.output_data("doc.pdf");
  expect_valid(out);
  Loaded loaded = load(out);
  ASSERT_EQ(loaded.pages.size(), 3u);
  auto rotation = [](QPDFPageObjectHelper& page) {
    QPDFObjectHandle value = page.getAttribute("/Rotate", false);
    return value.isInteger() ? value.getIntValue() : 0;
  };
  EXPECT_EQ(rotation(loaded.pages[0]), 0);
  EXPECT_EQ(rotation(loaded.pages[1]), 90);
  EXPECT_EQ(rotation(loaded.pages[2]), 0);

  for (const nlohmann::json& angle : {nlohmann::json(45), nlohmann::json("90")}) {
    FakeContext bad(nlohmann::json{{"angle", angle}});
    bad.add_input("doc.pdf", "application/pdf", make_pdf("E", 1));
    const Status status = run(rotate, bad);
    EXPECT_EQ(status.kind(), Status::Kind::kPermanent);
    EXPECT_EQ(status.message(), "params.angle: must be a multiple of 90 degrees");
  }
}

TEST(PdfInfo, DescribesEachInput) {
  FakeContext context;
  context.add_input("a.pdf", "application/pdf", make_pdf("Zeta", 2));
  gen::pdf::InfoGenerator info;
  ASSERT_TRUE(run(info, context).is_ok());
  ASSERT_NE(context.output("info.json"), nullptr);
  const auto& out = *context.output("info.json");
  EXPECT_EQ(out.media_type, "application/json");
  const auto json = nlohmann::json::parse(out.data);
  ASSERT_EQ(json["documents"].size(), 1u);
  const auto& doc = json["documents"][0];
  EXPECT_EQ(doc["name"], "a.pdf");
  EXPECT_EQ(doc["pages"], 2);
  EXPECT_EQ(doc["encrypted"], false);
  EXPECT_EQ(doc["pdf_version"], "1.5");
  EXPECT_EQ(doc["metadata"]["Title"], "Zeta");
  EXPECT_EQ(doc["metadata"]["Producer"], "Generator pdf.render");
  EXPECT_DOUBLE_EQ(doc["page_sizes"][1]["width_pt"].get<double>(), 595.28);
  EXPECT_DOUBLE_EQ(doc["page_sizes"][1]["height_pt"].get<double>(), 841.89);
  EXPECT_EQ(doc["size_bytes"], context.inputs()[0].data.size());
}

TEST(PdfExtractText, ReadsOwnPdfsThroughToUnicode) {
  FakeContext render_context(nlohmann::json{
      {"markdown",
       "# Заголовок\n\nPlain **bold** and *Ελληνικά* text with `code`.\n\n\\pagebreak\n\nSecond "
       "page"},
      {"footer", "{{page}} of {{pages}}"}});
  gen::pdf::RenderGenerator render;
  ASSERT_TRUE(render.run(render_context).is_ok());

  FakeContext context(nlohmann::json{{"format", "json"}});
  context.add_input("doc.pdf", "application/pdf", render_context.output_data("document.pdf"));
  gen::pdf::ExtractTextGenerator extract;
  ASSERT_TRUE(run(extract, context).is_ok());
  const auto json = nlohmann::json::parse(context.output_data("doc.json"));
  ASSERT_EQ(json["pages"].size(), 2u);
  EXPECT_EQ(json["pages"][0]["page"], 1);
  EXPECT_EQ(json["pages"][0]["text"],
            "Заголовок\nPlain bold and Ελληνικά text with code.\n1 of 2\n");
  EXPECT_EQ(json["pages"][1]["text"], "Second page\n2 of 2\n");

  FakeContext plain;
  plain.add_input("doc.pdf", "application/pdf", render_context.output_data("document.pdf"));
  ASSERT_TRUE(run(extract, plain).is_ok());
  EXPECT_EQ(plain.output_data("doc.txt"),
            "Заголовок\nPlain bold and Ελληνικά text with code.\n1 of 2\n\fSecond page\n2 of 2\n");
}

TEST(PdfExtractText, DecodesSimpleFontEncodings) {
  // A PDF from elsewhere: a standard Type1 font with WinAnsiEncoding and /Differences.
  QPDF pdf;
  pdf.emptyPDF();
  QPDFObjectHandle encoding = QPDFObjectHandle::parse(
      "<< /Type /Encoding /BaseEncoding /WinAnsiEncoding /Differences [ 1 /Euro /uni0416 ] >>");
  QPDFObjectHandle font =
      QPDFObjectHandle::parse("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
  font.replaceKey("/Encoding", encoding);
  QPDFObjectHandle resources = QPDFObjectHandle::newDictionary();
  resources.replaceKey("/Font", QPDFObjectHandle::newDictionary());
  resources.getKey("/Font").replaceKey("/F1", pdf.makeIndirectObject(font));
  QPDFObjectHandle page = QPDFObjectHandle::parse("<< /Type /Page /MediaBox [0 0 612 792] >>");
  page.replaceKey("/Resources", resources);
  page.replaceKey("/Contents", QPDFObjectHandle::newStream(
                                   &pdf,
                                   "BT /F1 12 Tf 72 720 Td (Caf\xe9 costs 5\x01) Tj "
                                   "0 -14 Td [(Two) -1000 (words)] TJ 14 TL T* (\x02) Tj ET"));
  QPDFPageDocumentHelper(pdf).addPage(QPDFPageObjectHelper(pdf.makeIndirectObject(page)), false);
  QPDFWriter writer(pdf);
  writer.setOutputMemory();
  writer.write();
  auto buffer = writer.getBufferSharedPointer();

  FakeContext context;
  context.add_input(
      "other.pdf", "application/pdf",
      std::string(reinterpret_cast<const char*>(buffer->getBuffer()), buffer->getSize()));
  gen::pdf::ExtractTextGenerator extract;
  ASSERT_TRUE(run(extract, context).is_ok());
  EXPECT_EQ(context.output_data("other.txt"), "Café costs 5€\nTwo words\nЖ\n");
}

// --- the malformed corpus: every toolkit generator refuses it with a precise message

struct BadCase {
  std::string name;
  std::string bytes;
  std::string message_prefix;
};

std::vector<BadCase> malformed_corpus() {
  const std::string good = make_pdf("Good", 2);
  std::string garbage_xref = good;
  const size_t startxref = garbage_xref.rfind("startxref");
  garbage_xref.replace(startxref + 10, garbage_xref.size() - startxref - 10, "999999999\n%%EOF\n");
  return {
      {"empty.pdf", "", "input 'empty.pdf': empty file (0 bytes), not a PDF"},
      {"notes.pdf", "These are notes, not a PDF.\n",
       "input 'notes.pdf': not a PDF (no %PDF- header in the first 1024 bytes)"},
      {"truncated.pdf", good.substr(0, good.size() / 2), "input 'truncated.pdf': damaged PDF"},
      {"badxref.pdf", garbage_xref, "input 'badxref.pdf': damaged PDF"},
  };
}

TEST(PdfToolkit, MalformedInputsArePermanentErrors) {
  gen::pdf::MergeGenerator merge;
  gen::pdf::SplitGenerator split;
  gen::pdf::RotateGenerator rotate;
  gen::pdf::InfoGenerator info;
  gen::pdf::ExtractTextGenerator extract;
  gen::pdf::StampGenerator stamp;
  gen::pdf::EncryptGenerator encrypt;
  gen::pdf::DecryptGenerator decrypt;
  gen::pdf::MetadataGenerator metadata;
  gen::pdf::OptimizeGenerator optimize;
  std::vector<std::pair<gen::sdk::Generator*, nlohmann::json>> generators = {
      {&merge, nlohmann::json::object()},
      {&split, nlohmann::json::object()},
      {&rotate, {{"angle", 90}}},
      {&info, nlohmann::json::object()},
      {&extract, nlohmann::json::object()},
      {&stamp, {{"text", "x"}}},
      {&encrypt, {{"owner_password", "o"}}},
      {&decrypt, nlohmann::json::object()},
      {&metadata, {{"title", "t"}}},
      {&optimize, nlohmann::json::object()}};
  for (const BadCase& bad : malformed_corpus()) {
    for (auto& [generator, params] : generators) {
      FakeContext context(params);
      context.add_input(bad.name, "application/pdf", bad.bytes);
      const Status status = generator->run(context);
      EXPECT_EQ(status.kind(), Status::Kind::kPermanent) << generator->info().id << " " << bad.name;
      EXPECT_EQ(status.message().rfind(bad.message_prefix, 0), 0u)
          << generator->info().id << " " << bad.name << ": " << status.message();
      EXPECT_TRUE(context.outputs().empty());
    }
  }
}

TEST(PdfToolkit, DamagedMessagesSayWhatIsWrong) {
  const std::string good = make_pdf("Good", 1);
  FakeContext context;
  context.add_input("truncated.pdf", "application/pdf", good.substr(0, good.size() / 2));
  gen::pdf::InfoGenerator info;
  const Status status = info.run(context);
  // QPDF's own diagnosis follows the prefix, e.g. "can't find startxref".
  EXPECT_GT(status.message().size(), std::string("input 'truncated.pdf': damaged PDF: ").size());
  EXPECT_NE(status.message().find("startxref"), std::string::npos) << status.message();
}

TEST(PdfToolkit, EncryptedInputsNeedTheRightPassword) {
  TempFile plain(make_pdf("Secret", 2));
  const std::string encrypted_path = plain.path() + ".enc.pdf";
  const auto result = run_command("qpdf --encrypt user-pw owner-pw 256 -- '" + plain.path() +
                                  "' '" + encrypted_path + "'");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::string encrypted = gen::pdf::test::read_file(encrypted_path);

  gen::pdf::InfoGenerator info;
  FakeContext no_password;
  no_password.add_input("locked.pdf", "application/pdf", encrypted);
  Status status = info.run(no_password);
  EXPECT_EQ(status.kind(), Status::Kind::kPermanent);
  EXPECT_EQ(status.message(),
            "input 'locked.pdf': encrypted PDF, a password is required (params.password)");

  FakeContext wrong(nlohmann::json{{"password", "guess"}});
  wrong.add_input("locked.pdf", "application/pdf", encrypted);
  status = info.run(wrong);
  EXPECT_EQ(status.message(),
            "input 'locked.pdf': encrypted PDF, wrong password (params.password)");

  FakeContext right(nlohmann::json{{"password", "user-pw"}});
  right.add_input("locked.pdf", "application/pdf", encrypted);
  ASSERT_TRUE(info.run(right).is_ok());
  const auto json = nlohmann::json::parse(right.output_data("info.json"));
  EXPECT_EQ(json["documents"][0]["encrypted"], true);
  EXPECT_EQ(json["documents"][0]["pages"], 2);

  // Rotating with the password writes a decrypted PDF.
  FakeContext rotate_context(nlohmann::json{{"password", "user-pw"}, {"angle", 180}});
  rotate_context.add_input("locked.pdf", "application/pdf", encrypted);
  gen::pdf::RotateGenerator rotate;
  ASSERT_TRUE(rotate.run(rotate_context).is_ok());
  QPDF out;
  const std::string& bytes = rotate_context.output_data("locked.pdf");
  out.processMemoryFile("out", bytes.data(), bytes.size());
  EXPECT_FALSE(out.isEncrypted());
}

TEST(PdfToolkit, NoInputIsPermanent) {
  FakeContext context;
  gen::pdf::MergeGenerator merge;
  const Status status = merge.run(context);
  EXPECT_EQ(status.kind(), Status::Kind::kPermanent);
  EXPECT_EQ(status.message(), "pdf.merge: no input: give one or more PDF artifacts");
}

}  // namespace

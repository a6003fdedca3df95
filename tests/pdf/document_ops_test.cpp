// pdf.stamp, pdf.encrypt, pdf.decrypt, pdf.metadata and pdf.optimize on real PDFs made by
// pdf.render, checked with qpdf, pdfinfo, pdftotext and QPDF's API.
#include <cstdio>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <gen/sdk/testing.hpp>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFPageObjectHelper.hh>

#include "pdf_tools.hpp"
#include "render_generator.hpp"
#include "toolkit.hpp"

namespace {

using gen::pdf::test::pdf_text;
using gen::pdf::test::run_command;
using gen::pdf::test::TempFile;
using gen::sdk::Status;
using gen::sdk::testing::FakeContext;

/// A PDF of `pages` pages; page i shows "<label> page i".
std::string make_pdf(const std::string& label, int pages, const std::string& extra = "") {
  std::string markdown;
  for (int i = 1; i <= pages; ++i) {
    if (i > 1) markdown += "\n\\pagebreak\n\n";
    markdown += label + " page " + std::to_string(i) + "\n\n" + extra;
  }
  FakeContext context(nlohmann::json{{"markdown", markdown}, {"footer", ""}, {"title", label}});
  gen::pdf::RenderGenerator generator;
  EXPECT_TRUE(generator.run(context).is_ok());
  return context.output_data("document.pdf");
}

void expect_valid(const std::string& pdf, const std::string& password = "") {
  TempFile file(pdf);
  const std::string option = password.empty() ? "" : " --password='" + password + "'";
  const auto check = run_command("qpdf --check" + option + " '" + file.path() + "'");
  EXPECT_EQ(check.exit_code, 0) << check.output;
}

/// pdfinfo's "Key: value" lines.
std::map<std::string, std::string> pdfinfo(const std::string& pdf,
                                           const std::string& options = "") {
  TempFile file(pdf);
  std::map<std::string, std::string> fields;
  std::istringstream in(run_command("pdfinfo " + options + " '" + file.path() + "'").output);
  for (std::string line; std::getline(in, line);) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    size_t value = line.find_first_not_of(' ', colon + 1);
    fields[line.substr(0, colon)] = value == std::string::npos ? "" : line.substr(value);
  }
  return fields;
}

std::string page_text(const std::string& pdf, int page) {
  TempFile file(pdf);
  return pdf_text(file.path(), page);
}

/// pdftotext -raw (content-stream order) of one page: text drawn over other text stays apart.
std::string raw_page_text(const std::string& pdf, int page) {
  TempFile file(pdf);
  const std::string n = std::to_string(page);
  return run_command("pdftotext -raw -enc UTF-8 -f " + n + " -l " + n + " '" + file.path() + "' -")
      .output;
}

int page_count(const std::string& pdf) {
  QPDF qpdf;
  qpdf.processMemoryFile("out", pdf.data(), pdf.size());
  return static_cast<int>(QPDFPageDocumentHelper(qpdf).getAllPages().size());
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// --- pdf.stamp

TEST(PdfStamp, TextOnChosenPagesOnly) {
  for (const std::string layer : {"over", "under"}) {
    FakeContext context(nlohmann::json{
        {"text", "CONFIDENTIEL Ωμέγα"}, {"pages", "1,3"}, {"rotation", 0}, {"layer", layer}});
    context.add_input("doc.pdf", "application/pdf", make_pdf("Kappa", 3));
    gen::pdf::StampGenerator stamp;
    ASSERT_TRUE(stamp.run(context).is_ok()) << layer;
    const std::string& out = context.output_data("doc.pdf");
    expect_valid(out);
    ASSERT_EQ(page_count(out), 3);
    for (int page = 1; page <= 3; ++page) {
      const std::string text = page_text(out, page);
      EXPECT_TRUE(contains(text, "Kappa page " + std::to_string(page))) << text;
      EXPECT_EQ(contains(text, "CONFIDENTIEL Ωμέγα"), page != 2) << layer << " page " << page;
    }
    gen::pdf::test::keep_artifact("stamp-text-" + layer, out);
  }
}

TEST(PdfStamp, EmbedsDejaVuAndSetsOpacity) {
  FakeContext context(
      nlohmann::json{{"text", "DRAFT"}, {"opacity", 0.25}, {"color", "#C00000"}, {"rotation", 45}});
  context.add_input("doc.pdf", "application/pdf", make_pdf("Lambda", 2));
  gen::pdf::StampGenerator stamp;
  ASSERT_TRUE(stamp.run(context).is_ok());
  const std::string& out = context.output_data("doc.pdf");
  expect_valid(out);
  TempFile file(out);
  const std::string fonts = run_command("pdffonts '" + file.path() + "'").output;
  EXPECT_TRUE(contains(fonts, "DejaVuSans-Bold")) << fonts;
  // Every font line says emb=yes and sub=yes.
  EXPECT_FALSE(contains(fonts, " no  ")) << fonts;

  QPDF pdf;
  pdf.processMemoryFile("out", out.data(), out.size());
  int stamped = 0;
  for (auto& page : QPDFPageDocumentHelper(pdf).getAllPages()) {
    QPDFObjectHandle states = page.getAttribute("/Resources", false).getKey("/ExtGState");
    ASSERT_TRUE(states.isDictionary());
    for (const auto& key : states.getKeys()) {
      QPDFObjectHandle gs = states.getKey(key);
      EXPECT_DOUBLE_EQ(gs.getKey("/ca").getNumericValue(), 0.25);
      EXPECT_DOUBLE_EQ(gs.getKey("/CA").getNumericValue(), 0.25);
      ++stamped;
    }
    // The stamp draws the form rotated by 45 degrees around the page centre.
    std::string contents;
    for (auto& stream : page.getPageContents()) {
      auto data = stream.getStreamData();
      contents.append(reinterpret_cast<const char*>(data->getBuffer()), data->getSize());
    }
    EXPECT_TRUE(contains(contents, "0.7071 0.7071 -0.7071 0.7071 297.64 420.945 cm")) << contents;
  }
  EXPECT_EQ(stamped, 2);
  gen::pdf::test::keep_artifact("stamp-text-diagonal", out);
}

TEST(PdfStamp, PageOfAnotherPdf) {
  FakeContext context(nlohmann::json{{"stamp_input", "letterhead.pdf"},
                                     {"stamp_page", 2},
                                     {"layer", "under"},
                                     {"pages", "2-z"},
                                     {"opacity", 1}});
  context.add_input("doc.pdf", "application/pdf", make_pdf("Mu", 3));
  context.add_input("letterhead.pdf", "application/pdf", make_pdf("Letterhead", 2));
  gen::pdf::StampGenerator stamp;
  ASSERT_TRUE(stamp.run(context).is_ok());
  ASSERT_EQ(context.outputs().size(), 1u);  // the stamp input is not stamped itself
  const std::string& out = context.output_data("doc.pdf");
  expect_valid(out);
  EXPECT_FALSE(contains(page_text(out, 1), "Letterhead"));
  for (int page = 2; page <= 3; ++page) {
    const std::string text = raw_page_text(out, page);
    EXPECT_TRUE(contains(text, "Letterhead page 2")) << text;
    EXPECT_TRUE(contains(text, "Mu page " + std::to_string(page))) << text;
  }
}

TEST(PdfStamp, BadParamsArePermanent) {
  gen::pdf::StampGenerator stamp;
  auto message = [&](nlohmann::json params) {
    FakeContext context(std::move(params));
    context.add_input("doc.pdf", "application/pdf", make_pdf("Nu", 1));
    const Status status = stamp.run(context);
    EXPECT_EQ(status.kind(), Status::Kind::kPermanent);
    return status.message();
  };
  EXPECT_EQ(message(nlohmann::json::object()),
            "pdf.stamp: nothing to stamp: set params.text or params.stamp_input");
  EXPECT_EQ(message({{"text", "x"}, {"color", "red"}}),
            "params.color: 'red' is not a colour; use #RRGGBB or #RGB");
  EXPECT_EQ(message({{"text", "x"}, {"opacity", 1.5}}),
            "params.opacity: 1.5 is out of range (0 to 1)");
  EXPECT_EQ(message({{"stamp_input", "missing.pdf"}}),
            "params.stamp_input: no input named 'missing.pdf'");
  EXPECT_EQ(message({{"stamp_input", "doc.pdf"}, {"stamp_page", 4}}),
            "params.stamp_page: 4 but input 'doc.pdf' has 1 pages");
  EXPECT_EQ(message({{"text", "x"}, {"pages", "5"}}).rfind("params.pages: bad page range '5'", 0),
            0u);
}

// --- pdf.encrypt and pdf.decrypt

std::string encrypt(const std::string& pdf, nlohmann::json params) {
  FakeContext context(std::move(params));
  context.add_input("doc.pdf", "application/pdf", pdf);
  gen::pdf::EncryptGenerator encrypt;
  const Status status = encrypt.run(context);
  EXPECT_TRUE(status.is_ok()) << status.message();
  return status.is_ok() ? context.output_data("doc.pdf") : std::string();
}

TEST(PdfEncrypt, Aes256WithPermissions) {
  const std::string plain = make_pdf("Omicron", 2);
  const std::string locked = encrypt(plain, {{"user_password", "reader"},
                                             {"owner_password", "boss"},
                                             {"allow_print", false},
                                             {"allow_copy", false},
                                             {"allow_modify", false}});
  expect_valid(locked, "reader");

  QPDF pdf;
  pdf.processMemoryFile("locked", locked.data(), locked.size(), "reader");
  int revision = 0;
  int version = 0;
  QPDF::encryption_method_e stream = QPDF::e_none;
  QPDF::encryption_method_e string = QPDF::e_none;
  QPDF::encryption_method_e file = QPDF::e_none;
  int permissions = 0;
  ASSERT_TRUE(pdf.isEncrypted(revision, permissions, version, stream, string, file));
  EXPECT_EQ(revision, 6);
  EXPECT_EQ(version, 5);
  EXPECT_EQ(stream, QPDF::e_aesv3);
  EXPECT_EQ(string, QPDF::e_aesv3);
  EXPECT_FALSE(pdf.allowPrintLowRes());
  EXPECT_FALSE(pdf.allowExtractAll());
  EXPECT_FALSE(pdf.allowModifyOther());
  EXPECT_TRUE(pdf.allowModifyAnnotation());

  // pdfinfo (poppler) agrees, and opens it with either password only.
  auto info = pdfinfo(locked, "-upw reader");
  EXPECT_EQ(info["Encrypted"], "yes (print:no copy:no change:no addNotes:yes algorithm:AES-256)");
  EXPECT_EQ(info["Pages"], "2");
  EXPECT_EQ(pdfinfo(locked, "-opw boss")["Pages"], "2");
  EXPECT_EQ(pdfinfo(locked).count("Pages"), 0u);  // no password: refused

  const std::string open = encrypt(plain, {{"owner_password", "boss"}});
  EXPECT_EQ(pdfinfo(open)["Encrypted"],
            "yes (print:yes copy:yes change:yes addNotes:yes algorithm:AES-256)");
}

TEST(PdfEncrypt, DecryptRoundTrip) {
  const std::string plain = make_pdf("Pi", 3);
  const std::string locked =
      encrypt(plain, {{"user_password", "reader"}, {"owner_password", "boss"}});
  gen::pdf::DecryptGenerator decrypt;
  for (const std::string password : {"reader", "boss"}) {
    FakeContext context(nlohmann::json{{"password", password}});
    context.add_input("doc.pdf", "application/pdf", locked);
    ASSERT_TRUE(decrypt.run(context).is_ok());
    const std::string& out = context.output_data("doc.pdf");
    expect_valid(out);
    auto info = pdfinfo(out);
    EXPECT_EQ(info["Encrypted"], "no");
    EXPECT_EQ(info["Pages"], "3");
    EXPECT_EQ(info["Title"], "Pi");
    for (int page = 1; page <= 3; ++page) {
      EXPECT_TRUE(contains(page_text(out, page), "Pi page " + std::to_string(page)));
    }
  }

  FakeContext wrong(nlohmann::json{{"password", "guess"}});
  wrong.add_input("doc.pdf", "application/pdf", locked);
  Status status = decrypt.run(wrong);
  EXPECT_EQ(status.kind(), Status::Kind::kPermanent);
  EXPECT_EQ(status.message(), "input 'doc.pdf': encrypted PDF, wrong password (params.password)");
  EXPECT_TRUE(wrong.outputs().empty());

  FakeContext none;
  none.add_input("doc.pdf", "application/pdf", locked);
  status = decrypt.run(none);
  EXPECT_EQ(status.kind(), Status::Kind::kPermanent);
  EXPECT_EQ(status.message(),
            "input 'doc.pdf': encrypted PDF, a password is required (params.password)");
}

TEST(PdfEncrypt, BadPasswordsArePermanent) {
  gen::pdf::EncryptGenerator encrypt;
  auto message = [&](nlohmann::json params) {
    FakeContext context(std::move(params));
    context.add_input("doc.pdf", "application/pdf", make_pdf("Rho", 1));
    const Status status = encrypt.run(context);
    EXPECT_EQ(status.kind(), Status::Kind::kPermanent);
    return status.message();
  };
  EXPECT_EQ(message(nlohmann::json::object()).rfind("params.owner_password: required", 0), 0u);
  EXPECT_EQ(message({{"owner_password", "x"}, {"user_password", "x"}})
                .rfind("params.user_password: must differ from params.owner_password", 0),
            0u);
}

// --- pdf.metadata

TEST(PdfMetadata, SetsAndRemovesInfoFields) {
  FakeContext context(nlohmann::json{{"title", "Годовой отчёт"},
                                     {"author", "Ada Lovelace"},
                                     {"subject", nullptr},
                                     {"keywords", "annual, report"},
                                     {"creator", "Generator tests"},
                                     {"producer", nullptr}});
  context.add_input("doc.pdf", "application/pdf", [] {
    FakeContext render(
        nlohmann::json{{"markdown", "# Old title\n\nBody"}, {"subject", "old subject"}});
    gen::pdf::RenderGenerator generator;
    EXPECT_TRUE(generator.run(render).is_ok());
    return render.output_data("document.pdf");
  }());
  ASSERT_EQ(pdfinfo(std::string(context.inputs()[0].data))["Subject"], "old subject");
  gen::pdf::MetadataGenerator metadata;
  ASSERT_TRUE(metadata.run(context).is_ok());
  const std::string& out = context.output_data("doc.pdf");
  expect_valid(out);
  auto info = pdfinfo(out);
  EXPECT_EQ(info["Title"], "Годовой отчёт");
  EXPECT_EQ(info["Author"], "Ada Lovelace");
  EXPECT_EQ(info["Keywords"], "annual, report");
  EXPECT_EQ(info["Creator"], "Generator tests");
  EXPECT_EQ(info.count("Subject"), 0u);   // removed
  EXPECT_EQ(info.count("Producer"), 0u);  // removed
  EXPECT_EQ(info["Pages"], "1");
}

TEST(PdfMetadata, BadParamsArePermanent) {
  gen::pdf::MetadataGenerator metadata;
  for (const auto& [params, expected] : std::vector<std::pair<nlohmann::json, std::string>>{
           {nlohmann::json::object(),
            "pdf.metadata: nothing to change: give at least one of title, author, subject, "
            "keywords, creator, producer (a string sets it, null removes it)"},
           {{{"title", 42}}, "params.title: must be a string, or null to remove it"}}) {
    FakeContext context(params);
    context.add_input("doc.pdf", "application/pdf", make_pdf("Sigma", 1));
    const Status status = metadata.run(context);
    EXPECT_EQ(status.kind(), Status::Kind::kPermanent);
    EXPECT_EQ(status.message(), expected);
  }
}

// --- pdf.optimize

TEST(PdfOptimize, LinearizedAndNotLarger) {
  std::string paragraph;
  for (int i = 0; i < 60; ++i) paragraph += "Optimised words repeat on every page. ";
  const std::string input =
      make_pdf("Tau", 20, paragraph + "\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");
  FakeContext context;
  context.add_input("doc.pdf", "application/pdf", input);
  gen::pdf::OptimizeGenerator optimize;
  ASSERT_TRUE(optimize.run(context).is_ok());
  const std::string& out = context.output_data("doc.pdf");
  expect_valid(out);
  TempFile file(out);
  const auto linearization = run_command("qpdf --check-linearization '" + file.path() + "'");
  EXPECT_EQ(linearization.exit_code, 0) << linearization.output;
  EXPECT_TRUE(contains(linearization.output, "no linearization errors")) << linearization.output;
  EXPECT_LE(out.size(), input.size());
  auto info = pdfinfo(out);
  EXPECT_EQ(info["Optimized"], "yes");
  EXPECT_EQ(info["Pages"], "20");
  EXPECT_EQ(info["Title"], "Tau");

  QPDF pdf;
  pdf.processMemoryFile("out", out.data(), out.size());
  EXPECT_TRUE(pdf.isLinearized());
  // Objects live in object streams: the xref lists them as compressed.
  EXPECT_TRUE(
      contains(run_command("qpdf --show-xref '" + file.path() + "'").output, ": compressed"));
  for (int page : {1, 20}) {
    EXPECT_TRUE(contains(page_text(out, page), "Tau page " + std::to_string(page)));
  }
  std::fprintf(stderr, "pdf.optimize: %zu -> %zu bytes\n", input.size(), out.size());
}

TEST(PdfOptimize, EachStepCanBeTurnedOff) {
  const std::string input = make_pdf("Upsilon", 2);
  FakeContext context(
      nlohmann::json{{"object_streams", false}, {"recompress", false}, {"linearize", false}});
  context.add_input("doc.pdf", "application/pdf", input);
  gen::pdf::OptimizeGenerator optimize;
  ASSERT_TRUE(optimize.run(context).is_ok());
  const std::string& out = context.output_data("doc.pdf");
  expect_valid(out);
  EXPECT_EQ(pdfinfo(out)["Optimized"], "no");
  TempFile file(out);
  EXPECT_FALSE(
      contains(run_command("qpdf --show-xref '" + file.path() + "'").output, ": compressed"));
}

}  // namespace

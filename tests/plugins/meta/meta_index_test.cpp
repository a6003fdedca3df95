// meta.index on real documents and on broken artifacts.
#include <gtest/gtest.h>

#include <string>

#include <gen/analysis/analyzer.hpp>
#include <gen/sdk/testing.hpp>
#include <nlohmann/json.hpp>

#include "document.hpp"
#include "generators.hpp"
#include "meta_test_support.hpp"

namespace gen::meta {
namespace {

using nlohmann::json;
using sdk::testing::FakeContext;
using namespace gen::meta::testing;

const std::string kSegments(kSegmentsMediaType);

struct Indexed {
  sdk::Status status = sdk::Status::ok();
  json index;
  std::string bytes;
};

Indexed run_index(const std::string& input, json params = json::object(),
                  const std::string& media_type = kSegments) {
  IndexGenerator generator;
  FakeContext ctx(std::move(params));
  ctx.add_input("doc.json", media_type, input);
  Indexed out;
  out.status = ctx.run(generator);
  if (out.status.is_ok()) {
    EXPECT_EQ(ctx.outputs().size(), 1u);
    const auto* artifact = ctx.output("index.json");
    EXPECT_NE(artifact, nullptr);
    if (artifact != nullptr) {
      EXPECT_EQ(artifact->media_type, kIndexMediaType);
      out.bytes = artifact->data;
      out.index = json::parse(artifact->data);
    }
  }
  return out;
}

TEST(MetaIndex, LicenceTextGetsLanguageAndTermsPerSegmentKeepingUnknownFields) {
  json doc = json::parse(segments_json(read_file("/usr/share/common-licenses/GPL-3")));
  doc["source"] = {{"kind", "upload"}, {"pages", json::array({1, 2})}};
  doc["segments"][0]["page_hint"] = 7;
  const Indexed result = run_index(doc.dump());
  ASSERT_TRUE(result.status.is_ok()) << result.status.message();
  const json& index = result.index;
  EXPECT_EQ(index["language"], "en");
  EXPECT_EQ(index["source"], doc["source"]);
  EXPECT_EQ(index["format"], "text");
  EXPECT_TRUE(index["title"].is_null());
  EXPECT_EQ(index["segments"][0]["page_hint"], 7);
  ASSERT_EQ(index["segments"].size(), doc["segments"].size());
  ASSERT_GT(index["segments"].size(), 100u);
  for (std::size_t i = 0; i < doc["segments"].size(); ++i) {
    const json& in = doc["segments"][i];
    const json& out = index["segments"][i];
    EXPECT_EQ(out["text"], in["text"]);
    EXPECT_EQ(out["location"], in["location"]);
    EXPECT_EQ(out["location_kind"], in["location_kind"]);
    EXPECT_EQ(out["tokens"], in["tokens"]);
    EXPECT_EQ(out["terms"],
              analysis::index_terms(analysis::Language::kEnglish, in["text"].get<std::string>()))
        << i;
  }
  // "licenses" and "License" are indexed under one stem; stop words are gone.
  const std::string first = index["segments"][0]["terms"];
  EXPECT_NE(first.find("licens"), std::string::npos) << first;
  EXPECT_EQ((" " + first + " ").find(" the "), std::string::npos) << first;
  EXPECT_EQ(run_index(doc.dump()).bytes, result.bytes);  // deterministic
}

TEST(MetaIndex, ManPageIndexedAsEnglish) {
  const Indexed result = run_index(segments_json(render_man_page("/usr/share/man/man2/open.2.gz")));
  ASSERT_TRUE(result.status.is_ok()) << result.status.message();
  EXPECT_EQ(result.index["language"], "en");
  bool found = false;
  for (const json& s : result.index["segments"]) {
    found = found ||
            (" " + s["terms"].get<std::string>() + " ").find(" descriptor ") != std::string::npos;
  }
  EXPECT_TRUE(found);
}

TEST(MetaIndex, GermanAndFrenchDetectedAndStemmedWithTheirStemmers) {
  const Indexed german = run_index(segments_json(kGermanText));
  ASSERT_TRUE(german.status.is_ok()) << german.status.message();
  EXPECT_EQ(german.index["language"], "de");
  const std::string terms = german.index["segments"][0]["terms"];
  EXPECT_EQ(terms, analysis::index_terms(analysis::Language::kGerman, kGermanText));
  // German Snowball: "Bienen" -> "bien"; German stop words ("und", "die") are not terms.
  EXPECT_NE((" " + terms + " ").find(" bien "), std::string::npos) << terms;
  EXPECT_EQ((" " + terms + " ").find(" und "), std::string::npos) << terms;

  const Indexed french = run_index(segments_json(kFrenchText));
  ASSERT_TRUE(french.status.is_ok()) << french.status.message();
  EXPECT_EQ(french.index["language"], "fr");
  EXPECT_EQ(french.index["segments"][0]["terms"],
            analysis::index_terms(analysis::Language::kFrench, kFrenchText));
}

TEST(MetaIndex, LanguageParamAndArtifactLanguageWinOverDetection) {
  const Indexed forced = run_index(segments_json(kGermanText), {{"language", "french"}});
  ASSERT_TRUE(forced.status.is_ok()) << forced.status.message();
  EXPECT_EQ(forced.index["language"], "fr");
  EXPECT_EQ(forced.index["segments"][0]["terms"],
            analysis::index_terms(analysis::Language::kFrench, kGermanText));

  json doc = json::parse(segments_json(kFrenchText));
  doc["language"] = "de";
  const Indexed declared = run_index(doc.dump());
  ASSERT_TRUE(declared.status.is_ok()) << declared.status.message();
  EXPECT_EQ(declared.index["language"], "de");

  // An index artifact indexed again: the same bytes.
  const Indexed first = run_index(segments_json(kFrenchText));
  const Indexed again = run_index(first.bytes, json::object(), std::string(kIndexMediaType));
  ASSERT_TRUE(again.status.is_ok()) << again.status.message();
  EXPECT_EQ(again.bytes, first.bytes);
}

TEST(MetaIndex, RefusesArtifactsOfTheWrongShapeNamingTheProblem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"segments\": [", "inputs[doc.json]: segments[0]: parse error at line 1, column 15"},
      {"[1, 2]", "inputs[doc.json]: expected a JSON object (a segments artifact), got array"},
      {"{\"title\": null}", "inputs[doc.json]: segments: missing"},
      {"{\"segments\": 3}", "inputs[doc.json]: segments: expected an array, got number"},
      {"{\"segments\": []}", "inputs[doc.json]: segments: empty (the document has no text)"},
      {"{\"segments\": [{\"text\": \"a\"}, \"b\"]}",
       "inputs[doc.json]: segments[1]: expected an object, got string"},
      {"{\"segments\": [{\"location\": \"page 1\"}]}",
       "inputs[doc.json]: segments[0].text: missing"},
      {"{\"segments\": [{\"text\": 12}]}",
       "inputs[doc.json]: segments[0].text: expected a string, got number"},
      {"{\"segments\": [{\"text\": \"a\", \"location\": 1}]}",
       "inputs[doc.json]: segments[0].location: expected a string, got number"},
      {"{\"segments\": [{\"text\": \"a\", \"tokens\": \"3\"}]}",
       "inputs[doc.json]: segments[0].tokens: expected an integer, got string"},
      {"{\"title\": 5, \"segments\": [{\"text\": \"a\"}]}",
       "inputs[doc.json]: title: expected a string or null, got number"},
      {"{\"language\": [], \"segments\": [{\"text\": \"a\"}]}",
       "inputs[doc.json]: language: expected a string or null, got array"},
      {std::string(200, '[') + std::string(200, ']'), "nests deeper than 64 levels"},
  };
  for (const auto& [input, expected] : cases) {
    const Indexed result = run_index(input);
    EXPECT_EQ(result.status.kind(), sdk::Status::Kind::kPermanent) << input;
    EXPECT_NE(result.status.message().find(expected), std::string::npos)
        << input << " -> " << result.status.message();
  }
}

TEST(MetaIndex, RefusesInputsOverTheLimitOrOfAnotherType) {
  const std::string doc = segments_json(kFrenchText);
  const Indexed big = run_index(doc, {{"max_input_bytes", 100}});
  EXPECT_EQ(big.status.kind(), sdk::Status::Kind::kPermanent);
  EXPECT_EQ(big.status.message(), "inputs[doc.json]: " + std::to_string(doc.size()) +
                                      " bytes, more than the limit of 100 bytes "
                                      "(params.max_input_bytes)");
  const Indexed zero = run_index(doc, {{"max_input_bytes", 0}});
  EXPECT_EQ(zero.status.message(), "params.max_input_bytes: must be from 1 to 1073741824, got 0");

  const Indexed other = run_index(doc, json::object(), "application/json");
  EXPECT_EQ(other.status.kind(), sdk::Status::Kind::kPermanent);
  EXPECT_NE(other.status.message().find("inputs: no content artifact"), std::string::npos)
      << other.status.message();

  const Indexed bad_language = run_index(doc, {{"language", "es"}});
  EXPECT_EQ(bad_language.status.message(),
            "params.language: must be one of: auto, en, de, fr, english, german, french");
}

}  // namespace
}  // namespace gen::meta

namespace gen::meta {
namespace {

TEST(MetaIndex, LargeSegmentsAnalysedInPiecesGiveTheSameTermsAndLanguage) {
  // 3 MB in one segment: analysed in 1 MiB pieces cut between words.
  const std::string gpl = read_file("/usr/share/common-licenses/GPL-3");
  std::string big;
  while (big.size() < 3 * 1024 * 1024) big += gpl;
  std::string german;
  while (german.size() < 700 * 1024) german += std::string(kGermanText) + " ";
  json doc = {{"segments", {{{"text", german}}, {{"text", big}}}}};
  const Indexed result = run_index(doc.dump());
  ASSERT_TRUE(result.status.is_ok()) << result.status.message();
  // The document's language (German: its first 5,000 words are) analyses every segment.
  EXPECT_EQ(result.index["segments"][1]["terms"],
            analysis::index_terms(analysis::Language::kGerman, big));

  Document parsed;
  ASSERT_FALSE(parse_document(doc.dump(), parsed));
  const analysis::Language whole = analysis::detect_language(joined_text(parsed));
  EXPECT_EQ(detect_document_language(parsed), whole);
  EXPECT_EQ(result.index["language"], analysis::language_code(whole));
  EXPECT_EQ(result.index["language"], "de");  // the first 5,000 words are German

  std::vector<std::string> pieces;
  for_each_piece("alpha beta, gamma", 8, [&](std::string_view p) { pieces.emplace_back(p); });
  EXPECT_EQ(pieces, (std::vector<std::string>{"alpha ", "beta, ", "gamma"}));
}

}  // namespace
}  // namespace gen::meta

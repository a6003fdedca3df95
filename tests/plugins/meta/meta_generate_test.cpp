// meta.generate's native provider on real documents: the GPL and Apache licences and three
// man pages rendered at test time, plus German and French text.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

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

std::size_t chars(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::size_t sentence_count(std::string_view s) {
  return analysis::sentences(s).size();
}

// Lowercased (ASCII and the Latin-1 capitals German and French use) with every whitespace
// run made one space: how "occurs in the text" is checked.
std::string normalise(std::string_view text) {
  std::string out;
  bool space = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c + 32);
    } else if (static_cast<unsigned char>(c) == 0xC3 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9E &&
               static_cast<unsigned char>(text[i + 1]) != 0x97) {
      out += c;
      out += static_cast<char>(text[++i] + 0x20);  // À..Þ -> à..þ
    } else {
      out += c;
    }
  }
  return out;
}

struct Generated {
  sdk::Status status = sdk::Status::ok();
  json field;         // the field artifact, parsed
  std::string bytes;  // its bytes
};

std::string index_of(const std::string& segments) {
  IndexGenerator generator;
  FakeContext ctx;
  ctx.add_input("doc.json", std::string(kSegmentsMediaType), segments);
  const sdk::Status status = ctx.run(generator);
  EXPECT_TRUE(status.is_ok()) << status.message();
  return status.is_ok() ? ctx.output_data("index.json") : std::string();
}

Generated generate(const std::string& index, json params,
                   const std::string& media_type = std::string(kIndexMediaType)) {
  GenerateGenerator generator;
  FakeContext ctx(params);
  ctx.add_input("index.json", media_type, index);
  Generated out;
  out.status = ctx.run(generator);
  if (!out.status.is_ok()) return out;
  const std::string name = "field-" + params["field"].get<std::string>() + ".json";
  const auto* field = ctx.output(name);
  EXPECT_NE(field, nullptr) << name;
  if (field == nullptr) return out;
  EXPECT_EQ(field->media_type, kFieldMediaType);
  out.bytes = field->data;
  out.field = json::parse(field->data);
  EXPECT_EQ(out.field["field"], params["field"]);
  // The input passes through unchanged, for the next field's step.
  EXPECT_EQ(ctx.outputs().size(), 2u);
  const auto* passed = ctx.output("index.json");
  EXPECT_NE(passed, nullptr);
  if (passed != nullptr) {
    EXPECT_EQ(passed->media_type, media_type);
    EXPECT_TRUE(passed->data == index) << "the pass-through differs from the input";
  }
  return out;
}

struct RealDocument {
  std::string name;
  std::string text;
};

const std::vector<RealDocument>& real_documents() {
  static const std::vector<RealDocument> documents = {
      {"GPL-3", read_file("/usr/share/common-licenses/GPL-3")},
      {"Apache-2.0", read_file("/usr/share/common-licenses/Apache-2.0")},
      {"open.2", render_man_page("/usr/share/man/man2/open.2.gz")},
      {"printf.3", render_man_page("/usr/share/man/man3/printf.3.gz")},
      {"signal.7", render_man_page("/usr/share/man/man7/signal.7.gz")},
  };
  return documents;
}

// Checks one field's value within its limits; returns it for printing.
void check_field(const std::string& field, const json& value, const std::string& text) {
  const std::string haystack = normalise(text);
  if (field == "TITLE") {
    ASSERT_TRUE(value.is_string());
    const std::string title = value;
    EXPECT_FALSE(title.empty());
    EXPECT_LE(chars(title), 120u);
    EXPECT_EQ(title.find('\n'), std::string::npos);
  } else if (field == "PLUG" || field == "BLURB" || field == "SUMMARY") {
    ASSERT_TRUE(value.is_string());
    const std::string s = value;
    const auto [low, high, max_chars] = field == "PLUG"    ? std::tuple{1u, 1u, 200u}
                                        : field == "BLURB" ? std::tuple{2u, 3u, 600u}
                                                           : std::tuple{3u, 8u, 1200u};
    EXPECT_GE(sentence_count(s), low) << s;
    EXPECT_LE(sentence_count(s), high) << s;
    EXPECT_LE(chars(s), max_chars) << s;
    EXPECT_EQ(s.find('\n'), std::string::npos) << s;
    // Extractive: every sentence is the document's (whitespace and case aside).
    for (const analysis::Sentence& sentence : analysis::sentences(s)) {
      std::string piece = normalise(s.substr(sentence.offset, sentence.size));
      if (!piece.empty() && piece.back() == '.' && haystack.find(piece) == std::string::npos) {
        piece.pop_back();  // a full stop added to a sentence that had none
      }
      EXPECT_NE(haystack.find(piece), std::string::npos) << piece;
    }
  } else if (field == "KEYWORDS") {
    ASSERT_TRUE(value.is_array());
    EXPECT_GE(value.size(), 5u);
    EXPECT_LE(value.size(), 15u);
    std::set<std::string> seen;
    for (const json& k : value) {
      ASSERT_TRUE(k.is_string());
      const std::string keyword = k;
      EXPECT_FALSE(keyword.empty());
      EXPECT_NE(haystack.find(normalise(keyword)), std::string::npos) << keyword;
      EXPECT_TRUE(seen.insert(normalise(keyword)).second) << "twice: " << keyword;
    }
  } else if (field == "QUESTIONS") {
    ASSERT_TRUE(value.is_array());
    EXPECT_GE(value.size(), 1u);
    EXPECT_LE(value.size(), 5u);
    std::set<std::string> questions;
    for (const json& q : value) {
      ASSERT_TRUE(q["question"].is_string());
      ASSERT_TRUE(q["choices"].is_array());
      ASSERT_TRUE(q["correct_index"].is_number_unsigned());
      const std::string question = q["question"];
      const auto choices = q["choices"].get<std::vector<std::string>>();
      const std::size_t correct = q["correct_index"];
      EXPECT_EQ(choices.size(), 4u);
      ASSERT_LT(correct, choices.size());
      EXPECT_EQ(std::set<std::string>(choices.begin(), choices.end()).size(), choices.size());
      EXPECT_TRUE(question.starts_with("Fill in the blank: ")) << question;
      const std::size_t blank = question.find("_____");
      ASSERT_NE(blank, std::string::npos) << question;
      EXPECT_EQ(question.find("_____", blank + 1), std::string::npos) << question;
      // The correct choice fills the blank back into the document's sentence.
      std::string sentence = question.substr(19);
      sentence.replace(blank - 19, 5, choices[correct]);
      EXPECT_NE(haystack.find(normalise(sentence)), std::string::npos) << sentence;
      EXPECT_TRUE(questions.insert(question).second) << "twice: " << question;
      for (const std::string& c : choices) {
        EXPECT_NE(haystack.find(normalise(c)), std::string::npos) << c;
      }
    }
  }
}

class RealDocuments : public ::testing::TestWithParam<std::string> {};

TEST_P(RealDocuments, EachDocumentWithinLimitsDeterministically) {
  const std::string field = GetParam();
  for (const RealDocument& doc : real_documents()) {
    SCOPED_TRACE(doc.name + " " + field);
    const std::string index = index_of(segments_json(doc.text));
    const Generated first = generate(index, {{"field", field}});
    ASSERT_TRUE(first.status.is_ok()) << first.status.message();
    EXPECT_EQ(first.field["language"], "en");
    EXPECT_TRUE(first.field["method"].get<std::string>().starts_with("native:"));
    check_field(field, first.field["value"], doc.text);
    if (field == "KEYWORDS") {
      EXPECT_EQ(first.field["value"].size(), 10u);
    }
    if (field == "QUESTIONS") {
      EXPECT_EQ(first.field["value"].size(), 5u);
    }
    const Generated second = generate(index, {{"field", field}});
    EXPECT_EQ(second.bytes, first.bytes);
    std::printf("%s %s: %s\n", doc.name.c_str(), field.c_str(),
                first.field["value"].dump(-1, ' ', false).substr(0, 700).c_str());
  }
}

INSTANTIATE_TEST_SUITE_P(Fields, RealDocuments,
                         ::testing::Values("TITLE", "PLUG", "BLURB", "SUMMARY", "KEYWORDS",
                                           "QUESTIONS"));

TEST(MetaGenerate, TitleFromTheDocumentTitleThenFirstHeadingThenFirstSentence) {
  const std::string text = read_file("/usr/share/common-licenses/Apache-2.0");
  json doc = json::parse(segments_json(text, "  Apache\n License 2.0 "));
  Generated g = generate(doc.dump(), {{"field", "TITLE"}}, std::string(kSegmentsMediaType));
  ASSERT_TRUE(g.status.is_ok()) << g.status.message();
  EXPECT_EQ(g.field["value"], "Apache License 2.0");
  EXPECT_EQ(g.field["method"], "native:document-title");

  doc["title"] = nullptr;
  doc["segments"][3]["location_kind"] = "heading";
  doc["segments"][3]["location"] = "Terms and Conditions > Definitions";
  g = generate(doc.dump(), {{"field", "TITLE"}}, std::string(kSegmentsMediaType));
  EXPECT_EQ(g.field["value"], "Terms and Conditions");
  EXPECT_EQ(g.field["method"], "native:first-heading");

  doc["title"] = std::string(300, 'x');
  g = generate(doc.dump(), {{"field", "TITLE"}}, std::string(kSegmentsMediaType));
  EXPECT_EQ(chars(g.field["value"].get<std::string>()), 120u);

  const std::string no_title = segments_json(
      "The quick brown fox jumps over the lazy dog and keeps running across the wide open field "
      "until the evening comes and the farmer, who had watched all day long from his porch, "
      "finally calls it home. Then it sleeps.");
  g = generate(no_title, {{"field", "TITLE"}}, std::string(kSegmentsMediaType));
  EXPECT_EQ(g.field["method"], "native:first-sentence");
  const std::string title = g.field["value"];
  EXPECT_LE(chars(title), 120u);
  EXPECT_TRUE(title.starts_with("The quick brown fox")) << title;
  EXPECT_TRUE(title.ends_with("\xE2\x80\xA6")) << title;  // cut at a word, with "…"
}

TEST(MetaGenerate, GermanAndFrenchKeywordsFromTheirStemmers) {
  for (const auto& [text, code, language, expected] :
       {std::tuple{kGermanText, "de", analysis::Language::kGerman,
                   std::vector<std::string>{"bienen", "honig", "imker", "völker", "königin"}},
        std::tuple{kFrenchText, "fr", analysis::Language::kFrench,
                   std::vector<std::string>{"boulangerie", "pain", "boulanger", "baguette",
                                            "levain", "four à bois"}}}) {
    SCOPED_TRACE(code);
    const std::string index = index_of(segments_json(text));
    const Generated g = generate(index, {{"field", "KEYWORDS"}});
    ASSERT_TRUE(g.status.is_ok()) << g.status.message();
    EXPECT_EQ(g.field["language"], code);
    check_field("KEYWORDS", g.field["value"], std::string(text));
    std::set<std::string> stems;
    bool any_expected = false;
    for (const json& k : g.field["value"]) {
      const std::string keyword = normalise(k.get<std::string>());
      any_expected =
          any_expected || std::find(expected.begin(), expected.end(), keyword) != expected.end();
      // Deduplicated by the language's stems ("Bienen" and "Biene" are one keyword).
      std::string key;
      for (const analysis::Word& w : analysis::words(keyword)) {
        EXPECT_FALSE(analysis::is_stop_word(language, w.lower) && key.empty()) << keyword;
        key += analysis::stem(language, w.lower) + " ";
      }
      EXPECT_TRUE(stems.insert(key).second) << "stem twice: " << keyword;
    }
    EXPECT_TRUE(any_expected) << g.field["value"].dump();
    std::printf("%s KEYWORDS: %s\n", code, g.field["value"].dump().c_str());
    const Generated summary = generate(index, {{"field", "SUMMARY"}});
    ASSERT_TRUE(summary.status.is_ok()) << summary.status.message();
    check_field("SUMMARY", summary.field["value"], std::string(text));
  }
}

TEST(MetaGenerate, TaxonomyAlignsKeywordsTakingItsSpelling) {
  const std::string index = index_of(segments_json(read_file("/usr/share/common-licenses/GPL-3")));
  const Generated g =
      generate(index, {{"field", "KEYWORDS"},
                       {"taxonomy", {"Licenses", "Copyright Holders", "Quantum Chromodynamics"}}});
  ASSERT_TRUE(g.status.is_ok()) << g.status.message();
  const auto keywords = g.field["value"].get<std::vector<std::string>>();
  EXPECT_EQ(g.field["method"], "native:yake+taxonomy");
  ASSERT_EQ(keywords.size(), 10u);
  // Both occur in the GPL ("license", "copyright holders"): first, spelt as the taxonomy has them.
  EXPECT_EQ(std::set<std::string>(keywords.begin(), keywords.begin() + 2),
            (std::set<std::string>{"Licenses", "Copyright Holders"}));
  EXPECT_EQ(std::count(keywords.begin(), keywords.end(), "Quantum Chromodynamics"), 0);
  for (std::size_t i = 2; i < keywords.size(); ++i) {
    EXPECT_NE(normalise(keywords[i]), "license") << "the aligned term again";
  }
}

TEST(MetaGenerate, QuestionParamsAndSegmentsInputAndChainedSteps) {
  const std::string segments = segments_json(render_man_page("/usr/share/man/man7/signal.7.gz"));
  // A segments artifact directly (analysed here), 3 questions of 5 choices.
  const Generated g =
      generate(segments, {{"field", "QUESTIONS"}, {"question_count", 3}, {"choice_count", 5}},
               std::string(kSegmentsMediaType));
  ASSERT_TRUE(g.status.is_ok()) << g.status.message();
  ASSERT_EQ(g.field["value"].size(), 3u);
  for (const json& q : g.field["value"]) EXPECT_EQ(q["choices"].size(), 5u);

  // index -> KEYWORDS -> SUMMARY: each step's inputs are the previous step's outputs.
  IndexGenerator index;
  GenerateGenerator generator;
  FakeContext step1;
  step1.add_input("text.json", std::string(kSegmentsMediaType), segments);
  ASSERT_TRUE(step1.run(index).is_ok());
  FakeContext step2({{"field", "KEYWORDS"}, {"max_keywords", 15}});
  for (const auto& o : step1.outputs()) step2.add_input(o.name, o.media_type, o.data);
  ASSERT_TRUE(step2.run(generator).is_ok());
  EXPECT_EQ(json::parse(step2.output_data("field-KEYWORDS.json"))["value"].size(), 15u);
  FakeContext step3({{"field", "SUMMARY"}});
  for (const auto& o : step2.outputs()) step3.add_input(o.name, o.media_type, o.data);
  const sdk::Status status = step3.run(generator);
  ASSERT_TRUE(status.is_ok()) << status.message();
  EXPECT_EQ(step3.output_data("index.json"), step1.output_data("index.json"));
  check_field("SUMMARY", json::parse(step3.output_data("field-SUMMARY.json"))["value"],
              render_man_page("/usr/share/man/man7/signal.7.gz"));
}

TEST(MetaGenerate, PermanentFailuresWithClearMessages) {
  const std::string index = index_of(segments_json(kFrenchText));
  auto message = [&](const std::string& input, json params) {
    const Generated g = generate(input, std::move(params));
    EXPECT_EQ(g.status.kind(), sdk::Status::Kind::kPermanent);
    return g.status.message();
  };
  // openai without its settings (meta_openai_test.cpp tests the provider).
  EXPECT_TRUE(message(index, {{"field", "SUMMARY"}, {"provider", "openai"}})
                  .starts_with("meta.generate: provider openai: the setting GENERATION__LLM_URL "
                               "is not set"));
  EXPECT_EQ(message(index, {{"field", "KEYWORDS"}, {"max_keywords", 20}}),
            "params.max_keywords: must be from 5 to 15, got 20");
  EXPECT_EQ(message(index, {{"field", "QUESTIONS"}, {"question_count", 0}}),
            "params.question_count: must be from 1 to 10, got 0");
  EXPECT_EQ(message(index, {{"field", "QUESTIONS"}, {"choice_count", 6}}),
            "params.choice_count: must be from 3 to 5, got 6");
  EXPECT_EQ(message(index, {{"field", "NAME"}}),
            "params.field: must be one of: TITLE, PLUG, BLURB, SUMMARY, KEYWORDS, QUESTIONS");
  EXPECT_EQ(message(index, {{"field", "KEYWORDS"}, {"taxonomy", {"a", 3}}}),
            "params.taxonomy[1]: expected a string, got number");

  const std::string tiny = index_of(segments_json("Apples. Bananas. Cherries."));
  EXPECT_EQ(message(tiny, {{"field", "KEYWORDS"}}),
            "KEYWORDS: too little text for 5 keywords: the document has 3 distinct terms");
  EXPECT_EQ(message(tiny, {{"field", "QUESTIONS"}}),
            "QUESTIONS: too little text for 5 keywords: the document has 3 distinct terms");
  const std::string empty = index_of("{\"segments\": [{\"text\": \"  \"}]}");
  EXPECT_EQ(message(empty, {{"field", "SUMMARY"}}),
            "SUMMARY: the document has no sentences to pick from");
  EXPECT_EQ(message(empty, {{"field", "TITLE"}}),
            "TITLE: the document has no text to take a title from");
  EXPECT_NE(message("{\"segments\": {}}", {{"field", "TITLE"}})
                .find("inputs[index.json]: segments: expected an array, got object"),
            std::string::npos);
}

TEST(MetaGenerate, ALongSentenceIsCutAtAWordWhenNothingFits) {
  std::string sentence = "The";
  for (int i = 0; i < 58; ++i) sentence += " considerably";
  sentence += " end.";
  const Generated g = generate(index_of(segments_json(sentence)), {{"field", "PLUG"}});
  ASSERT_TRUE(g.status.is_ok()) << g.status.message();
  const std::string plug = g.field["value"];
  EXPECT_LE(chars(plug), 200u);
  EXPECT_TRUE(plug.starts_with("The considerably")) << plug;
  EXPECT_TRUE(plug.ends_with("considerably\xE2\x80\xA6")) << plug;
}

}  // namespace
}  // namespace gen::meta

namespace gen::meta {
namespace {

TEST(MetaGenerate, IdentifierPartsAreNeitherKeywordsNorBlanks) {
  const std::string index =
      index_of(segments_json(render_man_page("/usr/share/man/man2/open.2.gz")));
  const Generated keywords = generate(index, {{"field", "KEYWORDS"}, {"max_keywords", 15}});
  ASSERT_TRUE(keywords.status.is_ok()) << keywords.status.message();
  ASSERT_EQ(keywords.field["value"].size(), 15u);
  for (const json& k : keywords.field["value"]) {
    for (const char* part :
         {"creat", "excl", "rdonly", "wronly", "nofollow", "cloexec", "tmpfile", "o"}) {
      EXPECT_NE(normalise(k.get<std::string>()), part);  // from O_CREAT, O_EXCL...
    }
  }
  const Generated questions = generate(index, {{"field", "QUESTIONS"}, {"question_count", 10}});
  ASSERT_TRUE(questions.status.is_ok()) << questions.status.message();
  EXPECT_GE(questions.field["value"].size(), 5u);
  for (const json& q : questions.field["value"]) {
    const std::string question = q["question"];
    const std::size_t blank = question.find("_____");
    ASSERT_NE(blank, std::string::npos);
    EXPECT_NE(question[blank - 1], '_') << question;
    if (blank + 5 < question.size()) {
      EXPECT_NE(question[blank + 5], '_') << question;
    }
  }
}

TEST(MetaGenerate, StopsWhenCancelled) {
  const std::string segments = segments_json(read_file("/usr/share/common-licenses/GPL-3"));
  for (bool index_step : {true, false}) {
    IndexGenerator index;
    GenerateGenerator generate_generator;
    FakeContext ctx(index_step ? json::object() : json{{"field", "SUMMARY"}});
    ctx.add_input("doc.json", std::string(kSegmentsMediaType), segments);
    ctx.cancel();
    const sdk::Status status = index_step ? ctx.run(index) : ctx.run(generate_generator);
    EXPECT_EQ(status.kind(), sdk::Status::Kind::kRetryable) << status.message();
    EXPECT_NE(status.message().find("stopped: the job was cancelled"), std::string::npos);
    EXPECT_GT(ctx.cancellation_polls(), 0);
    EXPECT_TRUE(ctx.outputs().empty());
  }
}

}  // namespace
}  // namespace gen::meta

namespace gen::meta {
namespace {

TEST(MetaGenerate, HostileTextsStayWithinLimits) {
  // One 2 MB "word": analysed in pieces, cut to 64-byte words; nothing to rank but itself.
  const std::string run = index_of(segments_json(std::string(2 * 1024 * 1024, 'a')));
  Generated g = generate(run, {{"field", "KEYWORDS"}});
  EXPECT_EQ(g.status.kind(), sdk::Status::Kind::kPermanent);
  EXPECT_NE(g.status.message().find("too little text for 5 keywords"), std::string::npos)
      << g.status.message();
  g = generate(run, {{"field", "PLUG"}});
  ASSERT_TRUE(g.status.is_ok()) << g.status.message();
  EXPECT_LE(chars(g.field["value"].get<std::string>()), 200u);

  // 200,000 sentences: at most 400 are ranked, the text read is the first 1 MiB.
  std::string many;
  for (int i = 0; many.size() < 4 * 1024 * 1024; ++i) {
    many += "Sentence number " + std::to_string(i) + " talks about topic " +
            std::to_string(i % 97) + " and about the weather today. ";
  }
  const std::string index = index_of(segments_json(many));
  for (const char* field : {"SUMMARY", "KEYWORDS"}) {
    g = generate(index, {{"field", field}});
    ASSERT_TRUE(g.status.is_ok()) << field << ": " << g.status.message();
    check_field(field, g.field["value"], many);
  }
  // Every sentence holds every keyword: no distractor is absent from any sentence.
  EXPECT_EQ(generate(index, {{"field", "QUESTIONS"}}).status.message(),
            "QUESTIONS: no question possible: none of the document's 400 candidate sentences "
            "contains one of its keywords with enough distractors");

  // Punctuation only: no words, no sentences to pick.
  const std::string dots = index_of(segments_json(std::string(10000, '.')));
  EXPECT_EQ(generate(dots, {{"field", "SUMMARY"}}).status.message(),
            "SUMMARY: the document has no sentences to pick from");
}

}  // namespace
}  // namespace gen::meta

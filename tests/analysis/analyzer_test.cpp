#include "gen/analysis/analyzer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace gen::analysis {
namespace {

std::vector<std::string> lowers(std::string_view text) {
  std::vector<std::string> out;
  for (const Word& word : words(text)) out.push_back(word.lower);
  return out;
}

TEST(Words, SplitAtPunctuationAndLowercaseWithOffsets) {
  std::string text = "Don't PANIC: l'Homme, the Übergröße-Test (v2.0)!";
  auto found = words(text);
  std::vector<std::string> expected{"don", "t",         "panic", "l",  "homme",
                                    "the", "übergröße", "test",  "v2", "0"};
  ASSERT_EQ(lowers(text), expected);
  EXPECT_EQ(text.substr(found[2].offset, found[2].size), "PANIC");
  EXPECT_EQ(text.substr(found[6].offset, found[6].size), "Übergröße");
}

TEST(Words, InvalidUtf8SeparatesAndLongWordsAreCut) {
  std::string text = std::string("abc\xff") + "def " + std::string(200, 'x');
  auto found = lowers(text);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0], "abc");
  EXPECT_EQ(found[1], "def");
  EXPECT_LE(found[2].size(), 64u);
  EXPECT_TRUE(lowers("").empty());
  EXPECT_TRUE(lowers("  --  \xe2\x80\x94 ...").empty());
}

TEST(StopWords, SnowballListsPerLanguage) {
  EXPECT_TRUE(is_stop_word(Language::kEnglish, "the"));
  EXPECT_FALSE(is_stop_word(Language::kEnglish, "printer"));
  EXPECT_TRUE(is_stop_word(Language::kGerman, "und"));
  EXPECT_TRUE(is_stop_word(Language::kGerman, "für"));
  EXPECT_FALSE(is_stop_word(Language::kEnglish, "und"));
  EXPECT_TRUE(is_stop_word(Language::kFrench, "avec"));
}

TEST(Stem, SnowballPerLanguage) {
  EXPECT_EQ(stem(Language::kEnglish, "running"), stem(Language::kEnglish, "runs"));
  EXPECT_EQ(stem(Language::kEnglish, "running"), "run");
  EXPECT_EQ(stem(Language::kEnglish, "connections"), stem(Language::kEnglish, "connected"));
  EXPECT_EQ(stem(Language::kGerman, "häuser"), stem(Language::kGerman, "haus"));
  EXPECT_EQ(stem(Language::kFrench, "chanteuses"), stem(Language::kFrench, "chanteuse"));
}

TEST(Stem, EachThreadHasItsOwnStemmer) {
  std::vector<std::thread> threads;
  std::vector<std::string> results(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&results, t] {
      std::string last;
      for (int i = 0; i < 2000; ++i) last = stem(Language::kEnglish, "generations");
      results[static_cast<std::size_t>(t)] = last;
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) EXPECT_EQ(result, stem(Language::kEnglish, "generations"));
}

TEST(IndexTerms, StemsWithoutStopWordsInOrder) {
  EXPECT_EQ(index_terms(Language::kEnglish, "The printers were running all night."),
            "printer run night");
  EXPECT_EQ(index_terms(Language::kEnglish, ""), "");
}

TEST(Languages, ParseAndNames) {
  EXPECT_EQ(parse_language("EN"), Language::kEnglish);
  EXPECT_EQ(parse_language("german"), Language::kGerman);
  EXPECT_EQ(parse_language("fr"), Language::kFrench);
  EXPECT_FALSE(parse_language("klingon").has_value());
  EXPECT_EQ(postgres_config(Language::kGerman), "german");
  EXPECT_EQ(language_code(Language::kFrench), "fr");
}

TEST(Languages, DetectFromStopWords) {
  EXPECT_EQ(detect_language("The printer is in the room and it is out of paper."),
            Language::kEnglish);
  EXPECT_EQ(detect_language("Der Drucker steht im Zimmer und hat kein Papier mehr, aber wir "
                            "haben noch welches."),
            Language::kGerman);
  EXPECT_EQ(detect_language("L'imprimante est dans la chambre et elle n'a plus de papier pour "
                            "les lettres."),
            Language::kFrench);
  EXPECT_EQ(detect_language("xyz qqq 12345"), Language::kEnglish);  // too little to tell
}

std::vector<std::string> sentence_texts(std::string_view text) {
  std::vector<std::string> out;
  for (const Sentence& s : sentences(text)) out.emplace_back(text.substr(s.offset, s.size));
  return out;
}

TEST(Sentences, SplitAtEndPunctuationNotAbbreviations) {
  auto found = sentence_texts(
      "Dr. Smith met J. Doe at 5 p.m. yesterday. They talked, e.g. about parsers! Why? "
      "Because.\n\nA new paragraph without a stop\n\nand another one.");
  std::vector<std::string> expected{"Dr. Smith met J. Doe at 5 p.m. yesterday.",
                                    "They talked, e.g. about parsers!",
                                    "Why?",
                                    "Because.",
                                    "A new paragraph without a stop",
                                    "and another one."};
  EXPECT_EQ(found, expected);
}

TEST(Sentences, LowercaseAfterPeriodDoesNotSplit) {
  EXPECT_EQ(sentence_texts("Version 2.0 is out. see the notes.").size(), 1u);
  EXPECT_TRUE(sentence_texts("   \n\n  ").empty());
}

}  // namespace
}  // namespace gen::analysis

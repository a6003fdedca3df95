// find_cuts: where pdf.render may cut a long Markdown document into parts parsed apart.
// The contract is checked against cmark-gfm itself: the parts, parsed one by one, give the
// same HTML as the whole document.
#include "find_cuts.hpp"

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm-extension_api.h>
#include <cmark-gfm.h>
#include <gtest/gtest.h>

#include "pdf_tools.hpp"

namespace {

using gen::pdf::find_cuts;

/// GitHub-flavoured HTML of `markdown`, parsed with the extensions pdf.render uses.
std::string html_of(std::string_view markdown) {
  cmark_gfm_core_extensions_ensure_registered();
  cmark_parser* parser = cmark_parser_new(CMARK_OPT_DEFAULT);
  for (const char* name : {"table", "strikethrough", "autolink", "tasklist"}) {
    if (cmark_syntax_extension* ext = cmark_find_syntax_extension(name)) {
      cmark_parser_attach_syntax_extension(parser, ext);
    }
  }
  cmark_parser_feed(parser, markdown.data(), markdown.size());
  cmark_node* root = cmark_parser_finish(parser);
  char* html =
      cmark_render_html(root, CMARK_OPT_DEFAULT, cmark_parser_get_syntax_extensions(parser));
  std::string out = html;
  std::free(html);
  cmark_node_free(root);
  cmark_parser_free(parser);
  return out;
}

/// The parts `cuts` make of `text`.
std::vector<std::string_view> parts_of(std::string_view text, const std::vector<size_t>& cuts) {
  std::vector<std::string_view> parts;
  size_t begin = 0;
  for (size_t cut : cuts) {
    parts.push_back(text.substr(begin, cut - begin));
    begin = cut;
  }
  parts.push_back(text.substr(begin));
  return parts;
}

/// A long document with every kind of block, headings that may be cut before and lines that
/// look like headings but may not be (in fences, after a paragraph line, indented).
std::string long_document(int sections) {
  std::string md = "# Title\n\nIntro paragraph.\n\n";
  for (int i = 0; i < sections; ++i) {
    const std::string n = std::to_string(i);
    md += "## Section " + n +
          "\n\nSome *text* with `code` and ~~strike~~ and a link "
          "https://example.com/" +
          n + " here.\n";
    md += "# not a cut: continues the paragraph? no, a heading right after a line\n\n";
    md += "- item one\n- item two\n\n  loose continuation\n\n";
    md += "````\ncode\n\n# inside a fence\n```\n````\n\n";
    md += "~~~~\n\n# inside a tilde fence\n~~~\n~~~~\n\n";
    md += "| a | b |\n|---|:-:|\n| " + n + " | x |\n\n";
    md += "> quote\n>\n> # heading in a quote\n\n";
    md += "   # indented heading\n\n";
    md += "    # indented code, not a heading\n\n";
    md += "#hashtag is a paragraph\n\n";
    md += "####### seven hashes is a paragraph\n\n";
    md += "#\n\n";
    md += "1. ordered\n2. list\n\n";
    md += "Setext heading\n==============\n\n";
  }
  return md;
}

TEST(FindCuts, ShortTextIsNotCut) {
  EXPECT_TRUE(find_cuts("", 10).empty());
  EXPECT_TRUE(find_cuts("# a\n\n# b\n", 1000).empty());
}

TEST(FindCuts, CutsBeforeAtxHeadingsAfterABlankLine) {
  const std::string text = "# one\n\ntext\n\n# two\n\nmore\n\n## three\n";
  const std::vector<size_t> cuts = find_cuts(text, 1);
  ASSERT_EQ(cuts.size(), 2u);
  EXPECT_EQ(cuts[0], text.find("# two"));
  EXPECT_EQ(cuts[1], text.find("## three"));
}

TEST(FindCuts, AtMostOneCutPerStep) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "# h" + std::to_string(i) + "\n\nparagraph\n\n";
  const std::vector<size_t> cuts = find_cuts(text, 100);
  ASSERT_FALSE(cuts.empty());
  EXPECT_GE(cuts.front(), 100u);
  for (size_t i = 1; i < cuts.size(); ++i) EXPECT_GE(cuts[i] - cuts[i - 1], 100u);
  // A step smaller than a section: a cut before every heading but the first.
  EXPECT_EQ(find_cuts(text, 1).size(), 99u);
}

TEST(FindCuts, NoCutWhereAHeadingIsNotOneOrFollowsText) {
  // After a paragraph line, indented, without a space, seven hashes.
  for (const char* line :
       {"text\n# h\n", "text\n\n # h\n", "text\n\n#h\n", "text\n\n####### h\n"}) {
    EXPECT_TRUE(find_cuts(line, 1).empty()) << line;
  }
  // An empty heading and one with a tab are headings.
  EXPECT_EQ(find_cuts("text\n\n#\n", 1), std::vector<size_t>{6});
  EXPECT_EQ(find_cuts("text\n\n##\th\n", 1), std::vector<size_t>{6});
  // A line of spaces counts as blank.
  EXPECT_EQ(find_cuts("text\n  \t\n# h\n", 1), std::vector<size_t>{9});
}

TEST(FindCuts, NoCutInsideFencedCode) {
  EXPECT_TRUE(find_cuts("```\n\n# h\n```\n", 1).empty());
  // A closing fence needs the opening's character and at least its length.
  const std::string text = "````\n\n# a\n```\n~~~~\n\n# b\n````\n\n# c\n";
  EXPECT_EQ(find_cuts(text, 1), std::vector<size_t>{text.find("# c")});
  // A fence line with text after the run does not close it.
  const std::string info = "```\n\n# a\n``` x\n\n# b\n```\n\n# c\n";
  EXPECT_EQ(find_cuts(info, 1), std::vector<size_t>{info.find("# c")});
}

TEST(FindCuts, UnclosedFenceMeansNoCuts) {
  EXPECT_TRUE(find_cuts("# a\n\ntext\n\n# b\n\n```\ncode\n\n# c\n", 1).empty());
}

TEST(FindCuts, HtmlOrLinkReferenceDefinitionsMeanNoCuts) {
  const std::string base = "# a\n\ntext\n\n# b\n\n";
  EXPECT_FALSE(find_cuts(base, 1).empty());
  EXPECT_TRUE(find_cuts(base + "<div>\n\n# c\n\n</div>\n", 1).empty());
  EXPECT_TRUE(find_cuts(base + "[ref]: https://example.com\n", 1).empty());
  EXPECT_TRUE(find_cuts("   <br>\n" + base, 1).empty());
  // Indented four spaces, it is code: cutting stays allowed.
  EXPECT_FALSE(find_cuts(base + "    <div>\n", 1).empty());
}

TEST(FindCuts, PartsParseAsTheWholeDoes) {
  for (const std::string& text :
       {long_document(200), gen::pdf::test::test_data("all_elements.md") + "\n\n" +
                                gen::pdf::test::test_data("all_elements.md")}) {
    for (size_t step : {size_t{1}, size_t{500}, size_t{32 * 1024}}) {
      const std::vector<size_t> cuts = find_cuts(text, step);
      std::string joined;
      for (std::string_view part : parts_of(text, cuts)) joined += html_of(part);
      EXPECT_EQ(joined, html_of(text)) << "step " << step << ", " << cuts.size() << " cuts";
    }
  }
  // The check is not vacuous: the long document is cut, and a cut find_cuts refuses (inside
  // a fence) changes the HTML.
  EXPECT_GE(find_cuts(long_document(200), 32 * 1024).size(), 3u);
  const std::string fenced = "```\ncode\n\n# h\n```\n";
  const size_t inside = fenced.find("# h");
  EXPECT_NE(html_of(fenced.substr(0, inside)) + html_of(fenced.substr(inside)), html_of(fenced));
}

}  // namespace

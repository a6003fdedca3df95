// gen::cli: one table per program drives both the parser and the help text.
#include "gen/core/base/cli.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace gen::cli {
namespace {

const Program& program() {
  static const Program kProgram{
      .name = "tool",
      .summary = "Does things.",
      .options = {{"--env-file", "PATH", "settings file"}},
      .commands =
          {
              {.name = "serve", .help = "serve forever", .is_default = true},
              {.name = "submit",
               .help = "submit a job",
               .options = {{"--step", "GENERATOR", "a step", true},
                           {"--params", "JSON", "its params", true},
                           {"--wait", "", "wait for the end"}}},
              {.name = "jobs list",
               .help = "list jobs",
               .options = {{"--limit", "N", "at most N"}},
               .is_default = true},
              {.name = "jobs show", .args = "ID", .help = "one job"},
              {.name = "artifacts get", .args = "JOB NAME [FILE]", .help = "download"},
              {.name = "cat", .args = "FILE...", .help = "print files"},
          },
      .epilog = "exit codes: 0 ok, 2 usage\n"};
  return kProgram;
}

Parsed parse_words(std::vector<std::string> words) {
  return parse(program(), words);
}

TEST(Cli, TheDefaultCommandRunsWithoutWords) {
  Parsed p = parse_words({"--env-file", "/etc/x.env"});
  ASSERT_NE(p.command, nullptr);
  EXPECT_EQ(p.command->name, "serve");
  EXPECT_EQ(p.value_or("--env-file", ""), "/etc/x.env");
  EXPECT_FALSE(p.help);
}

TEST(Cli, OptionsGoAnywhereInBothSpellings) {
  Parsed p = parse_words({"--limit=5", "jobs", "--env-file", "a.env", "list"});
  ASSERT_NE(p.command, nullptr);
  EXPECT_EQ(p.command->name, "jobs list");
  EXPECT_EQ(p.value_or("--limit", "100"), "5");
  EXPECT_EQ(p.value_or("--env-file", ""), "a.env");
  EXPECT_FALSE(p.value("--missing").has_value());
  EXPECT_TRUE(p.args.empty());
}

TEST(Cli, AGroupWordAloneMeansItsDefault) {
  EXPECT_EQ(parse_words({"jobs"}).command->name, "jobs list");
  Parsed show = parse_words({"jobs", "show", "j-1"});
  EXPECT_EQ(show.command->name, "jobs show");
  EXPECT_EQ(show.args, std::vector<std::string>{"j-1"});
}

TEST(Cli, RepeatedOptionsKeepTheirOrderAcrossNames) {
  Parsed p = parse_words({"submit", "--step", "a", "--params", "{}", "--step", "b", "--wait"});
  EXPECT_EQ(p.values("--step"), (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(p.options.size(), 4u);
  EXPECT_EQ(p.options[1], (std::pair<std::string, std::string>{"--params", "{}"}));
  EXPECT_EQ(p.options[2].second, "b");
  EXPECT_TRUE(p.has("--wait"));
  EXPECT_EQ(p.value_or("--wait", "absent"), "");
}

TEST(Cli, ArgumentCountsComeFromTheArgsText) {
  EXPECT_EQ(parse_words({"artifacts", "get", "j", "n"}).args.size(), 2u);
  EXPECT_EQ(parse_words({"artifacts", "get", "j", "n", "f"}).args.size(), 3u);
  EXPECT_EQ(parse_words({"cat", "a", "b", "c"}).args.size(), 3u);
  try {
    parse_words({"artifacts", "get", "j"});
    FAIL() << "too few arguments accepted";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "usage: tool [options] artifacts get JOB NAME [FILE]");
  }
  EXPECT_THROW(parse_words({"artifacts", "get", "j", "n", "f", "g"}), UsageError);
  EXPECT_THROW(parse_words({"cat"}), UsageError);
  EXPECT_THROW(parse_words({"jobs", "show"}), UsageError);
  EXPECT_THROW(parse_words({"serve", "extra"}), UsageError);
}

TEST(Cli, RefusesWhatTheTableDoesNotSay) {
  auto message = [](std::vector<std::string> words) -> std::string {
    try {
      parse_words(std::move(words));
    } catch (const UsageError& e) {
      return e.what();
    }
    return "(accepted)";
  };
  EXPECT_EQ(message({"--frobnicate"}), "unknown option --frobnicate");
  EXPECT_EQ(message({"frobnicate"}), "unknown command 'frobnicate' (tool --help)");
  EXPECT_EQ(message({"jobs", "frob"}), "unknown command 'jobs frob' (tool --help)");
  EXPECT_EQ(message({"submit", "--step"}), "--step needs a value");
  EXPECT_EQ(message({"submit", "--wait=yes"}), "--wait takes no value");
  EXPECT_EQ(message({"jobs", "list", "--wait"}),
            "--wait is not an option of 'jobs list' (tool jobs list --help)");
  EXPECT_EQ(message({"jobs", "--limit", "1", "--limit", "2"}), "--limit given twice");
}

TEST(Cli, HelpAndVersionNeedNoValidCommandLine) {
  EXPECT_TRUE(parse_words({"-h"}).help);
  EXPECT_EQ(parse_words({"--help"}).command, nullptr) << "the whole program's help, not serve's";
  EXPECT_TRUE(parse_words({"help"}).help);
  EXPECT_TRUE(parse_words({"frobnicate", "--help"}).help);
  Parsed show = parse_words({"jobs", "show", "--help"});
  EXPECT_TRUE(show.help);
  EXPECT_EQ(show.command->name, "jobs show");
  EXPECT_TRUE(parse_words({"version"}).version);
  EXPECT_TRUE(parse_words({"--version"}).version);
}

TEST(Cli, DoubleDashEndsTheOptions) {
  Parsed p = parse_words({"cat", "--", "--not-an-option", "-"});
  EXPECT_EQ(p.args, (std::vector<std::string>{"--not-an-option", "-"}));
}

TEST(Cli, HelpComesFromTheTable) {
  const std::string text = help(program());
  EXPECT_TRUE(text.starts_with("usage: tool [options] <command> [args]\n")) << text;
  for (const char* expected :
       {"Does things.", "--env-file PATH", "settings file", "-h, --help", "--version", "serve",
        "serve forever (default)", "    --step GENERATOR", "a step (repeatable)",
        "artifacts get JOB NAME [FILE]", "exit codes: 0 ok"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << " missing from\n" << text;
  }
  const std::string one = help(program(), parse_words({"submit", "--help"}).command);
  EXPECT_TRUE(one.starts_with("usage: tool [options] submit\n")) << one;
  EXPECT_NE(one.find("--params JSON"), std::string::npos) << one;
  EXPECT_EQ(one.find("at most N"), std::string::npos) << "another command's option:\n" << one;
}

TEST(Cli, AProgramWithoutCommandsTakesItsArguments) {
  const Program check{.name = "check",
                      .commands = {{.args = "PLUGIN.so", .options = {{"--json", "", "as JSON"}}}}};
  Parsed p = parse(check, {"--json", "x.so"});
  EXPECT_EQ(p.args, std::vector<std::string>{"x.so"});
  EXPECT_TRUE(p.has("--json"));
  EXPECT_THROW(parse(check, {}), UsageError);
  EXPECT_THROW(parse(check, {"a.so", "b.so"}), UsageError);
  EXPECT_FALSE(parse(check, {"version"}).version) << "a plugin may be called 'version'";
  const std::string text = help(check);
  EXPECT_TRUE(text.starts_with("usage: check [options] PLUGIN.so\n")) << text;
  EXPECT_NE(text.find("--json"), std::string::npos) << text;
}

TEST(Cli, InputFilesAndTheirMediaTypes) {
  InputFile plain = parse_input("notes.md");
  EXPECT_EQ(plain.path.string(), "notes.md");
  EXPECT_EQ(plain.media_type, "text/markdown");
  InputFile typed = parse_input("data.bin:application/json");
  EXPECT_EQ(typed.path.string(), "data.bin");
  EXPECT_EQ(typed.media_type, "application/json");
  InputFile at = parse_input("in.txt@text/x-custom");
  EXPECT_EQ(at.path.string(), "in.txt");
  EXPECT_EQ(at.media_type, "text/x-custom");
  EXPECT_EQ(parse_input("a:b").path.string(), "a:b") << "no type after the colon";
  EXPECT_EQ(parse_input("a:b").media_type, "application/octet-stream");

  // A file whose name looks like FILE:TYPE is itself.
  const auto dir = std::filesystem::temp_directory_path() / "gen-cli-test";
  std::filesystem::create_directories(dir / "x:text");
  std::ofstream(dir / "x:text" / "plain") << "x";
  InputFile whole = parse_input((dir / "x:text" / "plain").string());
  EXPECT_EQ(whole.path.string(), (dir / "x:text" / "plain").string());
  EXPECT_EQ(whole.media_type, "application/octet-stream");
  std::filesystem::remove_all(dir);

  EXPECT_EQ(guess_media_type("a.JSON"), "application/octet-stream");
  EXPECT_EQ(guess_media_type("a.jpeg"), "image/jpeg");
  EXPECT_EQ(guess_media_type("invoice.md.mustache"), "text/plain");
}

}  // namespace
}  // namespace gen::cli

// The command line of every Generator executable (generator-backend, generator-worker,
// generatorctl, generator-plugin-check): each program declares its commands and their options
// in one table, and the parser and the help text both come from that table (as qpdf's job.yml
// drives its argv parser and its --help).
//
//   const cli::Program kProgram{
//       .name = "generator-worker",
//       .options = {{"--env-file", "PATH", "settings file (KEY=VALUE lines)"}},
//       .commands = {{.name = "run", .help = "supervise the worker processes", .is_default = true},
//                    {.name = "migrate", .help = "apply the database migrations and exit"}}};
//   cli::Parsed args = cli::parse(kProgram, std::vector<std::string>(argv + 1, argv + argc));
//   if (args.help) std::cout << cli::help(kProgram, args.command);
//
// Syntax, the same for every program: options and positional arguments in any order;
// `--name VALUE` or `--name=VALUE`; flags take no value; `--` ends the options. A command is
// one or two words ("migrate", "jobs list"); its positional arguments follow it.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gen::cli {

/// One option. `value` names its argument in the help ("DIR"); empty means a flag.
struct Option {
  std::string_view name = {};   // "--output-dir"
  std::string_view value = {};  // "DIR", or "" for a flag
  std::string_view help = {};   // one line; "(repeatable)" is added for repeatable options
  bool repeatable = false;
  std::string_view short_name = {};  // "-h"
};

/// One command: a word or two, its positional arguments and its own options.
struct Command {
  /// "serve", "jobs list"; "" for a program without commands (its arguments are the program's).
  std::string_view name = {};
  /// The positional arguments as the help shows them: "ID", "JOB NAME", "[ID]", "PLUGIN.so",
  /// "FILE...". Plain words are required, bracketed ones optional, "..." repeats the last:
  /// the parser derives the accepted count from this text.
  std::string_view args = {};
  std::string_view help = {};
  std::vector<Option> options = {};
  /// The program's command when none is given ("serve"), or, for a two-word command, the
  /// one its first word alone means ("jobs" runs "jobs list").
  bool is_default = false;
};

/// A program: its global options (valid with every command), commands and the text after
/// the generated help (exit codes, settings). `--help`/`-h` and `--version` are implied.
struct Program {
  std::string_view name = {};
  std::string_view summary = {};  // one paragraph after the usage line
  std::vector<Option> options = {};
  std::vector<Command> commands = {};
  std::string_view epilog = {};
};

/// A command line the program cannot run: the message names what is wrong. Programs print
/// "<program>: <message>" and exit 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What parse() found.
struct Parsed {
  /// The command given (or the default one); nullptr only with `help` or `version` when no
  /// command was named.
  const Command* command = nullptr;
  std::vector<std::string> args;  // positional arguments after the command's words
  /// Every option in the order given, flags with an empty value: an option whose meaning
  /// depends on its neighbours (generatorctl's --step ... --params) reads this list.
  std::vector<std::pair<std::string, std::string>> options;
  bool help = false;     // --help, -h or the command word "help"
  bool version = false;  // --version or the command word "version"

  bool has(std::string_view name) const;
  /// The last value given for `name`, or nullopt.
  std::optional<std::string> value(std::string_view name) const;
  std::string value_or(std::string_view name, std::string fallback) const;
  /// Every value given for a repeatable option, in order.
  std::vector<std::string> values(std::string_view name) const;
};

/// Parses `argv` (without the program name) against `program`. Throws UsageError for an
/// unknown option, an option the command does not take, a missing value, a flag given a
/// value, an unknown command, or too few or too many arguments. With --help or --version
/// the arguments are not checked (a broken command line may still ask for help).
Parsed parse(const Program& program, const std::vector<std::string>& argv);

/// The help text: usage line, summary, global options, every command with its options, the
/// epilog. With `command`, that command's usage and options only (plus the global options).
std::string help(const Program& program, const Command* command = nullptr);

/// An input file given on a command line as FILE or FILE:TYPE (`--input data.json`,
/// `--input notes:text/markdown`). A text that names an existing file is that file, whole;
/// otherwise the type follows the last ':' when what follows is a media type ("type/subtype").
/// FILE@TYPE, generator-plugin-check's earlier spelling, is read the same way. Without a type,
/// it is guessed from the extension.
struct InputFile {
  std::filesystem::path path;
  std::string media_type;
};
InputFile parse_input(std::string_view spec);

/// The media type for a file name's extension (.json, .md, .txt, .html, .csv, .xml, .pdf,
/// .png, .jpg/.jpeg, .mustache as text/plain), "application/octet-stream" otherwise.
std::string guess_media_type(const std::filesystem::path& path);

}  // namespace gen::cli

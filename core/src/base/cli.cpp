#include "gen/core/base/cli.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <system_error>

#include "gen/core/base/media_type.hpp"

namespace gen::cli {
namespace {

const Option kHelp{"--help", "", "print this help and exit", false, "-h"};
const Option kVersion{"--version", "", "print the version and exit"};

bool has_named_commands(const Program& program) {
  return std::any_of(program.commands.begin(), program.commands.end(),
                     [](const Command& c) { return !c.name.empty(); });
}

std::string first_word(std::string_view name) {
  return std::string(name.substr(0, name.find(' ')));
}

// Every option any command takes, by name and short name: whether a word is an option, and
// whether it takes a value, does not depend on the command (the command may come later).
std::map<std::string, const Option*, std::less<>> all_options(const Program& program) {
  std::map<std::string, const Option*, std::less<>> all;
  auto add = [&](const Option& o) {
    all.emplace(std::string(o.name), &o);
    if (!o.short_name.empty()) all.emplace(std::string(o.short_name), &o);
  };
  add(kHelp);
  add(kVersion);
  for (const Option& o : program.options) add(o);
  for (const Command& c : program.commands) {
    for (const Option& o : c.options) add(o);
  }
  return all;
}

const Option* find_option(const std::vector<Option>& options, std::string_view name) {
  for (const Option& o : options) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

struct Arity {
  std::size_t min = 0;
  std::size_t max = 0;
};

Arity arity(std::string_view args) {
  Arity a;
  std::size_t start = 0;
  while (start < args.size()) {
    std::size_t end = args.find(' ', start);
    if (end == std::string_view::npos) end = args.size();
    const std::string_view word = args.substr(start, end - start);
    if (!word.empty()) {
      if (!word.starts_with('[')) ++a.min;
      a.max = word.ends_with("...") || word.ends_with("...]")
                  ? std::numeric_limits<std::size_t>::max()
                  : (a.max == std::numeric_limits<std::size_t>::max() ? a.max : a.max + 1);
    }
    start = end + 1;
  }
  return a;
}

std::string usage_line(const Program& program, const Command* command) {
  std::string line = "usage: " + std::string(program.name) + " [options]";
  if (command == nullptr) {
    if (has_named_commands(program)) return line + " <command> [args]";
    if (!program.commands.empty() && !program.commands.front().args.empty()) {
      line += " " + std::string(program.commands.front().args);
    }
    return line;
  }
  if (!command->name.empty()) line += " " + std::string(command->name);
  if (!command->args.empty()) line += " " + std::string(command->args);
  return line;
}

std::string left_column(const Option& o) {
  std::string left;
  if (!o.short_name.empty()) left = std::string(o.short_name) + ", ";
  left += std::string(o.name);
  if (!o.value.empty()) left += " " + std::string(o.value);
  return left;
}

// "  LEFT    help" lines, the help column aligned; a long left column puts help underneath.
void append_rows(std::string& out, const std::vector<std::pair<std::string, std::string>>& rows,
                 std::size_t indent) {
  constexpr std::size_t kMaxLeft = 30;
  std::size_t width = 0;
  for (const auto& [left, text] : rows) {
    if (left.size() <= kMaxLeft) width = std::max(width, left.size());
  }
  for (const auto& [left, text] : rows) {
    out += std::string(indent, ' ') + left;
    if (text.empty()) {
      out += "\n";
    } else if (left.size() > width) {
      out += "\n" + std::string(indent + width + 2, ' ') + text + "\n";
    } else {
      out += std::string(width - left.size() + 2, ' ') + text + "\n";
    }
  }
}

std::vector<std::pair<std::string, std::string>> option_rows(const std::vector<Option>& options) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const Option& o : options) {
    rows.emplace_back(left_column(o), std::string(o.help) + (o.repeatable ? " (repeatable)" : ""));
  }
  return rows;
}

std::vector<Option> global_options(const Program& program) {
  std::vector<Option> options = program.options;
  options.push_back(kHelp);
  options.push_back(kVersion);
  return options;
}

}  // namespace

bool Parsed::has(std::string_view name) const {
  return std::any_of(options.begin(), options.end(),
                     [&](const auto& o) { return o.first == name; });
}

std::optional<std::string> Parsed::value(std::string_view name) const {
  for (auto it = options.rbegin(); it != options.rend(); ++it) {
    if (it->first == name) return it->second;
  }
  return std::nullopt;
}

std::string Parsed::value_or(std::string_view name, std::string fallback) const {
  std::optional<std::string> v = value(name);
  return v ? *v : std::move(fallback);
}

std::vector<std::string> Parsed::values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [n, v] : options) {
    if (n == name) out.push_back(v);
  }
  return out;
}

Parsed parse(const Program& program, const std::vector<std::string>& argv) {
  const auto known = all_options(program);
  Parsed parsed;
  std::vector<std::string> positional;
  bool options_ended = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& word = argv[i];
    if (options_ended || word.size() < 2 || word[0] != '-') {
      positional.push_back(word);
      continue;
    }
    if (word == "--") {
      options_ended = true;
      continue;
    }
    std::string name = word;
    std::optional<std::string> value;
    if (const auto eq = word.find('='); word.starts_with("--") && eq != std::string::npos) {
      name = word.substr(0, eq);
      value = word.substr(eq + 1);
    }
    const auto it = known.find(name);
    if (it == known.end()) throw UsageError("unknown option " + name);
    const Option& option = *it->second;
    if (option.value.empty()) {
      if (value) throw UsageError(std::string(option.name) + " takes no value");
    } else if (!value) {
      if (i + 1 >= argv.size()) throw UsageError(std::string(option.name) + " needs a value");
      value = argv[++i];
    }
    if (option.name == kHelp.name) {
      parsed.help = true;
    } else if (option.name == kVersion.name) {
      parsed.version = true;
    } else {
      parsed.options.emplace_back(std::string(option.name), value.value_or(""));
    }
  }

  // The command: a program without named commands has one, which takes every positional.
  const bool named = has_named_commands(program);
  std::size_t used = 0;
  if (!named) {
    if (!program.commands.empty()) parsed.command = &program.commands.front();
  } else if (positional.empty()) {
    for (const Command& c : program.commands) {
      if (parsed.help) break;  // --help alone: the whole program's help, not its default's
      if (c.is_default && c.name.find(' ') == std::string_view::npos) parsed.command = &c;
    }
  } else if (positional[0] == "help" || positional[0] == "version") {
    (positional[0] == "help" ? parsed.help : parsed.version) = true;
    used = 1;
  } else {
    const std::string& word = positional[0];
    const std::string two = positional.size() > 1 ? word + " " + positional[1] : "";
    const Command* group_default = nullptr;
    bool is_group = false;
    for (const Command& c : program.commands) {
      if (!two.empty() && c.name == two) {
        parsed.command = &c;
        used = 2;
        break;
      }
      if (c.name == word) {
        parsed.command = &c;
        used = 1;
      } else if (first_word(c.name) == word && c.name.size() > word.size()) {
        is_group = true;
        if (c.is_default) group_default = &c;
      }
    }
    if (parsed.command == nullptr && is_group && positional.size() == 1) {
      parsed.command = group_default;
      used = 1;
    }
    if (parsed.command == nullptr && !parsed.help && !parsed.version) {
      throw UsageError("unknown command '" + (is_group && !two.empty() ? two : word) + "' (" +
                       std::string(program.name) + " --help)");
    }
  }
  parsed.args.assign(positional.begin() + static_cast<std::ptrdiff_t>(used), positional.end());
  if (parsed.help || parsed.version) return parsed;
  if (parsed.command == nullptr) {
    if (!positional.empty()) throw UsageError("unexpected argument '" + positional[0] + "'");
    return parsed;
  }

  // Options the command does not take, and options given twice that do not repeat.
  const std::string where =
      parsed.command->name.empty() ? std::string() : " '" + std::string(parsed.command->name) + "'";
  for (std::size_t i = 0; i < parsed.options.size(); ++i) {
    const std::string& name = parsed.options[i].first;
    const Option* option = find_option(parsed.command->options, name);
    if (option == nullptr) option = find_option(program.options, name);
    if (option == nullptr) {
      throw UsageError(
          name + " is not an option of" + where + " (" + std::string(program.name) +
          (parsed.command->name.empty() ? "" : " " + std::string(parsed.command->name)) +
          " --help)");
    }
    if (!option->repeatable) {
      for (std::size_t j = 0; j < i; ++j) {
        if (parsed.options[j].first == name) throw UsageError(name + " given twice");
      }
    }
  }
  const Arity a = arity(parsed.command->args);
  if (parsed.args.size() < a.min) throw UsageError(usage_line(program, parsed.command));
  if (parsed.args.size() > a.max) {
    throw UsageError("unexpected argument '" + parsed.args[a.max] + "'");
  }
  return parsed;
}

std::string help(const Program& program, const Command* command) {
  std::string out = usage_line(program, command) + "\n";
  if (command != nullptr && !command->name.empty()) {
    if (!command->help.empty()) out += "\n" + std::string(command->help) + "\n";
    if (!command->options.empty()) {
      out += "\noptions of " + std::string(command->name) + ":\n";
      append_rows(out, option_rows(command->options), 2);
    }
    out += "\noptions:\n";
    append_rows(out, option_rows(global_options(program)), 2);
    return out;
  }
  if (!program.summary.empty()) out += "\n" + std::string(program.summary) + "\n";
  out += "\noptions:\n";
  std::vector<Option> options = global_options(program);
  if (!has_named_commands(program) && !program.commands.empty()) {
    options.insert(options.begin(), program.commands.front().options.begin(),
                   program.commands.front().options.end());
  }
  append_rows(out, option_rows(options), 2);
  if (has_named_commands(program)) {
    out += "\ncommands:\n";
    std::vector<std::pair<std::string, std::string>> rows;
    for (const Command& c : program.commands) {
      std::string left = std::string(c.name);
      if (!c.args.empty()) left += " " + std::string(c.args);
      rows.emplace_back(
          left,
          std::string(c.help) +
              (c.is_default && c.name.find(' ') == std::string_view::npos ? " (default)" : ""));
      for (auto& row : option_rows(c.options)) rows.emplace_back("    " + row.first, row.second);
    }
    append_rows(out, rows, 2);
  }
  if (!program.epilog.empty()) out += "\n" + std::string(program.epilog);
  return out;
}

InputFile parse_input(std::string_view spec) {
  InputFile in{std::filesystem::path(spec), {}};
  std::error_code ec;
  if (!std::filesystem::exists(in.path, ec)) {
    for (char separator : {':', '@'}) {
      const auto at = spec.rfind(separator);
      if (at == std::string_view::npos || at == 0) continue;
      const std::string_view type = spec.substr(at + 1);
      if (type.find('/') == std::string_view::npos || !is_valid_media_type(type)) continue;
      in.path = std::filesystem::path(spec.substr(0, at));
      in.media_type = std::string(type);
      return in;
    }
  }
  in.media_type = guess_media_type(in.path);
  return in;
}

std::string guess_media_type(const std::filesystem::path& path) {
  static const std::map<std::string, std::string, std::less<>> kTypes = {
      {".json", "application/json"}, {".md", "text/markdown"},    {".txt", "text/plain"},
      {".html", "text/html"},        {".csv", "text/csv"},        {".pdf", "application/pdf"},
      {".xml", "application/xml"},   {".mustache", "text/plain"}, {".png", "image/png"},
      {".jpg", "image/jpeg"},        {".jpeg", "image/jpeg"}};
  const auto it = kTypes.find(path.extension().string());
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

}  // namespace gen::cli

#include "hello_greet.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace hello {

using gen::sdk::Context;
using gen::sdk::GeneratorInfo;
using gen::sdk::ParamType;
using gen::sdk::Status;

GeneratorInfo GreetGenerator::info() const {
  GeneratorInfo info;
  info.id = "hello.greet";
  info.version = "1.0.0";
  info.description = "Greets a name, or every line of the text inputs, in greeting.txt";
  info.params = {
      {.name = "name",
       .type = ParamType::kString,
       .default_value = "world",
       .description = "Who to greet when there are no inputs"},
      {.name = "greeting",
       .type = ParamType::kString,
       .default_value = "Hello",
       .description = "The word before the name"},
      {.name = "punctuation",
       .type = ParamType::kString,
       .default_value = "!",
       .description = "How it ends",
       .allowed_values = {"!", "."}},
  };
  info.input_media_types = {"text/plain"};
  info.output_media_types = {"text/plain"};
  return info;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::vector<std::string> names_from_inputs(const Context& context) {
  std::vector<std::string> names;
  for (const auto& input : context.inputs()) {
    std::string_view rest = input.data;
    while (!rest.empty()) {
      const auto eol = rest.find('\n');
      const std::string_view line = trim(rest.substr(0, eol));
      if (!line.empty()) names.emplace_back(line);
      rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    }
  }
  return names;
}

}  // namespace

Status GreetGenerator::run(Context& context) {
  const auto& params = context.params();
  const std::string greeting = params.value("greeting", "Hello");
  const std::string punctuation = params.value("punctuation", "!");

  std::vector<std::string> names;
  if (context.inputs().empty()) {
    names.push_back(params.value("name", "world"));
  } else {
    names = names_from_inputs(context);
    if (names.empty()) return Status::permanent("inputs: no names (every line is empty)");
  }
  for (const std::string& name : names) {
    if (trim(name).empty()) return Status::permanent("params.name: must not be empty");
  }

  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (context.cancelled()) return Status::retryable("cancelled");
    text += greeting + ", " + names[i] + punctuation + "\n";
    context.progress(static_cast<double>(i + 1) / static_cast<double>(names.size()));
  }
  context.write_output("greeting.txt", "text/plain", text);
  context.log(gen::sdk::LogLevel::kInfo, "greeted " + std::to_string(names.size()) + " name(s)");
  return Status::ok();
}

}  // namespace hello

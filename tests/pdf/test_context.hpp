// A gen::sdk::Context for running the pdf generators in-process.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gen/sdk/generator.hpp>

namespace gen::pdf::test {

struct Output {
  std::string media_type;
  std::string data;
};

class TestContext final : public gen::sdk::Context {
 public:
  explicit TestContext(nlohmann::json params = nlohmann::json::object())
      : params_(std::move(params)) {}

  /// Adds an input; the bytes are owned by the context.
  void add_input(std::string name, std::string media_type, std::string data) {
    storage_.push_back(std::make_unique<std::string>(std::move(data)));
    inputs_.push_back({std::move(name), std::move(media_type), *storage_.back()});
  }

  const nlohmann::json& params() const override { return params_; }
  const std::vector<gen::sdk::InputArtifact>& inputs() const override { return inputs_; }
  void write_output(std::string_view name, std::string_view media_type,
                    std::string_view data) override {
    outputs[std::string(name)] = Output{std::string(media_type), std::string(data)};
  }
  void progress(double fraction) override { last_progress = fraction; }
  bool cancelled() const override { return false; }
  void log(gen::sdk::LogLevel, std::string_view message) override { logs.emplace_back(message); }
  std::optional<std::string> setting(std::string_view) const override { return std::nullopt; }
  std::string_view job_id() const override { return "job-test"; }
  std::string_view task_id() const override { return "task-test"; }
  int attempt() const override { return 1; }

  std::map<std::string, Output> outputs;
  std::vector<std::string> logs;
  double last_progress = 0;

 private:
  nlohmann::json params_;
  std::vector<std::unique_ptr<std::string>> storage_;
  std::vector<gen::sdk::InputArtifact> inputs_;
};

}  // namespace gen::pdf::test

// bench_template: renders the example invoice template (examples/invoice) with 1,000 line
// items 1,000 times through the text.template generator, in-process: params and data are
// handed over as the worker hands them (a validated params object), the template is compiled
// and rendered and the output written, on every run. Peers rendered the same template and
// data on the same 2-core machine: handlebars 3,979 renders/s, mustache.js 2,160.
//
//   bench_template [--runs N] [--items N] [--out file.md]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <gen/sdk/generator.hpp>

namespace {

constexpr double kHandlebarsPerSecond = 3979;
constexpr double kMustacheJsPerSecond = 2160;

class Registry final : public gen::sdk::Registry {
 public:
  void add(std::unique_ptr<gen::sdk::Generator> generator) override {
    generators.push_back(std::move(generator));
  }
  std::vector<std::unique_ptr<gen::sdk::Generator>> generators;
};

class BenchContext final : public gen::sdk::Context {
 public:
  explicit BenchContext(const nlohmann::json& params) : params_(params) {}
  const nlohmann::json& params() const override { return params_; }
  const std::vector<gen::sdk::InputArtifact>& inputs() const override { return inputs_; }
  void write_output(std::string_view, std::string_view, std::string_view data) override {
    bytes = data.size();
    if (keep) output.assign(data);
  }
  void progress(double) override {}
  bool cancelled() const override { return false; }
  void log(gen::sdk::LogLevel, std::string_view) override {}
  std::optional<std::string> setting(std::string_view) const override { return std::nullopt; }
  std::string_view job_id() const override { return "bench"; }
  std::string_view task_id() const override { return "bench"; }
  int attempt() const override { return 1; }

  size_t bytes = 0;
  bool keep = false;
  std::string output;

 private:
  const nlohmann::json& params_;
  std::vector<gen::sdk::InputArtifact> inputs_;
};

nlohmann::json invoice_data(int items) {
  static const char* const kDescriptions[] = {
      "Document rendering, November", "PDF merge jobs",           "Priority support (monthly)",
      "Template storage & <archive>", "Ωmega typesetting add-on", "Печать счетов"};
  nlohmann::json data = {
      {"number", "2026-0042"},
      {"issued", "2026-11-26"},
      {"due", "2026-12-26"},
      {"currency", "EUR"},
      {"seller",
       {{"name", "Acme Typesetting GmbH"},
        {"address", "Hauptstraße 1, 10115 Berlin"},
        {"iban", "DE89 3704 0044 0532 0130 00"}}},
      {"customer", {{"name", "Ωmega Λtd. / ООО «Пример»"}, {"address", "12 Example Road, Athens"}}},
      {"notes", {"Prices in EUR.", "Thank you!"}}};
  nlohmann::json list = nlohmann::json::array();
  long long cents = 0;
  for (int i = 1; i <= items; ++i) {
    const int quantity = 1 + (i * 37) % 500;
    const double unit = 0.01 * (1 + (i * 53) % 9000);
    char unit_text[32], amount_text[32];
    std::snprintf(unit_text, sizeof(unit_text), "%.2f", unit);
    std::snprintf(amount_text, sizeof(amount_text), "%.2f", unit * quantity);
    cents += static_cast<long long>(unit * quantity * 100 + 0.5);
    list.push_back({{"line", i},
                    {"description", kDescriptions[i % 6]},
                    {"quantity", quantity},
                    {"unit_price", unit_text},
                    {"amount", amount_text}});
  }
  data["items"] = std::move(list);
  char total[32];
  std::snprintf(total, sizeof(total), "%.2f", static_cast<double>(cents) / 100);
  data["subtotal"] = total;
  data["vat_rate"] = "19%";
  data["vat"] = "—";
  data["total"] = total;
  return data;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 1000;
  int items = 1000;
  const char* out_path = nullptr;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--runs") == 0) runs = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--items") == 0) items = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--out") == 0) out_path = argv[i + 1];
  }
  std::ifstream in(BENCH_INVOICE_TEMPLATE);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", BENCH_INVOICE_TEMPLATE);
    return 1;
  }
  const std::string tmpl{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};

  Registry registry;
  gen_sdk_register_generators(registry);
  gen::sdk::Generator& generator = *registry.generators.at(0);
  const nlohmann::json params = {{"template", tmpl},
                                 {"data", invoice_data(items)},
                                 {"media_type", "text/markdown"},
                                 {"output_name", "invoice.md"}};
  BenchContext context(params);

  // Warm-up (and the output for --out).
  context.keep = out_path != nullptr;
  if (!generator.run(context).is_ok()) {
    std::fprintf(stderr, "text.template failed\n");
    return 1;
  }
  if (out_path != nullptr) std::ofstream(out_path, std::ios::binary) << context.output;
  context.keep = false;

  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < runs; ++i) {
    if (!generator.run(context).is_ok()) return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double per_second = runs / seconds;
  std::printf("text.template: %d-line invoice (%zu bytes out), %d renders in %.3f s\n", items,
              context.bytes, runs, seconds);
  std::printf("  %-22s %10.0f renders/s  %8.1f us/render\n", "Generator (in-process)", per_second,
              1e6 / per_second);
  std::printf("  %-22s %10.0f renders/s  ratio %.2fx (target >= 2x)\n", "handlebars (Node)",
              kHandlebarsPerSecond, per_second / kHandlebarsPerSecond);
  std::printf("  %-22s %10.0f renders/s  ratio %.2fx\n", "mustache.js (Node)", kMustacheJsPerSecond,
              per_second / kMustacheJsPerSecond);
  return 0;
}

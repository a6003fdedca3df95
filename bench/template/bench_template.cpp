// bench_template: renders the example invoice template (examples/invoice) with 1,000 line
// items 1,000 times through the text.template generator, in-process: params and data are
// handed over as the worker hands them (a validated params object), the template is compiled
// and rendered and the output written, on every run. Peers rendered the same template and
// data on the same 2-core machine: handlebars 3,979 renders/s, mustache.js 2,160.
//
// The machine is shared, so the peers also run here, in the same run, on the same template,
// data and number of renders (bench/template/peers: handlebars and mustache.js from npm,
// installed with `npm ci` on first use; skipped without node/npm or with --no-peers), and
// their outputs are compared with ours. The target ratio is checked against the handlebars
// figure measured now when there is one, else against the reference figure.
//
//   bench_template [--runs N] [--items N] [--out file.md] [--no-peers]
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <gen/sdk/generator.hpp>
#include <gen/sdk/testing.hpp>

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

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct PeerResult {
  std::string name;
  double per_second = 0;
  double cpu_us = 0;
  bool same_output = false;
};

/// Runs bench/template/peers/peers.js on the same template, data and run count; empty when
/// node or npm is missing or the peers cannot be installed.
std::vector<PeerResult> run_peers(const std::string& tmpl, const nlohmann::json& data,
                                  const std::string& expected, int runs) {
  namespace fs = std::filesystem;
  const fs::path peers = BENCH_PEERS_DIR;
  if (std::system("command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1") != 0) {
    std::printf("  (peers not run: node/npm not installed)\n");
    return {};
  }
  if (!fs::exists(peers / "node_modules/handlebars") ||
      !fs::exists(peers / "node_modules/mustache")) {
    const std::string install =
        "cd '" + peers.string() + "' && npm ci --no-audit --no-fund --loglevel=error >&2";
    if (std::system(install.c_str()) != 0) {
      std::printf("  (peers not run: npm ci failed in %s)\n", peers.c_str());
      return {};
    }
  }
  const fs::path dir = fs::temp_directory_path() / ("bench_template_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "template.mustache", std::ios::binary) << tmpl;
  std::ofstream(dir / "data.json", std::ios::binary) << data.dump();
  std::ofstream(dir / "expected.md", std::ios::binary) << expected;
  const std::string command = "node '" + (peers / "peers.js").string() + "' '" +
                              (dir / "template.mustache").string() + "' '" +
                              (dir / "data.json").string() + "' '" +
                              (dir / "expected.md").string() + "' " + std::to_string(runs);
  std::vector<PeerResult> results;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char line[1024];
    while (std::fgets(line, sizeof line, pipe) != nullptr) {
      const auto parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!parsed.is_object()) continue;
      results.push_back({parsed.value("name", ""), parsed.value("renders_per_s", 0.0),
                         parsed.value("cpu_per_render_us", 0.0),
                         parsed.value("same_output", false)});
    }
    pclose(pipe);
  }
  fs::remove_all(dir);
  return results;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 1000;
  int items = 1000;
  const char* out_path = nullptr;
  bool peers = true;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--no-peers") == 0) peers = false;
    if (i + 1 >= argc) continue;
    if (std::strcmp(argv[i], "--runs") == 0) runs = std::atoi(argv[++i]);
    if (std::strcmp(argv[i], "--items") == 0) items = std::atoi(argv[++i]);
    if (std::strcmp(argv[i], "--out") == 0) out_path = argv[++i];
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
  // The SDK's FakeContext: it keeps the output (one buffer, reused by every run).
  gen::sdk::testing::FakeContext context(params);
  context.set_job_id("bench").set_task_id("bench");

  // Warm-up (and the output the peers' outputs are compared with).
  if (!generator.run(context).is_ok()) {
    std::fprintf(stderr, "text.template failed\n");
    return 1;
  }
  const std::string expected = context.output_data("invoice.md");
  if (out_path != nullptr) std::ofstream(out_path, std::ios::binary) << expected;

  const double cpu_start = thread_cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < runs; ++i) {
    if (!generator.run(context).is_ok()) return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu_us = (thread_cpu_seconds() - cpu_start) * 1e6 / runs;
  const double per_second = runs / seconds;
  std::printf("text.template: %d-line invoice (%zu bytes out), %d renders in %.3f s\n", items,
              context.output_data("invoice.md").size(), runs, seconds);
  std::printf("  %-24s %8.0f renders/s  %7.1f us/render  (CPU %.1f us/render)\n",
              "Generator (in-process)", per_second, 1e6 / per_second, cpu_us);

  double handlebars_now = 0;
  if (peers) {
    for (const PeerResult& peer : run_peers(tmpl, params["data"], expected, runs)) {
      std::printf("  %-24s %8.0f renders/s  ratio %.2fx  (CPU %.1f us/render, %.2fx)%s\n",
                  (peer.name + " (now)").c_str(), peer.per_second, per_second / peer.per_second,
                  peer.cpu_us, peer.cpu_us / cpu_us, peer.same_output ? "" : "  OUTPUT DIFFERS");
      if (peer.name == "handlebars" && peer.same_output) handlebars_now = peer.per_second;
    }
  }
  std::printf("  %-24s %8.0f renders/s  ratio %.2fx\n", "handlebars (reference)",
              kHandlebarsPerSecond, per_second / kHandlebarsPerSecond);
  std::printf("  %-24s %8.0f renders/s  ratio %.2fx\n", "mustache.js (reference)",
              kMustacheJsPerSecond, per_second / kMustacheJsPerSecond);
  const double handlebars = handlebars_now > 0 ? handlebars_now : kHandlebarsPerSecond;
  const bool met = per_second >= 2 * handlebars;
  std::printf("  target >= 2x handlebars (%s): %.2fx, %s\n",
              handlebars_now > 0 ? "measured now" : "reference figure", per_second / handlebars,
              met ? "met" : "MISSED");
  return met ? 0 : 1;
}

// generator-plugin-check: loads one plugin module exactly as the services do and reports on
// it; optionally runs one of its generators on sample inputs. See kUsageText for the exit codes.
//
// The module is loaded through gen::PluginHost (the services' own loader) pointed at a fresh
// temporary folder that holds only a symlink to the file, so the checks are the host's:
// manifest read before loading, SDK ABI / interface id / C++ ABI, registration, generator
// infos. The run goes through the SDK test harness's FakeContext with the host's param
// validation (gen::sdk::complete_params), so what passes here passes in a job. The generator runs
// in a child process, as in the worker: a crash is reported (signal or exit code) instead of
// ending the check, and a run past its time limit is stopped and its outputs dropped.
#include <QJsonDocument>
#include <QJsonObject>
#include <QPluginLoader>
#include <QString>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <gen/sdk/generator.hpp>
#include <gen/sdk/params.hpp>
#include <gen/sdk/testing.hpp>
#include <nlohmann/json.hpp>

#include "child_run.hpp"
#include "gen/core/base/cli.hpp"
#include "gen/core/base/log.hpp"
#include "gen/core/base/media_type.hpp"
#include "gen/core/plugins/plugin_host.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using gen::plugin_check::ChildRun;
using gen::plugin_check::level_name;
using gen::plugin_check::run_in_child;

// The command line: the parser and --help both read this table.
const gen::cli::Program kProgram{
    .name = "generator-plugin-check",
    .summary =
        "Loads PLUGIN.so with the same rules as generator-backend and generator-worker and prints\n"
        "its manifest, load state, error and generators (with their params). With --run, runs one\n"
        "generator in a child process on sample inputs (docs/writing-a-plugin.md).",
    .commands =
        {{.args = "PLUGIN.so",
          .options =
              {
                  {"--json", "", "print one JSON document instead of text"},
                  {"--verbose", "", "also print the host's log lines (stderr)"},
                  {"--run", "GENERATOR", "run this generator once; the options below need it"},
                  {"--params", "JSON", "the step's params (default {}); validated like a job's"},
                  {"--params-file", "FILE", "the same, read from FILE"},
                  {"--input", "FILE[:TYPE]",
                   "an input artifact; media type guessed from the extension", true},
                  {"--setting", "NAME=VALUE", "a value for Context::setting()", true},
                  {"--output-dir", "DIR",
                   "where outputs are written (default ./plugin-check-output)"},
                  {"--timeout-ms", "MS", "the run's time limit (default: the generator's own)"},
              }}},
    .epilog =
        "exit codes:\n"
        "  0  the plugin loaded without error (and the run, if any, returned ok)\n"
        "  1  the plugin is not loaded: INVALID, INCOMPATIBLE or FAILED (see 'error')\n"
        "  2  usage error: bad arguments, unreadable file, --params not JSON\n"
        "  3  the plugin loaded but the host refused part of it (see 'error')\n"
        "  4  --run: no such generator in the plugin, or its params were refused\n"
        "  5  --run: the generator returned a permanent failure\n"
        "  6  --run: the generator returned a retryable failure, threw, or exceeded its time "
        "limit\n"
        "     (its outputs are dropped, as the worker drops them)\n"
        "  7  --run: the generator crashed: its process died of a signal or exited\n"};

enum Exit : int {
  kOk = 0,
  kNotLoaded = 1,
  kUsage = 2,
  kLoadedWithError = 3,
  kRunRefused = 4,
  kRunPermanent = 5,
  kRunRetryable = 6,
  kRunCrashed = 7,
};

// A run still going this long after its time limit is stopped, as the worker stops one
// (WORKER__TIMEOUT_GRACE_MS, default 5 s).
constexpr std::chrono::milliseconds kTimeoutGrace{5000};

struct Options {
  fs::path plugin;
  bool json_output = false;
  bool verbose = false;
  std::optional<std::string> run;
  json params = json::object();
  std::vector<gen::cli::InputFile> inputs;
  std::map<std::string, std::string> settings;
  fs::path output_dir = "plugin-check-output";
  std::optional<std::chrono::milliseconds> timeout;
};

struct UsageError {
  std::string message;
};

// `what` is the option that named the file, so the message points at the user's own words.
std::string read_file(const fs::path& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw UsageError{std::string(what) + " " + path.string() + ": cannot read (" +
                     std::strerror(errno) + ")"};
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

json parse_params(const std::string& text, const std::string& origin) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw UsageError{origin + " is not JSON: " + e.what()};
  }
}

Options options_from(const gen::cli::Parsed& args) {
  Options o;
  o.plugin = args.args.at(0);
  o.json_output = args.has("--json");
  o.verbose = args.has("--verbose");
  o.run = args.value("--run");
  if (args.has("--params") && args.has("--params-file")) {
    throw UsageError{"--params / --params-file given twice"};
  }
  if (auto text = args.value("--params")) o.params = parse_params(*text, "--params");
  if (auto file = args.value("--params-file"))
    o.params = parse_params(read_file(*file, "--params-file"), "--params-file " + *file);
  for (const std::string& spec : args.values("--input")) {
    o.inputs.push_back(gen::cli::parse_input(spec));
  }
  for (const std::string& v : args.values("--setting")) {
    const auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError{"--setting wants NAME=VALUE"};
    o.settings[v.substr(0, eq)] = v.substr(eq + 1);
  }
  if (auto dir = args.value("--output-dir")) o.output_dir = *dir;
  if (auto ms = args.value("--timeout-ms")) {
    char* end = nullptr;
    const long long value = std::strtoll(ms->c_str(), &end, 10);
    if (ms->empty() || *end != '\0' || value <= 0) {
      throw UsageError{"--timeout-ms wants a positive number of milliseconds"};
    }
    o.timeout = std::chrono::milliseconds(value);
  }
  const bool run_options = args.has("--params") || args.has("--params-file") || !o.inputs.empty() ||
                           !o.settings.empty() || o.timeout;
  if (!o.run && run_options)
    throw UsageError{"--params, --input, --setting and --timeout-ms need --run"};
  return o;
}

// A private folder holding one symlink to the plugin: the host scans folders, not files.
class ScanFolder {
 public:
  explicit ScanFolder(const fs::path& plugin) {
    std::string pattern = (fs::temp_directory_path() / "generator-plugin-check-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw UsageError{"cannot create a temporary folder"};
    dir_ = pattern;
    fs::create_symlink(plugin, dir_ / plugin.filename());
  }
  ~ScanFolder() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  ScanFolder(const ScanFolder&) = delete;
  ScanFolder& operator=(const ScanFolder&) = delete;
  const fs::path& path() const { return dir_; }

 private:
  fs::path dir_;
};

// The raw Qt metadata (IID + MetaData = the manifest), read without loading the library.
json read_manifest(const fs::path& plugin) {
  QPluginLoader loader(QString::fromStdString(plugin.string()));
  const QJsonObject meta = loader.metaData();
  if (meta.isEmpty()) return nullptr;
  const QByteArray bytes = QJsonDocument(meta).toJson(QJsonDocument::Compact);
  json parsed = json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (parsed.is_discarded()) return nullptr;
  json out = json::object();
  out["iid"] = parsed.value("IID", "");
  out["manifest"] = parsed.contains("MetaData") ? parsed["MetaData"] : json(nullptr);
  return out;
}

// Output names are the plugin's: keep them inside the output folder.
bool safe_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

void print_text_report(const json& report) {
  std::cout << "plugin:      " << report["path"].get<std::string>() << "\n";
  if (report["metadata"].is_null()) {
    std::cout << "manifest:    (none: no Qt plugin metadata)\n";
  } else {
    std::cout << "interface:   " << report["metadata"]["iid"].get<std::string>() << "\n"
              << "manifest:    " << report["metadata"]["manifest"].dump() << "\n";
  }
  std::cout << "state:       " << report["state"].get<std::string>() << "\n";
  if (!report["error"].get<std::string>().empty()) {
    std::cout << "error:       " << report["error"].get<std::string>() << "\n";
  }
  std::cout << "generators:  " << report["generators"].size() << "\n";
  for (const json& g : report["generators"]) {
    std::cout << "  " << g.value("id", "") << " " << g.value("version", "") << " - "
              << g.value("description", "") << "\n";
    for (const json& p : g.value("params", json::array())) {
      std::cout << "      " << p.value("name", "") << " (" << p.value("type", "")
                << (p.value("required", false) ? ", required" : "") << ")";
      if (p.contains("default") && !p["default"].is_null()) {
        std::cout << " default " << p["default"].dump();
      }
      if (p.contains("allowed_values") && !p["allowed_values"].empty()) {
        std::cout << " one of " << p["allowed_values"].dump();
      }
      if (!p.value("description", "").empty()) std::cout << ": " << p.value("description", "");
      std::cout << "\n";
    }
  }
}

int run_generator(const Options& o, gen::PluginHost& host, json& report) {
  json& run = report["run"];
  run = json::object();
  run["generator"] = *o.run;
  gen::sdk::Generator* generator = host.find(*o.run);
  const gen::sdk::GeneratorInfo* info = host.info(*o.run);
  if (generator == nullptr || info == nullptr) {
    run["status"] = "REFUSED";
    run["message"] = "the plugin offers no generator '" + *o.run + "'";
    return kRunRefused;
  }

  json params = o.params;
  if (auto error = gen::sdk::complete_params(*info, params, "params")) {
    run["status"] = "REFUSED";
    run["message"] = error->describe();
    return kRunRefused;
  }
  gen::sdk::testing::FakeContext ctx;
  ctx.set_params(std::move(params));
  json inputs = json::array();
  json warnings = json::array();
  for (const gen::cli::InputFile& in : o.inputs) {
    const std::string name = in.path.filename().string();
    ctx.add_input(name, in.media_type, read_file(in.path, "--input"));
    const auto& accepted = info->input_media_types;
    const bool ok = std::any_of(accepted.begin(), accepted.end(), [&](const std::string& p) {
      return gen::media_type_matches(p, in.media_type);
    });
    inputs.push_back({{"file", in.path.string()},
                      {"name", name},
                      {"media_type", in.media_type},
                      {"accepted", ok}});
    if (!ok) {
      std::string list;
      for (const auto& p : accepted) list += (list.empty() ? "" : ", ") + p;
      warnings.push_back("input " + in.path.string() + " (" + in.media_type +
                         ") is not accepted by " + *o.run +
                         (list.empty() ? " (it takes no inputs)" : " (accepts: " + list + ")") +
                         ": the backend would refuse this job; give the type as FILE:TYPE");
    }
  }
  run["inputs"] = inputs;
  run["warnings"] = warnings;
  if (!o.json_output) {
    for (const json& w : warnings) std::cerr << "warning: " << w.get<std::string>() << "\n";
  }
  for (const auto& [name, value] : o.settings) ctx.set_setting(name, value);
  ctx.set_job_id("plugin-check").set_task_id("plugin-check-1").set_attempt(1);
  const std::chrono::milliseconds limit = o.timeout.value_or(info->timeout_ms);
  const auto deadline = gen::sdk::testing::FakeContext::Clock::now() + limit;
  ctx.set_deadline(deadline);
  if (!o.json_output) {
    ctx.on_log([](gen::sdk::LogLevel level, std::string_view message) {
      std::cerr << "[" << level_name(level) << "] " << message << "\n";
    });
  }

  // No param re-validation inside run(): complete_params above is the host's own.
  const ChildRun child = run_in_child(*generator, ctx, deadline, deadline + kTimeoutGrace);
  const std::string limit_text = std::to_string(limit.count()) + " ms";
  if (child.killed) {
    run["status"] = "TIMEOUT";
    run["message"] = "the run did not return within its time limit (" + limit_text + ") and " +
                     std::to_string(kTimeoutGrace.count()) +
                     " ms of grace: its process was killed, as the worker kills it";
    return kRunRetryable;
  }
  if (child.signal != 0) {
    const char* abbrev = ::sigabbrev_np(child.signal);
    const std::string name = abbrev ? std::string("SIG") + abbrev : std::to_string(child.signal);
    run["status"] = "CRASHED";
    run["signal"] = name;
    run["message"] = "the generator crashed: its process died of " + name + " (" +
                     ::strsignal(child.signal) + "); in a service the worker process dies the " +
                     "same way and the task is retried";
    return kRunCrashed;
  }
  if (child.result.is_discarded()) {
    run["status"] = "CRASHED";
    run["process_exit_code"] = child.exit_code;
    run["message"] = "the generator's process exited with code " + std::to_string(child.exit_code) +
                     " before run() returned (exit() called?)";
    return kRunCrashed;
  }
  const json& result = child.result;
  run["log"] = result["log"];
  run["progress"] = result["progress"];

  json outputs = json::array();
  if (result["timed_out"].get<bool>()) {
    json dropped = json::array();
    for (const json& out : result["outputs"]) dropped.push_back(out["name"]);
    run["outputs"] = outputs;
    run["dropped_outputs"] = dropped;
    run["status"] = "TIMEOUT";
    run["message"] = "the run exceeded its time limit (" + limit_text + ")" +
                     (dropped.empty() ? std::string()
                                      : "; its " + std::to_string(dropped.size()) +
                                            " output(s) were dropped, as the worker drops them");
    return kRunRetryable;
  }

  std::error_code ec;
  fs::create_directories(o.output_dir, ec);
  if (ec) throw UsageError{"cannot create " + o.output_dir.string() + ": " + ec.message()};
  for (const json& out : result["outputs"]) {
    const std::string name = out["name"].get<std::string>();
    const auto& data = out["data"].get_binary();
    json entry = {{"name", name}, {"media_type", out["media_type"]}, {"size_bytes", data.size()}};
    if (safe_name(name)) {
      const fs::path file = o.output_dir / name;
      std::ofstream stream(file, std::ios::binary);
      stream.write(reinterpret_cast<const char*>(data.data()),
                   static_cast<std::streamsize>(data.size()));
      if (!stream) throw UsageError{"cannot write " + file.string()};
      entry["file"] = file.string();
    } else {
      entry["file"] = nullptr;  // a name the host would also refuse to use as a file name
    }
    outputs.push_back(std::move(entry));
  }
  run["outputs"] = outputs;

  run["message"] = result["message"];
  switch (static_cast<gen::sdk::Status::Kind>(result["kind"].get<int>())) {
    case gen::sdk::Status::Kind::kOk:
      run["status"] = "OK";
      return kOk;
    case gen::sdk::Status::Kind::kPermanent:
      run["status"] = "PERMANENT_FAILURE";
      return kRunPermanent;
    case gen::sdk::Status::Kind::kRetryable:
      break;
  }
  run["status"] = "RETRYABLE_FAILURE";
  return kRunRetryable;
}

void print_text_run(const json& run) {
  for (const json& in : run.value("inputs", json::array())) {
    std::cout << "input:       " << in["file"].get<std::string>() << " ("
              << in["media_type"].get<std::string>()
              << (in["accepted"].get<bool>() ? "" : ", not accepted by the generator") << ")\n";
  }
  std::cout << "run:         " << run["generator"].get<std::string>() << " -> "
            << run["status"].get<std::string>();
  if (!run["message"].get<std::string>().empty()) {
    std::cout << ": " << run["message"].get<std::string>();
  }
  std::cout << "\n";
  if (run.contains("progress") && !run["progress"].empty()) {
    std::cout << "progress:    " << run["progress"].dump() << "\n";
  }
  for (const json& out : run.value("outputs", json::array())) {
    std::cout << "output:      " << out["name"].get<std::string>() << " ("
              << out["media_type"].get<std::string>() << ", " << out["size_bytes"].get<long long>()
              << " bytes)";
    if (out["file"].is_string())
      std::cout << " -> " << out["file"].get<std::string>();
    else
      std::cout << " (not written: unsafe file name)";
    std::cout << "\n";
  }
}

int check(const Options& o) {
  std::error_code ec;
  const fs::path plugin = fs::absolute(o.plugin, ec).lexically_normal();
  if (ec || !fs::is_regular_file(plugin, ec))
    throw UsageError{"no such file: " + o.plugin.string()};

  json report = json::object();
  report["path"] = plugin.string();
  report["metadata"] = read_manifest(plugin);
  report["generators"] = json::array();

  int code = kOk;
  std::optional<gen::PluginHost> host;
  if (plugin.extension() != ".so") {
    report["state"] = "INVALID";
    report["error"] = "the services only load files whose names end in .so";
    code = kNotLoaded;
  } else {
    ScanFolder folder(plugin);
    host.emplace(folder.path().string());
    host->load_all();
    if (host->plugins().size() != 1) {
      report["state"] = "INVALID";
      report["error"] = "the host did not see the file";
      code = kNotLoaded;
    } else {
      const gen::PluginRecord& record = host->plugins().front();
      report["state"] = std::string(gen::to_string(record.state));
      report["error"] = record.error;
      report["name"] = record.name;
      report["version"] = record.version;
      for (const std::string& id : record.generators) {
        if (const auto* info = host->info(id)) report["generators"].push_back(gen::to_json(*info));
      }
      if (record.state != gen::PluginState::kLoaded)
        code = kNotLoaded;
      else if (!record.error.empty())
        code = kLoadedWithError;
    }
  }

  if (o.run && code != kNotLoaded) {
    const int run_code = run_generator(o, *host, report);
    if (run_code != kOk) code = run_code;
  }

  if (o.json_output) {
    report["exit_code"] = code;
    std::cout << report.dump(2) << "\n";
  } else {
    print_text_report(report);
    if (report.contains("run")) print_text_run(report["run"]);
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const gen::cli::Parsed args =
        gen::cli::parse(kProgram, std::vector<std::string>(argv + 1, argv + argc));
    if (args.help) {
      std::cout << gen::cli::help(kProgram);
      return kOk;
    }
    if (args.version) {
      std::cout << "generator-plugin-check " << GENERATOR_VERSION << " (plugin SDK ABI "
                << GEN_SDK_ABI_VERSION << ", interface " << GEN_SDK_PLUGIN_IID << ")\n";
      return kOk;
    }
    const Options options = options_from(args);
    gen::log::set_service("plugin-check");
    gen::log::set_level(options.verbose ? "debug" : "error");
    return check(options);
  } catch (const gen::cli::UsageError& e) {
    std::cerr << "generator-plugin-check: " << e.what() << "\n" << gen::cli::help(kProgram);
    return kUsage;
  } catch (const UsageError& e) {
    std::cerr << "generator-plugin-check: " << e.message << "\n";
    return kUsage;
  } catch (const std::exception& e) {
    std::cerr << "generator-plugin-check: " << e.what() << "\n";
    return kUsage;
  }
}

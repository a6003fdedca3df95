// generator-plugin-check: loads one plugin module exactly as the services do and reports on
// it; optionally runs one of its generators on sample inputs. See kUsageText for the exit codes.
//
// The module is loaded through gen::PluginHost (the services' own loader) pointed at a fresh
// temporary folder that holds only a symlink to the file, so the checks are the host's:
// manifest read before loading, SDK ABI / interface id / C++ ABI, registration, generator
// infos. The run goes through the SDK test harness's FakeContext with the host's param
// validation (gen::sdk::complete_params), so what passes here passes in a job.
#include <QJsonDocument>
#include <QJsonObject>
#include <QPluginLoader>
#include <QString>

#include <chrono>
#include <cstdlib>
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

#include "gen/core/base/log.hpp"
#include "gen/core/plugins/plugin_host.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::string_view kUsageText =
    "usage: generator-plugin-check [options] PLUGIN.so\n"
    "       generator-plugin-check [options] PLUGIN.so --run GENERATOR [run options]\n"
    "\n"
    "Loads PLUGIN.so with the same rules as generator-backend and generator-worker and prints\n"
    "its manifest, load state, error and generators (with their params).\n"
    "\n"
    "options:\n"
    "  --json                 print one JSON document instead of text\n"
    "  --verbose              also print the host's log lines (stderr)\n"
    "run options:\n"
    "  --run GENERATOR        run this generator once\n"
    "  --params JSON          the step's params (default {}); validated like a job's\n"
    "  --params-file FILE     the same, read from FILE\n"
    "  --input FILE[@TYPE]    an input artifact (repeatable); media type guessed from the\n"
    "                         extension unless given after '@'\n"
    "  --setting NAME=VALUE   a value for Context::setting() (repeatable)\n"
    "  --output-dir DIR       where outputs are written (default ./plugin-check-output)\n"
    "\n"
    "exit codes:\n"
    "  0  the plugin loaded without error (and the run, if any, returned ok)\n"
    "  1  the plugin is not loaded: INVALID, INCOMPATIBLE or FAILED (see 'error')\n"
    "  2  usage error: bad arguments, unreadable file, --params not JSON\n"
    "  3  the plugin loaded but the host refused part of it (see 'error')\n"
    "  4  --run: no such generator in the plugin, or its params were refused\n"
    "  5  --run: the generator returned a permanent failure\n"
    "  6  --run: the generator returned a retryable failure, threw, or exceeded its time "
    "limit\n";

enum Exit : int {
  kOk = 0,
  kNotLoaded = 1,
  kUsage = 2,
  kLoadedWithError = 3,
  kRunRefused = 4,
  kRunPermanent = 5,
  kRunRetryable = 6,
};

struct Input {
  fs::path path;
  std::string media_type;
};

struct Options {
  fs::path plugin;
  bool json_output = false;
  bool verbose = false;
  std::optional<std::string> run;
  json params = json::object();
  std::vector<Input> inputs;
  std::map<std::string, std::string> settings;
  fs::path output_dir = "plugin-check-output";
};

struct UsageError {
  std::string message;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError{"cannot read " + path.string()};
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string guess_media_type(const fs::path& path) {
  static const std::map<std::string, std::string> kTypes = {
      {".json", "application/json"}, {".md", "text/markdown"},    {".txt", "text/plain"},
      {".html", "text/html"},        {".csv", "text/csv"},        {".pdf", "application/pdf"},
      {".xml", "application/xml"},   {".mustache", "text/plain"}, {".png", "image/png"},
      {".jpg", "image/jpeg"},        {".jpeg", "image/jpeg"}};
  auto it = kTypes.find(path.extension().string());
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

json parse_params(const std::string& text, const std::string& origin) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw UsageError{origin + " is not JSON: " + e.what()};
  }
}

Options parse_args(int argc, char** argv) {
  Options o;
  auto value = [&](int& i, std::string_view flag) -> std::string {
    if (i + 1 >= argc) throw UsageError{std::string(flag) + " needs a value"};
    return argv[++i];
  };
  bool have_params = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--json") {
      o.json_output = true;
    } else if (arg == "--verbose") {
      o.verbose = true;
    } else if (arg == "--run") {
      o.run = value(i, arg);
    } else if (arg == "--params" || arg == "--params-file") {
      if (have_params) throw UsageError{"--params / --params-file given twice"};
      have_params = true;
      const std::string v = value(i, arg);
      o.params = arg == "--params" ? parse_params(v, "--params") : parse_params(read_file(v), v);
    } else if (arg == "--input") {
      const std::string v = value(i, arg);
      const auto at = v.rfind('@');
      Input in;
      if (at != std::string::npos && v.find('/', at) != std::string::npos && at > 0) {
        in.path = v.substr(0, at);
        in.media_type = v.substr(at + 1);
      } else {
        in.path = v;
        in.media_type = guess_media_type(in.path);
      }
      o.inputs.push_back(std::move(in));
    } else if (arg == "--setting") {
      const std::string v = value(i, arg);
      const auto eq = v.find('=');
      if (eq == std::string::npos || eq == 0) throw UsageError{"--setting wants NAME=VALUE"};
      o.settings[v.substr(0, eq)] = v.substr(eq + 1);
    } else if (arg == "--output-dir") {
      o.output_dir = value(i, arg);
    } else if (arg.starts_with("-")) {
      throw UsageError{"unknown option '" + std::string(arg) + "'"};
    } else if (o.plugin.empty()) {
      o.plugin = std::string(arg);
    } else {
      throw UsageError{"more than one plugin given ('" + std::string(arg) + "')"};
    }
  }
  if (o.plugin.empty()) throw UsageError{"no plugin given"};
  if (!o.run && (have_params || !o.inputs.empty() || !o.settings.empty())) {
    throw UsageError{"--params, --input and --setting need --run"};
  }
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

std::string_view level_name(gen::sdk::LogLevel level) {
  switch (level) {
    case gen::sdk::LogLevel::kDebug:
      return "debug";
    case gen::sdk::LogLevel::kInfo:
      return "info";
    case gen::sdk::LogLevel::kWarning:
      return "warning";
    case gen::sdk::LogLevel::kError:
      return "error";
  }
  return "info";
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
  for (const Input& in : o.inputs) {
    ctx.add_input(in.path.filename().string(), in.media_type, read_file(in.path));
  }
  for (const auto& [name, value] : o.settings) ctx.set_setting(name, value);
  ctx.set_job_id("plugin-check").set_task_id("plugin-check-1").set_attempt(1);
  const auto deadline = gen::sdk::testing::FakeContext::Clock::now() + info->timeout_ms;
  ctx.set_deadline(deadline);
  if (!o.json_output) {
    ctx.on_log([](gen::sdk::LogLevel level, std::string_view message) {
      std::cerr << "[" << level_name(level) << "] " << message << "\n";
    });
  }

  // No param re-validation inside run(): complete_params above is the host's own.
  gen::sdk::Status status = gen::sdk::Status::ok();
  try {
    status = generator->run(ctx);
  } catch (const std::exception& e) {
    status = gen::sdk::Status::retryable(std::string("generator threw: ") + e.what());
  } catch (...) {
    status = gen::sdk::Status::retryable("generator threw a non-standard exception");
  }
  const bool timed_out = gen::sdk::testing::FakeContext::Clock::now() >= deadline;

  json logs = json::array();
  for (const auto& line : ctx.log_lines()) {
    logs.push_back({{"level", level_name(line.level)}, {"message", line.message}});
  }
  run["log"] = logs;
  run["progress"] = ctx.progress_values();

  std::error_code ec;
  fs::create_directories(o.output_dir, ec);
  if (ec) throw UsageError{"cannot create " + o.output_dir.string() + ": " + ec.message()};
  json outputs = json::array();
  for (const auto& out : ctx.outputs()) {
    json entry = {
        {"name", out.name}, {"media_type", out.media_type}, {"size_bytes", out.data.size()}};
    if (safe_name(out.name)) {
      const fs::path file = o.output_dir / out.name;
      std::ofstream(file, std::ios::binary)
          .write(out.data.data(), static_cast<std::streamsize>(out.data.size()));
      entry["file"] = file.string();
    } else {
      entry["file"] = nullptr;  // a name the host would also refuse to use as a file name
    }
    outputs.push_back(std::move(entry));
  }
  run["outputs"] = outputs;

  if (timed_out) {
    run["status"] = "TIMEOUT";
    run["message"] = "the run exceeded the generator's time limit (" +
                     std::to_string(info->timeout_ms.count()) + " ms)";
    return kRunRetryable;
  }
  switch (status.kind()) {
    case gen::sdk::Status::Kind::kOk:
      run["status"] = "OK";
      run["message"] = status.message();
      return kOk;
    case gen::sdk::Status::Kind::kPermanent:
      run["status"] = "PERMANENT_FAILURE";
      run["message"] = status.message();
      return kRunPermanent;
    case gen::sdk::Status::Kind::kRetryable:
      break;
  }
  run["status"] = "RETRYABLE_FAILURE";
  run["message"] = status.message();
  return kRunRetryable;
}

void print_text_run(const json& run) {
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
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsageText;
      return kOk;
    }
    if (arg == "--version") {
      std::cout << "generator-plugin-check " << GENERATOR_VERSION << " (plugin SDK ABI "
                << GEN_SDK_ABI_VERSION << ", interface " << GEN_SDK_PLUGIN_IID << ")\n";
      return kOk;
    }
  }
  try {
    const Options options = parse_args(argc, argv);
    gen::log::set_service("plugin-check");
    gen::log::set_level(options.verbose ? "debug" : "error");
    return check(options);
  } catch (const UsageError& e) {
    std::cerr << "generator-plugin-check: " << e.message << "\n" << kUsageText;
    return kUsage;
  } catch (const std::exception& e) {
    std::cerr << "generator-plugin-check: " << e.what() << "\n";
    return kUsage;
  }
}

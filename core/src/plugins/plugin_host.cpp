// The plugin host over Qt's QPluginLoader: the only file of core that uses Qt.
//
// Per file, in order: the manifest is read through QPluginLoader::metaData() without loading
// the library and validated key by key (INVALID); the interface id, SDK ABI and C++ ABI are
// compared with the host's (INCOMPATIBLE); only then is the library loaded, its root object
// cast to gen::sdk::PluginRoot and asked to register its generators (FAILED when loading or
// registration fails). Each generator's info is validated; a bad one, or an id another
// plugin already owns, is refused and recorded in the plugin's error.
#include "gen/core/plugins/plugin_host.hpp"

#include <QJsonArray>
#include <QJsonObject>
#include <QJsonValue>
#include <QObject>
#include <QPluginLoader>
#include <QString>
#include <QtPlugin>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>
#include <utility>

#include <gen/sdk/params.hpp>

#include "gen/core/base/log.hpp"

Q_DECLARE_INTERFACE(gen::sdk::PluginRoot, GEN_SDK_PLUGIN_IID)

namespace gen {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kIidPrefix = "io.generator.sdk.PluginRoot/";
constexpr std::string_view kCxxAbi = "libstdc++";

std::string str(const QString& s) {
  return s.toStdString();
}

std::string json_type_name(const QJsonValue& value) {
  switch (value.type()) {
    case QJsonValue::Null:
      return "null";
    case QJsonValue::Bool:
      return "boolean";
    case QJsonValue::Double:
      return "number";
    case QJsonValue::String:
      return "string";
    case QJsonValue::Array:
      return "array";
    case QJsonValue::Object:
      return "object";
    case QJsonValue::Undefined:
      break;
  }
  return "nothing";
}

bool is_integer(const QJsonValue& value) {
  if (!value.isDouble()) return false;
  const double d = value.toDouble();
  return d == static_cast<double>(static_cast<long long>(d));
}

// `[a-z0-9_]+(\.[a-z0-9_]+)+`
bool valid_generator_id(std::string_view id) {
  int segments = 0;
  std::size_t segment_length = 0;
  for (char c : id) {
    if (c == '.') {
      if (segment_length == 0) return false;
      ++segments;
      segment_length = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
      ++segment_length;
    } else {
      return false;
    }
  }
  return segment_length > 0 && segments >= 1;
}

/// Empty when `info` is acceptable, else why not.
std::string check_info(const sdk::GeneratorInfo& info) {
  if (!valid_generator_id(info.id)) {
    return "generator id '" + info.id +
           "' is invalid (expected lowercase family.action, [a-z0-9_]+(\\.[a-z0-9_]+)+)";
  }
  const std::string where = "generator '" + info.id + "': ";
  if (info.version.empty()) return where + "version is empty";
  if (info.max_attempts < 1) {
    return where + "max_attempts must be >= 1, got " + std::to_string(info.max_attempts);
  }
  if (info.timeout_ms.count() <= 0) {
    return where + "timeout_ms must be > 0, got " + std::to_string(info.timeout_ms.count());
  }
  std::set<std::string_view> names;
  for (const auto& param : info.params) {
    if (param.name.empty()) return where + "a parameter has an empty name";
    if (!names.insert(param.name).second) {
      return where + "parameter '" + param.name + "' is declared twice";
    }
    const int type = static_cast<int>(param.type);
    if (type < static_cast<int>(sdk::ParamType::kString) ||
        type > static_cast<int>(sdk::ParamType::kAny)) {
      return where + "parameter '" + param.name + "' has an unknown type " + std::to_string(type);
    }
    // A default obeys the rule a given value does (the SDK's, the one definition).
    if (!param.default_value.is_null()) {
      nlohmann::json value = param.default_value;
      if (auto problem = sdk::param_value_problem(param, value)) {
        return where + "parameter '" + param.name + "' has an invalid default " +
               param.default_value.dump() + ": " + *problem;
      }
    }
  }
  return {};
}

/// Collects a plugin's generators during register_generators().
class CollectingRegistry final : public sdk::Registry {
 public:
  void add(std::unique_ptr<sdk::Generator> generator) override {
    added.push_back(std::move(generator));
  }
  std::vector<std::unique_ptr<sdk::Generator>> added;
};

void append_error(std::string& error, const std::string& message) {
  if (!error.empty()) error += "; ";
  error += message;
}

}  // namespace

std::string_view to_string(PluginState state) {
  switch (state) {
    case PluginState::kLoaded:
      return "LOADED";
    case PluginState::kInvalid:
      return "INVALID";
    case PluginState::kIncompatible:
      return "INCOMPATIBLE";
    case PluginState::kFailed:
      return "FAILED";
  }
  return "INVALID";
}

struct PluginHost::Impl {
  struct Entry {
    std::unique_ptr<sdk::Generator> generator;
    sdk::GeneratorInfo info;
    std::size_t plugin_index = 0;
  };

  std::string search_path;
  bool loaded = false;
  std::vector<PluginRecord> records;
  // Declared before `generators`, so it is destroyed after them: the generators' code lives
  // in the libraries the loaders hold. The libraries stay mapped for the process's lifetime
  // (no unload()): plugin code may still be referenced from static destructors.
  std::vector<std::unique_ptr<QPluginLoader>> loaders;
  std::map<std::string, Entry, std::less<>> generators;
  // Per plugin record: the manifest's "limits", by generator id.
  std::map<std::size_t, std::map<std::string, GeneratorLimits, std::less<>>> manifest_limits;

  ~Impl() { generators.clear(); }

  void load_file(const std::string& path);
  /// Fills the record from the manifest; false when the plugin must not be loaded.
  bool check_manifest(const QJsonObject& meta, PluginRecord& record, std::size_t index);
  /// Reads the manifest's optional "limits" object into manifest_limits; appends problems.
  void read_limits(const QJsonObject& manifest, std::size_t index, std::string& problems);
  void register_from(QObject* root, std::size_t index);
  void refuse(PluginRecord& record, PluginState state, std::string error) {
    record.state = state;
    record.error = std::move(error);
    log::warning("plugin refused",
                 {{"path", record.path}, {"state", to_string(state)}, {"error", record.error}});
  }
};

void PluginHost::Impl::read_limits(const QJsonObject& manifest, std::size_t index,
                                   std::string& problems) {
  const QJsonValue limits = manifest.value(QStringLiteral("limits"));
  if (limits.isUndefined()) return;
  if (!limits.isObject()) {
    append_error(problems, "key 'limits' must be an object, got " + json_type_name(limits));
    return;
  }
  const QJsonObject by_generator = limits.toObject();
  for (auto it = by_generator.begin(); it != by_generator.end(); ++it) {
    const std::string id = str(it.key());
    const std::string where = "limits." + id;
    if (!it.value().isObject()) {
      append_error(problems, where + " must be an object, got " + json_type_name(it.value()));
      continue;
    }
    GeneratorLimits parsed;
    const QJsonObject fields = it.value().toObject();
    for (auto f = fields.begin(); f != fields.end(); ++f) {
      const std::string key = str(f.key());
      const QJsonValue& value = f.value();
      if (key == "retry_on_timeout") {
        if (!value.isBool()) {
          append_error(problems, where + ".retry_on_timeout must be a boolean");
          continue;
        }
        parsed.retry_on_timeout = value.toBool();
      } else if (key == "max_task_memory_mb" || key == "max_task_output_mb") {
        if (!is_integer(value) || value.toDouble() < 1 || value.toDouble() > 1048576) {
          append_error(problems, where + "." + key + " must be an integer in [1, 1048576]");
          continue;
        }
        const auto mb = static_cast<std::int64_t>(value.toDouble());
        (key == "max_task_memory_mb" ? parsed.max_task_memory_mb : parsed.max_task_output_mb) = mb;
      } else {
        append_error(problems, where + ": unknown key '" + key + "'");
      }
    }
    manifest_limits[index][id] = parsed;
  }
}

bool PluginHost::Impl::check_manifest(const QJsonObject& meta, PluginRecord& record,
                                      std::size_t index) {
  const std::string iid = str(meta.value(QStringLiteral("IID")).toString());
  if (meta.isEmpty() || iid.empty()) {
    refuse(record, PluginState::kInvalid,
           "not a Generator plugin: " + record.path + " has no Qt plugin metadata");
    return false;
  }
  if (iid.rfind(kIidPrefix, 0) != 0) {
    refuse(record, PluginState::kInvalid,
           "not a Generator plugin: interface id '" + iid + "', expected '" + GEN_SDK_PLUGIN_IID +
               "'");
    return false;
  }

  const QJsonValue manifest_value = meta.value(QStringLiteral("MetaData"));
  if (!manifest_value.isObject()) {
    refuse(record, PluginState::kInvalid, "invalid manifest: no MetaData object");
    return false;
  }
  const QJsonObject manifest = manifest_value.toObject();
  std::string problems;
  auto expect = [&](const char* key, bool integer) -> QJsonValue {
    const QJsonValue value = manifest.value(QLatin1String(key));
    if (value.isUndefined()) {
      append_error(problems, std::string("key '") + key + "' is missing");
    } else if (integer ? !is_integer(value) : !value.isString()) {
      append_error(problems, std::string("key '") + key + "' must be " +
                                 (integer ? "an integer" : "a string") + ", got " +
                                 json_type_name(value));
    }
    return value;
  };
  const QJsonValue name = expect("name", false);
  const QJsonValue version = expect("version", false);
  const QJsonValue sdk_abi = expect("sdk_abi", true);
  const QJsonValue cxx_abi = expect("cxx_abi", false);
  if (name.isString()) record.name = str(name.toString());
  if (version.isString()) record.version = str(version.toString());
  const QJsonValue description = manifest.value(QStringLiteral("description"));
  if (description.isString()) record.description = str(description.toString());
  if (!description.isUndefined() && !description.isString()) {
    append_error(problems,
                 "key 'description' must be a string, got " + json_type_name(description));
  }
  read_limits(manifest, index, problems);
  if (!problems.empty()) {
    refuse(record, PluginState::kInvalid, "invalid manifest: " + problems);
    return false;
  }

  const long long abi = static_cast<long long>(sdk_abi.toDouble());
  if (abi != GEN_SDK_ABI_VERSION) {
    refuse(record, PluginState::kIncompatible,
           "built for SDK ABI " + std::to_string(abi) + ", this host supports ABI " +
               std::to_string(GEN_SDK_ABI_VERSION));
    return false;
  }
  if (iid != GEN_SDK_PLUGIN_IID) {
    refuse(record, PluginState::kIncompatible,
           "declares interface '" + iid + "', this host supports '" + GEN_SDK_PLUGIN_IID + "'");
    return false;
  }
  if (str(cxx_abi.toString()) != kCxxAbi) {
    refuse(record, PluginState::kIncompatible,
           "built for C++ ABI '" + str(cxx_abi.toString()) + "', this host uses '" +
               std::string(kCxxAbi) + "'");
    return false;
  }
  return true;
}

void PluginHost::Impl::register_from(QObject* root_object, std::size_t index) {
  auto* root = qobject_cast<sdk::PluginRoot*>(root_object);
  if (root == nullptr) {
    refuse(records[index], PluginState::kFailed,
           "root object does not implement " GEN_SDK_PLUGIN_IID);
    return;
  }
  CollectingRegistry registry;
  try {
    root->register_generators(registry);
  } catch (const std::exception& e) {
    refuse(records[index], PluginState::kFailed,
           std::string("register_generators() threw: ") + e.what());
    return;
  } catch (...) {
    refuse(records[index], PluginState::kFailed,
           "register_generators() threw a non-standard exception");
    return;
  }

  PluginRecord& record = records[index];
  std::string refusals;
  std::size_t refused = 0;
  for (auto& generator : registry.added) {
    std::string problem;
    sdk::GeneratorInfo info;
    if (!generator) {
      problem = "registered a null generator";
    } else {
      try {
        info = generator->info();
        problem = check_info(info);
      } catch (const std::exception& e) {
        problem = std::string("Generator::info() threw: ") + e.what();
      } catch (...) {
        problem = "Generator::info() threw a non-standard exception";
      }
    }
    if (problem.empty()) {
      if (auto existing = generators.find(info.id); existing != generators.end()) {
        const PluginRecord& owner = records[existing->second.plugin_index];
        problem = "generator '" + info.id + "' is already registered by plugin '" + owner.name +
                  "' (" + owner.path + ")";
      }
    }
    if (!problem.empty()) {
      ++refused;
      append_error(refusals, problem);
      log::warning("generator refused", {{"path", record.path}, {"error", problem}});
      continue;
    }
    record.generators.push_back(info.id);
    std::string id = info.id;
    generators.emplace(std::move(id), Entry{std::move(generator), std::move(info), index});
  }
  std::sort(record.generators.begin(), record.generators.end());

  if (refused > 0 && record.generators.empty()) {
    // Everything it offered was refused: the plugin is of no use.
    record.state = PluginState::kFailed;
    record.error = refusals;
    return;
  }
  record.state = PluginState::kLoaded;
  record.error = refusals;  // the refused generators, if any
  log::info("plugin loaded", {{"path", record.path},
                              {"name", record.name},
                              {"version", record.version},
                              {"generators", record.generators}});
}

void PluginHost::Impl::load_file(const std::string& path) {
  PluginRecord record;
  record.path = path;
  records.push_back(std::move(record));
  const std::size_t index = records.size() - 1;

  auto loader = std::make_unique<QPluginLoader>(QString::fromStdString(path));
  if (!check_manifest(loader->metaData(), records[index], index)) return;

  if (!loader->load()) {
    refuse(records[index], PluginState::kFailed,
           "the library would not load: " + str(loader->errorString()));
    return;
  }
  QObject* root = nullptr;
  try {
    root = loader->instance();
  } catch (const std::exception& e) {
    refuse(records[index], PluginState::kFailed,
           std::string("creating the plugin root threw: ") + e.what());
  } catch (...) {
    refuse(records[index], PluginState::kFailed, "creating the plugin root threw");
  }
  loaders.push_back(std::move(loader));  // loaded code stays alive with the host
  if (root == nullptr) {
    if (records[index].state != PluginState::kFailed) {
      refuse(records[index], PluginState::kFailed,
             "no plugin root object: " + str(loaders.back()->errorString()));
    }
    return;
  }
  register_from(root, index);
}

PluginHost::PluginHost(std::string search_path) : impl_(std::make_unique<Impl>()) {
  impl_->search_path = std::move(search_path);
}

PluginHost::~PluginHost() = default;

void PluginHost::load_all() {
  if (impl_->loaded) return;
  impl_->loaded = true;

  std::set<std::string> seen;  // a folder listed twice must not load a module twice
  std::string_view rest = impl_->search_path;
  while (true) {
    const auto colon = rest.find(':');
    const std::string_view folder_text = rest.substr(0, colon);
    if (!folder_text.empty()) {
      std::error_code ec;
      const fs::path folder = fs::absolute(fs::path(folder_text), ec).lexically_normal();
      std::vector<std::string> files;
      const bool is_folder = !ec && fs::is_directory(folder, ec);
      if (is_folder) {
        for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
          const fs::path& p = it->path();
          std::error_code file_ec;
          if (p.extension() == ".so" && fs::is_regular_file(p, file_ec)) {
            files.push_back(p.string());
          }
        }
      }
      if (!is_folder || ec) {
        log::warning("plugin folder not readable",
                     {{"path", folder.string()}, {"error", ec ? ec.message() : "not a folder"}});
      }
      std::sort(files.begin(), files.end());
      for (const auto& file : files) {
        std::error_code canon_ec;
        const auto canonical = fs::canonical(file, canon_ec);
        if (!seen.insert(canon_ec ? file : canonical.string()).second) continue;
        try {
          impl_->load_file(file);
        } catch (const std::exception& e) {
          // Defensive: nothing above should throw, but one bad file must not stop the scan.
          impl_->refuse(impl_->records.back(), PluginState::kFailed,
                        std::string("unexpected error: ") + e.what());
        }
      }
    }
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
}

const std::vector<PluginRecord>& PluginHost::plugins() const {
  return impl_->records;
}

std::vector<sdk::GeneratorInfo> PluginHost::generators() const {
  std::vector<sdk::GeneratorInfo> out;
  out.reserve(impl_->generators.size());
  for (const auto& [id, entry] : impl_->generators) out.push_back(entry.info);  // map: sorted
  return out;
}

sdk::Generator* PluginHost::find(std::string_view id) const {
  auto it = impl_->generators.find(id);
  return it == impl_->generators.end() ? nullptr : it->second.generator.get();
}

const sdk::GeneratorInfo* PluginHost::info(std::string_view id) const {
  auto it = impl_->generators.find(id);
  return it == impl_->generators.end() ? nullptr : &it->second.info;
}

GeneratorLimits PluginHost::limits(std::string_view id) const {
  auto it = impl_->generators.find(id);
  if (it == impl_->generators.end()) return {};
  auto plugin = impl_->manifest_limits.find(it->second.plugin_index);
  if (plugin == impl_->manifest_limits.end()) return {};
  auto limits = plugin->second.find(id);
  return limits == plugin->second.end() ? GeneratorLimits{} : limits->second;
}

std::int64_t PluginHost::largest_memory_override_mb() const {
  std::int64_t largest = 0;
  for (const auto& [id, entry] : impl_->generators) {
    largest = std::max(largest, limits(id).max_task_memory_mb);
  }
  return largest;
}

nlohmann::json to_json(const sdk::GeneratorInfo& info) {
  nlohmann::json params = nlohmann::json::array();
  for (const auto& param : info.params) {
    params.push_back({{"name", param.name},
                      {"type", sdk::to_string(param.type)},
                      {"required", param.required},
                      {"default", param.default_value},
                      {"description", param.description},
                      {"allowed_values", param.allowed_values}});
  }
  return {{"id", info.id},
          {"version", info.version},
          {"description", info.description},
          {"params", std::move(params)},
          {"input_media_types", info.input_media_types},
          {"output_media_types", info.output_media_types},
          {"timeout_ms", info.timeout_ms.count()},
          {"max_attempts", info.max_attempts}};
}

}  // namespace gen

// The plugin host: finds plugin modules, reads each manifest through
// QPluginLoader::metaData() *before* loading the library, refuses incompatible ones with a
// reason, loads the rest and collects their generators. A bad plugin never takes the host
// down: it gets a state and an error string, visible at GET /api/v1/plugins.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <gen/sdk/generator.hpp>
#include <nlohmann/json.hpp>

namespace gen {

enum class PluginState : int {
  kLoaded = 1,        ///< loaded; its generators are available
  kInvalid = 2,       ///< not a Generator plugin, or its manifest is malformed
  kIncompatible = 3,  ///< a valid manifest for another SDK ABI / C++ ABI
  kFailed = 4,        ///< the library would not load, or registration failed
};

/// "LOADED", "INVALID", "INCOMPATIBLE", "FAILED".
std::string_view to_string(PluginState state);

struct PluginRecord {
  std::string path;                        ///< absolute path of the module
  std::string name, version, description;  ///< from the manifest when readable
  PluginState state = PluginState::kInvalid;
  std::string error;                    ///< why it is not loaded; empty when loaded
  std::vector<std::string> generators;  ///< ids it registered
};

/// The hard limits a plugin's manifest sets for one of its generators, read from the
/// manifest's optional `"limits"` object (`{"<generator id>": {"retry_on_timeout": true,
/// "max_task_memory_mb": 512, "max_task_output_mb": 64}}`, see docs/writing-a-plugin.md)
/// before the library is loaded. They live in the manifest rather than in
/// sdk::GeneratorInfo so that SDK ABI 1 keeps its layout. A zero size means "the worker's
/// setting" (WORKER__MAX_TASK_MEMORY_MB, WORKER__MAX_TASK_OUTPUT_MB).
struct GeneratorLimits {
  /// A task that ran past its time limit is retried (up to max_attempts) instead of failing
  /// at once with TIMEOUT: for generators whose run time depends on the machine's load.
  bool retry_on_timeout = false;
  std::int64_t max_task_memory_mb = 0;
  std::int64_t max_task_output_mb = 0;
};

class PluginHost {
 public:
  /// `search_path`: folders separated by ':'; missing folders are reported in the log only.
  explicit PluginHost(std::string search_path);
  ~PluginHost();
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  /// Scans the folders (files ending in .so, sorted by name) and loads what is compatible.
  /// Never throws for a bad plugin. Call once.
  void load_all();

  const std::vector<PluginRecord>& plugins() const;
  /// Infos of every available generator, sorted by id.
  std::vector<sdk::GeneratorInfo> generators() const;
  /// nullptr when no loaded plugin offers `id`. The pointer lives as long as the host.
  sdk::Generator* find(std::string_view id) const;
  const sdk::GeneratorInfo* info(std::string_view id) const;
  /// The manifest's limits for generator `id` (all defaults when it sets none).
  GeneratorLimits limits(std::string_view id) const;
  /// The largest memory ceiling any loaded generator's manifest sets (0: none sets one).
  std::int64_t largest_memory_override_mb() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The JSON shape of a generator info used by the REST API (id, version, description,
/// params [{name, type, required, default, description, allowed_values}], media types,
/// timeout_ms, max_attempts).
nlohmann::json to_json(const sdk::GeneratorInfo& info);

}  // namespace gen

// Generator SDK v1 — the whole API a plugin author writes against.
//
// A plugin is a shared module (built with `generator_add_plugin()` from the SDK's CMake
// package) that offers one or more *generators*. A generator has a stable id such as
// `text.template`, declares its parameters and media types in a `GeneratorInfo`, and turns
// a job step's parameters and input artifacts into output artifacts in `run()`.
//
// The author writes plain C++:
//
//   class Hello final : public gen::sdk::Generator {
//    public:
//     gen::sdk::GeneratorInfo info() const override { ... }
//     gen::sdk::Status run(gen::sdk::Context& ctx) override {
//       ctx.write_output("hello.txt", "text/plain", "Hello!");
//       return gen::sdk::Status::ok();
//     }
//   };
//   GENERATOR_PLUGIN_REGISTER(registry) { registry.add(std::make_unique<Hello>()); }
//
// ABI policy (see docs/writing-a-plugin.md):
//  * The host loads a plugin only when the manifest's `sdk_abi` equals the host's
//    `GEN_SDK_ABI_VERSION` and its `cxx_abi` ("libstdc++") equals the host's. A later,
//    incompatible SDK is a new ABI number (and a new Qt interface id), never new virtuals on
//    a released interface.
//  * This header uses std:: types across the boundary (std::string, std::vector,
//    std::unique_ptr, nlohmann::json), so plugin and host must use the same C++ standard
//    library family (libstdc++ with the GCC ABI on Linux). The manifest records it.
//  * No Poco or Qt type appears in any SDK header.
//
// Exceptions must not cross the boundary by design: return `Status`. The host still wraps
// every call into plugin code and turns an escaped exception into a retryable task failure.
//
// Hard limits: the host ENFORCES them, whether `run()` cooperates or not (docs/worker.md).
//  * Time: past `GeneratorInfo::timeout_ms`, `Context::cancelled()` turns true; a run that
//    returns after it fails with TIMEOUT. A run still going after the limit plus the worker's
//    grace (WORKER__TIMEOUT_GRACE_MS, default 5 s) is stopped by force: the worker process
//    running it is killed and restarted, the task fails with TIMEOUT, the process's other
//    tasks are re-queued without losing an attempt. A timeout is not retried unless the
//    plugin's manifest says `retry_on_timeout` for the generator.
//  * Memory: each task has a ceiling (WORKER__MAX_TASK_MEMORY_MB, default 2048 MB, or the
//    manifest's `max_task_memory_mb`), counted as the bytes the running thread allocated and
//    did not free. Past it the task fails with OUT_OF_MEMORY and its worker process is
//    restarted; the process's address space is also limited by the operating system, so an
//    allocation may throw std::bad_alloc, which ends the task with OUT_OF_MEMORY (no retry).
//    Memory allocated on threads the plugin starts itself is bounded only by the latter.
//  * Output: a task's outputs together may not exceed WORKER__MAX_TASK_OUTPUT_MB (default
//    1024 MB, or the manifest's `max_task_output_mb`); see `Context::write_output()`.
// The per-generator values go into the plugin's manifest with `generator_add_plugin(... LIMITS
// <json>)`: `{"<generator id>": {"retry_on_timeout": true, "max_task_memory_mb": 4096,
// "max_task_output_mb": 64}}`. The SDK harness (testing.hpp) simulates the time limit,
// cancellation and the output cap.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

/// The ABI major of this SDK. Host and plugin must agree on it exactly. Written only here:
/// the interface id below, gen::sdk::kAbiVersion, the SDK's CMake package
/// (GeneratorSDK_ABI_VERSION, read from this line) and the plugin manifests derive from it.
#define GEN_SDK_ABI_VERSION 1
#define GEN_SDK_STRINGIFY_(x) #x
#define GEN_SDK_STRINGIFY(x) GEN_SDK_STRINGIFY_(x)
/// The Qt plugin interface id; carries the ABI major ("io.generator.sdk.PluginRoot/1").
#define GEN_SDK_PLUGIN_IID "io.generator.sdk.PluginRoot/" GEN_SDK_STRINGIFY(GEN_SDK_ABI_VERSION)

namespace gen::sdk {

inline constexpr int kAbiVersion = GEN_SDK_ABI_VERSION;

/// The JSON type of a parameter. Zero is deliberately not a valid value.
enum class ParamType : int {
  kString = 1,
  kInteger = 2,
  kNumber = 3,  ///< integer or floating point
  kBoolean = 4,
  kObject = 5,
  kArray = 6,
  kAny = 7,  ///< any JSON value
};

/// Returns the lowercase name used in manifests and the REST API ("string", "integer"...).
inline std::string_view to_string(ParamType type) {
  switch (type) {
    case ParamType::kString:
      return "string";
    case ParamType::kInteger:
      return "integer";
    case ParamType::kNumber:
      return "number";
    case ParamType::kBoolean:
      return "boolean";
    case ParamType::kObject:
      return "object";
    case ParamType::kArray:
      return "array";
    case ParamType::kAny:
      return "any";
  }
  return "any";
}

/// One declared parameter. The host validates every step's params against these before the
/// job is queued (unknown names, missing required ones and wrong types are refused with an
/// error naming the field) and fills in defaults, so `run()` sees complete, typed params.
struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kString;
  bool required = false;
  /// Used when the param is absent; null means "no default" (the param stays absent).
  nlohmann::json default_value = nullptr;
  std::string description;
  /// When non-empty, the value (a string) must be one of these.
  std::vector<std::string> allowed_values = {};
};

/// What a generator is. Returned by `Generator::info()`; must not change while loaded.
struct GeneratorInfo {
  /// Stable id, lowercase, `family.action` (e.g. `text.template`, `pdf.merge`).
  std::string id;
  /// The generator's own semantic version ("1.2.0").
  std::string version;
  std::string description;
  std::vector<ParamSpec> params;
  /// Media types accepted as inputs; "*/*" accepts anything. Empty: takes no inputs.
  std::vector<std::string> input_media_types = {"*/*"};
  /// Media types it may produce.
  std::vector<std::string> output_media_types;
  /// Default execution time limit of one attempt (a job step may set its own). Enforced: past
  /// it `Context::cancelled()` is true and the task fails with TIMEOUT; past it plus the
  /// worker's grace the run is stopped by killing its worker process (see the file comment).
  std::chrono::milliseconds timeout_ms{std::chrono::minutes(5)};
  /// How many attempts a retryable failure gets before the task fails.
  int max_attempts = 3;
};

/// An input artifact, owned by the host. `data` stays valid until `run()` returns.
struct InputArtifact {
  std::string name;
  std::string media_type;
  std::string_view data;
};

enum class LogLevel : int { kDebug = 1, kInfo = 2, kWarning = 3, kError = 4 };

/// The outcome of `run()`. Zero is not a valid kind.
class Status {
 public:
  enum class Kind : int {
    kOk = 1,
    kRetryable = 2,  ///< transient trouble: the host retries with backoff
    kPermanent = 3,  ///< bad input or params: retrying cannot help, the task fails at once
  };

  static Status ok() { return Status(Kind::kOk, {}); }
  /// A failure worth retrying. `message` is shown to the API client: make it actionable.
  static Status retryable(std::string message) {
    return Status(Kind::kRetryable, std::move(message));
  }
  /// A failure caused by the input; the task fails without retry. `message` is shown to the
  /// API client: say what is wrong and where ("params.template: unclosed section 'items'").
  static Status permanent(std::string message) {
    return Status(Kind::kPermanent, std::move(message));
  }

  Kind kind() const { return kind_; }
  bool is_ok() const { return kind_ == Kind::kOk; }
  const std::string& message() const { return message_; }

 private:
  Status(Kind kind, std::string message) : kind_(kind), message_(std::move(message)) {}
  Kind kind_;
  std::string message_;
};

/// What a running generator sees of the world. Implemented by the host (and by the SDK's
/// test harness). Owned by the host; valid only during the `run()` call it is passed to.
/// Methods may be called from the thread that runs `run()` only, except `cancelled()`,
/// which any thread may poll.
class Context {
 public:
  virtual ~Context() = default;

  /// The step's params, validated against `GeneratorInfo::params`, defaults filled in.
  virtual const nlohmann::json& params() const = 0;

  /// Input artifacts: the job's uploaded inputs for the first step, the previous step's
  /// outputs for later steps. Ordered as submitted / produced.
  virtual const std::vector<InputArtifact>& inputs() const = 0;

  /// Stores an output artifact. Names are unique per step; writing a name again replaces
  /// it. The bytes are copied; the call may be made any number of times.
  /// A write that would take the task's outputs (all names together) past the output cap is
  /// refused before anything is copied: `cancelled()` turns true and the task fails with
  /// PAYLOAD_TOO_LARGE (no retry) whatever `run()` returns. Stop when `cancelled()` says so.
  virtual void write_output(std::string_view name, std::string_view media_type,
                            std::string_view data) = 0;

  /// Reports progress in [0, 1]; values outside are clamped. Cheap: the host batches writes.
  virtual void progress(double fraction) = 0;

  /// True once the job was cancelled, the attempt's time limit passed, or a write went past
  /// the output cap. A generator doing long work should poll it (it is cheap) and return
  /// promptly (any Status) when it turns true: a run that does not stop within the worker's
  /// grace is stopped by force, together with its worker process.
  virtual bool cancelled() const = 0;

  /// Writes a line to the service log, tagged with the job, task and generator.
  virtual void log(LogLevel level, std::string_view message) = 0;

  /// A setting visible to this job (tenant override, else system value, else environment),
  /// e.g. "PDF__DEFAULT_PAGE_SIZE". Empty when unset.
  virtual std::optional<std::string> setting(std::string_view name) const = 0;

  /// Identity of the work, for logs and idempotent side effects.
  virtual std::string_view job_id() const = 0;
  virtual std::string_view task_id() const = 0;
  /// 1 for the first attempt, 2 for the first retry...
  virtual int attempt() const = 0;
};

/// A generator. Instances are created by the plugin at registration and destroyed by the
/// host (through this virtual destructor) before the plugin is unloaded. `run()` is called
/// concurrently from several threads: keep per-run state on the stack, not in members.
class Generator {
 public:
  virtual ~Generator() = default;
  virtual GeneratorInfo info() const = 0;
  virtual Status run(Context& context) = 0;
};

/// Collects a plugin's generators at load time. Implemented by the host.
class Registry {
 public:
  virtual ~Registry() = default;
  /// Takes ownership. A generator whose id is already registered is refused by the host
  /// with an error in the plugin's state.
  virtual void add(std::unique_ptr<Generator> generator) = 0;
};

/// The root object of a plugin module. `generator_add_plugin()` generates the Qt class that
/// implements it; authors never implement it by hand.
class PluginRoot {
 public:
  virtual ~PluginRoot() = default;
  virtual void register_generators(Registry& registry) = 0;
};

}  // namespace gen::sdk

/// Each plugin module defines this function exactly once (via GENERATOR_PLUGIN_REGISTER).
/// Hidden visibility binds it inside its own module, so plugins never collide.
__attribute__((visibility("hidden"))) void gen_sdk_register_generators(
    gen::sdk::Registry& registry);

/// Defines the plugin's registration function:
///   GENERATOR_PLUGIN_REGISTER(registry) { registry.add(std::make_unique<MyGenerator>()); }
#define GENERATOR_PLUGIN_REGISTER(registry_name) \
  void gen_sdk_register_generators(gen::sdk::Registry& registry_name)

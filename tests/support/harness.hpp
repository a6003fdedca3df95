// Service-test harness (integration, security, queue and upload tests): runs the REAL
// generator-backend and generator-worker processes against a fresh SQLite database in a temp
// dir (or the DATABASE__URL given in StackOptions::env) and talks to them over HTTP.
//
//   gen::itest::Stack stack({.worker = true});
//   auto job = stack.submit({{"steps", ...}});            // asserts 202
//   auto done = stack.wait_for_job(job["id"], std::chrono::seconds(30));
//
// Each process's stdout+stderr goes to <tmp>/<name>.log; `Stack::logs()` returns them all
// and the fixtures print them when a test failed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gen::itest {

using nlohmann::json;

/// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// A TCP port that was free a moment ago (bound to port 0, then released).
int free_port();

std::string base64_encode(std::string_view data);
/// File contents ("" when unreadable).
std::string read_file(const std::filesystem::path& path);

/// $GENERATOR_BUILD_DIR (set by CTest), else the current directory.
std::filesystem::path build_dir();

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< names lowercased
  std::string body;
  /// The header's value, "" when absent; `name` in any case.
  std::string header(const std::string& name) const;
  /// The body parsed as JSON (discarded value when it is not JSON).
  json json_body() const;
};

/// The root API key the harness gives the backend (AUTH__ROOT_API_KEY).
inline constexpr const char* kRootApiKey = "itest-root-key-0123456789abcdefghijklmnopqrstuvwxyz";

/// A minimal HTTP/1.1 client on 127.0.0.1:<port>; one connection per request. Sends
/// `Authorization: Bearer <token>` unless the token is empty or the call sets Authorization.
class HttpClient {
 public:
  explicit HttpClient(int port, std::string token = {}) : port_(port), token_(std::move(token)) {}
  /// The same server with another bearer token ("" = none).
  HttpClient with_token(std::string token) const { return HttpClient(port_, std::move(token)); }
  const std::string& token() const { return token_; }
  HttpResponse request(const std::string& method, const std::string& path,
                       const std::string& body = {}, const std::string& content_type = {},
                       const std::map<std::string, std::string>& headers = {}) const;
  HttpResponse get(const std::string& path) const { return request("GET", path); }
  HttpResponse post_json(const std::string& path, const json& body) const {
    return request("POST", path, body.dump(), "application/json");
  }
  HttpResponse del(const std::string& path) const { return request("DELETE", path); }
  int port() const { return port_; }

 private:
  int port_;
  std::string token_;
};

/// A child process with its output captured to a file. SIGTERM + wait on destruction.
class Process {
 public:
  /// Starts `exe` with `args` and exactly `env`. Throws std::runtime_error when it cannot.
  Process(std::string name, const std::filesystem::path& exe, const std::vector<std::string>& args,
          const std::map<std::string, std::string>& env, const std::filesystem::path& log_file);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  /// True while it runs (reaps it when it has exited).
  bool running();
  /// The exit status once it ended: exit code, or 128 + signal.
  std::optional<int> exit_code() const { return exit_code_; }
  /// Sends `signal` and waits up to `timeout` (then SIGKILL). Returns the exit code.
  int stop(int signal, std::chrono::milliseconds timeout);
  /// Waits for it to exit by itself; nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  std::string log() const { return read_file(log_file_); }

 private:
  std::string name_;
  std::filesystem::path log_file_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

/// The environment for a service: the current one without Generator's own sections, plus
/// `overrides`.
std::map<std::string, std::string> service_environment(
    const std::map<std::string, std::string>& overrides);

/// Runs `exe args` to completion with `env`; returns {exit code, combined output}.
std::pair<int, std::string> run_to_completion(const std::filesystem::path& exe,
                                              const std::vector<std::string>& args,
                                              const std::map<std::string, std::string>& env,
                                              std::chrono::milliseconds timeout);

struct StackOptions {
  bool worker = true;
  int worker_processes = 1;
  int worker_threads = 2;
  /// Extra or overriding environment variables for both services (LIMITS__MAX_REQUEST_BYTES...).
  std::map<std::string, std::string> env;
};

/// A backend (and optionally a worker) sharing one SQLite database in a temp dir.
class Stack {
 public:
  /// Starts the services and waits until the backend answers /health. Throws
  /// std::runtime_error (with the logs) when a service does not come up.
  explicit Stack(StackOptions options = {});
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  const HttpClient& api() const { return api_; }
  int port() const { return api_.port(); }
  const std::filesystem::path& dir() const { return dir_.path(); }
  std::map<std::string, std::string> environment() const { return env_; }
  Process& backend() { return *backend_; }
  Process* worker() { return worker_.get(); }

  /// POSTs the job, asserts 202, returns the job JSON (an empty object on failure).
  json submit(const json& body);
  /// GET /api/v1/jobs/{id} (asserts 200).
  json get_job(const std::string& id);
  /// Polls until the job reaches COMPLETED, FAILED or CANCELLED (or `status` when given);
  /// adds a test failure and returns the last state on timeout.
  json wait_for_job(const std::string& id, std::chrono::milliseconds timeout,
                    const std::string& status = {});
  /// Every service's captured output, headed by its name.
  std::string logs() const;

 private:
  TempDir dir_;
  std::map<std::string, std::string> env_;
  HttpClient api_;
  std::unique_ptr<Process> backend_;
  std::unique_ptr<Process> worker_;
};

/// POST /api/v1/login/access_token with client credentials and no Authorization header.
HttpResponse login(const HttpClient& api, const std::string& id, const std::string& secret);

/// A credential's secrets, as its creation shows them once.
struct CredentialSecrets {
  std::string api_key;
  std::string password;
};
/// POST /api/v1/credentials through `api` (asserts 201); `tenants`: tenant id -> scopes there.
CredentialSecrets create_credential(const HttpClient& api, const std::string& id,
                                    const json& scopes, const json& tenants = json::object());
/// POST /api/v1/app_management/tenants through `api` (asserts 201).
void create_tenant(const HttpClient& api, const std::string& id);

/// Asserts an application/problem+json response with `status`, `code` and (when non-empty)
/// `field`.
void expect_problem(const HttpResponse& response, int status, const std::string& code,
                    const std::string& field = {});

}  // namespace gen::itest

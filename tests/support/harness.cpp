#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

extern char** environ;

namespace gen::itest {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

TempDir::TempDir() {
  std::random_device rd;
  for (int i = 0; i < 100; ++i) {
    auto candidate = fs::temp_directory_path() / ("generator-itest-" + std::to_string(rd()));
    std::error_code ec;
    if (fs::create_directory(candidate, ec)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temp dir");
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

std::string base64_encode(std::string_view data) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    std::uint32_t n = (static_cast<unsigned char>(data[i]) << 16) |
                      (static_cast<unsigned char>(data[i + 1]) << 8) |
                      static_cast<unsigned char>(data[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  if (i + 1 == data.size()) {
    std::uint32_t n = static_cast<unsigned char>(data[i]) << 16;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == data.size()) {
    std::uint32_t n = (static_cast<unsigned char>(data[i]) << 16) |
                      (static_cast<unsigned char>(data[i + 1]) << 8);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

fs::path build_dir() {
  const char* dir = std::getenv("GENERATOR_BUILD_DIR");
  return dir && *dir ? fs::path(dir) : fs::current_path();
}

// --- HTTP ----------------------------------------------------------------------------------

std::string HttpResponse::header(const std::string& name) const {
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = headers.find(lower);
  return it == headers.end() ? std::string() : it->second;
}

json HttpResponse::json_body() const {
  return json::parse(body, nullptr, false);
}

HttpResponse HttpClient::request(const std::string& method, const std::string& path,
                                 const std::string& body, const std::string& content_type,
                                 const std::map<std::string, std::string>& headers) const {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port_));
  session.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!content_type.empty()) req.setContentType(content_type);
  if (!token_.empty()) req.set("Authorization", "Bearer " + token_);
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() || method == "POST" || method == "PUT") req.setContentLength64(body.size());
  std::ostream& os = session.sendRequest(req);
  os.write(body.data(), static_cast<std::streamsize>(body.size()));
  Poco::Net::HTTPResponse resp;
  std::istream& is = session.receiveResponse(resp);
  HttpResponse out;
  out.status = static_cast<int>(resp.getStatus());
  for (const auto& [k, v] : resp) {
    std::string lower = k;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[lower] = v;
  }
  Poco::StreamCopier::copyToString(is, out.body);
  return out;
}

// --- processes -----------------------------------------------------------------------------

std::map<std::string, std::string> service_environment(
    const std::map<std::string, std::string>& overrides) {
  static const std::vector<std::string> ours = {"HOSTING__", "DATABASE__", "STORAGE__",
                                                "PLUGINS__", "THREADS__",  "WORKER__",
                                                "LIMITS__",  "LOGGING__",  "AUTH__"};
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string key = kv.substr(0, eq);
    bool skip = false;
    for (const auto& p : ours) skip = skip || key.starts_with(p);
    if (!skip) env[key] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : overrides) env[k] = v;
  return env;
}

namespace {
int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}
}  // namespace

Process::Process(std::string name, const fs::path& exe, const std::vector<std::string>& args,
                 const std::map<std::string, std::string>& env, const fs::path& log_file)
    : name_(std::move(name)), log_file_(log_file) {
  if (!fs::exists(exe)) throw std::runtime_error(exe.string() + " does not exist (build it first)");
  // Everything the child needs is prepared before fork(): it only calls async-signal-safe
  // functions between fork() and execve().
  std::vector<std::string> arg_storage = {exe.string()};
  arg_storage.insert(arg_storage.end(), args.begin(), args.end());
  std::vector<std::string> env_storage;
  for (const auto& [k, v] : env) env_storage.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& a : arg_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + log_file.string());
  std::string exe_path = exe.string();
  sigset_t empty;
  sigemptyset(&empty);

  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    throw std::runtime_error("fork() failed");
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    if (::getppid() != parent) ::_exit(127);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
    ::execve(exe_path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(fd);
  pid_ = pid;
}

Process::~Process() {
  if (!exit_code_) stop(SIGTERM, 15s);
}

bool Process::running() {
  if (exit_code_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = decode_status(status);
    return false;
  }
  return true;
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
  return exit_code_;
}

int Process::stop(int signal, std::chrono::milliseconds timeout) {
  if (!running()) return *exit_code_;
  ::kill(pid_, signal);
  if (auto code = wait(timeout)) return *code;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  exit_code_ = decode_status(status);
  return *exit_code_;
}

std::pair<int, std::string> run_to_completion(const fs::path& exe,
                                              const std::vector<std::string>& args,
                                              const std::map<std::string, std::string>& env,
                                              std::chrono::milliseconds timeout) {
  TempDir dir;
  Process p("command", exe, args, env, dir.path() / "output.log");
  auto code = p.wait(timeout);
  int result = code ? *code : p.stop(SIGKILL, 5s);
  return {result, p.log()};
}

// --- the stack -----------------------------------------------------------------------------

Stack::Stack(StackOptions options) : api_(free_port(), kRootApiKey) {
  const fs::path build = build_dir();
  env_ = service_environment({
      {"DATABASE__URL", "sqlite://" + (dir_.path() / "generator.db").string()},
      {"STORAGE__DATA_DIR", dir_.path().string()},
      {"PLUGINS__PATH", (build / "lib/generator/plugins").string() + ":" +
                            (build / "tests/fixture-plugins").string()},
      {"HOSTING__HOST", "127.0.0.1"},
      {"HOSTING__PORT", std::to_string(api_.port())},
      {"HOSTING__METRICS_PORT", std::to_string(free_port())},
      {"HOSTING__THREADS", "8"},
      {"THREADS__DRAMATIQ_PROCESSES", std::to_string(options.worker_processes)},
      {"THREADS__DRAMATIQ_THREADS", std::to_string(options.worker_threads)},
      {"WORKER__POLL_INTERVAL_MS", "50"},
      {"WORKER__HEARTBEAT_INTERVAL_MS", "200"},
      {"WORKER__DRAIN_TIMEOUT_S", "5"},
      {"AUTH__ROOT_API_KEY", kRootApiKey},
  });
  for (const auto& [k, v] : options.env) env_[k] = v;

  backend_ = std::make_unique<Process>("generator-backend", build / "bin/generator-backend",
                                       std::vector<std::string>{"serve"}, env_,
                                       dir_.path() / "backend.log");
  auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    if (!backend_->running()) {
      throw std::runtime_error("generator-backend exited with " +
                               std::to_string(backend_->exit_code().value_or(-1)) +
                               " during start-up:\n" + logs());
    }
    try {
      if (api_.get("/health").status == 200) break;
    } catch (const std::exception&) {
      // not listening yet
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("generator-backend did not answer /health in 30 s:\n" + logs());
    }
    std::this_thread::sleep_for(25ms);
  }

  if (options.worker) {
    worker_ =
        std::make_unique<Process>("generator-worker", build / "bin/generator-worker",
                                  std::vector<std::string>{}, env_, dir_.path() / "worker.log");
    // The worker needs no port to do its job (it polls the database); if it serves /health
    // on the metrics port, wait for that, else only make sure it did not die at start-up.
    HttpClient worker_http(std::stoi(env_.at("HOSTING__METRICS_PORT")));
    auto worker_deadline = std::chrono::steady_clock::now() + 1500ms;
    while (std::chrono::steady_clock::now() < worker_deadline) {
      if (!worker_->running()) {
        throw std::runtime_error("generator-worker exited with " +
                                 std::to_string(worker_->exit_code().value_or(-1)) +
                                 " during start-up:\n" + logs());
      }
      try {
        if (worker_http.get("/health").status == 200) break;
      } catch (const std::exception&) {
        // not listening (yet)
      }
      std::this_thread::sleep_for(25ms);
    }
  }
}

Stack::~Stack() {
  if (worker_) worker_->stop(SIGTERM, 15s);
  if (backend_) backend_->stop(SIGTERM, 15s);
}

json Stack::submit(const json& body) {
  HttpResponse r = api_.post_json("/api/v1/jobs", body);
  EXPECT_EQ(r.status, 202) << r.body;
  if (r.status != 202) return json::object();
  return r.json_body();
}

json Stack::get_job(const std::string& id) {
  HttpResponse r = api_.get("/api/v1/jobs/" + id);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.json_body();
}

json Stack::wait_for_job(const std::string& id, std::chrono::milliseconds timeout,
                         const std::string& status) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  json job;
  for (;;) {
    HttpResponse r = api_.get("/api/v1/jobs/" + id);
    if (r.status != 200) {
      ADD_FAILURE() << "GET job " << id << " -> " << r.status << " " << r.body;
      return r.json_body();
    }
    job = r.json_body();
    std::string s = job.value("status", "");
    if (status.empty() ? (s == "COMPLETED" || s == "FAILED" || s == "CANCELLED") : s == status) {
      return job;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ADD_FAILURE() << "job " << id << " did not reach "
                    << (status.empty() ? std::string("a final status") : status) << " in "
                    << timeout.count() << " ms; last state:\n"
                    << job.dump(2);
      return job;
    }
    std::this_thread::sleep_for(25ms);
  }
}

std::string Stack::logs() const {
  std::string out;
  for (const char* name : {"backend.log", "worker.log"}) {
    fs::path p = dir_.path() / name;
    if (!fs::exists(p)) continue;
    out += "----- " + std::string(name) + " -----\n" + read_file(p);
  }
  return out;
}

HttpResponse login(const HttpClient& api, const std::string& id, const std::string& secret) {
  return api.with_token("").request(
      "POST", "/api/v1/login/access_token",
      "grant_type=client_credentials&client_id=" + id + "&client_secret=" + secret,
      "application/x-www-form-urlencoded");
}

CredentialSecrets create_credential(const HttpClient& api, const std::string& id,
                                    const json& scopes, const json& tenants) {
  HttpResponse r =
      api.post_json("/api/v1/credentials", {{"id", id}, {"scopes", scopes}, {"tenants", tenants}});
  EXPECT_EQ(r.status, 201) << r.body;
  const json body = r.json_body();
  if (!body.is_object()) return {};
  return {body.value("api_key", ""), body.value("password", "")};
}

void create_tenant(const HttpClient& api, const std::string& id) {
  HttpResponse r = api.post_json("/api/v1/app_management/tenants", {{"id", id}});
  EXPECT_EQ(r.status, 201) << r.body;
}

void expect_problem(const HttpResponse& response, int status, const std::string& code,
                    const std::string& field) {
  EXPECT_EQ(response.status, status) << response.body;
  EXPECT_EQ(response.header("Content-Type"), "application/problem+json") << response.body;
  json body = response.json_body();
  ASSERT_TRUE(body.is_object()) << response.body;
  EXPECT_EQ(body.value("status", 0), status) << response.body;
  EXPECT_EQ(body.value("code", ""), code) << response.body;
  std::string lower = code;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(body.value("type", ""), "https://generator.dev/problems/" + lower) << response.body;
  EXPECT_FALSE(body.value("title", "").empty()) << response.body;
  EXPECT_FALSE(body.value("detail", "").empty()) << response.body;
  if (!field.empty()) {
    EXPECT_EQ(body.value("field", ""), field) << response.body;
  }
}

}  // namespace gen::itest

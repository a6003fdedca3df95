#include "commands.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "client.hpp"
#include "gen/core/base/errors.hpp"
#include "gen/core/base/settings.hpp"
#include "gen/core/queue/states.hpp"
#include "gen/core/storage/database.hpp"
#include "gen/core/tenancy/auth.hpp"

namespace gen::ctl {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kUsage = R"(usage: generatorctl [global options] <command> [args]

Global options (or environment):
  --url URL        server, default $GENERATOR_URL or http://127.0.0.1:8080
  --token TOKEN    API key or access token, default $GENERATOR_TOKEN
  --tenant ID      act in this tenant (tenant-id header), default $GENERATOR_TENANT
  --env-file PATH  settings file for the host-side commands (migrate, credentials create --root)

Commands:
  submit (--step GENERATOR [--params JSON])... | --file JOB.json
         [--input FILE[:MEDIA/TYPE]]... [--priority N] [--delay-ms MS] [--run-after RFC3339]
         [--idempotency-key KEY] [--wait [--timeout SECONDS] [--output DIR]]
  jobs list [--status S] [--limit N] | jobs show ID | jobs cancel ID | jobs delete ID
  artifacts list JOB [--all] | artifacts get JOB NAME [--output FILE]
  generators | plugins
  tenants list | tenants create ID [--disabled] | tenants enable ID | tenants disable ID
          | tenants delete ID
  credentials list | credentials create ID [--scope SCOPE]... [--tenant-scope TENANT:SCOPE]...
              [--password P] | credentials create --root | credentials activate ID
              | credentials deactivate ID | credentials delete ID
  login ID SECRET                 print an access token (client_credentials grant)
  config list | config get NAME | config set NAME VALUE | config unset NAME
  webhooks list | webhooks create URL [--event EVENT]... [--auth hmac|basic|none] [--secret S]
           [--username U --password P] [--disabled] | webhooks show ID | webhooks enable ID
           | webhooks disable ID | webhooks delete ID | webhooks deliveries ID [--limit N]
  migrate                         apply database migrations (on the host; DATABASE__URL)

Exit codes: 0 ok, 1 refused by the server (4xx), 2 usage, 3 server unreachable,
            4 --wait: job FAILED or CANCELLED, 5 server error (5xx), 6 --wait: timed out.
)";

struct Args {
  std::vector<std::string> positional;
  std::multimap<std::string, std::string> options;
  std::set<std::string> flags;

  std::string option(const std::string& name, const std::string& fallback = {}) const {
    auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
  }
  bool has(const std::string& name) const { return flags.count(name) > 0; }
};

const std::set<std::string> kValueOptions = {
    "--url",      "--token",  "--tenant",   "--env-file", "--step",      "--params",
    "--file",     "--input",  "--priority", "--delay-ms", "--run-after", "--idempotency-key",
    "--timeout",  "--output", "--status",   "--limit",    "--scope",     "--tenant-scope",
    "--password", "--event",  "--auth",     "--username", "--secret"};
const std::set<std::string> kFlags = {"--wait", "--all", "--disabled", "--root", "--help", "-h"};

// Steps keep their order with their --params, so they are parsed here rather than as options.
struct StepArg {
  std::string generator;
  json params = json::object();
};

Args parse(const std::vector<std::string>& argv, std::vector<StepArg>& steps) {
  Args args;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    std::string a = argv[i];
    std::string value;
    bool inline_value = false;
    if (a.starts_with("--") && a.find('=') != std::string::npos) {
      value = a.substr(a.find('=') + 1);
      a = a.substr(0, a.find('='));
      inline_value = true;
    }
    if (kFlags.count(a)) {
      args.flags.insert(a);
    } else if (kValueOptions.count(a)) {
      if (!inline_value) {
        if (i + 1 >= argv.size()) throw CtlError(kExitUsage, a + " needs a value");
        value = argv[++i];
      }
      if (a == "--step") {
        steps.push_back({value});
      } else if (a == "--params") {
        if (steps.empty()) throw CtlError(kExitUsage, "--params must follow a --step");
        steps.back().params = json::parse(value, nullptr, false);
        if (!steps.back().params.is_object()) {
          throw CtlError(kExitUsage, "--params must be a JSON object, got " + value);
        }
      } else {
        args.options.emplace(a, value);
      }
    } else if (a.starts_with("-") && a.size() > 1) {
      throw CtlError(kExitUsage, "unknown option " + a);
    } else {
      args.positional.push_back(a);
    }
  }
  return args;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CtlError(kExitUsage, "cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string guess_media_type(const fs::path& p) {
  static const std::map<std::string, std::string> types = {
      {".txt", "text/plain"},      {".md", "text/markdown"}, {".json", "application/json"},
      {".pdf", "application/pdf"}, {".png", "image/png"},    {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},     {".html", "text/html"},   {".csv", "text/csv"}};
  auto it = types.find(p.extension().string());
  return it == types.end() ? "application/octet-stream" : it->second;
}

void print(const json& value) {
  std::cout << value.dump(2) << "\n";
}

void need(const Args& args, std::size_t n, const std::string& usage) {
  if (args.positional.size() < n) throw CtlError(kExitUsage, "usage: generatorctl " + usage);
}

std::string job_path(const std::string& id) {
  return "/api/v1/jobs/" + encode_segment(id);
}

void download(const Client& client, const std::string& job, const std::string& name,
              const fs::path& target) {
  // Streamed to the file as it arrives: a large artifact is never whole in memory.
  std::ofstream out(target, std::ios::binary);
  if (!out) throw CtlError(kExitUsage, "cannot write " + target.string());
  client.stream("GET", job_path(job) + "/artifacts/" + encode_segment(name), nullptr, {}, {}, &out);
  out.flush();
  if (!out) throw CtlError(kExitUsage, "cannot write " + target.string());
}

int wait_for(const Client& client, const std::string& id, const Args& args) {
  double timeout_s = std::stod(args.option("--timeout", "600"));
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<std::int64_t>(timeout_s * 1000));
  bool tty = ::isatty(STDERR_FILENO);
  json job;
  for (;;) {
    job = client.get_json(job_path(id));
    const std::string status = job.value("status", "");
    const std::optional<JobStatus> known = parse_job_status(status);
    double progress = job.value("progress", 0.0);
    int filled = static_cast<int>(progress * 30);
    std::string bar = "[" + std::string(filled, '#') + std::string(30 - filled, ' ') + "] " +
                      std::to_string(static_cast<int>(progress * 100)) + "% " + status;
    std::cerr << (tty ? "\r" : "") << bar << (tty ? "   " : "\n") << std::flush;
    if (known && is_final(*known)) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      std::cerr << "\n";
      throw CtlError(kExitTimeout, "job " + id + " did not end within " +
                                       args.option("--timeout", "600") + " s (still " + status +
                                       ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  if (tty) std::cerr << "\n";
  if (parse_job_status(job.value("status", "")) != JobStatus::kCompleted) {
    std::string detail = job["error"].is_object() ? job["error"].value("code", "") + ": " +
                                                        job["error"].value("message", "")
                                                  : std::string("no error recorded");
    std::cerr << "job " << id << " " << job["status"].get<std::string>() << ": " << detail << "\n";
    return kExitJobFailed;
  }
  fs::path dir = args.option("--output", ".");
  fs::create_directories(dir);
  for (const json& a : job["artifacts"]) {
    fs::path target = dir / fs::path(a.value("name", "artifact")).filename();
    download(client, id, a.value("name", ""), target);
    std::cout << target.string() << "\n";
  }
  return kExitOk;
}

int submit(const Client& client, const Args& args, const std::vector<StepArg>& steps) {
  json body;
  if (!args.option("--file").empty()) {
    body = json::parse(read_whole(args.option("--file")), nullptr, false);
    if (!body.is_object()) throw CtlError(kExitUsage, "--file must hold a JSON job object");
  } else {
    if (steps.empty()) throw CtlError(kExitUsage, "submit needs --step GENERATOR or --file");
    body["steps"] = json::array();
    for (const auto& s : steps) {
      body["steps"].push_back({{"generator", s.generator}, {"params", s.params}});
    }
  }
  if (!args.option("--priority").empty()) body["priority"] = std::stoi(args.option("--priority"));
  if (!args.option("--delay-ms").empty()) body["delay_ms"] = std::stoll(args.option("--delay-ms"));
  if (!args.option("--run-after").empty()) body["run_after"] = args.option("--run-after");
  std::map<std::string, std::string> headers;
  if (!args.option("--idempotency-key").empty()) {
    headers["Idempotency-Key"] = args.option("--idempotency-key");
  }
  // Input files go as multipart/form-data parts (no base64 inflation), streamed from disk
  // while the request is sent: never whole in memory.
  std::string payload = body.dump(), content_type = "application/json";
  std::vector<std::pair<std::string, fs::path>> pieces;  // text, then a file to copy (or none)
  if (args.options.count("--input")) {
    std::random_device random;
    const std::string boundary =
        "generatorctl-" + std::to_string(::getpid()) + "-" +
        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "-" +
        std::to_string(random()) + std::to_string(random());
    payload = "--" + boundary +
              "\r\nContent-Disposition: form-data; name=\"job\"\r\nContent-Type: "
              "application/json\r\n\r\n" +
              body.dump() + "\r\n";
    for (auto [it, end] = args.options.equal_range("--input"); it != end; ++it) {
      std::string spec = it->second, media;
      if (auto colon = spec.rfind(':');
          colon != std::string::npos && spec.find('/', colon) != std::string::npos) {
        media = spec.substr(colon + 1);
        spec = spec.substr(0, colon);
      }
      fs::path p = spec;
      std::error_code ec;
      if (!fs::is_regular_file(p, ec)) throw CtlError(kExitUsage, "cannot read " + spec);
      std::string filename = p.filename().string();
      for (char& c : filename) {
        if (c == '"' || c == '\\' || c == '\r' || c == '\n') c = '_';
      }
      payload += "--" + boundary +
                 "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename +
                 "\"\r\nContent-Type: " + (media.empty() ? guess_media_type(p) : media) +
                 "\r\n\r\n";
      pieces.emplace_back(std::move(payload), p);
      payload = "\r\n";
    }
    payload += "--" + boundary + "--\r\n";
    content_type = "multipart/form-data; boundary=" + boundary;
  }
  pieces.emplace_back(std::move(payload), fs::path());
  BodyWriter writer;
  for (const auto& [text, file] : pieces) {
    writer.length += static_cast<std::int64_t>(text.size());
    if (!file.empty()) writer.length += static_cast<std::int64_t>(fs::file_size(file));
  }
  writer.write = [&](std::ostream& os) {
    for (const auto& [text, file] : pieces) {
      os.write(text.data(), static_cast<std::streamsize>(text.size()));
      if (file.empty()) continue;
      std::ifstream in(file, std::ios::binary);
      if (!in) throw CtlError(kExitUsage, "cannot read " + file.string());
      std::vector<char> buffer(256 * 1024);
      while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount()) {
        os.write(buffer.data(), in.gcount());
      }
    }
  };
  HttpResult r = client.stream("POST", "/api/v1/jobs", &writer, content_type, headers, nullptr);
  json job = r.json();
  std::string id = job.value("id", "");
  if (!args.has("--wait")) {
    std::cout << id << "\n";
    return kExitOk;
  }
  std::cerr << "job " << id << (r.status == 200 ? " (existing)" : "") << "\n";
  return wait_for(client, id, args);
}

int host_command(const Args& args) {
  Settings settings =
      Settings::from_process(args.option("--env-file"), "/usr/lib/generator/plugins");
  auto db = Database::open(settings.database_url, 1);
  if (args.positional[0] == "migrate") {
    int ran = db->migrate();
    std::cout << "applied " << ran << " migration(s); schema version " << db->schema_version()
              << "\n";
    return kExitOk;
  }
  db->migrate();
  IssuedCredential root = CredentialStore(*db).create_root();
  std::cerr << "root credential created; the secrets are shown once:\n";
  print({{"id", root.credential.id}, {"password", root.password}, {"api_key", root.api_key}});
  return kExitOk;
}

int dispatch(const Args& args, const std::vector<StepArg>& steps) {
  const auto& p = args.positional;
  const std::string& cmd = p[0];
  std::string sub = p.size() > 1 ? p[1] : "";
  if (cmd == "migrate" || (cmd == "credentials" && sub == "create" && args.has("--root"))) {
    return host_command(args);
  }
  Client client(args.option("--url", env_or("GENERATOR_URL", "http://127.0.0.1:8080")),
                args.option("--token", env_or("GENERATOR_TOKEN", "")),
                args.option("--tenant", env_or("GENERATOR_TENANT", "")));
  if (cmd == "submit") return submit(client, args, steps);
  if (cmd == "generators") return print(client.get_json("/api/v1/generators")), kExitOk;
  if (cmd == "plugins") return print(client.get_json("/api/v1/plugins")), kExitOk;
  if (cmd == "login") {
    need(args, 3, "login ID SECRET");
    HttpResult r =
        client.request("POST", "/api/v1/login/access_token",
                       "grant_type=client_credentials&client_id=" + encode_segment(p[1]) +
                           "&client_secret=" + encode_segment(p[2]),
                       "application/x-www-form-urlencoded");
    std::cout << r.json().value("access_token", "") << "\n";
    return kExitOk;
  }
  if (cmd == "jobs") {
    if (sub == "list" || sub.empty()) {
      std::string query = "?limit=" + args.option("--limit", "100");
      if (!args.option("--status").empty()) query += "&status=" + args.option("--status");
      json page = client.get_json("/api/v1/jobs" + query);
      for (const json& j : page["jobs"]) {
        std::cout << j.value("id", "") << "  " << j.value("status", "") << "  "
                  << j["created_at"].get<std::string>() << "\n";
      }
      return kExitOk;
    }
    need(args, 3, "jobs " + sub + " ID");
    if (sub == "show") return print(client.get_json(job_path(p[2]))), kExitOk;
    if (sub == "cancel")
      return print(client.send_json("POST", job_path(p[2]) + "/cancel", json::object())), kExitOk;
    if (sub == "delete") return client.request("DELETE", job_path(p[2])), kExitOk;
  }
  if (cmd == "artifacts") {
    if (sub == "list") {
      need(args, 3, "artifacts list JOB");
      return print(client.get_json(job_path(p[2]) + "/artifacts" +
                                   (args.has("--all") ? "?all=true" : ""))),
             kExitOk;
    }
    if (sub == "get") {
      need(args, 4, "artifacts get JOB NAME [--output FILE]");
      fs::path target = args.option("--output", fs::path(p[3]).filename().string());
      download(client, p[2], p[3], target);
      std::cout << target.string() << "\n";
      return kExitOk;
    }
  }
  if (cmd == "tenants") {
    const std::string base = "/api/v1/app_management/tenants";
    if (sub == "list" || sub.empty()) return print(client.get_json(base)), kExitOk;
    need(args, 3, "tenants " + sub + " ID");
    std::string path = base + "/" + encode_segment(p[2]);
    if (sub == "create") {
      return print(client.send_json("POST", base,
                                    {{"id", p[2]}, {"enabled", !args.has("--disabled")}})),
             kExitOk;
    }
    if (sub == "enable" || sub == "disable") {
      return print(client.send_json("PUT", path, {{"enabled", sub == "enable"}})), kExitOk;
    }
    if (sub == "delete") return client.request("DELETE", path), kExitOk;
  }
  if (cmd == "credentials") {
    const std::string base = "/api/v1/credentials";
    if (sub == "list" || sub.empty()) return print(client.get_json(base)), kExitOk;
    need(args, 3, "credentials " + sub + " ID");
    std::string path = base + "/" + encode_segment(p[2]);
    if (sub == "create") {
      json body = {{"id", p[2]}, {"scopes", json::array()}, {"tenants", json::object()}};
      for (auto [it, end] = args.options.equal_range("--scope"); it != end; ++it) {
        body["scopes"].push_back(it->second);
      }
      for (auto [it, end] = args.options.equal_range("--tenant-scope"); it != end; ++it) {
        auto colon = it->second.find(':');
        if (colon == std::string::npos) {
          throw CtlError(kExitUsage, "--tenant-scope takes TENANT:VERB:SUBJECT");
        }
        body["tenants"][it->second.substr(0, colon)].push_back(it->second.substr(colon + 1));
      }
      if (!args.option("--password").empty()) body["password"] = args.option("--password");
      std::cerr << "the secrets below are shown once:\n";
      return print(client.send_json("POST", base, body)), kExitOk;
    }
    if (sub == "activate" || sub == "deactivate") {
      return print(client.send_json("PUT", path, {{"is_active", sub == "activate"}})), kExitOk;
    }
    if (sub == "delete") return client.request("DELETE", path), kExitOk;
  }
  if (cmd == "config") {
    if (sub == "list" || sub.empty()) return print(client.get_json("/api/v1/config")), kExitOk;
    need(args, 3, "config " + sub + " NAME");
    std::string path = "/api/v1/config/" + encode_segment(p[2]);
    if (sub == "get") return print(client.get_json(path)), kExitOk;
    if (sub == "set") {
      need(args, 4, "config set NAME VALUE");
      json value = json::parse(p[3], nullptr, false);  // 42 -> integer, A4 -> string
      if (value.is_discarded()) value = p[3];
      return print(client.send_json("PUT", path, {{"value", value}})), kExitOk;
    }
    if (sub == "unset") return client.request("DELETE", path), kExitOk;
  }
  if (cmd == "webhooks") {
    const std::string base = "/api/v1/webhooks";
    if (sub == "list" || sub.empty()) return print(client.get_json(base)), kExitOk;
    need(args, 3, "webhooks " + sub + (sub == "create" ? " URL" : " ID"));
    if (sub == "create") {
      json body = {{"url", p[2]}, {"enabled", !args.has("--disabled")}};
      for (auto [it, end] = args.options.equal_range("--event"); it != end; ++it) {
        body["events"].push_back(it->second);
      }
      json auth = {{"type", args.option("--auth", "hmac")}};
      if (auth["type"] == "basic") {
        auth["username"] = args.option("--username");
        auth["password"] = args.option("--password");
      }
      if (auth["type"] == "hmac" && !args.option("--secret").empty()) {
        auth["secret"] = args.option("--secret");
      }
      body["auth"] = auth;
      if (auth["type"] == "hmac" && !auth.contains("secret")) {
        std::cerr << "the generated secret below is shown once:\n";
      }
      return print(client.send_json("POST", base, body)), kExitOk;
    }
    std::string path = base + "/" + encode_segment(p[2]);
    if (sub == "show") return print(client.get_json(path)), kExitOk;
    if (sub == "enable" || sub == "disable") {
      return print(client.send_json("PUT", path, {{"enabled", sub == "enable"}})), kExitOk;
    }
    if (sub == "delete") return client.request("DELETE", path), kExitOk;
    if (sub == "deliveries") {
      return print(client.get_json(path + "/deliveries?limit=" + args.option("--limit", "100"))),
             kExitOk;
    }
  }
  throw CtlError(kExitUsage, "unknown command '" + cmd + (sub.empty() ? "" : " " + sub) +
                                 "' (generatorctl --help)");
}

}  // namespace

int run(const std::vector<std::string>& argv) {
  try {
    std::vector<StepArg> steps;
    Args args = parse(argv, steps);
    if (args.has("--help") || args.has("-h") || args.positional.empty() ||
        args.positional[0] == "help") {
      std::cout << kUsage;
      return args.positional.empty() && !args.has("--help") && !args.has("-h") ? kExitUsage
                                                                               : kExitOk;
    }
    if (args.positional[0] == "version") {
      std::cout << "generatorctl " << GENERATOR_VERSION << "\n";
      return kExitOk;
    }
    return dispatch(args, steps);
  } catch (const CtlError& e) {
    std::cerr << "generatorctl: " << e.what() << "\n";
    return e.exit_code();
  } catch (const Error& e) {
    std::cerr << "generatorctl: " << e.what() << "\n";
    return http_status(e.code()) >= 500 ? kExitServerError : kExitApiError;
  } catch (const std::exception& e) {
    std::cerr << "generatorctl: " << e.what() << "\n";
    return kExitUsage;
  }
}

}  // namespace gen::ctl

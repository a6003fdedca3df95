#include "commands.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "client.hpp"
#include "gen/core/base/cli.hpp"
#include "gen/core/base/errors.hpp"
#include "gen/core/base/settings.hpp"
#include "gen/core/queue/states.hpp"
#include "gen/core/storage/database.hpp"
#include "gen/core/tenancy/auth.hpp"

namespace gen::ctl {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Every command and option of generatorctl: the parser and `--help` both read this table.
const cli::Program kProgram{
    .name = "generatorctl",
    .summary = "The command-line client of the Generator REST API (docs/api.md#generatorctl).",
    .options = {{"--url", "URL", "server, default $GENERATOR_URL or http://127.0.0.1:8080"},
                {"--token", "TOKEN", "API key or access token, default $GENERATOR_TOKEN"},
                {"--tenant", "ID",
                 "act in this tenant (tenant-id header), default $GENERATOR_TENANT"},
                {"--env-file", "PATH",
                 "settings file for the host-side commands (migrate, credentials create --root)"}},
    .commands =
        {{.name = "submit",
          .help = "submit a job: steps from --step (each followed by its --params) or --file",
          .options = {{"--step", "GENERATOR", "a step; its params follow as --params", true},
                      {"--params", "JSON", "the params of the --step before it", true},
                      {"--file", "JOB.json", "the whole job as JSON instead of --step"},
                      {"--input", "FILE[:TYPE]", "an input file; type guessed from the extension",
                       true},
                      {"--priority", "N", "queue priority"},
                      {"--delay-ms", "MS", "start no earlier than MS from now"},
                      {"--run-after", "RFC3339", "start no earlier than this time"},
                      {"--idempotency-key", "KEY", "submit at most once per KEY"},
                      {"--wait", "", "wait for the end, then download the artifacts"},
                      {"--timeout", "SECONDS", "--wait: give up after SECONDS (default 600)"},
                      {"--output", "DIR", "--wait: where artifacts go (default .)"}}},
         {.name = "jobs list",
          .help = "list jobs",
          .options = {{"--status", "S", "only jobs in status S"},
                      {"--limit", "N", "at most N (default 100)"}},
          .is_default = true},
         {.name = "jobs show", .args = "ID", .help = "one job as JSON"},
         {.name = "jobs cancel", .args = "ID", .help = "cancel a job"},
         {.name = "jobs delete", .args = "ID", .help = "delete a job and its artifacts"},
         {.name = "artifacts list",
          .args = "JOB",
          .help = "a job's artifacts",
          .options = {{"--all", "", "inputs and intermediate artifacts too"}}},
         {.name = "artifacts get",
          .args = "JOB NAME",
          .help = "download one artifact",
          .options = {{"--output", "FILE", "where to write it (default: its name)"}}},
         {.name = "generators", .help = "the generators the server offers"},
         {.name = "plugins", .help = "the plugins the server loaded, with state and error"},
         {.name = "tenants list", .help = "list tenants", .is_default = true},
         {.name = "tenants create",
          .args = "ID",
          .help = "create a tenant",
          .options = {{"--disabled", "", "create it disabled"}}},
         {.name = "tenants enable", .args = "ID", .help = "enable a tenant"},
         {.name = "tenants disable", .args = "ID", .help = "disable a tenant"},
         {.name = "tenants delete", .args = "ID", .help = "delete a tenant"},
         {.name = "credentials list", .help = "list credentials", .is_default = true},
         {.name = "credentials create",
          .args = "[ID]",
          .help = "create a credential (secrets shown once); --root: on the host, no ID",
          .options = {{"--scope", "SCOPE", "a system scope (VERB:SUBJECT)", true},
                      {"--tenant-scope", "TENANT:SCOPE", "a scope in one tenant", true},
                      {"--password", "P", "its password (default: generated)"},
                      {"--root", "", "the root credential, written to the database directly"}}},
         {.name = "credentials activate", .args = "ID", .help = "activate a credential"},
         {.name = "credentials deactivate", .args = "ID", .help = "deactivate a credential"},
         {.name = "credentials delete", .args = "ID", .help = "delete a credential"},
         {.name = "login",
          .args = "ID SECRET",
          .help = "print an access token (client_credentials)"},
         {.name = "config list", .help = "every runtime setting", .is_default = true},
         {.name = "config get", .args = "NAME", .help = "one runtime setting"},
         {.name = "config set", .args = "NAME VALUE", .help = "set it (VALUE as JSON, else text)"},
         {.name = "config unset", .args = "NAME", .help = "back to the default"},
         {.name = "webhooks list", .help = "list webhooks", .is_default = true},
         {.name = "webhooks create",
          .args = "URL",
          .help = "subscribe URL to job events",
          .options = {{"--event", "EVENT", "an event to deliver (default: all)", true},
                      {"--auth", "hmac|basic|none", "how deliveries authenticate (default hmac)"},
                      {"--secret", "S", "hmac secret (default: generated, shown once)"},
                      {"--username", "U", "basic auth user"},
                      {"--password", "P", "basic auth password"},
                      {"--disabled", "", "create it disabled"}}},
         {.name = "webhooks show", .args = "ID", .help = "one webhook"},
         {.name = "webhooks enable", .args = "ID", .help = "enable a webhook"},
         {.name = "webhooks disable", .args = "ID", .help = "disable a webhook"},
         {.name = "webhooks delete", .args = "ID", .help = "delete a webhook"},
         {.name = "webhooks deliveries",
          .args = "ID",
          .help = "its recent deliveries",
          .options = {{"--limit", "N", "at most N (default 100)"}}},
         {.name = "content import",
          .args = "FILE[:TYPE]",
          .help = "import a document into the content library (docs/content.md)",
          .options = {{"--id", "CONTENT_ID", "the content's id (required)"},
                      {"--field", "FIELD",
                       "generate TITLE, PLUG, BLURB, SUMMARY, KEYWORDS or "
                       "QUESTIONS too",
                       true},
                      {"--language", "LANG", "auto (default), en, de, fr"},
                      {"--inactive", "", "do not make the new version active"},
                      {"--no-new-version", "", "refuse (409) if the content exists"},
                      {"--wait", "", "wait for the import to end"},
                      {"--timeout", "SECONDS", "--wait: give up after SECONDS (default 600)"}}},
         {.name = "content list", .help = "the tenant's content", .is_default = true},
         {.name = "content show", .args = "CONTENT_ID", .help = "versions, status and fields"},
         {.name = "content text",
          .args = "CONTENT_ID",
          .help = "the extracted text of a version",
          .options = {{"--version", "N", "default: the active one"},
                      {"--json", "", "segments with locations and token counts"}}},
         {.name = "content search",
          .args = "QUERY",
          .help = "search the library: words (stemmed, any order), \"phrases\"",
          .options = {{"--fields", "", "search the metadata instead of the text"},
                      {"--content", "CONTENT_ID", "only this content"},
                      {"--all-versions", "", "inactive versions too"},
                      {"--limit", "N", "at most N results (default 20)"}}},
         {.name = "content field",
          .args = "CONTENT_ID FIELD",
          .help = "generate one metadata field of a version",
          .options = {{"--version", "N", "default: the active one"},
                      {"--force", "", "regenerate a field that has a value"},
                      {"--wait", "", "wait for the job to end"},
                      {"--timeout", "SECONDS", "--wait: give up after SECONDS (default 600)"}}},
         {.name = "content activate", .args = "CONTENT_ID VERSION", .help = "make it active"},
         {.name = "content delete",
          .args = "CONTENT_ID",
          .help = "delete a content (or one version)",
          .options = {{"--version", "N", "only this version"}}},
         {.name = "migrate", .help = "apply database migrations (on the host; DATABASE__URL)"}},
    .epilog =
        "Exit codes: 0 ok, 1 refused by the server (4xx), 2 usage, 3 server unreachable,\n"
        "            4 --wait: job FAILED or CANCELLED, 5 server error (5xx), 6 --wait: "
        "timed out.\n"};

// Steps keep their order with their --params.
struct StepArg {
  std::string generator;
  json params = json::object();
};

std::vector<StepArg> steps_of(const cli::Parsed& args) {
  std::vector<StepArg> steps;
  for (const auto& [name, value] : args.options) {
    if (name == "--step") {
      steps.push_back({value});
    } else if (name == "--params") {
      if (steps.empty()) throw CtlError(kExitUsage, "--params must follow a --step");
      steps.back().params = json::parse(value, nullptr, false);
      if (!steps.back().params.is_object()) {
        throw CtlError(kExitUsage, "--params must be a JSON object, got " + value);
      }
    }
  }
  return steps;
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

void print(const json& value) {
  std::cout << value.dump(2) << "\n";
}

std::string option(const cli::Parsed& args, std::string_view name, std::string fallback = {}) {
  return args.value_or(name, std::move(fallback));
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

// Waits for the job's end with a progress bar on stderr; then downloads its artifacts unless
// `download` is false. Exit code: kExitOk when it COMPLETED.
int wait_for(const Client& client, const std::string& id, const cli::Parsed& args,
             bool download_artifacts = true) {
  double timeout_s = std::stod(option(args, "--timeout", "600"));
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
                                       option(args, "--timeout", "600") + " s (still " + status +
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
  if (!download_artifacts) return kExitOk;
  fs::path dir = option(args, "--output", ".");
  fs::create_directories(dir);
  for (const json& a : job["artifacts"]) {
    fs::path target = dir / fs::path(a.value("name", "artifact")).filename();
    download(client, id, a.value("name", ""), target);
    std::cout << target.string() << "\n";
  }
  return kExitOk;
}

// POSTs `body` to `path`: as JSON, or with `inputs` (FILE[:TYPE]) as multipart/form-data
// parts (no base64 inflation), streamed from disk while the request is sent: never whole in
// memory.
HttpResult post_with_inputs(const Client& client, const std::string& path, const json& body,
                            const std::vector<std::string>& inputs,
                            const std::map<std::string, std::string>& headers) {
  std::string payload = body.dump(), content_type = "application/json";
  std::vector<std::pair<std::string, fs::path>> pieces;  // text, then a file to copy (or none)
  if (!inputs.empty()) {
    std::random_device random;
    const std::string boundary =
        "generatorctl-" + std::to_string(::getpid()) + "-" +
        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "-" +
        std::to_string(random()) + std::to_string(random());
    payload = "--" + boundary +
              "\r\nContent-Disposition: form-data; name=\"job\"\r\nContent-Type: "
              "application/json\r\n\r\n" +
              body.dump() + "\r\n";
    for (const std::string& spec : inputs) {
      const cli::InputFile input = cli::parse_input(spec);
      const fs::path& p = input.path;
      std::error_code ec;
      if (!fs::is_regular_file(p, ec)) throw CtlError(kExitUsage, "cannot read " + p.string());
      std::string filename = p.filename().string();
      for (char& c : filename) {
        if (c == '"' || c == '\\' || c == '\r' || c == '\n') c = '_';
      }
      payload += "--" + boundary +
                 "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename +
                 "\"\r\nContent-Type: " + input.media_type + "\r\n\r\n";
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
  return client.stream("POST", path, &writer, content_type, headers, nullptr);
}

int submit(const Client& client, const cli::Parsed& args, const std::vector<StepArg>& steps) {
  json body;
  if (!option(args, "--file").empty()) {
    body = json::parse(read_whole(option(args, "--file")), nullptr, false);
    if (!body.is_object()) throw CtlError(kExitUsage, "--file must hold a JSON job object");
  } else {
    if (steps.empty()) throw CtlError(kExitUsage, "submit needs --step GENERATOR or --file");
    body["steps"] = json::array();
    for (const auto& s : steps) {
      body["steps"].push_back({{"generator", s.generator}, {"params", s.params}});
    }
  }
  if (!option(args, "--priority").empty()) body["priority"] = std::stoi(option(args, "--priority"));
  if (!option(args, "--delay-ms").empty())
    body["delay_ms"] = std::stoll(option(args, "--delay-ms"));
  if (!option(args, "--run-after").empty()) body["run_after"] = option(args, "--run-after");
  std::map<std::string, std::string> headers;
  if (!option(args, "--idempotency-key").empty()) {
    headers["Idempotency-Key"] = option(args, "--idempotency-key");
  }
  HttpResult r = post_with_inputs(client, "/api/v1/jobs", body, args.values("--input"), headers);
  json job = r.json();
  std::string id = job.value("id", "");
  if (!args.has("--wait")) {
    std::cout << id << "\n";
    return kExitOk;
  }
  std::cerr << "job " << id << (r.status == 200 ? " (existing)" : "") << "\n";
  return wait_for(client, id, args);
}

std::string content_path(const std::string& id) {
  return "/api/v1/content/" + encode_segment(id);
}

// The active version when --version is not given.
std::string version_of(const Client& client, const cli::Parsed& args, const std::string& id) {
  if (!option(args, "--version").empty()) return option(args, "--version");
  json content = client.get_json(content_path(id));
  if (!content["active_version"].is_number_integer()) {
    throw CtlError(kExitUsage, "content '" + id + "' has no active version: give --version");
  }
  return std::to_string(content["active_version"].get<int>());
}

int content_command(const Client& client, const cli::Parsed& args) {
  const std::string_view cmd = args.command->name;
  const std::vector<std::string>& a = args.args;
  if (cmd == "content import") {
    if (option(args, "--id").empty()) throw CtlError(kExitUsage, "content import needs --id");
    json body = {{"content_id", option(args, "--id")},
                 {"is_active", !args.has("--inactive")},
                 {"may_create_new_version", !args.has("--no-new-version")}};
    if (!option(args, "--language").empty()) body["language"] = option(args, "--language");
    if (args.has("--field")) {
      body["field_generation"] = {{"fields_to_generate", args.values("--field")}};
    }
    HttpResult r = post_with_inputs(client, "/api/v1/jobs/content_import", body, {a[0]}, {});
    json job = r.json();
    const std::string id = job.value("id", "");
    std::cerr << "job " << id << ": version " << job["content"].value("version", 0) << " of "
              << option(args, "--id") << "\n";
    if (!args.has("--wait")) {
      std::cout << id << "\n";
      return kExitOk;
    }
    int code = wait_for(client, id, args, false);
    if (code == kExitOk) print(client.get_json(content_path(option(args, "--id"))));
    return code;
  }
  if (cmd == "content list") {
    json page = client.get_json("/api/v1/content");
    for (const json& c : page["content"]) {
      std::cout << c.value("content_id", "") << "  active "
                << (c["active_version"].is_null() ? std::string("-")
                                                  : std::to_string(c["active_version"].get<int>()))
                << "  versions " << c["versions"].size() << "\n";
    }
    return kExitOk;
  }
  if (cmd == "content show") return print(client.get_json(content_path(a[0]))), kExitOk;
  if (cmd == "content text") {
    const std::string path = content_path(a[0]) + "/versions/" + version_of(client, args, a[0]) +
                             "/text" + (args.has("--json") ? "?format=json" : "");
    HttpResult r = client.request("GET", path);
    if (args.has("--json")) return print(r.json()), kExitOk;
    std::cout << r.body << "\n";
    return kExitOk;
  }
  if (cmd == "content search") {
    std::string query = "/api/v1/search?q=" + encode_segment(a[0]) +
                        "&limit=" + encode_segment(option(args, "--limit", "20"));
    if (args.has("--fields")) query += "&mode=field";
    if (!option(args, "--content").empty())
      query += "&content_id=" + encode_segment(option(args, "--content"));
    if (args.has("--all-versions")) query += "&active_only=false";
    json page = client.get_json(query);
    for (const json& hit : page["results"]) {
      std::cout << hit.value("content_id", "") << " v" << hit.value("version", 0) << "  "
                << hit.value("location", "") << "  (" << hit.value("match_strength", 0.0)
                << ")\n    " << hit.value("snippet", "") << "\n";
    }
    return kExitOk;
  }
  if (cmd == "content field") {
    json body = {{"content_id", a[0]}, {"field", a[1]}, {"force_regenerate", args.has("--force")}};
    if (!option(args, "--version").empty()) body["version"] = std::stoi(option(args, "--version"));
    json answer = client.send_json("POST", "/api/v1/jobs/field", body);
    if (answer.value("kept", false)) {
      std::cerr << "kept: the field has a value (use --force to regenerate)\n";
      return print(answer["field"]), kExitOk;
    }
    const std::string id = answer.value("id", "");
    if (!args.has("--wait")) {
      std::cout << id << "\n";
      return kExitOk;
    }
    int code = wait_for(client, id, args, false);
    if (code == kExitOk) print(client.get_json(content_path(a[0])));
    return code;
  }
  if (cmd == "content activate") {
    return print(client.send_json("PUT", content_path(a[0]) + "/versions/" + encode_segment(a[1]),
                                  {{"is_active", true}})),
           kExitOk;
  }
  if (cmd == "content delete") {
    std::string path = content_path(a[0]);
    if (!option(args, "--version").empty()) {
      path += "/versions/" + encode_segment(option(args, "--version"));
    }
    return client.request("DELETE", path), kExitOk;
  }
  throw CtlError(kExitUsage, "command '" + std::string(cmd) + "' has no handler");
}

int host_command(const cli::Parsed& args) {
  Settings settings =
      Settings::from_process(option(args, "--env-file"), "/usr/lib/generator/plugins");
  auto db = Database::open(settings.database_url, 1);
  if (args.command->name == "migrate") {
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

int dispatch(const cli::Parsed& args) {
  const std::string_view cmd = args.command->name;
  const std::vector<std::string>& a = args.args;  // the command's arguments, counted by kProgram
  if (cmd == "migrate" || (cmd == "credentials create" && args.has("--root"))) {
    return host_command(args);
  }
  Client client(option(args, "--url", env_or("GENERATOR_URL", "http://127.0.0.1:8080")),
                option(args, "--token", env_or("GENERATOR_TOKEN", "")),
                option(args, "--tenant", env_or("GENERATOR_TENANT", "")));
  if (cmd == "submit") return submit(client, args, steps_of(args));
  if (cmd.starts_with("content ")) return content_command(client, args);
  if (cmd == "generators") return print(client.get_json("/api/v1/generators")), kExitOk;
  if (cmd == "plugins") return print(client.get_json("/api/v1/plugins")), kExitOk;
  if (cmd == "login") {
    HttpResult r =
        client.request("POST", "/api/v1/login/access_token",
                       "grant_type=client_credentials&client_id=" + encode_segment(a[0]) +
                           "&client_secret=" + encode_segment(a[1]),
                       "application/x-www-form-urlencoded");
    std::cout << r.json().value("access_token", "") << "\n";
    return kExitOk;
  }
  if (cmd == "jobs list") {
    std::string query = "?limit=" + option(args, "--limit", "100");
    if (!option(args, "--status").empty()) query += "&status=" + option(args, "--status");
    json page = client.get_json("/api/v1/jobs" + query);
    for (const json& j : page["jobs"]) {
      std::cout << j.value("id", "") << "  " << j.value("status", "") << "  "
                << j["created_at"].get<std::string>() << "\n";
    }
    return kExitOk;
  }
  if (cmd == "jobs show") return print(client.get_json(job_path(a[0]))), kExitOk;
  if (cmd == "jobs cancel") {
    return print(client.send_json("POST", job_path(a[0]) + "/cancel", json::object())), kExitOk;
  }
  if (cmd == "jobs delete") return client.request("DELETE", job_path(a[0])), kExitOk;
  if (cmd == "artifacts list") {
    return print(client.get_json(job_path(a[0]) + "/artifacts" +
                                 (args.has("--all") ? "?all=true" : ""))),
           kExitOk;
  }
  if (cmd == "artifacts get") {
    fs::path target = option(args, "--output", fs::path(a[1]).filename().string());
    download(client, a[0], a[1], target);
    std::cout << target.string() << "\n";
    return kExitOk;
  }
  if (cmd.starts_with("tenants ")) {
    const std::string base = "/api/v1/app_management/tenants";
    if (cmd == "tenants list") return print(client.get_json(base)), kExitOk;
    const std::string path = base + "/" + encode_segment(a[0]);
    if (cmd == "tenants create") {
      return print(client.send_json("POST", base,
                                    {{"id", a[0]}, {"enabled", !args.has("--disabled")}})),
             kExitOk;
    }
    if (cmd == "tenants enable" || cmd == "tenants disable") {
      return print(client.send_json("PUT", path, {{"enabled", cmd == "tenants enable"}})), kExitOk;
    }
    if (cmd == "tenants delete") return client.request("DELETE", path), kExitOk;
  }
  if (cmd.starts_with("credentials ")) {
    const std::string base = "/api/v1/credentials";
    if (cmd == "credentials list") return print(client.get_json(base)), kExitOk;
    if (a.empty()) throw CtlError(kExitUsage, "usage: generatorctl credentials create ID");
    const std::string path = base + "/" + encode_segment(a[0]);
    if (cmd == "credentials create") {
      json body = {{"id", a[0]}, {"scopes", json::array()}, {"tenants", json::object()}};
      for (const std::string& scope : args.values("--scope")) body["scopes"].push_back(scope);
      for (const std::string& scope : args.values("--tenant-scope")) {
        auto colon = scope.find(':');
        if (colon == std::string::npos) {
          throw CtlError(kExitUsage, "--tenant-scope takes TENANT:VERB:SUBJECT");
        }
        body["tenants"][scope.substr(0, colon)].push_back(scope.substr(colon + 1));
      }
      if (!option(args, "--password").empty()) body["password"] = option(args, "--password");
      std::cerr << "the secrets below are shown once:\n";
      return print(client.send_json("POST", base, body)), kExitOk;
    }
    if (cmd == "credentials activate" || cmd == "credentials deactivate") {
      return print(client.send_json("PUT", path, {{"is_active", cmd == "credentials activate"}})),
             kExitOk;
    }
    if (cmd == "credentials delete") return client.request("DELETE", path), kExitOk;
  }
  if (cmd.starts_with("config ")) {
    if (cmd == "config list") return print(client.get_json("/api/v1/config")), kExitOk;
    const std::string path = "/api/v1/config/" + encode_segment(a[0]);
    if (cmd == "config get") return print(client.get_json(path)), kExitOk;
    if (cmd == "config set") {
      json value = json::parse(a[1], nullptr, false);  // 42 -> integer, A4 -> string
      if (value.is_discarded()) value = a[1];
      return print(client.send_json("PUT", path, {{"value", value}})), kExitOk;
    }
    if (cmd == "config unset") return client.request("DELETE", path), kExitOk;
  }
  if (cmd.starts_with("webhooks ")) {
    const std::string base = "/api/v1/webhooks";
    if (cmd == "webhooks list") return print(client.get_json(base)), kExitOk;
    if (cmd == "webhooks create") {
      json body = {{"url", a[0]}, {"enabled", !args.has("--disabled")}};
      for (const std::string& event : args.values("--event")) body["events"].push_back(event);
      json auth = {{"type", option(args, "--auth", "hmac")}};
      if (auth["type"] == "basic") {
        auth["username"] = option(args, "--username");
        auth["password"] = option(args, "--password");
      }
      if (auth["type"] == "hmac" && !option(args, "--secret").empty()) {
        auth["secret"] = option(args, "--secret");
      }
      body["auth"] = auth;
      if (auth["type"] == "hmac" && !auth.contains("secret")) {
        std::cerr << "the generated secret below is shown once:\n";
      }
      return print(client.send_json("POST", base, body)), kExitOk;
    }
    const std::string path = base + "/" + encode_segment(a[0]);
    if (cmd == "webhooks show") return print(client.get_json(path)), kExitOk;
    if (cmd == "webhooks enable" || cmd == "webhooks disable") {
      return print(client.send_json("PUT", path, {{"enabled", cmd == "webhooks enable"}})), kExitOk;
    }
    if (cmd == "webhooks delete") return client.request("DELETE", path), kExitOk;
    if (cmd == "webhooks deliveries") {
      return print(client.get_json(path + "/deliveries?limit=" + option(args, "--limit", "100"))),
             kExitOk;
    }
  }
  // Every command in kProgram is handled above: reaching here is a bug in this file.
  throw CtlError(kExitUsage, "command '" + std::string(cmd) + "' has no handler");
}

}  // namespace

int run(const std::vector<std::string>& argv) {
  try {
    cli::Parsed args = [&] {
      try {
        return cli::parse(kProgram, argv);
      } catch (const cli::UsageError& e) {
        throw CtlError(kExitUsage, e.what());
      }
    }();
    if (args.version) {
      std::cout << "generatorctl " << GENERATOR_VERSION << "\n";
      return kExitOk;
    }
    if (args.help || args.command == nullptr) {
      std::cout << cli::help(kProgram, args.help ? args.command : nullptr);
      return args.help ? kExitOk : kExitUsage;
    }
    return dispatch(args);
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

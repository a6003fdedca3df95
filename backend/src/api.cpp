#include "gen/backend/api.hpp"

#include <cctype>
#include <exception>

#include <Poco/Data/DataException.h>
#include <nlohmann/json.hpp>

#include "gen/core/job_store.hpp"
#include "gen/core/log.hpp"
#include "gen/core/plugin_host.hpp"
#include "job_request.hpp"
#include "views.hpp"

namespace gen::backend {

using nlohmann::json;

namespace {

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string status_title(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Error";
  }
}

Response json_response(int status, const json& body) {
  Response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

std::string quoted_filename(const std::string& name) {
  std::string out;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') out += '\\';
    out += (u < 0x20 || u == 0x7F) ? '_' : c;
  }
  return out;
}

Error not_found_job(const std::string& id) {
  return Error(ErrorCode::kNotFound, "no job with id '" + id + "'", "id");
}

}  // namespace

Response problem(const Error& error) {
  ErrorCode code = error.code() == ErrorCode::kUnset ? ErrorCode::kInternal : error.code();
  int status = http_status(code);
  json body = {{"type", "https://generator.dev/problems/" + lowercase(code_name(code))},
               {"title", status_title(status)},
               {"status", status},
               {"code", std::string(code_name(code))},
               {"detail", error.what()}};
  if (!error.field().empty()) body["field"] = error.field();
  Response r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = body.dump();
  return r;
}

Api::Api(JobStore& jobs, const PluginHost& plugins, ApiOptions options)
    : jobs_(jobs), plugins_(plugins), options_(std::move(options)) {
  // The routes of docs/api.md, tried in order.
  router_.add("POST", "/api/v1/jobs",
              [this](const Request& r, const PathParams&) { return submit_job(r); });
  router_.add("GET", "/api/v1/jobs",
              [this](const Request& r, const PathParams&) { return list_jobs(r); });
  router_.add("GET", "/api/v1/jobs/{id}",
              [this](const Request&, const PathParams& p) { return get_job(p.at("id")); });
  router_.add("DELETE", "/api/v1/jobs/{id}",
              [this](const Request&, const PathParams& p) { return delete_job(p.at("id")); });
  router_.add("POST", "/api/v1/jobs/{id}/cancel",
              [this](const Request&, const PathParams& p) { return cancel_job(p.at("id")); });
  router_.add("GET", "/api/v1/jobs/{id}/artifacts", [this](const Request& r, const PathParams& p) {
    return list_artifacts(r, p.at("id"));
  });
  router_.add("GET", "/api/v1/jobs/{id}/artifacts/{name}",
              [this](const Request&, const PathParams& p) {
                return download_artifact(p.at("id"), p.at("name"));
              });
  router_.add("GET", "/api/v1/generators",
              [this](const Request&, const PathParams&) { return list_generators(); });
  router_.add("GET", "/api/v1/plugins",
              [this](const Request&, const PathParams&) { return list_plugins(); });
  router_.add("GET", "/health", [](const Request&, const PathParams&) {
    return json_response(200, {{"status", "ok"}});
  });
  if (options_.enable_metrics && options_.metrics_text) {
    router_.add("GET", "/metrics",
                [this](const Request& r, const PathParams&) { return metrics(r); });
  }
}

std::string Api::route_of(const Request& request) const {
  auto match = router_.match(request.method, request.path);
  return match.pattern.empty() ? "unmatched" : match.pattern;
}

Response Api::handle(const Request& request) const {
  try {
    auto match = router_.match(request.method, request.path);
    if (!match.handler) {
      if (!match.allowed.empty()) {
        Response r = problem(Error(ErrorCode::kMethodNotAllowed,
                                   request.method + " is not allowed on " + request.raw_path +
                                       "; allowed: " + match.allowed));
        r.headers["Allow"] = match.allowed;
        return r;
      }
      return problem(Error(ErrorCode::kNotFound, "no route for " + request.method + " " +
                                                     request.raw_path + " (see docs/api.md)"));
    }
    return (*match.handler)(request, match.params);
  } catch (const Error& e) {
    if (http_status(e.code()) >= 500) {
      log::error("request failed", {{"method", request.method},
                                    {"path", request.raw_path},
                                    {"code", std::string(code_name(e.code()))},
                                    {"error", e.what()}});
    }
    return problem(e);
  } catch (const Poco::Data::DataException& e) {
    log::error(
        "database error",
        {{"method", request.method}, {"path", request.raw_path}, {"error", e.displayText()}});
    return problem(
        Error(ErrorCode::kDatabaseUnavailable, "the database is unavailable or busy; retry later"));
  } catch (const std::exception& e) {
    log::error("unhandled exception",
               {{"method", request.method}, {"path", request.raw_path}, {"error", e.what()}});
    return problem(Error(ErrorCode::kInternal, "internal error; the backend log has the details"));
  } catch (...) {
    log::error("unhandled non-standard exception",
               {{"method", request.method}, {"path", request.raw_path}});
    return problem(Error(ErrorCode::kInternal, "internal error; the backend log has the details"));
  }
}

Response Api::submit_job(const Request& request) const {
  if (request.media_type() != "application/json") {
    std::string got = request.header("Content-Type").value_or("");
    throw Error(ErrorCode::kUnsupportedMediaType,
                "Content-Type must be application/json, got '" + got + "'");
  }
  if (static_cast<std::int64_t>(request.body.size()) > options_.max_request_bytes) {
    throw Error(ErrorCode::kPayloadTooLarge,
                "request body is larger than LIMITS__MAX_REQUEST_BYTES (" +
                    std::to_string(options_.max_request_bytes) + " bytes)");
  }
  JobSpec spec = parse_job_request(request.body, plugins_);
  std::string id = jobs_.submit(spec);
  auto job = jobs_.get_job(id);
  if (!job) throw Error(ErrorCode::kInternal, "job " + id + " vanished right after submission");
  log::info("job queued", {{"job_id", id}, {"steps", spec.steps.size()}});
  Response r = json_response(202, job_json(*job));
  r.headers["Location"] = job_url(id);
  return r;
}

Response Api::get_job(const std::string& id) const {
  auto job = jobs_.get_job(id);
  if (!job) throw not_found_job(id);
  return json_response(200, job_json(*job));
}

Response Api::list_jobs(const Request& request) const {
  static const std::vector<std::string> statuses = {"QUEUED", "RUNNING", "COMPLETED", "FAILED",
                                                    "CANCELLED"};
  std::string status;
  if (auto it = request.query.find("status"); it != request.query.end()) {
    status = it->second;
    for (char& c : status) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (std::find(statuses.begin(), statuses.end(), status) == statuses.end()) {
      throw Error(ErrorCode::kValidationFailed,
                  "status: must be one of QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED; got '" +
                      it->second + "'",
                  "status");
    }
  }
  int limit = 100;
  if (auto it = request.query.find("limit"); it != request.query.end()) {
    const std::string& v = it->second;
    bool digits = !v.empty() && v.size() <= 4 &&
                  std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); });
    limit = digits ? std::stoi(v) : 0;
    if (limit < 1 || limit > 1000) {
      throw Error(ErrorCode::kValidationFailed,
                  "limit: must be an integer between 1 and 1000; got '" + v + "'", "limit");
    }
  }
  std::string cursor;
  if (auto it = request.query.find("cursor"); it != request.query.end()) cursor = it->second;

  JobPage page = jobs_.list_jobs(status, limit, cursor);
  json jobs = json::array();
  for (const JobView& job : page.jobs) jobs.push_back(job_summary_json(job));
  return json_response(200, {{"jobs", std::move(jobs)},
                             {"next", page.next.empty() ? json(nullptr) : json(page.next)}});
}

Response Api::cancel_job(const std::string& id) const {
  auto job = jobs_.cancel_job(id);
  if (!job) throw not_found_job(id);
  log::info("job cancelled", {{"job_id", id}});
  return json_response(200, job_json(*job));
}

Response Api::delete_job(const std::string& id) const {
  if (!jobs_.delete_job(id)) throw not_found_job(id);
  log::info("job deleted", {{"job_id", id}});
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

Response Api::list_artifacts(const Request& request, const std::string& id) const {
  bool all = false;
  if (auto it = request.query.find("all"); it != request.query.end()) {
    if (it->second == "true" || it->second == "1") {
      all = true;
    } else if (it->second != "false" && it->second != "0") {
      throw Error(ErrorCode::kValidationFailed,
                  "all: must be true or false; got '" + it->second + "'", "all");
    }
  }
  if (!jobs_.get_job(id)) throw not_found_job(id);
  json artifacts = json::array();
  for (const ArtifactMeta& a : jobs_.list_artifacts(id, all)) {
    artifacts.push_back(artifact_json(id, a));
  }
  return json_response(200, {{"artifacts", std::move(artifacts)}});
}

Response Api::download_artifact(const std::string& id, const std::string& name) const {
  auto artifact = jobs_.read_artifact(id, name);
  if (!artifact) {
    if (!jobs_.get_job(id)) throw not_found_job(id);
    throw Error(ErrorCode::kNotFound, "job '" + id + "' has no artifact named '" + name + "'",
                "name");
  }
  Response r;
  r.status = 200;
  r.content_type =
      artifact->meta.media_type.empty() ? "application/octet-stream" : artifact->meta.media_type;
  r.headers["Content-Disposition"] = "attachment; filename=\"" + quoted_filename(name) +
                                     "\"; filename*=UTF-8''" + percent_encode(name);
  if (!artifact->meta.sha256.empty()) r.headers["ETag"] = "\"" + artifact->meta.sha256 + "\"";
  r.body = std::move(artifact->data);
  return r;
}

Response Api::list_generators() const {
  json generators = json::array();
  for (const auto& info : plugins_.generators()) generators.push_back(to_json(info));
  return json_response(200, {{"generators", std::move(generators)}});
}

Response Api::list_plugins() const {
  json plugins = json::array();
  for (const PluginRecord& p : plugins_.plugins()) plugins.push_back(plugin_json(p));
  return json_response(200, {{"plugins", std::move(plugins)}});
}

Response Api::metrics(const Request& request) const {
  // Never expose metrics through a load balancer: a forwarded request is refused.
  for (const auto& [name, value] : request.headers) {
    std::string lower = lowercase(name);
    if (lower.starts_with("x-forwarded-") || lower == "forwarded") {
      throw Error(ErrorCode::kNotFound,
                  "/metrics is not served to forwarded requests (" + name + " is set)");
    }
  }
  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = options_.metrics_text();
  return r;
}

}  // namespace gen::backend

// The job routes (docs/api.md, "Jobs"): submission (JSON, or multipart with uploaded files:
// api_artifacts.cpp reads the form), bulk submission, reads with the finished-job cache,
// listing, cancel and delete. Another tenant's job is answered like one that does not exist.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "api_internal.hpp"
#include "gen/backend/api.hpp"
#include "gen/core/base/clock.hpp"
#include "gen/core/base/log.hpp"
#include "gen/core/base/text.hpp"
#include "gen/core/queue/job_store.hpp"
#include "gen/core/queue/states.hpp"
#include "gen/core/storage/database.hpp"
#include "gen/core/tenancy/config_store.hpp"
#include "job_request.hpp"
#include "multipart.hpp"
#include "read_cache.hpp"
#include "views.hpp"

namespace gen::backend {

using nlohmann::json;

namespace {

constexpr int kWaitPollMs = 50;

}  // namespace

std::int64_t Api::body_limit(const Caller& caller) const {
  return std::min(options_.max_request_bytes,
                  config_->integer("LIMITS__MAX_REQUEST_BYTES", caller.tenant));
}

void Api::check_body_size(const Request& request, const Caller& caller) const {
  std::int64_t limit = body_limit(caller);
  if (static_cast<std::int64_t>(request.body.size()) > limit) {
    throw Error(ErrorCode::kPayloadTooLarge,
                "request body is larger than LIMITS__MAX_REQUEST_BYTES (" + std::to_string(limit) +
                    " bytes" + (caller.tenant.empty() ? "" : " for tenant " + caller.tenant) + ")");
  }
}

Response Api::submit_job(const Call& call) const {
  const Request& request = call.request;
  const std::string media_type = request.media_type();
  if (media_type != "application/json" && media_type != "multipart/form-data") {
    std::string got = request.header("Content-Type").value_or("");
    throw Error(ErrorCode::kUnsupportedMediaType,
                "Content-Type must be application/json or multipart/form-data, got '" + got + "'");
  }
  check_body_size(request, call.caller);
  json doc;
  // Uploaded files: their stored chunks are deleted when this handler fails (~BlobWriter).
  std::vector<FormPart> files;
  if (media_type == "multipart/form-data") {
    doc = read_form(request, call.caller, files);
  } else {
    doc = parse_json_body(request.body, options_.json_limits);
  }
  JobSpec spec = parse_job(doc, plugins_, "", now_ms());
  add_uploaded_inputs(spec, files);
  spec.tenant = call.caller.tenant;
  if (!doc.contains("priority")) {
    spec.priority =
        static_cast<int>(config_->integer("JOBS__DEFAULT_PRIORITY", call.caller.tenant));
  }
  if (auto key = request.header("Idempotency-Key")) {
    spec.idempotency_key = check_idempotency_key(*key, "Idempotency-Key");
  }
  Submitted submitted = jobs_.submit_all({spec}).front();
  for (FormPart& f : files) f.file->release();  // linked to the job (or deleted as a duplicate)
  auto job = jobs_.get_job(submitted.id);
  if (!job) {
    throw Error(ErrorCode::kInternal, "job " + submitted.id + " vanished right after submission");
  }
  if (submitted.created) {
    log::info("job queued",
              {{"job_id", submitted.id}, {"steps", spec.steps.size()}, {"tenant", spec.tenant}});
  }
  int status = submitted.created ? 202 : 200;
  if (auto it = request.query.find("wait"); it != request.query.end()) {
    const std::string& v = it->second;
    bool digits = !v.empty() && v.size() <= 4 &&
                  std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); });
    int wait_s = digits ? std::stoi(v) : -1;
    if (wait_s < 0 || wait_s > options_.max_wait_s) {
      throw Error(ErrorCode::kValidationFailed,
                  "wait: must be an integer between 0 and " + std::to_string(options_.max_wait_s) +
                      " (seconds); got '" + v + "'",
                  "wait");
    }
    // Holds this request thread while the job runs: the answer is the finished job when it
    // ends in time (200), else the usual 202.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
    while (!is_final(job->status) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kWaitPollMs));
      if (auto now = jobs_.get_job(submitted.id)) job = std::move(now);
    }
    if (is_final(job->status)) status = 200;
  }
  Response r = json_response(status, job_json(*job));
  r.headers["Location"] = job_url(submitted.id);
  return r;
}

Response Api::submit_bulk(const Call& call) const {
  const Request& request = call.request;
  if (request.media_type() != "application/json") {
    throw Error(ErrorCode::kUnsupportedMediaType, "Content-Type must be application/json, got '" +
                                                      request.header("Content-Type").value_or("") +
                                                      "'");
  }
  check_body_size(request, call.caller);
  json doc = parse_json_body(request.body, options_.json_limits);
  std::vector<JobSpec> specs = parse_bulk_request(doc, plugins_, now_ms());
  int default_priority =
      static_cast<int>(config_->integer("JOBS__DEFAULT_PRIORITY", call.caller.tenant));
  for (std::size_t i = 0; i < specs.size(); ++i) {
    specs[i].tenant = call.caller.tenant;
    if (!doc["jobs"][i].contains("priority")) specs[i].priority = default_priority;
  }
  std::vector<Submitted> submitted = jobs_.submit_all(specs);
  json jobs = json::array();
  bool any_created = false;
  for (const Submitted& s : submitted) {
    any_created = any_created || s.created;
    jobs.push_back({{"id", s.id}, {"created", s.created}, {"url", job_url(s.id)}});
  }
  log::info("jobs queued", {{"jobs", specs.size()}, {"tenant", call.caller.tenant}});
  return json_response(any_created ? 202 : 200, {{"jobs", std::move(jobs)}});
}

JobView Api::visible_job(const std::string& id, const Caller& caller) const {
  auto job = jobs_.get_job(id);
  // Another tenant's job is answered exactly like a job that does not exist.
  if (!job || job->tenant != caller.tenant) throw not_found_job(id);
  return std::move(*job);
}

Response Api::get_job(const Call& call) const {
  const std::string& id = call.params.at("id");
  // A finished job no longer changes (until it is deleted): its answer is served from cache.
  if (auto hit = cache_->finished_job(id)) {
    if (hit->tenant != call.caller.tenant) throw not_found_job(id);
    Response r;
    r.body = std::move(hit->body);
    return r;
  }
  const std::uint64_t epoch = cache_->jobs_epoch();
  JobView job = visible_job(id, call.caller);
  Response r = json_response(200, job_json(job));
  if (is_final(job.status)) {
    cache_->store_finished_job(id, {job.tenant, r.body}, epoch);
  }
  return r;
}

Response Api::list_jobs(const Call& call) const {
  const Request& request = call.request;
  std::string status;
  if (auto it = request.query.find("status"); it != request.query.end()) {
    status = ascii_upper(it->second);
    if (!parse_job_status(status)) {
      std::string allowed;
      for (JobStatus s : kAllJobStatuses)
        allowed += (allowed.empty() ? "" : ", ") + std::string(to_string(s));
      throw Error(ErrorCode::kValidationFailed,
                  "status: must be one of " + allowed + "; got '" + it->second + "'", "status");
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

  JobPage page = jobs_.list_jobs(status, limit, cursor, call.caller.tenant);
  json jobs = json::array();
  for (const JobView& job : page.jobs) jobs.push_back(job_summary_json(job));
  return json_response(200, {{"jobs", std::move(jobs)},
                             {"next", page.next.empty() ? json(nullptr) : json(page.next)}});
}

Response Api::cancel_job(const Call& call) const {
  const std::string& id = call.params.at("id");
  visible_job(id, call.caller);
  auto job = jobs_.cancel_job(id);
  if (!job) throw not_found_job(id);
  log::info("job cancelled", {{"job_id", id}});
  return json_response(200, job_json(*job));
}

Response Api::delete_job(const Call& call) const {
  const std::string& id = call.params.at("id");
  visible_job(id, call.caller);
  const bool deleted = jobs_.delete_job(id);
  cache_->drop_jobs();
  if (!deleted) throw not_found_job(id);
  log::info("job deleted", {{"job_id", id}});
  return no_content();
}
}  // namespace gen::backend

// The content library's routes (docs/content.md): import jobs, field jobs, reading,
// activation and deletion of versions, the text of a version, and search. The library itself
// is gen::content::Library (core/src/content/); another tenant's content is answered like
// content that does not exist.
#include <algorithm>
#include <cctype>
#include <chrono>

#include <nlohmann/json.hpp>

#include "api_internal.hpp"
#include "gen/backend/api.hpp"
#include "gen/core/base/clock.hpp"
#include "gen/core/base/log.hpp"
#include "gen/core/content/library.hpp"
#include "gen/core/plugins/plugin_host.hpp"
#include "gen/core/tenancy/config_store.hpp"
#include "gen/sdk/params.hpp"
#include "job_request.hpp"
#include "multipart.hpp"
#include "views.hpp"

namespace gen::backend {

using nlohmann::json;

namespace {

constexpr const char* kExtractGenerator = "content.extract";
constexpr const char* kIndexGenerator = "meta.index";
constexpr const char* kFieldGenerator = "meta.generate";

json optional_string(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}

std::string content_url(const std::string& content_id) {
  return "/api/v1/content/" + percent_encode(content_id);
}

json field_json(const content::FieldValue& f) {
  return {{"field", f.field},
          {"value", f.value},
          {"method", f.method},
          {"job_id", optional_string(f.job_id)},
          {"generated_at", iso_time(f.generated_at_ms)}};
}

json version_json(const std::string& content_id, const content::VersionView& v, bool with_fields) {
  json out = {
      {"version", v.version},
      {"status", v.status},
      {"is_active", v.active},
      {"job_id", optional_string(v.job_id)},
      {"source",
       {{"name", v.source_name},
        {"media_type", v.source_media_type},
        {"size_bytes", v.source_size_bytes}}},
      {"format", optional_string(v.format)},
      {"title", optional_string(v.title)},
      {"language", optional_string(v.language)},
      {"token_count", v.token_count},
      {"segment_count", v.segment_count},
      {"error", optional_string(v.error)},
      {"created_at", iso_time(v.created_at_ms)},
      {"updated_at", iso_time(v.updated_at_ms)},
      {"text_url", content_url(content_id) + "/versions/" + std::to_string(v.version) + "/text"}};
  if (with_fields) {
    json fields = json::array();
    for (const auto& f : v.fields) fields.push_back(field_json(f));
    out["fields"] = std::move(fields);
  }
  return out;
}

json content_json(const content::ContentView& c, bool with_fields) {
  json versions = json::array();
  for (const auto& v : c.versions) versions.push_back(version_json(c.content_id, v, with_fields));
  return {{"content_id", c.content_id},
          {"active_version", c.active_version ? json(*c.active_version) : json(nullptr)},
          {"created_at", iso_time(c.created_at_ms)},
          {"updated_at", iso_time(c.updated_at_ms)},
          {"versions", std::move(versions)},
          {"url", content_url(c.content_id)}};
}

Error not_found_content(const std::string& content_id) {
  return Error(ErrorCode::kNotFound, "no content with id '" + content_id + "'", "content_id");
}

int version_param(const std::string& text) {
  bool digits =
      !text.empty() && text.size() <= 9 &&
      std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
  int v = digits ? std::stoi(text) : 0;
  if (v < 1) {
    throw Error(ErrorCode::kValidationFailed,
                "version: must be a positive integer; got '" + text + "'", "version");
  }
  return v;
}

std::string query_param(const Request& request, const std::string& name,
                        const std::string& fallback = {}) {
  auto it = request.query.find(name);
  return it == request.query.end() ? fallback : it->second;
}

int limit_param(const Request& request, int fallback, int max) {
  auto it = request.query.find("limit");
  if (it == request.query.end()) return fallback;
  const std::string& v = it->second;
  bool digits = !v.empty() && v.size() <= 4 &&
                std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); });
  int limit = digits ? std::stoi(v) : 0;
  if (limit < 1 || limit > max) {
    throw Error(
        ErrorCode::kValidationFailed,
        "limit: must be an integer between 1 and " + std::to_string(max) + "; got '" + v + "'",
        "limit");
  }
  return limit;
}

bool bool_param(const Request& request, const std::string& name, bool fallback) {
  auto it = request.query.find(name);
  if (it == request.query.end()) return fallback;
  if (it->second == "true" || it->second == "1") return true;
  if (it->second == "false" || it->second == "0") return false;
  throw Error(ErrorCode::kValidationFailed, name + ": must be true or false", name);
}

// UTF-8 in its first 4 KiB (a sequence cut at that boundary does not count against it).
bool looks_like_text(const std::string& data) {
  std::size_t n = std::min<std::size_t>(data.size(), 4096);
  if (n < data.size()) {
    std::size_t back = 0;
    while (back < 3 && n > back &&
           (static_cast<unsigned char>(data[n - back - 1]) & 0xC0) == 0x80) {
      ++back;
    }
    if (back < 3 && n > back && static_cast<unsigned char>(data[n - back - 1]) >= 0xC0) {
      n -= back + 1;  // a lead byte whose sequence runs past the boundary
    }
  }
  return sdk::detail::valid_utf8(std::string_view(data).substr(0, n));
}

// What a document's first bytes say against its declared media type. The content plugin
// (content.extract) detects the format fully; this refuses at the door, before anything is
// stored, what cannot be a document of the declared type.
void check_document(const InputFile& input, const std::string& field) {
  if (!input.blob_id.empty()) return;  // streamed to storage: the extract step checks it
  const std::string& data = input.data;
  const std::string& type = input.media_type;
  if (data.empty()) {
    throw Error(ErrorCode::kValidationFailed,
                field + ": the document '" + input.name + "' is empty", field);
  }
  auto starts = [&](std::string_view magic) { return data.compare(0, magic.size(), magic) == 0; };
  const bool zip = starts("PK\x03\x04");
  const bool pdf = data.find("%PDF-") < 1024;  // a few bytes of junk before it are common
  if (type == "application/pdf" && !pdf) {
    throw Error(
        ErrorCode::kValidationFailed,
        field + ": '" + input.name + "' is declared application/pdf but has no %PDF- header",
        field + ".media_type");
  }
  if ((type == "application/zip" ||
       type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document") &&
      !zip) {
    throw Error(ErrorCode::kValidationFailed,
                field + ": '" + input.name + "' is declared " + type + " but is not a zip file",
                field + ".media_type");
  }
  if (type == "application/octet-stream" && !zip && !pdf && !looks_like_text(data)) {
    throw Error(ErrorCode::kUnsupportedMediaType,
                field + ": '" + input.name +
                    "' is not a supported document (PDF, Markdown, HTML, DOCX, plain text, "
                    "SCORM zip)",
                field + ".media_type");
  }
}

}  // namespace

void Api::add_field_steps(json& steps, const json& generation, const std::string& tenant,
                          const std::string& prefix) const {
  json fields = json::array();
  json parameters = json::object();
  if (!generation.is_null()) {
    if (!generation.is_object()) {
      throw Error(ErrorCode::kValidationFailed, prefix + ": must be an object", prefix);
    }
    only_keys(generation, {"fields_to_generate", "parameters"}, prefix + ".");
    if (generation.contains("fields_to_generate")) fields = generation["fields_to_generate"];
    if (generation.contains("parameters")) parameters = generation["parameters"];
  }
  if (!fields.is_array()) {
    throw Error(ErrorCode::kValidationFailed, prefix + ".fields_to_generate: must be an array",
                prefix + ".fields_to_generate");
  }
  if (!parameters.is_object()) {
    throw Error(ErrorCode::kValidationFailed, prefix + ".parameters: must be an object",
                prefix + ".parameters");
  }
  const std::string provider =
      config_->resolve("GENERATION__PROVIDER", tenant).value.get<std::string>();
  std::vector<std::string> seen;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::string where = prefix + ".fields_to_generate[" + std::to_string(i) + "]";
    if (!fields[i].is_string() || !content::parse_field(fields[i].get<std::string>())) {
      throw Error(ErrorCode::kValidationFailed,
                  where + ": must be one of TITLE, PLUG, BLURB, SUMMARY, KEYWORDS, QUESTIONS",
                  where);
    }
    const std::string name = fields[i].get<std::string>();
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      throw Error(ErrorCode::kValidationFailed, where + ": " + name + " is listed twice", where);
    }
    seen.push_back(name);
    json params = {{"field", name}, {"provider", provider}};
    // The parameters the field generator declares apply to every field step.
    if (const sdk::GeneratorInfo* info = plugins_.info(kFieldGenerator)) {
      for (const auto& [key, value] : parameters.items()) {
        bool declared = std::any_of(info->params.begin(), info->params.end(),
                                    [&](const sdk::ParamSpec& p) { return p.name == key; });
        if (!declared || key == "field" || key == "provider") {
          throw Error(ErrorCode::kValidationFailed,
                      prefix + ".parameters." + key + ": unknown parameter",
                      prefix + ".parameters." + key);
        }
        params[key] = value;
      }
    }
    steps.push_back({{"generator", kFieldGenerator}, {"params", std::move(params)}});
  }
}

// Runs the job request validation (generators, params, inputs) on the steps built here,
// naming the client's own fields in errors.
JobSpec Api::content_job(const json& doc, const std::string& prefix_for_steps) const {
  try {
    return parse_job(doc, plugins_, "", now_ms());
  } catch (const Error& e) {
    if (e.field().starts_with("steps[")) {
      throw Error(e.code(), std::string(e.what()), prefix_for_steps);
    }
    throw;
  }
}

Response Api::submit_content_import(const Call& call) const {
  const Request& request = call.request;
  const std::string media_type = request.media_type();
  if (media_type != "application/json" && media_type != "multipart/form-data") {
    throw Error(ErrorCode::kUnsupportedMediaType,
                "Content-Type must be application/json or multipart/form-data, got '" +
                    request.header("Content-Type").value_or("") + "'");
  }
  check_body_size(request, call.caller);
  json doc;
  std::vector<FormPart> files;
  if (media_type == "multipart/form-data") {
    doc = read_form(request, call.caller, files);
  } else {
    doc = parse_json_body(request.body, options_.json_limits);
  }
  if (!doc.is_object()) {
    throw Error(ErrorCode::kValidationFailed, "request body must be a JSON object");
  }
  only_keys(doc, {"content_id", "is_active", "may_create_new_version", "field_generation", "inputs",
                  "priority", "language"});
  if (!doc.contains("content_id") || !doc["content_id"].is_string()) {
    throw Error(ErrorCode::kValidationFailed, "content_id: required, a string", "content_id");
  }
  content::ImportRequest import;
  import.tenant = call.caller.tenant;
  import.content_id = doc["content_id"].get<std::string>();
  content::check_content_id(import.content_id);
  import.is_active = bool_field(doc, "is_active", true);
  import.may_create_new_version = bool_field(doc, "may_create_new_version", true);

  json index_params = json::object();
  if (doc.contains("language")) index_params["language"] = doc["language"];
  json steps = json::array({{{"generator", kExtractGenerator}, {"params", json::object()}},
                            {{"generator", kIndexGenerator}, {"params", index_params}}});
  add_field_steps(steps, doc.value("field_generation", json()), call.caller.tenant,
                  "field_generation");
  json job = {{"steps", std::move(steps)}};
  if (doc.contains("inputs")) job["inputs"] = doc["inputs"];
  if (doc.contains("priority")) job["priority"] = doc["priority"];
  import.job = content_job(job, doc.contains("language") ? "language" : "field_generation");
  add_uploaded_inputs(import.job, files);
  if (import.job.inputs.size() != 1) {
    throw Error(ErrorCode::kValidationFailed,
                "inputs: an import takes exactly one document; got " +
                    std::to_string(import.job.inputs.size()),
                "inputs");
  }
  check_document(import.job.inputs.front(), "inputs[0]");
  if (!doc.contains("priority")) {
    import.job.priority =
        static_cast<int>(config_->integer("JOBS__DEFAULT_PRIORITY", call.caller.tenant));
  }
  content::Imported imported = library_->import(import);
  for (FormPart& f : files) f.file->release();  // the version owns a copy, the job the input
  auto view = jobs_.get_job(imported.job_id);
  if (!view) throw Error(ErrorCode::kInternal, "job " + imported.job_id + " vanished");
  log::info("content import queued", {{"job_id", imported.job_id},
                                      {"content_id", import.content_id},
                                      {"version", imported.version},
                                      {"tenant", call.caller.tenant}});
  json body = job_json(*view);
  body["content"] = {{"content_id", import.content_id},
                     {"version", imported.version},
                     {"url", content_url(import.content_id)}};
  Response r = json_response(202, body);
  r.headers["Location"] = job_url(imported.job_id);
  return r;
}

Response Api::submit_field_job(const Call& call) const {
  json doc = body_object(call.request, options_.json_limits);
  only_keys(doc, {"content_id", "version", "field", "force_regenerate", "parameters", "priority"});
  if (!doc.contains("content_id") || !doc["content_id"].is_string()) {
    throw Error(ErrorCode::kValidationFailed, "content_id: required, a string", "content_id");
  }
  const std::string content_id = doc["content_id"].get<std::string>();
  content::check_content_id(content_id);
  std::optional<int> version;
  if (doc.contains("version") && !doc["version"].is_null()) {
    if (!doc["version"].is_number_integer() || doc["version"].get<std::int64_t>() < 1 ||
        doc["version"].get<std::int64_t>() > 1'000'000'000) {
      throw Error(ErrorCode::kValidationFailed, "version: must be a positive integer", "version");
    }
    version = doc["version"].get<int>();
  }
  if (!doc.contains("field") || !doc["field"].is_string() ||
      !content::parse_field(doc["field"].get<std::string>())) {
    throw Error(ErrorCode::kValidationFailed,
                "field: must be one of TITLE, PLUG, BLURB, SUMMARY, KEYWORDS, QUESTIONS", "field");
  }
  const content::Field field = *content::parse_field(doc["field"].get<std::string>());
  const bool force = bool_field(doc, "force_regenerate", false);
  json steps = json::array();
  json generation = {{"fields_to_generate", json::array({doc["field"]})}};
  if (doc.contains("parameters")) generation["parameters"] = doc["parameters"];
  add_field_steps(steps, generation, call.caller.tenant, "field_generation");
  json job = {{"steps", std::move(steps)}};
  if (doc.contains("priority")) job["priority"] = doc["priority"];
  JobSpec spec = content_job(job, "parameters");
  if (!doc.contains("priority")) {
    spec.priority =
        static_cast<int>(config_->integer("JOBS__DEFAULT_PRIORITY", call.caller.tenant));
  }
  auto result = library_->generate_field(call.caller.tenant, content_id, version, field, force,
                                         std::move(spec));
  if (result.kept) {
    // Nothing to do: the answer says so, with the value kept.
    return json_response(200, {{"job", nullptr},
                               {"kept", true},
                               {"content_id", content_id},
                               {"version", result.version},
                               {"field", field_json(*result.kept)},
                               {"reason", "the field has a value and force_regenerate is false"}});
  }
  auto view = jobs_.get_job(result.job_id);
  if (!view) throw Error(ErrorCode::kInternal, "job " + result.job_id + " vanished");
  json body = job_json(*view);
  body["content"] = {{"content_id", content_id},
                     {"version", result.version},
                     {"field", doc["field"]},
                     {"url", content_url(content_id)}};
  Response r = json_response(202, body);
  r.headers["Location"] = job_url(result.job_id);
  return r;
}

Response Api::list_content(const Call& call) const {
  int limit = limit_param(call.request, 100, 1000);
  auto page = library_->list(call.caller.tenant, query_param(call.request, "cursor"), limit);
  json items = json::array();
  for (const auto& c : page.items) items.push_back(content_json(c, false));
  return json_response(200, {{"content", std::move(items)},
                             {"next", page.next.empty() ? json(nullptr) : json(page.next)}});
}

Response Api::get_content(const Call& call) const {
  const std::string& id = call.params.at("content_id");
  auto content = library_->get(call.caller.tenant, id);
  if (!content) throw not_found_content(id);
  return json_response(200, content_json(*content, true));
}

Response Api::put_content_version(const Call& call) const {
  const std::string& id = call.params.at("content_id");
  int version = version_param(call.params.at("version"));
  json doc = body_object(call.request, options_.json_limits);
  only_keys(doc, {"is_active"});
  if (!doc.contains("is_active") || !doc["is_active"].is_boolean()) {
    throw Error(ErrorCode::kValidationFailed, "is_active: required, true or false", "is_active");
  }
  if (!library_->get(call.caller.tenant, id)) throw not_found_content(id);
  auto content =
      library_->set_active(call.caller.tenant, id, version, doc["is_active"].get<bool>());
  return json_response(200, content_json(content, true));
}

Response Api::delete_content_version(const Call& call) const {
  const std::string& id = call.params.at("content_id");
  int version = version_param(call.params.at("version"));
  if (!library_->delete_version(call.caller.tenant, id, version)) {
    throw Error(ErrorCode::kNotFound,
                "content '" + id + "' has no version " + std::to_string(version), "version");
  }
  log::info("content version deleted", {{"content_id", id}, {"version", version}});
  return no_content();
}

Response Api::delete_content(const Call& call) const {
  const std::string& id = call.params.at("content_id");
  if (!library_->delete_content(call.caller.tenant, id)) throw not_found_content(id);
  log::info("content deleted", {{"content_id", id}});
  return no_content();
}

Response Api::get_content_text(const Call& call) const {
  const std::string& id = call.params.at("content_id");
  int version = version_param(call.params.at("version"));
  const std::string format = query_param(call.request, "format", "text");
  if (format != "text" && format != "json") {
    throw Error(ErrorCode::kValidationFailed, "format: must be text or json; got '" + format + "'",
                "format");
  }
  auto segments = library_->segments(call.caller.tenant, id, version);
  if (!segments) {
    throw Error(ErrorCode::kNotFound,
                "content '" + id + "' has no version " + std::to_string(version), "version");
  }
  if (format == "text") {
    Response r;
    r.content_type = "text/plain; charset=utf-8";
    for (const auto& seg : *segments) {
      if (!r.body.empty()) r.body += "\n\n";
      r.body += seg.text;
    }
    return r;
  }
  json out = json::array();
  std::int64_t tokens = 0;
  for (const auto& seg : *segments) {
    tokens += seg.tokens;
    out.push_back({{"location", seg.location},
                   {"location_kind", seg.location_kind},
                   {"text", seg.text},
                   {"tokens", seg.tokens}});
  }
  return json_response(200, {{"content_id", id},
                             {"version", version},
                             {"token_count", tokens},
                             {"segments", std::move(out)}});
}

Response Api::search_content(const Call& call) const {
  content::SearchQuery query;
  query.tenant = call.caller.tenant;
  query.q = query_param(call.request, "q");
  const std::string mode = query_param(call.request, "mode", "lexical");
  if (mode == "lexical") {
    query.mode = content::SearchMode::kLexical;
  } else if (mode == "field") {
    query.mode = content::SearchMode::kField;
  } else {
    throw Error(ErrorCode::kValidationFailed, "mode: must be lexical or field; got '" + mode + "'",
                "mode");
  }
  if (auto it = call.request.query.find("content_id"); it != call.request.query.end()) {
    query.content_id = it->second;
  }
  query.active_only = bool_param(call.request, "active_only", true);
  query.limit = limit_param(call.request, 20, 100);
  query.cursor = query_param(call.request, "cursor");
  const auto started = std::chrono::steady_clock::now();
  auto page = library_->search(query);
  observe_search(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  json results = json::array();
  for (const auto& hit : page.hits) {
    json r = {{"content_id", hit.content_id}, {"version", hit.version},
              {"location", hit.location},     {"location_kind", hit.location_kind},
              {"snippet", hit.snippet},       {"match_strength", hit.match_strength}};
    if (query.mode == content::SearchMode::kField) r["field"] = hit.field;
    results.push_back(std::move(r));
  }
  return json_response(200, {{"results", std::move(results)},
                             {"next", page.next.empty() ? json(nullptr) : json(page.next)}});
}

}  // namespace gen::backend

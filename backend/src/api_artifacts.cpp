// Files in and out of jobs: the artifact routes (docs/api.md, "Artifacts": lists, downloads
// with ETag, If-None-Match and Range, large ones streamed) and the uploaded input files of a
// multipart job submission (read as a stream, stored chunk by chunk as they arrive).
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "api_internal.hpp"
#include "gen/backend/api.hpp"
#include "gen/core/base/media_type.hpp"
#include "gen/core/base/params.hpp"
#include "gen/core/plugins/plugin_host.hpp"
#include "gen/core/queue/job_store.hpp"
#include "job_request.hpp"
#include "multipart.hpp"
#include "range.hpp"
#include "views.hpp"

namespace gen::backend {

using nlohmann::json;

namespace {

// The ASCII fallback for Content-Disposition's filename= (filename*= carries the UTF-8).
std::string quoted_filename(const std::string& name) {
  std::string out;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') out += '\\';
    out += (u < 0x20 || u >= 0x7F) ? '_' : c;
  }
  return out;
}

// Artifacts up to this size are answered from memory; larger ones stream chunk by chunk.
constexpr std::int64_t kInlineDownloadBytes = 1024 * 1024;

// If-None-Match: "*" or a list of entity tags, compared weakly (RFC 9110 13.1.2).
bool none_match(std::string_view header, const std::string& etag) {
  std::size_t pos = 0;
  while (pos <= header.size()) {
    auto comma = header.find(',', pos);
    if (comma == std::string_view::npos) comma = header.size();
    std::string_view tag = header.substr(pos, comma - pos);
    tag.remove_prefix(std::min(tag.find_first_not_of(" \t"), tag.size()));
    tag = tag.substr(0, tag.find_last_not_of(" \t") + 1);
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (!tag.empty() && tag == etag) return true;
    pos = comma + 1;
  }
  return false;
}

}  // namespace

Response Api::list_artifacts(const Call& call) const {
  const Request& request = call.request;
  const std::string& id = call.params.at("id");
  bool all = false;
  if (auto it = request.query.find("all"); it != request.query.end()) {
    if (it->second == "true" || it->second == "1") {
      all = true;
    } else if (it->second != "false" && it->second != "0") {
      throw Error(ErrorCode::kValidationFailed,
                  "all: must be true or false; got '" + it->second + "'", "all");
    }
  }
  visible_job(id, call.caller);
  json artifacts = json::array();
  for (const ArtifactMeta& a : jobs_.list_artifacts(id, all)) {
    artifacts.push_back(artifact_json(id, a));
  }
  return json_response(200, {{"artifacts", std::move(artifacts)}});
}

Response Api::download_artifact(const Call& call) const {
  const std::string& id = call.params.at("id");
  const std::string& name = call.params.at("name");
  visible_job(id, call.caller);
  auto found = jobs_.find_artifact(id, name);
  if (!found) {
    throw Error(ErrorCode::kNotFound, "job '" + id + "' has no artifact named '" + name + "'",
                "name");
  }
  const ArtifactMeta meta = std::move(*found);
  const std::int64_t size = meta.size_bytes;
  const std::string etag = "\"" + meta.sha256 + "\"";  // strong: the bytes' SHA-256
  Response r;
  r.headers["ETag"] = etag;
  r.headers["Accept-Ranges"] = "bytes";
  r.headers["Cache-Control"] = "private";
  if (auto match = call.request.header("If-None-Match"); match && none_match(*match, etag)) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  // Validated when stored; checked again because the value goes into a header (a row from
  // before validation existed must not split the response).
  r.content_type = content_type_for(meta.media_type);
  r.headers["Content-Disposition"] = "attachment; filename=\"" + quoted_filename(name) +
                                     "\"; filename*=UTF-8''" + percent_encode(name);
  ByteRange range{0, size - 1};
  r.status = 200;
  auto range_header = call.request.header("Range");
  // If-Range: the range applies only to this exact representation (strong comparison).
  if (auto if_range = call.request.header("If-Range"); if_range && *if_range != etag) {
    range_header.reset();
  }
  if (range_header) {
    switch (parse_range(*range_header, size, range)) {
      case RangeKind::kSatisfiable:
        r.status = 206;
        r.headers["Content-Range"] = "bytes " + std::to_string(range.first) + "-" +
                                     std::to_string(range.last) + "/" + std::to_string(size);
        break;
      case RangeKind::kUnsatisfiable: {
        Response refused = problem(Error(ErrorCode::kRangeNotSatisfiable,
                                         "Range: '" + *range_header + "' is outside the " +
                                             std::to_string(size) + " bytes of '" + name + "'",
                                         "Range"));
        refused.headers["Content-Range"] = "bytes */" + std::to_string(size);
        refused.headers["Accept-Ranges"] = "bytes";
        refused.headers["ETag"] = etag;
        return refused;
      }
      case RangeKind::kNone:
        range = {0, size - 1};
        break;
    }
  }
  const std::int64_t length = size == 0 ? 0 : range.last - range.first + 1;
  if (length <= kInlineDownloadBytes) {
    r.body.reserve(static_cast<std::size_t>(length));
    jobs_.read_artifact_bytes(meta, range.first, length,
                              [&](const char* data, std::size_t n) { r.body.append(data, n); });
    return r;
  }
  // Large: the adapter writes it chunk by chunk, at most one chunk in memory.
  r.body_length = length;
  r.body_writer = [this, meta, first = range.first, length](std::ostream& out) {
    jobs_.read_artifact_bytes(meta, first, length, [&](const char* data, std::size_t n) {
      out.write(data, static_cast<std::streamsize>(n));
      if (!out) throw Error(ErrorCode::kBadRequest, "the client stopped reading the download");
    });
    out.flush();
  };
  return r;
}

namespace {

// Collects the parts of a job submission; file bytes go to storage as they arrive.
class FormCollector final : public PartHandler {
 public:
  FormCollector(Database& db, std::string tenant, std::int64_t max_field_bytes,
                std::vector<FormPart>& files)
      : db_(db), tenant_(std::move(tenant)), max_field_bytes_(max_field_bytes), files_(files) {}

  void begin(const PartInfo& part) override {
    current_ = nullptr;
    if (!part.filename.empty()) {
      files_.push_back(FormPart{part, {}, std::make_unique<BlobWriter>(db_, tenant_)});
      current_ = &files_.back();
    } else if (part.name == "job") {
      if (have_job) {  // which one was meant is unknowable: refuse rather than pick one
        throw Error(ErrorCode::kValidationFailed,
                    "job: the form has more than one \"job\" part; send exactly one", "job");
      }
      job = FormPart{part, {}, nullptr};
      have_job = true;
      current_ = &job;
    } else {
      throw Error(ErrorCode::kValidationFailed,
                  part.name + ": unknown form field (expected a \"job\" part and file parts)",
                  part.name);
    }
  }
  void data(const char* bytes, std::size_t size) override {
    if (current_->file) {
      current_->file->write(bytes, size);
      return;
    }
    current_->data.append(bytes, size);
    if (static_cast<std::int64_t>(current_->data.size()) > max_field_bytes_) {
      throw Error(ErrorCode::kPayloadTooLarge,
                  "job: the form field is larger than LIMITS__MAX_REQUEST_BYTES", "job");
    }
  }
  void end() override {
    if (current_->file) current_->file->finish();
    current_ = nullptr;
  }
  /// The field being read ("" between parts), for errors.
  std::string reading() const {
    if (!current_) return {};
    if (!current_->file) return current_->info.name;
    return "inputs[" + std::to_string(files_.size() - 1) + "]";
  }

  FormPart job;
  bool have_job = false;

 private:
  Database& db_;
  std::string tenant_;
  std::int64_t max_field_bytes_;
  std::vector<FormPart>& files_;
  FormPart* current_ = nullptr;
};

}  // namespace

json Api::read_form(const Request& request, const Caller& caller,
                    std::vector<FormPart>& files) const {
  const std::int64_t limit = body_limit(caller);
  auto too_large = [&](const std::string& field) {
    return Error(ErrorCode::kPayloadTooLarge,
                 "request body is larger than LIMITS__MAX_REQUEST_BYTES (" + std::to_string(limit) +
                     " bytes" + (caller.tenant.empty() ? "" : " for tenant " + caller.tenant) + ")",
                 field);
  };
  if (auto length = request.header("Content-Length")) {
    // Refused before a byte is stored when the client announces too much.
    bool digits = !length->empty() && length->size() <= 18 &&
                  std::all_of(length->begin(), length->end(),
                              [](unsigned char c) { return std::isdigit(c); });
    if (digits && std::stoll(*length) > limit) throw too_large("Content-Length");
  }
  // A "job" part with the JSON job, and one part with a filename per input file.
  FormCollector collector(db_, caller.tenant, limit, files);
  const std::string content_type = request.header("Content-Type").value_or("");
  if (request.body_stream) {
    read_multipart(content_type, *request.body_stream, collector, limit,
                   [&] { throw too_large(collector.reading()); });
  } else {  // handlers called in-process
    std::istringstream in(request.body);
    read_multipart(content_type, in, collector, limit,
                   [&] { throw too_large(collector.reading()); });
  }
  if (!collector.have_job) {
    throw Error(ErrorCode::kValidationFailed, "job: is required: a form field holding the JSON job",
                "job");
  }
  return parse_json_body(collector.job.data, options_.json_limits);
}

void Api::add_uploaded_inputs(JobSpec& spec, std::vector<FormPart>& files) const {
  const sdk::GeneratorInfo* first = plugins_.info(spec.steps.front().generator);
  for (std::size_t i = 0; i < files.size(); ++i) {
    PartInfo& part = files[i].info;
    const std::string field = "inputs[" + std::to_string(spec.inputs.size()) + "]";
    std::string name = std::filesystem::path(part.filename).filename().string();
    if (auto why = file_name_problem(name)) {
      // Not quoted: the name may hold a NUL (which would end the message) or invalid UTF-8.
      throw Error(ErrorCode::kValidationFailed,
                  field + ".name: the uploaded file's name is not usable: it " + *why,
                  field + ".name");
    }
    for (const InputFile& existing : spec.inputs) {
      if (existing.name == name) {
        throw Error(ErrorCode::kValidationFailed,
                    field + ".name: duplicate input name '" + name + "'", field + ".name");
      }
    }
    std::string type = part.content_type.empty() ? "application/octet-stream" : part.content_type;
    if (std::string why = media_type_problem(type); !why.empty()) {
      throw Error(ErrorCode::kValidationFailed, field + ".media_type: " + why,
                  field + ".media_type");
    }
    if (first) {
      const auto& accepted = first->input_media_types;
      bool ok = std::any_of(accepted.begin(), accepted.end(),
                            [&](const std::string& p) { return media_type_matches(p, type); });
      if (!ok) {
        throw Error(ErrorCode::kValidationFailed,
                    field + ".media_type: '" + type + "' is not accepted by " + first->id,
                    field + ".media_type");
      }
    }
    BlobWriter& file = *files[i].file;
    if (file.chunked()) {
      spec.inputs.push_back(InputFile{name, type, {}, file.blob_id(), file.size(), file.sha256()});
    } else {
      spec.inputs.push_back(InputFile{name, type, std::move(file.data()), {}, 0, {}});
    }
  }
}

}  // namespace gen::backend

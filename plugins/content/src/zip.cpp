#include "zip.hpp"

#include <algorithm>
#include <memory>

#include <zip.h>

#include "bounded_decode.hpp"  // gen::pdf::describe_size

namespace gen::content {

namespace {

std::string zip_error_text(zip_error_t* error) {
  return zip_error_strerror(error);
}

}  // namespace

bool looks_like_zip(std::string_view data) {
  return data.starts_with(std::string_view("PK\x03\x04", 4)) ||
         data.starts_with(std::string_view("PK\x05\x06", 4));
}

ZipArchive::ZipArchive(Job& job, std::string_view data) : job_(job) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(data.data(), data.size(), 0, &error);
  if (source == nullptr) {
    std::string text = zip_error_text(&error);
    zip_error_fini(&error);
    job.fail("cannot read the zip archive: " + text);
  }
  archive_ = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (archive_ == nullptr) {
    zip_source_free(source);
    std::string text = zip_error_text(&error);
    zip_error_fini(&error);
    job.fail("damaged zip archive: " + text);
  }
  zip_error_fini(&error);
  const zip_int64_t entries = zip_get_num_entries(archive_, 0);
  if (entries < 0 || static_cast<std::size_t>(entries) > job.limits().max_zip_entries) {
    zip_discard(archive_);
    archive_ = nullptr;
    job.fail("the zip archive has " + std::to_string(entries) + " entries, more than " +
             std::to_string(job.limits().max_zip_entries) + " (the limit)");
  }
}

ZipArchive::~ZipArchive() {
  if (archive_ != nullptr) zip_discard(archive_);  // read-only: nothing to write back
}

std::optional<std::string> ZipArchive::find(std::string_view name) const {
  const std::string key(name);
  for (zip_flags_t flags : {zip_flags_t{0}, zip_flags_t{ZIP_FL_NOCASE}}) {
    const zip_int64_t index = zip_name_locate(archive_, key.c_str(), flags);
    if (index >= 0) {
      const char* found = zip_get_name(archive_, static_cast<zip_uint64_t>(index), 0);
      if (found != nullptr) return std::string(found);
    }
  }
  return std::nullopt;
}

std::string ZipArchive::read(std::string_view name, std::size_t max_bytes) {
  const std::string key(name);
  const std::string what = "zip entry '" + key + "'";
  const zip_int64_t index = zip_name_locate(archive_, key.c_str(), 0);
  if (index < 0) job_.fail(what + " is missing");
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat_index(archive_, static_cast<zip_uint64_t>(index), 0, &stat) != 0) {
    job_.fail(what + ": " + zip_strerror(archive_));
  }
  if ((stat.valid & ZIP_STAT_ENCRYPTION_METHOD) && stat.encryption_method != ZIP_EM_NONE) {
    job_.fail(what + " is encrypted");
  }
  const bool sized = (stat.valid & ZIP_STAT_SIZE) != 0;
  if (sized && stat.size > max_bytes) {
    job_.fail(what + " inflates to " + std::to_string(stat.size) + " bytes, more than " +
              pdf::describe_size(max_bytes) +
              " (the limit per entry): refused as a possible "
              "zip bomb");
  }
  std::unique_ptr<zip_file_t, decltype(&zip_fclose)> file(
      zip_fopen_index(archive_, static_cast<zip_uint64_t>(index), 0), &zip_fclose);
  if (!file) job_.fail(what + ": " + zip_strerror(archive_));

  std::string out;
  out.reserve(std::min<std::size_t>(sized ? stat.size : 0, std::size_t{1} << 20));
  char chunk[64 * 1024];
  for (;;) {
    job_.poll();
    const zip_int64_t n = zip_fread(file.get(), chunk, sizeof(chunk));
    if (n < 0) job_.fail(what + " is damaged: " + zip_file_strerror(file.get()));
    if (n == 0) break;
    const auto produced = static_cast<std::size_t>(n);
    job_.count_unzipped(produced);
    if (out.size() + produced > max_bytes) {
      job_.fail(what + " inflates to more than " + pdf::describe_size(max_bytes) +
                " (the limit per entry): refused as a possible zip bomb");
    }
    if (sized && out.size() + produced > stat.size) {
      job_.fail(what + " inflates to more than the " + std::to_string(stat.size) +
                " bytes its header declares: damaged or hostile zip");
    }
    out.append(chunk, produced);
  }
  return out;
}

}  // namespace gen::content

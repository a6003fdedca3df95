// multipart/form-data (RFC 7578) request bodies: POST /api/v1/jobs with a "job" part holding
// the JSON job and one part per input file. Read incrementally from a stream: a part's bytes
// go to the handler as they arrive, never the whole body in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <string>
#include <string_view>

#include "gen/core/queue/job_store.hpp"

namespace gen::backend {

/// The headers of one part.
struct PartInfo {
  std::string name;          ///< the form field name (Content-Disposition name=)
  std::string filename;      ///< empty when the part is not a file
  std::string content_type;  ///< the part's Content-Type; empty when absent
};

/// A part as the job submission keeps it: the "job" field's text, or a file's bytes on their
/// way to storage.
struct FormPart {
  PartInfo info;
  std::string data;                  ///< a non-file field's value
  std::unique_ptr<BlobWriter> file;  ///< a file part's bytes
};

class PartHandler {
 public:
  virtual ~PartHandler() = default;
  virtual void begin(const PartInfo& part) = 0;
  virtual void data(const char* bytes, std::size_t size) = 0;
  virtual void end() = 0;
};

/// Reads the body from `in` by the boundary named in `content_type`
/// ("multipart/form-data; boundary=x"), calling `handler` for each part in order. After more
/// than `max_bytes` were read, calls `too_large` (which should throw; else kPayloadTooLarge is
/// thrown). Throws gen::Error(kBadRequest) when the boundary is missing or the body is
/// malformed; whatever the handler throws passes through.
void read_multipart(std::string_view content_type, std::istream& in, PartHandler& handler,
                    std::int64_t max_bytes, const std::function<void()>& too_large);

}  // namespace gen::backend

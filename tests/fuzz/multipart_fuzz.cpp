// multipart/form-data bodies (backend/src/multipart.cpp), as POST /api/v1/jobs reads them.
// Input: the Content-Type header value, a newline, then the body. Checks the handler's
// contract: begin / data* / end per part, a named part, no data outside a part.
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "gen/core/base/errors.hpp"
#include "multipart.hpp"

namespace {

class CheckingHandler final : public gen::backend::PartHandler {
 public:
  void begin(const gen::backend::PartInfo& part) override {
    if (in_part_ || part.name.empty()) std::abort();
    in_part_ = true;
  }
  void data(const char* bytes, std::size_t size) override {
    if (!in_part_ || bytes == nullptr || size == 0) std::abort();
    bytes_ += size;
  }
  void end() override {
    if (!in_part_) std::abort();
    in_part_ = false;
  }
  std::size_t bytes() const { return bytes_; }

 private:
  bool in_part_ = false;
  std::size_t bytes_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = gen::fuzz::as_text(data, size);
  const auto newline = input.find('\n');
  if (newline == std::string_view::npos) return -1;
  const std::string_view content_type = input.substr(0, newline);
  const std::string_view body = input.substr(newline + 1);
  std::istringstream in{std::string(body)};
  CheckingHandler handler;
  try {
    gen::backend::read_multipart(content_type, in, handler, 1 << 20, [] {});
  } catch (const gen::Error&) {
    return 0;  // a malformed body: 400
  }
  if (handler.bytes() > body.size()) std::abort();  // more bytes handed on than were sent
  return 0;
}

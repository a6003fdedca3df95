// The backend's HTTP/1.1 request-head parser and chunked decoder (backend/src/http_head.hpp).
// Input: raw bytes as they would arrive on a connection. The head is cut where
// find_head_end() says it ends and parsed; when it announces a chunked body, the rest is fed to
// the ChunkedDecoder in two pieces (split at a byte the input picks), which must decode the
// same as when fed at once. Checks the parser's promises: a parsed head never has both
// Content-Length and chunked, its target starts with '/' or is "*", the version is 1.0/1.1,
// and a refusal always has a 4xx/5xx status.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "http_head.hpp"

namespace http = gen::backend::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = gen::fuzz::as_text(data, size);
  const std::size_t skip = http::skip_leading_empty_lines(input);
  if (skip > input.size()) std::abort();
  const std::string_view rest = input.substr(skip);
  const std::size_t end = http::find_head_end(rest);
  if (end == std::string_view::npos) return 0;
  if (end > rest.size()) std::abort();
  http::HeadLimits limits;
  limits.max_head_bytes = 4096;
  limits.max_fields = 32;
  const http::HeadResult result = http::parse_request_head(rest.substr(0, end), limits);
  if (!result.head) {
    if (result.error.status < 400 || result.error.status > 599) std::abort();
    return 0;
  }
  const http::RequestHead& head = *result.head;
  if (head.chunked && head.content_length) std::abort();
  if (head.minor_version != 0 && head.minor_version != 1) std::abort();
  if (head.target != "*" && (head.target.empty() || head.target[0] != '/')) std::abort();
  if (head.content_length && *head.content_length < 0) std::abort();
  if (!head.chunked) return 0;

  const std::string_view body = rest.substr(end);
  std::string whole;
  std::size_t consumed_whole = 0;
  http::ChunkedDecoder at_once(256, 1024);
  const auto state_whole = at_once.feed(body, whole, consumed_whole);
  if (consumed_whole > body.size()) std::abort();

  const std::size_t split = body.empty() ? 0 : static_cast<unsigned char>(body[0]) % body.size();
  http::ChunkedDecoder in_pieces(256, 1024);
  std::string pieces;
  std::size_t consumed = 0;
  auto state = in_pieces.feed(body.substr(0, split), pieces, consumed);
  std::size_t total = consumed;
  if (state == http::ChunkedDecoder::State::kNeedMore) {
    state = in_pieces.feed(body.substr(split), pieces, consumed);
    total += consumed;
  }
  if (state != state_whole) std::abort();
  if (state == http::ChunkedDecoder::State::kDone && (pieces != whole || total != consumed_whole)) {
    std::abort();
  }
  if (at_once.body_bytes() != whole.size()) std::abort();
  return 0;
}

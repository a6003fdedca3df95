// Bytes on the wire for the HTTP edge (server_impl.hpp): a parsed head into a Request, a
// Response's status line and header fields out, the edge's own refusals, and sends on a
// non-blocking socket. No state; any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>

#include "gen/backend/http.hpp"
#include "http_head.hpp"

namespace gen::backend::edge {

/// RFC 9110 5.6.7 IMF-fixdate of now, formatted once per second per thread.
const std::string& http_date();
/// Statuses that never carry a body (1xx, 204, 304).
bool no_body_status(int status);
/// The status line and header fields of `r` (Content-Length: r.content_length()); a header
/// with an invalid name or a control character in its value is dropped, never written.
std::string serialize_head(const Response& r, bool close, int minor_version);
/// A problem+json response for a refusal at the edge; `status` may be one the error table
/// has no code for (431, 501, 505): the body then carries BAD_REQUEST with that status.
Response edge_problem(int status, const std::string& detail);
/// The Request a parsed head describes (path split and decoded, query parsed, repeated
/// fields combined); the body is filled in later.
Request to_request(const http::RequestHead& head);

/// Waits until `fd` is ready for `events` or `timeout` passes; false on timeout or error.
bool wait_for(int fd, short events, std::chrono::milliseconds timeout);
/// Sends all of `data` on the non-blocking socket, waiting up to `timeout` for each bit of
/// progress. False when the client stopped reading or went away.
bool send_all(int fd, const char* data, std::size_t size, std::chrono::milliseconds timeout);
/// Sends what the socket takes now; returns the bytes sent, or -1 when the connection broke.
ssize_t send_now(int fd, const char* data, std::size_t size);

}  // namespace gen::backend::edge

#include "client.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include "gen/core/base/text.hpp"

namespace gen::ctl {

using nlohmann::json;

json HttpResult::json() const {
  return nlohmann::json::parse(body, nullptr, false);
}

std::string encode_segment(const std::string& in) {
  // Everything but RFC 3986's unreserved characters (letters, digits, - . _ ~) is encoded.
  std::string out;
  Poco::URI::encode(in, "!#$&'()*+,/:;=?@[]", out);
  return out;
}

Client::Client(const std::string& url, std::string token, std::string tenant)
    : token_(std::move(token)), tenant_(std::move(tenant)) {
  try {
    Poco::URI uri(url);
    if (uri.getScheme() != "http" || uri.getHost().empty()) {
      throw CtlError(kExitUsage, "--url must be http://host:port, got '" + url + "'");
    }
    host_ = uri.getHost();
    port_ = uri.getPort();
  } catch (const Poco::Exception& e) {
    throw CtlError(kExitUsage, "--url: " + e.displayText());
  }
}

HttpResult Client::request(const std::string& method, const std::string& path,
                           const std::string& body, const std::string& content_type,
                           const std::map<std::string, std::string>& headers,
                           bool allow_error) const {
  if (!body.empty() || method == "POST" || method == "PUT") {
    BodyWriter writer{static_cast<std::int64_t>(body.size()), [&](std::ostream& os) {
                        os.write(body.data(), static_cast<std::streamsize>(body.size()));
                      }};
    return send(method, path, &writer, content_type, headers, nullptr, allow_error);
  }
  return send(method, path, nullptr, content_type, headers, nullptr, allow_error);
}

HttpResult Client::stream(const std::string& method, const std::string& path,
                          const BodyWriter* body, const std::string& content_type,
                          const std::map<std::string, std::string>& headers,
                          std::ostream* sink) const {
  return send(method, path, body, content_type, headers, sink, false);
}

HttpResult Client::send(const std::string& method, const std::string& path, const BodyWriter* body,
                        const std::string& content_type,
                        const std::map<std::string, std::string>& headers, std::ostream* sink,
                        bool allow_error) const {
  HttpResult out;
  try {
    Poco::Net::HTTPClientSession session(host_, port_);
    session.setTimeout(Poco::Timespan(120, 0));
    Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!token_.empty()) req.set("Authorization", "Bearer " + token_);
    if (!tenant_.empty()) req.set("tenant-id", tenant_);
    if (!content_type.empty()) req.setContentType(content_type);
    for (const auto& [k, v] : headers) req.set(k, v);
    if (body) req.setContentLength64(body->length);
    std::ostream& os = session.sendRequest(req);
    if (body) body->write(os);
    Poco::Net::HTTPResponse resp;
    std::istream& is = session.receiveResponse(resp);
    out.status = static_cast<int>(resp.getStatus());
    for (const auto& [k, v] : resp) {
      out.headers[ascii_lower(k)] = v;
    }
    if (sink && out.status < 400) {
      Poco::StreamCopier::copyStream64(is, *sink);
    } else {
      Poco::StreamCopier::copyToString(is, out.body);
    }
  } catch (const Poco::Exception& e) {
    throw CtlError(kExitUnreachable,
                   "cannot reach " + host_ + ":" + std::to_string(port_) + ": " + e.displayText());
  }
  if (out.status >= 400 && !allow_error) {
    json problem = out.json();
    std::string message = std::to_string(out.status);
    if (problem.is_object()) {
      message += " " + problem.value("code", std::string()) + ": " +
                 problem.value("detail", std::string());
      if (problem.contains("field")) message += " (field " + problem.value("field", "") + ")";
    } else {
      message += ": " + out.body;
    }
    throw CtlError(out.status >= 500 ? kExitServerError : kExitApiError, message);
  }
  return out;
}

json Client::get_json(const std::string& path) const {
  return request("GET", path).json();
}

json Client::send_json(const std::string& method, const std::string& path, const json& body) const {
  return request(method, path, body.dump(), "application/json").json();
}

}  // namespace gen::ctl

#include "llm_http.hpp"

#include <sys/socket.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SocketAddress.h>
#include <gen/sdk/json.hpp>

namespace gen::meta {
namespace {

using Clock = std::chrono::steady_clock;

// Ends a blocking exchange from outside: a thread waits for the request's deadline or the
// task's cancellation and then shuts the socket down (shutdown(2) wakes a blocked recv/send at
// once; Poco's own timeouts apply per read, so a server trickling bytes would outlive them).
// The socket is published only while connected, under the mutex, so a descriptor is never
// shut down after the session closed it (and perhaps the number was reused).
class Watch {
 public:
  Watch(Clock::time_point deadline, const std::function<bool()>& cancelled)
      : deadline_(deadline), cancelled_(cancelled), thread_([this] { loop(); }) {}
  ~Watch() { finish(); }
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

  void publish(int fd) {
    std::lock_guard lock(mutex_);
    fd_ = fd;
    if (fired_ && fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }
  /// Stops watching (before the session closes its socket).
  void finish() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
      fd_ = -1;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  bool timed_out() const {
    std::lock_guard lock(mutex_);
    return fired_ && !was_cancelled_;
  }
  bool was_cancelled() const {
    std::lock_guard lock(mutex_);
    return was_cancelled_;
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    while (!done_ && !fired_) {
      wake_.wait_for(lock, std::chrono::milliseconds(20));
      if (done_) break;
      const bool cancelled = cancelled_ && cancelled_();
      if (cancelled || Clock::now() >= deadline_) {
        fired_ = true;
        was_cancelled_ = cancelled;
        if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
      }
    }
  }

  const Clock::time_point deadline_;
  const std::function<bool()>& cancelled_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  int fd_ = -1;
  bool done_ = false;
  bool fired_ = false;
  bool was_cancelled_ = false;
  std::thread thread_;
};

// Connects to the vetted address whatever the host name resolves to by now; the Host header,
// TLS server name and certificate check still use the host name.
template <class Base>
class PinnedSession : public Base {
 public:
  template <class... Args>
  PinnedSession(Poco::Net::SocketAddress pinned, Watch& watch, Args&&... args)
      : Base(std::forward<Args>(args)...), pinned_(std::move(pinned)), watch_(watch) {}

 protected:
  void connect(const Poco::Net::SocketAddress&) override {
    Base::connect(pinned_);
    watch_.publish(this->socket().impl()->sockfd());
  }

 private:
  Poco::Net::SocketAddress pinned_;
  Watch& watch_;
};

Poco::Net::Context::Ptr tls_context() {
  static std::once_flag once;
  static Poco::Net::Context::Ptr context;
  std::call_once(once, [] {
    Poco::Net::initializeSSL();
    // The system's CA store (loadDefaultCAs), as the webhooks use it.
    context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", "",
                                     Poco::Net::Context::VERIFY_RELAXED, 9, true,
                                     "ALL:!ADH:!LOW:!EXP:!MD5:@STRENGTH");
  });
  return context;
}

// Printable ASCII of at most 300 bytes of `text`, for an error message.
std::string printable(std::string_view text) {
  std::string out;
  for (unsigned char c : text.substr(0, 300)) {
    out += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : ' ';
  }
  if (text.size() > 300) out += "...";
  return out;
}

// The server's own words for an error: OpenAI's {"error": {"message": ...}} (or a string
// `error` / `message`), else the start of the body.
std::string server_message(const std::string& body) {
  sdk::JsonLimits limits;
  limits.max_depth = 16;
  limits.max_values = 10'000;
  sdk::JsonParseResult parsed = sdk::parse_json(body, limits);
  if (parsed && parsed.value.is_object()) {
    const nlohmann::json& v = parsed.value;
    if (auto e = v.find("error"); e != v.end()) {
      if (e->is_string()) return printable(e->get_ref<const std::string&>());
      if (e->is_object()) {
        if (auto m = e->find("message"); m != e->end() && m->is_string()) {
          return printable(m->get_ref<const std::string&>());
        }
      }
    }
    if (auto m = v.find("message"); m != v.end() && m->is_string()) {
      return printable(m->get_ref<const std::string&>());
    }
  }
  return body.empty() ? std::string("(no body)") : printable(body);
}

}  // namespace

HttpOutcome post_json(const egress::Target& target, const std::string& body,
                      const std::string& api_key, std::chrono::milliseconds timeout,
                      const std::function<bool()>& cancelled) {
  HttpOutcome out;
  const std::string where = target.host + " (" + target.addresses.front() + ")";
  const Clock::time_point deadline = Clock::now() + timeout;
  std::unique_ptr<Poco::Net::HTTPClientSession> session;  // outlives `watch`
  Watch watch(deadline, cancelled);
  try {
    Poco::Net::SocketAddress address(Poco::Net::IPAddress(target.addresses.front()),
                                     static_cast<Poco::UInt16>(target.port));
    if (target.scheme == "https") {
      session = std::make_unique<PinnedSession<Poco::Net::HTTPSClientSession>>(
          address, watch, target.host, static_cast<Poco::UInt16>(target.port), tls_context());
    } else {
      session = std::make_unique<PinnedSession<Poco::Net::HTTPClientSession>>(
          address, watch, target.host, static_cast<Poco::UInt16>(target.port));
    }
    session->setTimeout(
        Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(timeout.count()) * 1000));
    session->setKeepAlive(false);
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, target.path,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    request.set("Accept", "application/json");
    request.set("User-Agent", "Generator-meta.generate/1.0");
    if (!api_key.empty()) request.set("Authorization", "Bearer " + api_key);
    session->sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session->receiveResponse(response);
    char buf[16384];
    while (in.read(buf, sizeof buf).gcount() > 0) {
      out.body.append(buf, static_cast<std::size_t>(in.gcount()));
      if (out.body.size() > kMaxLlmResponseBytes) break;
    }
    // A shut-down socket reads as the end of the body: a cut answer is no answer.
    if (watch.timed_out() || watch.was_cancelled()) throw Poco::TimeoutException("watch");
    out.status = static_cast<int>(response.getStatus());
    watch.finish();
    if (out.body.size() > kMaxLlmResponseBytes) {
      out.kind = HttpOutcome::Kind::kPermanent;
      out.error = "the LLM endpoint " + where + " sent an answer of more than " +
                  std::to_string(kMaxLlmResponseBytes / (1024 * 1024)) + " MiB";
      return out;
    }
    if (out.status >= 200 && out.status <= 299) {
      out.kind = HttpOutcome::Kind::kOk;
      return out;
    }
    std::string text = "the LLM endpoint " + where + " answered HTTP " +
                       std::to_string(out.status) + " " + response.getReason();
    if (out.status == 429 || out.status >= 500) {
      out.kind = HttpOutcome::Kind::kRetryable;
      if (response.has("Retry-After")) {
        text += " (Retry-After: " + printable(response.get("Retry-After")) + ")";
      }
    } else {
      out.kind = HttpOutcome::Kind::kPermanent;
    }
    out.error = text + ": " + server_message(out.body);
    return out;
  } catch (const Poco::Exception& e) {
    const bool was_cancelled = watch.was_cancelled();
    const bool timed_out = watch.timed_out();
    watch.finish();
    out.kind = HttpOutcome::Kind::kRetryable;
    out.cancelled = was_cancelled;
    if (was_cancelled) {
      out.error = "stopped waiting for the LLM endpoint " + where +
                  ": the job was cancelled or its time limit passed";
    } else if (timed_out || dynamic_cast<const Poco::TimeoutException*>(&e) != nullptr) {
      out.error = "no answer from the LLM endpoint " + where + " within " +
                  std::to_string(timeout.count()) + " ms (GENERATION__LLM_TIMEOUT_MS)";
    } else {
      out.error = "cannot reach the LLM endpoint " + where + ": " + e.displayText();
    }
    return out;
  } catch (const std::exception& e) {
    watch.finish();
    out.kind = HttpOutcome::Kind::kRetryable;
    out.error = "cannot reach the LLM endpoint " + where + ": " + e.what();
    return out;
  }
}

}  // namespace gen::meta

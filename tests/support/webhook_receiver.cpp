#include "webhook_receiver.hpp"

#include <algorithm>
#include <cctype>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/StreamCopier.h>

namespace gen::itest {

namespace {

std::string loopback_url(int port, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

}  // namespace

std::string ReceivedHook::job_id() const {
  const nlohmann::json p = payload();
  if (!p.is_object() || !p["job"].is_object()) return {};
  return p["job"].value("id", "");
}

class WebhookReceiver::Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(WebhookReceiver& r) : r_(r) {}
  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    ReceivedHook got;
    got.arrived = std::chrono::steady_clock::now();
    for (const auto& [name, value] : request) {
      std::string lower = name;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      got.headers[lower] = value;
    }
    Poco::StreamCopier::copyToString(request.stream(), got.body);
    const int status = r_.record(std::move(got));
    response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    response.setContentType("text/plain");
    response.send() << (status == 200 ? "thanks" : "failing on purpose");
  }

 private:
  WebhookReceiver& r_;
};

class WebhookReceiver::Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(WebhookReceiver& r) : r_(r) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Handler(r_);
  }

 private:
  WebhookReceiver& r_;
};

WebhookReceiver::WebhookReceiver(int fail_first)
    : fail_first_(fail_first),
      socket_(Poco::Net::SocketAddress("127.0.0.1", 0)),
      server_(std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket_,
                                                      new Poco::Net::HTTPServerParams)) {
  server_->start();
}

WebhookReceiver::~WebhookReceiver() {
  server_->stopAll(true);
}

std::string WebhookReceiver::url(const std::string& path) const {
  return loopback_url(port(), path);
}

int WebhookReceiver::record(ReceivedHook got) {
  {
    std::lock_guard lock(mutex_);
    got.answered = static_cast<int>(requests_.size()) < fail_first_ ? 500 : 200;
    requests_.push_back(got);
  }
  cv_.notify_all();
  return got.answered;
}

std::vector<ReceivedHook> WebhookReceiver::wait_for(
    const std::function<bool(const std::vector<ReceivedHook>&)>& done,
    std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, timeout, [&] { return done(requests_); });
  return requests_;
}

std::optional<ReceivedHook> WebhookReceiver::wait_for_job(const std::string& job_id,
                                                          std::chrono::milliseconds timeout) {
  auto names_job = [&](const ReceivedHook& r) { return r.job_id() == job_id; };
  const std::vector<ReceivedHook> got = wait_for(
      [&](const std::vector<ReceivedHook>& all) {
        return std::any_of(all.begin(), all.end(), names_job);
      },
      timeout);
  auto it = std::find_if(got.begin(), got.end(), names_job);
  if (it == got.end()) return std::nullopt;
  return *it;
}

std::vector<ReceivedHook> WebhookReceiver::requests() {
  std::lock_guard lock(mutex_);
  return requests_;
}

SilentReceiver::SilentReceiver() : socket_(Poco::Net::SocketAddress("127.0.0.1", 0), 64) {
  thread_ = std::thread([this] {
    while (!stop_) {
      try {
        if (!socket_.poll(Poco::Timespan(0, 100000), Poco::Net::Socket::SELECT_READ)) continue;
        Poco::Net::StreamSocket s = socket_.acceptConnection();
        std::lock_guard lock(mutex_);
        held_.push_back(std::move(s));
      } catch (const Poco::Exception&) {
      }
    }
  });
}

SilentReceiver::~SilentReceiver() {
  stop_ = true;
  thread_.join();
}

std::string SilentReceiver::url(const std::string& path) const {
  return loopback_url(socket_.address().port(), path);
}

int SilentReceiver::accepted() {
  std::lock_guard lock(mutex_);
  return static_cast<int>(held_.size());
}

}  // namespace gen::itest

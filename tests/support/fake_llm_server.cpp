#include "fake_llm_server.hpp"

#include <cctype>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/StreamCopier.h>

namespace gen::testing {

LlmReply LlmReply::completion_text(const std::string& content) {
  nlohmann::json body = {
      {"id", "chatcmpl-fake"},
      {"object", "chat.completion"},
      {"created", 1764633600},
      {"model", "fake-model"},
      {"choices",
       {{{"index", 0},
         {"message", {{"role", "assistant"}, {"content", content}, {"refusal", nullptr}}},
         {"finish_reason", "stop"}}}},
      {"usage", {{"prompt_tokens", 100}, {"completion_tokens", 20}, {"total_tokens", 120}}}};
  LlmReply r;
  r.body = body.dump();
  r.headers["Content-Type"] = "application/json";
  return r;
}

LlmReply LlmReply::completion(const nlohmann::json& answer) {
  return completion_text(answer.dump());
}

LlmReply LlmReply::error(int status, const std::string& message) {
  LlmReply r;
  r.status = status;
  r.body =
      nlohmann::json{{"error",
                      {{"message", message},
                       {"type", status == 429 ? "rate_limit_exceeded" : "invalid_request_error"},
                       {"param", nullptr},
                       {"code", nullptr}}}}
          .dump();
  r.headers["Content-Type"] = "application/json";
  return r;
}

class FakeLlmServer::Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(FakeLlmServer& s) : s_(s) {}
  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    LlmRequest got;
    got.method = request.getMethod();
    got.uri = request.getURI();
    for (const auto& [name, value] : request) {
      std::string lower = name;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      got.headers[lower] = value;
    }
    Poco::StreamCopier::copyToString(request.stream(), got.body);
    LlmReply reply = s_.answer(got);
    if (reply.delay.count() > 0 && s_.wait_stop(reply.delay)) return;
    response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
    for (const auto& [name, value] : reply.headers) response.set(name, value);
    response.setContentLength(static_cast<std::streamsize>(reply.body.size()));
    response.send() << reply.body;
  }

 private:
  FakeLlmServer& s_;
};

class FakeLlmServer::Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(FakeLlmServer& s) : s_(s) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Handler(s_);
  }

 private:
  FakeLlmServer& s_;
};

FakeLlmServer::FakeLlmServer()
    : socket_(Poco::Net::SocketAddress("127.0.0.1", 0)),
      server_(std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket_,
                                                      new Poco::Net::HTTPServerParams)) {
  server_->start();
}

FakeLlmServer::~FakeLlmServer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  server_->stopAll(true);
}

int FakeLlmServer::port() const {
  return socket_.address().port();
}

std::string FakeLlmServer::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port()) + "/v1";
}

void FakeLlmServer::push(LlmReply reply) {
  std::lock_guard lock(mutex_);
  queue_.push_back(std::move(reply));
}

void FakeLlmServer::set_responder(std::function<LlmReply(const LlmRequest&)> responder) {
  std::lock_guard lock(mutex_);
  responder_ = std::move(responder);
}

std::vector<LlmRequest> FakeLlmServer::requests() {
  std::lock_guard lock(mutex_);
  return requests_;
}

LlmReply FakeLlmServer::answer(const LlmRequest& request) {
  std::function<LlmReply(const LlmRequest&)> responder;
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
    if (!queue_.empty()) {
      LlmReply r = std::move(queue_.front());
      queue_.pop_front();
      return r;
    }
    responder = responder_;
  }
  if (responder) return responder(request);
  return LlmReply::error(500, "no scripted answer");
}

bool FakeLlmServer::wait_stop(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return stop_cv_.wait_for(lock, delay, [this] { return stopping_; });
}

}  // namespace gen::testing

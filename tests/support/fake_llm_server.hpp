// A fake OpenAI-compatible API on 127.0.0.1 (an ephemeral port), speaking the real HTTP
// contract of POST /v1/chat/completions, for the openai provider of meta.generate: it keeps
// every request (path, headers, body) and answers from a script (queued replies, then a
// responder function): chat completions, HTTP errors with bodies and headers, garbage, and
// slow answers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/ServerSocket.h>
#include <nlohmann/json.hpp>

namespace gen::testing {

struct LlmRequest {
  std::string method;
  std::string uri;
  std::map<std::string, std::string> headers;  ///< names lowercased
  std::string body;
  /// The body parsed as JSON (discarded value when it is not JSON).
  nlohmann::json payload() const { return nlohmann::json::parse(body, nullptr, false); }
};

struct LlmReply {
  int status = 200;
  std::string body;
  std::map<std::string, std::string> headers;
  /// Wait this long before answering (a slow model); the server's stop cuts it short.
  std::chrono::milliseconds delay{0};

  /// A chat completion whose choices[0].message.content is `content` (any text).
  static LlmReply completion_text(const std::string& content);
  /// The same with `content` the JSON text of `answer`.
  static LlmReply completion(const nlohmann::json& answer);
  /// An OpenAI-style error: {"error": {"message": ..., "type": ...}}.
  static LlmReply error(int status, const std::string& message);
};

class FakeLlmServer {
 public:
  FakeLlmServer();
  ~FakeLlmServer();
  FakeLlmServer(const FakeLlmServer&) = delete;
  FakeLlmServer& operator=(const FakeLlmServer&) = delete;

  int port() const;
  /// "http://127.0.0.1:<port>/v1": what GENERATION__LLM_URL holds.
  std::string base_url() const;

  /// Answers the next request with `reply` (queued in order, before the responder).
  void push(LlmReply reply);
  /// Answers requests when the queue is empty (default: 500 "no scripted answer").
  void set_responder(std::function<LlmReply(const LlmRequest&)> responder);
  std::vector<LlmRequest> requests();

 private:
  class Handler;
  class Factory;
  LlmReply answer(const LlmRequest& request);
  bool wait_stop(std::chrono::milliseconds delay);

  std::mutex mutex_;
  std::deque<LlmReply> queue_;
  std::function<LlmReply(const LlmRequest&)> responder_;
  std::vector<LlmRequest> requests_;
  bool stopping_ = false;
  std::condition_variable stop_cv_;
  Poco::Net::ServerSocket socket_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace gen::testing

// Fake webhook receivers on 127.0.0.1 (an ephemeral port each), for tests that let the real
// worker deliver webhooks:
//   WebhookReceiver  answers 500 to the first `fail_first` requests and 200 to the others, and
//                    keeps every request (headers, body, what it answered, when it arrived);
//   SilentReceiver   accepts connections and never reads or answers: a receiver that hangs.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <nlohmann/json.hpp>

namespace gen::itest {

/// One request a WebhookReceiver got.
struct ReceivedHook {
  std::map<std::string, std::string> headers;  ///< names lowercased
  std::string body;
  int answered = 0;  ///< the status it answered: 500 or 200
  std::chrono::steady_clock::time_point arrived;
  /// The body parsed as JSON (discarded value when it is not JSON).
  nlohmann::json payload() const { return nlohmann::json::parse(body, nullptr, false); }
  /// The payload's job.id; "" when there is none.
  std::string job_id() const;
};

class WebhookReceiver {
 public:
  explicit WebhookReceiver(int fail_first = 0);
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  int port() const { return socket_.address().port(); }
  std::string url(const std::string& path = "/hook") const;
  /// Waits until `done(requests)` holds; returns the requests then (or at the timeout).
  std::vector<ReceivedHook> wait_for(
      const std::function<bool(const std::vector<ReceivedHook>&)>& done,
      std::chrono::milliseconds timeout);
  /// The first request whose payload names `job_id`, waiting up to `timeout` for it.
  std::optional<ReceivedHook> wait_for_job(const std::string& job_id,
                                           std::chrono::milliseconds timeout);
  std::vector<ReceivedHook> requests();

 private:
  class Handler;
  class Factory;
  /// Records one request; returns the status to answer.
  int record(ReceivedHook got);

  int fail_first_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<ReceivedHook> requests_;
  Poco::Net::ServerSocket socket_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

class SilentReceiver {
 public:
  SilentReceiver();
  ~SilentReceiver();
  SilentReceiver(const SilentReceiver&) = delete;
  SilentReceiver& operator=(const SilentReceiver&) = delete;

  std::string url(const std::string& path = "/hook") const;
  /// How many connections it has accepted (and holds open).
  int accepted();

 private:
  Poco::Net::ServerSocket socket_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<Poco::Net::StreamSocket> held_;
  std::thread thread_;
};

}  // namespace gen::itest

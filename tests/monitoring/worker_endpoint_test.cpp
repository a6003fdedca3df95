// The worker's HTTP endpoint (worker/src/http_endpoint.cpp) as clients and probes see it:
// paths, methods, HEAD, headers and problem+json errors shaped as the backend's.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "fixture.hpp"
#include "gen/core/base/text.hpp"

namespace gen::itest {
namespace {

class WorkerEndpoint : public StackTest {
 protected:
  HttpClient worker() const {
    return HttpClient(std::stoi(stack_->environment().at("HOSTING__METRICS_PORT")));
  }

  // Sends `bytes` as they are and returns everything the endpoint answers until it closes.
  std::string raw_exchange(const std::string& bytes) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(worker().port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string answer;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size())) {
      char buffer[4096];
      while (true) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        answer.append(buffer, static_cast<std::size_t>(n));
      }
    }
    ::close(fd);
    return answer;
  }
};

TEST_F(WorkerEndpoint, HealthAnswersGetAndHeadWithTheQueryIgnored) {
  HttpResponse r = worker().get("/health?probe=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(r.header("Cache-Control"), "no-store");
  EXPECT_EQ(r.json_body(), json({{"status", "ok"}}));

  HttpResponse head = worker().request("HEAD", "/health");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), std::to_string(r.body.size()));
  EXPECT_EQ(head.body, "");
}

TEST_F(WorkerEndpoint, ErrorsAreProblemJsonLikeTheBackends) {
  HttpResponse missing = worker().get("/nowhere");
  expect_problem(missing, 404, "NOT_FOUND");
  EXPECT_EQ(missing.json_body()["detail"], "no route for GET /nowhere");
  EXPECT_EQ(missing.json_body()["type"], "https://generator.dev/problems/not_found");
  EXPECT_EQ(missing.json_body()["title"], "Not Found");
  EXPECT_EQ(missing.header("Cache-Control"), "no-store");

  HttpResponse post = worker().request("POST", "/health", "{}", "application/json");
  expect_problem(post, 405, "METHOD_NOT_ALLOWED");
  EXPECT_EQ(post.header("Allow"), "GET, HEAD");
  EXPECT_EQ(post.json_body()["detail"], "POST is not allowed on /health; allowed: GET, HEAD");
  EXPECT_EQ(post.json_body()["title"], "Method Not Allowed");
}

TEST_F(WorkerEndpoint, OneRequestPerConnectionAndGarbageIsABadRequest) {
  const std::string answer = raw_exchange("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_NE(ascii_lower(answer).find("\r\nconnection: close\r\n"), std::string::npos) << answer;
  EXPECT_TRUE(answer.ends_with(R"({"status":"ok"})")) << "closed after one response: " << answer;

  // A request head Poco cannot parse (a 40-character method): 400, and the connection closed.
  const std::string bad = raw_exchange(std::string(40, 'A') + " /health HTTP/1.1\r\n\r\n");
  EXPECT_EQ(bad.rfind("HTTP/1.1 400", 0), 0u) << bad;
}

}  // namespace
}  // namespace gen::itest

// generator-backend speaks systemd's notify protocol (Type=notify units): READY=1 once it
// listens, WATCHDOG=1 at half the watchdog period, STOPPING=1 on SIGTERM. The test plays
// systemd: it binds the NOTIFY_SOCKET datagram socket and reads what arrives.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace gen::itest {
namespace {

using namespace std::chrono_literals;

// Datagrams received within `timeout`, one string each (sd_notify may send several
// assignments in one datagram, separated by newlines).
std::set<std::string> receive(int fd, std::chrono::milliseconds timeout, const std::string& until) {
  std::set<std::string> got;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline && !got.count(until)) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[512];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) continue;
    std::string text(buf, static_cast<std::size_t>(n));
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t nl = text.find('\n', pos);
      got.insert(text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
  }
  return got;
}

TEST(SystemdNotify, BackendReportsReadyWatchdogAndStopping) {
  TempDir dir;
  std::string path = (dir.path() / "notify.sock").string();
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);

  int port = free_port();
  auto env = service_environment({
      {"DATABASE__URL", "sqlite://" + (dir.path() / "generator.db").string()},
      {"PLUGINS__PATH", (build_dir() / "lib/generator/plugins").string()},
      {"HOSTING__PORT", std::to_string(port)},
      {"NOTIFY_SOCKET", path},
      {"WATCHDOG_USEC", "400000"},
  });
  Process backend("backend", build_dir() / "bin/generator-backend", {"serve"}, env,
                  dir.path() / "backend.log");
  auto first = receive(fd, 20s, "READY=1");
  ASSERT_TRUE(first.count("READY=1")) << backend.log();
  // Ready means listening.
  EXPECT_EQ(HttpClient(port).get("/health").status, 200);
  auto pings = receive(fd, 5s, "WATCHDOG=1");
  EXPECT_TRUE(pings.count("WATCHDOG=1")) << backend.log();
  ::kill(backend.pid(), SIGTERM);
  auto last = receive(fd, 10s, "STOPPING=1");
  EXPECT_TRUE(last.count("STOPPING=1")) << backend.log();
  EXPECT_EQ(backend.stop(SIGTERM, 10s), 0) << backend.log();
  ::close(fd);
}

}  // namespace
}  // namespace gen::itest

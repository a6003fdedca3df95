// Issue 13, attack 13 and part of 15.
// 13. One tenant stalled everyone's webhooks: five webhooks of tenant A pointing at a receiver
//     that accepts and never answers delayed tenant B's delivery by 50 s (one delivery at a
//     time per worker process, 10 s timeout). Deliveries now run concurrently, capped per
//     receiver (host:port) and per tenant. SQLite and PostgreSQL (the outbox is stored).
// 15. The SSRF guard refused too little of the IANA special-purpose registries.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <optional>
#include <thread>

#include "fixture.hpp"
#include "gen/core/base/errors.hpp"
#include "gen/core/webhooks/webhooks.hpp"
#include "webhook_receiver.hpp"

namespace gen::itest {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class WebhookFairness : public PerDatabaseTest {};

TEST_P(WebhookFairness, DeadReceiverOfOneTenantDoesNotDelayAnother) {
  SilentReceiver dead;
  WebhookReceiver alive;
  std::map<std::string, std::string> env = database_env();
  env["WEBHOOKS__ALLOW_HOSTS"] = "127.0.0.1/32";
  env["WEBHOOKS__TIMEOUT_MS"] = "10000";
  Stack stack({.worker_processes = 1, .env = env});
  const HttpClient& api = stack.api();
  for (const char* t : {"tenant-a", "tenant-b"}) create_tenant(api, t);
  auto subscribe = [&](const std::string& tenant, const std::string& url) {
    HttpResponse r = api.request("POST", "/api/v1/webhooks", json{{"url", url}}.dump(),
                                 "application/json", {{"tenant-id", tenant}});
    ASSERT_EQ(r.status, 201) << r.body;
  };
  for (int i = 0; i < 5; ++i) subscribe("tenant-a", dead.url("/hook" + std::to_string(i)));
  subscribe("tenant-b", alive.url());
  auto submit = [&](const std::string& tenant) {
    HttpResponse r = api.request("POST", "/api/v1/jobs",
                                 json{{"steps", {{{"generator", "fixture.echo"}}}}}.dump(),
                                 "application/json", {{"tenant-id", tenant}});
    EXPECT_EQ(r.status, 202) << r.body;
    return r.json_body().value("id", "");
  };

  // Tenant A's job ends: five deliveries to the receiver that never answers.
  submit("tenant-a");
  for (auto until = Clock::now() + 20s; dead.accepted() == 0 && Clock::now() < until;) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_GT(dead.accepted(), 0) << stack.logs();

  // Tenant B's delivery must not wait for A's timeouts (10 s each, 50 s in all before).
  const std::string b_job = submit("tenant-b");
  std::string b_status;
  for (auto until = Clock::now() + 20s; Clock::now() < until; std::this_thread::sleep_for(20ms)) {
    HttpResponse r =
        api.request("GET", "/api/v1/jobs/" + b_job, {}, {}, {{"tenant-id", "tenant-b"}});
    b_status = r.json_body().value("status", "");
    if (b_status == "COMPLETED") break;
  }
  ASSERT_EQ(b_status, "COMPLETED");
  const auto b_finished = Clock::now();
  std::optional<ReceivedHook> arrived = alive.wait_for_job(b_job, 5s);
  ASSERT_TRUE(arrived.has_value())
      << "tenant B's delivery did not arrive within 5 s of its job's end" << stack.logs();
  std::cout << "tenant B's delivery arrived "
            << std::chrono::duration<double, std::milli>(arrived->arrived - b_finished).count()
            << " ms after its job ended\n";
  // The dead receiver holds at most WEBHOOKS__MAX_PER_RECEIVER (2) deliveries at once; no
  // request to it has timed out yet (10 s), so it has seen no more connections than that.
  EXPECT_LE(dead.accepted(), 2);
}

INSTANTIATE_TEST_SUITE_P(Databases, WebhookFairness, ::testing::ValuesIn(test::all_backends()));

TEST(WebhookReceiverKey, HostAndPort) {
  EXPECT_EQ(webhook_receiver("http://Hooks.Example.com/a"), "hooks.example.com:80");
  EXPECT_EQ(webhook_receiver("https://hooks.example.com/b?x=1"), "hooks.example.com:443");
  EXPECT_EQ(webhook_receiver("http://127.0.0.1:8080/c"), "127.0.0.1:8080");
  EXPECT_EQ(webhook_receiver("http://[::1]:9/"), "::1:9");
}

// --- 15: the SSRF guard and the IANA special-purpose registries -------------------------------

TEST(SsrfGuard, RefusesEverySpecialPurposeForm) {
  const std::vector<std::pair<const char*, const char*>> refused = {
      // From the issue.
      {"::ffff:0:7f00:1", "IPv4-translated loopback"},
      {"::ffff:0:808:808", "IPv4-translated, even of a public address"},
      {"192.88.99.1", "6to4 relay anycast"},
      {"2001::1", "Teredo"},
      {"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo (a real-looking one)"},
      {"100::1", "discard-only"},
      // NAT64 and 6to4 with private IPv4 inside.
      {"64:ff9b::10.0.0.1", "NAT64 of a private address"},
      {"64:ff9b::127.0.0.1", "NAT64 of loopback"},
      {"64:ff9b::169.254.169.254", "NAT64 of the metadata address"},
      {"64:ff9b:1::8.8.8.8", "local-use NAT64"},
      {"2002:a00:1::1", "6to4 of 10.0.0.1"},
      {"2002:c0a8:101::1", "6to4 of 192.168.1.1"},
      {"2002:a9fe:a9fe::", "6to4 of 169.254.169.254"},
      // The rest of the IPv6 registry.
      {"::8.8.8.8", "IPv4-compatible (deprecated)"},
      {"::2", "reserved ::/8"},
      {"100:0:0:1::1", "dummy prefix"},
      {"2001:2::1", "benchmarking"},
      {"2001:10::1", "ORCHID"},
      {"2001:db8::1", "documentation"},
      {"3fff::1", "documentation (RFC 9637)"},
      {"5f00::1", "SRv6 SIDs"},
      {"fc00::1", "unique local"},
      {"fe80::1", "link-local"},
      {"fec0::1", "site-local"},
      {"ff02::1", "multicast"},
      {"4000::1", "unallocated"},
      {"::ffff:192.88.99.1", "IPv4-mapped 6to4 relay anycast"},
      // The IPv4 registry.
      {"0.1.2.3", "this network"},
      {"100.64.0.1", "CGNAT"},
      {"192.0.0.8", "IETF protocol assignments"},
      {"198.18.0.1", "benchmarking"},
      {"255.255.255.255", "broadcast"},
  };
  for (const auto& [address, what] : refused) {
    EXPECT_NE(AddressPolicy::internal_kind(address), "") << address << " (" << what << ")";
  }
  for (const char* address : {"8.8.8.8", "2606:4700::1111", "2a00:1450:4001:80b::200e",
                              "64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8"}) {
    EXPECT_EQ(AddressPolicy::internal_kind(address), "") << address;
  }
  EXPECT_EQ(AddressPolicy::internal_kind("2001::1"),
            "a reserved (Teredo or IETF protocol) address");
  EXPECT_EQ(AddressPolicy::internal_kind("2002:a00:1::1"), "a private address (in a 6to4 address)");
  // An allow-list entry still opens a refused block to operators who need it.
  AddressPolicy allow("64:ff9b::/96");
  EXPECT_NO_THROW(allow.check("http://[64:ff9b::a00:1]/x", "url"));
  EXPECT_THROW(AddressPolicy().check("http://[::ffff:0:a00:1]/x", "url"), Error);
}

}  // namespace
}  // namespace gen::itest

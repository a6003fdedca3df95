// Webhooks in core: the outbound address policy, the signature, and the outbox rows the job
// store writes when a job ends (completed, failed, cancelled; once each), on SQLite and
// PostgreSQL.
#include "gen/core/webhooks/webhooks.hpp"

#include <Poco/Data/Session.h>
#include <gtest/gtest.h>

#include "gen/core/base/clock.hpp"
#include "gen/core/base/errors.hpp"
#include "gen/core/queue/job_store.hpp"
#include "gen/core/storage/database.hpp"
#include "database_fixture.hpp"
#include "storage/session.hpp"
#include "test_database.hpp"
#include "webhooks/job_events.hpp"

namespace gen {
namespace {

using namespace Poco::Data::Keywords;

TEST(AddressPolicy, ClassifiesInternalAddresses) {
  for (const char* a : {"127.0.0.1",
                        "127.255.0.9",
                        "10.0.0.1",
                        "172.16.0.1",
                        "172.31.255.255",
                        "192.168.1.1",
                        "169.254.169.254",
                        "100.64.0.1",
                        "0.0.0.0",
                        "224.0.0.1",
                        "255.255.255.255",
                        "::1",
                        "::",
                        "fe80::1",
                        "fc00::1",
                        "fd12:3456::1",
                        "ff02::1",
                        "::ffff:127.0.0.1",
                        "::ffff:10.0.0.1",
                        "64:ff9b::a00:1",
                        "2002:7f00:1::"}) {
    EXPECT_NE(AddressPolicy::internal_kind(a), "") << a;
  }
  for (const char* a :
       {"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"}) {
    EXPECT_EQ(AddressPolicy::internal_kind(a), "") << a;
  }
  EXPECT_EQ(AddressPolicy::internal_kind("127.0.0.1"), "a loopback address");
  EXPECT_EQ(AddressPolicy::internal_kind("169.254.169.254"), "a link-local address");
}

TEST(AddressPolicy, RefusesInternalTargetsUnlessAllowed) {
  AddressPolicy strict;
  try {
    strict.check("http://127.0.0.1:8080/hook", "url");
    FAIL() << "loopback accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kValidationFailed);
    EXPECT_EQ(e.field(), "url");
    EXPECT_NE(std::string(e.what()).find("loopback"), std::string::npos) << e.what();
  }
  EXPECT_THROW(strict.check("http://[::ffff:7f00:1]/", "url"), Error);
  EXPECT_THROW(strict.check("ftp://8.8.8.8/", "url"), Error);
  EXPECT_THROW(strict.check("http://u:p@8.8.8.8/", "url"), Error);
  EXPECT_THROW(strict.check("not a url", "url"), Error);
  auto public_target = strict.check("https://8.8.8.8/a/b?c=d", "url");
  EXPECT_EQ(public_target.scheme, "https");
  EXPECT_EQ(public_target.port, 443);
  EXPECT_EQ(public_target.path, "/a/b?c=d");
  EXPECT_EQ(public_target.addresses, std::vector<std::string>{"8.8.8.8"});

  AddressPolicy cidr("127.0.0.1/32, 10.0.0.0/8");
  EXPECT_EQ(cidr.check("http://127.0.0.1:9/", "url").addresses.front(), "127.0.0.1");
  EXPECT_NO_THROW(cidr.check("http://10.200.3.4/", "url"));
  EXPECT_THROW(cidr.check("http://127.0.0.2/", "url"), Error);
  EXPECT_THROW(cidr.check("http://192.168.0.1/", "url"), Error);
  AddressPolicy by_name("LocalHost");
  EXPECT_NO_THROW(by_name.check("http://localhost:9/", "url"));

  for (const char* bad : {"10.0.0.0/33", "not a host!", "1.2.3.4/x"}) {
    try {
      AddressPolicy p(bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.field(), "WEBHOOKS__ALLOW_HOSTS");
    }
  }
}

TEST(WebhookSignature, IsStripeStyleHmacSha256) {
  // RFC 4231 test case 2 ("Jefe"), the message being "<t>.<body>".
  EXPECT_EQ(WebhookDeliverer::signature("Jefe", 0, "what do ya want for nothing?").substr(0, 7),
            "t=0,v1=");
  std::string sig = WebhookDeliverer::signature("key", 1700000000, "{}");
  EXPECT_TRUE(sig.starts_with("t=1700000000,v1=")) << sig;
  EXPECT_EQ(sig.size(), std::string("t=1700000000,v1=").size() + 64);
  EXPECT_NE(sig, WebhookDeliverer::signature("key", 1700000001, "{}"));
  EXPECT_NE(sig, WebhookDeliverer::signature("kez", 1700000000, "{}"));
}

class WebhookOutbox : public test::MigratedDatabaseTest {
 protected:
  void SetUp() override {
    MigratedDatabaseTest::SetUp();
    store_ = std::make_unique<JobStore>(*db_);
    webhooks_ = std::make_unique<WebhookStore>(*db_);
  }
  std::string submit(const std::string& tenant, int max_attempts = 1) {
    JobSpec spec;
    spec.tenant = tenant;
    spec.steps.push_back({"a.one", nlohmann::json::object(), max_attempts, 1000});
    return store_->submit(spec);
  }
  // (job id, job status) of every queued delivery, by webhook.
  std::vector<std::pair<std::string, std::string>> outbox(const std::string& webhook_id) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const WebhookDelivery& d : webhooks_->deliveries(webhook_id, 100)) {
      EXPECT_EQ(d.state, "PENDING");
      EXPECT_EQ(d.event, kJobProcessed);
      out.emplace_back(d.job_id, d.job_status);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::unique_ptr<JobStore> store_;
  std::unique_ptr<WebhookStore> webhooks_;
};

TEST_P(WebhookOutbox, EndedJobsQueueOneDeliveryPerWebhookOfTheirTenant) {
  WebhookChange change;
  change.url = "https://hooks.example.com/x";
  auto [acme, secret] = webhooks_->create("acme", change);
  EXPECT_TRUE(secret.starts_with("whsec_"));
  change.enabled = false;
  auto [off, unused] = webhooks_->create("acme", change);
  change.enabled = true;
  auto [other, unused2] = webhooks_->create("other", change);

  std::string done = submit("acme");
  std::string failed = submit("acme");
  std::string cancelled = submit("acme");
  std::string foreign = submit("nobody-listens");
  auto claimed = store_->claim("w", 10, 60000);
  ASSERT_EQ(claimed.size(), 4u);
  for (const ClaimedTask& t : claimed) {
    if (t.job_id == done || t.job_id == foreign) {
      EXPECT_EQ(store_->complete(t, {}), WriteResult::kApplied);
    } else if (t.job_id == failed) {
      EXPECT_EQ(store_->fail(t, ErrorCode::kGeneratorFailed, "boom", false), FailResult::kFailed);
    }
  }
  ASSERT_TRUE(store_->cancel_job(cancelled).has_value());
  // The cancelled job's late completion is refused and queues nothing more.
  for (const ClaimedTask& t : claimed) {
    if (t.job_id == cancelled) {
      EXPECT_EQ(store_->complete(t, {}), WriteResult::kStale);
    }
  }

  std::vector<std::pair<std::string, std::string>> expected = {
      {done, "COMPLETED"}, {failed, "FAILED"}, {cancelled, "CANCELLED"}};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(outbox(acme.id), expected);
  EXPECT_TRUE(outbox(off.id).empty());
  EXPECT_TRUE(outbox(other.id).empty());

  // Queuing again for the same jobs is a no-op.
  db_->write_transaction([&](Poco::Data::Session& s) {
    enqueue_job_events(*db_, s, {done, failed, cancelled});
  });
  EXPECT_EQ(outbox(acme.id).size(), 3u);

  // Another tenant cannot see, change or delete the webhook.
  EXPECT_FALSE(webhooks_->get("other", acme.id).has_value());
  EXPECT_FALSE(webhooks_->update("other", acme.id, change).has_value());
  EXPECT_FALSE(webhooks_->remove("other", acme.id));
  EXPECT_TRUE(webhooks_->remove("acme", acme.id));
  EXPECT_TRUE(webhooks_->deliveries(acme.id, 100).empty());
}

TEST_P(WebhookOutbox, RetryableFailuresQueueNothingUntilTheLastAttempt) {
  WebhookChange change;
  change.url = "https://hooks.example.com/x";
  auto [hook, secret] = webhooks_->create("", change);
  std::string job = submit("", /*max_attempts=*/2);
  auto first = store_->claim("w", 1, 60000);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(store_->fail(first[0], ErrorCode::kGeneratorFailed, "once", false),
            FailResult::kRetrying);
  EXPECT_TRUE(outbox(hook.id).empty());
  {
    Poco::Data::Session s = db_->session();
    s << "UPDATE tasks SET run_after_ms = 0 WHERE state = 'QUEUED'", now;
  }
  auto second = store_->claim("w", 1, 60000);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(store_->fail(second[0], ErrorCode::kGeneratorFailed, "twice", false),
            FailResult::kFailed);
  auto queued = outbox(hook.id);
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0], std::make_pair(job, std::string("FAILED")));
}

// The deliverer's bookkeeping without a receiver: a refused target fails at once, an
// unreachable one is retried after a backoff, and a delivery whose holder stopped is rescued.
TEST_P(WebhookOutbox, DelivererRecordsEveryTryAndRescuesExpiredLeases) {
  WebhookChange change;
  change.url = "http://127.0.0.1:1/closed";  // nothing listens on port 1
  auto [hook, secret] = webhooks_->create("", change);
  std::string job = submit("");
  auto claimed = store_->claim("w", 1, 60000);
  ASSERT_EQ(claimed.size(), 1u);
  ASSERT_EQ(store_->complete(claimed[0], {}), WriteResult::kApplied);

  WebhookOptions strict;
  WebhookDeliverer refusing(*db_, "host:1", strict);
  ASSERT_TRUE(refusing.deliver_one());
  EXPECT_FALSE(refusing.deliver_one());  // nothing else is due
  auto d = webhooks_->deliveries(hook.id, 10);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].state, "FAILED");  // refused: no retry
  EXPECT_NE(d[0].last_error.find("loopback"), std::string::npos) << d[0].last_error;
  ASSERT_EQ(d[0].attempts.size(), 1u);
  EXPECT_EQ(d[0].attempts[0].worker, "host:1");
  EXPECT_FALSE(d[0].attempts[0].http_status.has_value());
  EXPECT_TRUE(d[0].attempts[0].finished_at_ms.has_value());

  // The same event again, now allowed but unreachable: retried after the backoff.
  {
    Poco::Data::Session s = db_->session();
    s << "DELETE FROM webhook_delivery_attempts", now;
    s << "DELETE FROM webhook_deliveries", now;
  }
  db_->write_transaction([&](Poco::Data::Session& s) { enqueue_job_events(*db_, s, {job}); });
  WebhookOptions allowed;
  allowed.allow_hosts = "127.0.0.1";
  allowed.retry_base_ms = 60000;
  allowed.timeout_ms = 2000;
  WebhookDeliverer deliverer(*db_, "host:2", allowed);
  std::int64_t before = now_ms();
  ASSERT_TRUE(deliverer.deliver_one());
  d = webhooks_->deliveries(hook.id, 10);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].state, "PENDING");
  EXPECT_EQ(d[0].attempt, 1);
  EXPECT_GE(d[0].next_attempt_at_ms, before + 45000);  // 60 s x 0.75 at least
  EXPECT_NE(d[0].last_error.find("cannot deliver"), std::string::npos) << d[0].last_error;
  EXPECT_FALSE(deliverer.deliver_one());  // not due yet

  // A holder that stopped: its lease expires, the try is recorded and the delivery retried.
  {
    Poco::Data::Session s = db_->session();
    s << "UPDATE webhook_deliveries SET state = 'RUNNING', attempt = 2, lease_owner = 'gone:9',"
         " lease_expires_at_ms = 1",
        now;
    s << "INSERT INTO webhook_delivery_attempts (delivery_id, attempt, worker, started_at_ms)"
         " SELECT id, 2, 'gone:9', 1 FROM webhook_deliveries",
        now;
  }
  EXPECT_EQ(deliverer.rescue_expired(), 1);
  EXPECT_EQ(deliverer.rescue_expired(), 0);
  d = webhooks_->deliveries(hook.id, 10);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].state, "PENDING");
  ASSERT_EQ(d[0].attempts.size(), 2u);
  EXPECT_NE(d[0].attempts[1].error.find("lease expired: worker gone:9"), std::string::npos)
      << d[0].attempts[1].error;
}

INSTANTIATE_TEST_SUITE_P(Backends, WebhookOutbox, ::testing::ValuesIn(test::all_backends()),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace gen

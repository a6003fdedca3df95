// Unit tests of hello.greet through the SDK's test harness: no host, no backend.
#include <gtest/gtest.h>

#include <gen/sdk/testing.hpp>

#include "hello_greet.hpp"

namespace {

using gen::sdk::Status;
using gen::sdk::testing::FakeContext;

TEST(HelloGreet, GreetsTheDefaultName) {
  hello::GreetGenerator generator;
  FakeContext ctx;
  const Status status = ctx.run(generator);
  ASSERT_TRUE(status.is_ok()) << status.message();
  ASSERT_EQ(ctx.outputs().size(), 1u);
  EXPECT_EQ(ctx.outputs()[0].name, "greeting.txt");
  EXPECT_EQ(ctx.outputs()[0].media_type, "text/plain");
  EXPECT_EQ(ctx.outputs()[0].data, "Hello, world!\n");
  EXPECT_EQ(ctx.params()["punctuation"], "!");  // the harness filled in the defaults
}

TEST(HelloGreet, UsesItsParams) {
  hello::GreetGenerator generator;
  FakeContext ctx({{"name", "Ada"}, {"greeting", "Good morning"}, {"punctuation", "."}});
  ASSERT_TRUE(ctx.run(generator).is_ok());
  EXPECT_EQ(ctx.output("greeting.txt")->data, "Good morning, Ada.\n");
  EXPECT_TRUE(ctx.logged("greeted 1 name(s)"));
}

TEST(HelloGreet, GreetsEveryLineOfTheInputsWithProgress) {
  hello::GreetGenerator generator;
  FakeContext ctx;
  ctx.add_input("a.txt", "text/plain", "Ada\n\n  Grace \r\n")
      .add_input("b.txt", "text/plain", "Linus");
  ASSERT_TRUE(ctx.run(generator).is_ok());
  EXPECT_EQ(ctx.output("greeting.txt")->data, "Hello, Ada!\nHello, Grace!\nHello, Linus!\n");
  const std::vector<double> expected = {1.0 / 3, 2.0 / 3, 1.0};
  ASSERT_EQ(ctx.progress_values().size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_DOUBLE_EQ(ctx.progress_values()[i], expected[i]);
  }
}

TEST(HelloGreet, RefusesBadParamsBeforeRunning) {
  hello::GreetGenerator generator;
  FakeContext unknown({{"nmae", "Ada"}});
  Status status = unknown.run(generator);
  EXPECT_EQ(status.kind(), Status::Kind::kPermanent);
  EXPECT_EQ(status.message(),
            "params.nmae: unknown parameter (known: greeting, name, punctuation)");

  FakeContext not_allowed({{"punctuation", "?"}});
  status = not_allowed.run(generator);
  EXPECT_EQ(status.kind(), Status::Kind::kPermanent);
  EXPECT_EQ(status.message(), "params.punctuation: must be one of: !, .");

  FakeContext wrong_type({{"name", 42}});
  status = wrong_type.run(generator);
  EXPECT_EQ(status.kind(), Status::Kind::kPermanent);
  EXPECT_EQ(status.message(), "params.name: expected string, got number");
  EXPECT_TRUE(wrong_type.outputs().empty());
}

TEST(HelloGreet, EmptyNameIsAPermanentError) {
  hello::GreetGenerator generator;
  FakeContext ctx({{"name", "  "}});
  const Status status = ctx.run(generator);
  EXPECT_EQ(status.kind(), Status::Kind::kPermanent);
  EXPECT_EQ(status.message(), "params.name: must not be empty");
  EXPECT_TRUE(ctx.outputs().empty());
}

TEST(HelloGreet, StopsWhenCancelled) {
  hello::GreetGenerator generator;
  FakeContext ctx;
  ctx.add_input("names.txt", "text/plain", "a\nb\nc\nd\n").cancel_after_polls(3);
  const Status status = ctx.run(generator);
  EXPECT_FALSE(status.is_ok());
  EXPECT_EQ(ctx.cancellation_polls(), 3);
  EXPECT_EQ(ctx.progress_values().size(), 2u);  // two names done before the third poll
  EXPECT_TRUE(ctx.outputs().empty());
}

}  // namespace

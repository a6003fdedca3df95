// meta.generate's openai provider against a protocol-speaking fake OpenAI API on 127.0.0.1
// (tests/support/fake_llm_server.hpp): the request it sends, the answers it accepts and
// refuses, retryable and permanent failures, timeouts, map-reduce over a long document
// (the Apache licence) and the SSRF rule for the endpoint.
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gen/sdk/testing.hpp>
#include <nlohmann/json.hpp>

#include "document.hpp"
#include "fake_llm_server.hpp"
#include "generators.hpp"
#include "meta_test_support.hpp"
#include "openai_provider.hpp"

namespace gen::meta {
namespace {

using gen::testing::FakeLlmServer;
using gen::testing::LlmReply;
using gen::testing::LlmRequest;
using nlohmann::json;
using sdk::Status;
using sdk::testing::FakeContext;
using namespace gen::meta::testing;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kShortText =
    "The lighthouse keeper climbs the tower every evening at dusk. He lights the great lamp "
    "and winds the clockwork that turns the lens. Ships far out at sea see the beam sweep "
    "across the water every ten seconds. In fog he sounds the horn until the morning comes. "
    "The keeper writes the weather and every passing ship in his logbook.\n";

const std::string kSummary =
    "A lighthouse keeper lights the lamp at dusk, keeps the lens turning, sounds the fog horn "
    "and records the weather and passing ships in his logbook.";

struct Outcome {
  Status status = Status::ok();
  json field;  // the field artifact, parsed (null when the run failed)
  std::chrono::milliseconds took{0};
};

class OpenAiProvider : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("WEBHOOKS__ALLOW_HOSTS", "127.0.0.1", 1); }
  void TearDown() override { ::unsetenv("WEBHOOKS__ALLOW_HOSTS"); }

  // Runs meta.generate with provider openai on `segments` against `url` (the fake server's
  // by default), with the settings a tenant would have.
  Outcome run(const std::string& field, const std::string& segments, json params = json::object(),
              std::map<std::string, std::string> settings = {}) {
    std::map<std::string, std::string> all = {{"GENERATION__LLM_URL", server.base_url()},
                                              {"GENERATION__LLM_MODEL", "fake-model-1"},
                                              {"GENERATION__LLM_API_KEY", "sk-test-123"},
                                              {"GENERATION__LLM_TIMEOUT_MS", "5000"}};
    for (auto& [k, v] : settings) all[k] = v;
    params["field"] = field;
    if (!params.contains("provider")) params["provider"] = "openai";
    GenerateGenerator generator;
    FakeContext ctx(params);
    for (const auto& [k, v] : all) {
      if (v != "<unset>") ctx.set_setting(k, v);
    }
    ctx.add_input("doc.json", std::string(kSegmentsMediaType), segments);
    Outcome out;
    const auto start = Clock::now();
    out.status = ctx.run(generator);
    out.took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    if (!out.status.is_ok()) return out;
    const auto* artifact = ctx.output("field-" + field + ".json");
    EXPECT_NE(artifact, nullptr);
    if (artifact == nullptr) return out;
    EXPECT_EQ(artifact->media_type, kFieldMediaType);
    out.field = json::parse(artifact->data);
    const auto* passed = ctx.output("doc.json");
    EXPECT_TRUE(passed != nullptr && passed->data == segments) << "input not passed through";
    return out;
  }

  std::string short_doc() const { return segments_json(kShortText, "The Lighthouse"); }

  FakeLlmServer server;
};

// --- the request ------------------------------------------------------------------------------

TEST_F(OpenAiProvider, SendsAChatCompletionWithTheFieldsStrictSchema) {
  server.push(LlmReply::completion({{"summary", kSummary}}));
  const Outcome r = run("SUMMARY", short_doc());
  ASSERT_TRUE(r.status.is_ok()) << r.status.message();

  const std::vector<LlmRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const LlmRequest& q = requests[0];
  EXPECT_EQ(q.method, "POST");
  EXPECT_EQ(q.uri, "/v1/chat/completions");
  EXPECT_EQ(q.headers.at("authorization"), "Bearer sk-test-123");
  EXPECT_EQ(q.headers.at("content-type"), "application/json");
  EXPECT_EQ(q.headers.at("host"), "127.0.0.1:" + std::to_string(server.port()));
  const json body = q.payload();
  ASSERT_TRUE(body.is_object()) << q.body;
  EXPECT_EQ(body["model"], "fake-model-1");
  EXPECT_EQ(body["temperature"], 0);
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0]["role"], "system");
  EXPECT_NE(body["messages"][0]["content"].get<std::string>().find("at most 1200 characters"),
            std::string::npos);
  EXPECT_EQ(body["messages"][1]["role"], "user");
  const std::string user = body["messages"][1]["content"];
  EXPECT_NE(user.find("Title: The Lighthouse"), std::string::npos) << user;
  EXPECT_NE(user.find("The keeper writes the weather"), std::string::npos) << user;
  const json& format = body["response_format"];
  EXPECT_EQ(format["type"], "json_schema");
  EXPECT_EQ(format["json_schema"]["name"], "metadata_summary");
  EXPECT_EQ(format["json_schema"]["strict"], true);
  EXPECT_EQ(format["json_schema"]["schema"], answer_schema("SUMMARY", FieldOptions{}));
  EXPECT_EQ(format["json_schema"]["schema"]["required"], json::array({"summary"}));
  EXPECT_EQ(format["json_schema"]["schema"]["additionalProperties"], false);

  // The artifact has the native provider's shape.
  EXPECT_EQ(r.field["field"], "SUMMARY");
  EXPECT_EQ(r.field["value"], kSummary);
  EXPECT_EQ(r.field["method"], "openai:fake-model-1");
  EXPECT_EQ(r.field["language"], "en");
}

TEST_F(OpenAiProvider, SendsNoAuthorizationWithoutAKey) {
  server.push(LlmReply::completion({{"title", "The Lighthouse Keeper's Evening"}}));
  const Outcome r = run("TITLE", short_doc(), {}, {{"GENERATION__LLM_API_KEY", "<unset>"}});
  ASSERT_TRUE(r.status.is_ok()) << r.status.message();
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].headers.count("authorization"), 0u);
  EXPECT_EQ(r.field["value"], "The Lighthouse Keeper's Evening");
}

TEST_F(OpenAiProvider, EveryFieldsValidAnswerBecomesItsArtifact) {
  const json questions =
      json::array({{{"question", "When does the keeper light the lamp?"},
                    {"choices", {"At dawn", "At dusk", "At noon", "At midnight"}},
                    {"correct_index", 1}}});
  const std::vector<std::pair<std::string, json>> cases = {
      {"TITLE", {{"title", "The Lighthouse Keeper"}}},
      {"PLUG", {{"plug", "How one keeper keeps ships safe through dusk, fog and night."}}},
      {"BLURB",
       {{"blurb",
         "A keeper lights the lamp every evening. He sounds the horn in fog and logs every "
         "ship."}}},
      {"SUMMARY", {{"summary", kSummary}}},
      {"KEYWORDS",
       {{"keywords", {"lighthouse keeper", "lamp", "clockwork", "fog", "logbook", "Ships"}}}},
      {"QUESTIONS", {{"questions", questions}}},
  };
  for (const auto& [field, answer] : cases) {
    server.push(LlmReply::completion(answer));
    const Outcome r = run(field, short_doc());
    ASSERT_TRUE(r.status.is_ok()) << field << ": " << r.status.message();
    EXPECT_EQ(r.field["method"], "openai:fake-model-1") << field;
    EXPECT_EQ(r.field["value"], answer.begin().value()) << field;
    const json sent = server.requests().back().payload();
    EXPECT_EQ(sent["response_format"]["json_schema"]["schema"],
              answer_schema(field, FieldOptions{}))
        << field;
  }
  EXPECT_EQ(server.requests().size(), cases.size());
}

// --- failures -----------------------------------------------------------------------------------

TEST_F(OpenAiProvider, TooManyRequestsIsRetryableAndNamesRetryAfter) {
  LlmReply limited = LlmReply::error(429, "Rate limit reached for fake-model-1 on tokens per min");
  limited.headers["Retry-After"] = "7";
  server.push(limited);
  const Outcome r = run("SUMMARY", short_doc());
  EXPECT_EQ(r.status.kind(), Status::Kind::kRetryable) << r.status.message();
  EXPECT_NE(r.status.message().find("HTTP 429"), std::string::npos) << r.status.message();
  EXPECT_NE(r.status.message().find("Retry-After: 7"), std::string::npos) << r.status.message();
  EXPECT_NE(r.status.message().find("Rate limit reached"), std::string::npos);

  // The retry (the task's next attempt) succeeds.
  server.push(LlmReply::completion({{"summary", kSummary}}));
  const Outcome again = run("SUMMARY", short_doc());
  EXPECT_TRUE(again.status.is_ok()) << again.status.message();
}

TEST_F(OpenAiProvider, ServerErrorIsRetryable) {
  server.push(LlmReply::error(500, "The server had an error while processing your request."));
  const Outcome r = run("PLUG", short_doc());
  EXPECT_EQ(r.status.kind(), Status::Kind::kRetryable) << r.status.message();
  EXPECT_NE(r.status.message().find("HTTP 500"), std::string::npos) << r.status.message();
  LlmReply bad_gateway;
  bad_gateway.status = 502;
  bad_gateway.body = "<html>bad gateway</html>";
  server.push(bad_gateway);
  EXPECT_EQ(run("PLUG", short_doc()).status.kind(), Status::Kind::kRetryable);
}

TEST_F(OpenAiProvider, ClientErrorIsPermanentWithTheServersMessage) {
  server.push(LlmReply::error(400, "Invalid schema for response_format 'metadata_summary'"));
  const Outcome r = run("SUMMARY", short_doc());
  EXPECT_EQ(r.status.kind(), Status::Kind::kPermanent) << r.status.message();
  EXPECT_NE(r.status.message().find("HTTP 400"), std::string::npos) << r.status.message();
  EXPECT_NE(r.status.message().find("Invalid schema for response_format 'metadata_summary'"),
            std::string::npos)
      << r.status.message();
  server.push(LlmReply::error(401, "Incorrect API key provided"));
  const Outcome unauthorised = run("SUMMARY", short_doc());
  EXPECT_EQ(unauthorised.status.kind(), Status::Kind::kPermanent);
  EXPECT_NE(unauthorised.status.message().find("Incorrect API key"), std::string::npos);
}

TEST_F(OpenAiProvider, GarbageAnswersFailPermanentlyWithTheReason) {
  struct Case {
    std::string field;
    LlmReply reply;
    std::string reason;
  };
  LlmReply html;
  html.body = "<html><body>502 proxy</body></html>";
  const std::string long_summary(1843, 'a');
  const std::vector<Case> cases = {
      {"SUMMARY", LlmReply::completion_text("Sure! Here is the summary: ..."), "not JSON"},
      {"SUMMARY", html, "answer is not JSON"},
      {"SUMMARY", LlmReply::completion({{"summary", 42}}), "expected a string, got number"},
      {"SUMMARY", LlmReply::completion({{"text", kSummary}}), "unexpected property 'text'"},
      {"SUMMARY", LlmReply::completion(json::array({kSummary})), "expected a JSON object"},
      {"SUMMARY", LlmReply::completion({{"summary", long_summary}}),
       "the model's answer for SUMMARY is not valid: value is 1,843 characters, the limit is "
       "1,200"},
      {"SUMMARY", LlmReply::completion({{"summary", "One.\n\nTwo."}}), "more than one paragraph"},
      {"PLUG", LlmReply::completion({{"plug", "The keeper lights the lamp. Ships see it."}}),
       "value has 2 sentences, one is required"},
      {"TITLE", LlmReply::completion({{"title", std::string(121, 'T')}}),
       "value is 121 characters, the limit is 120"},
      {"KEYWORDS", LlmReply::completion({{"keywords", {"lamp", "fog", "logbook"}}}),
       "value has 3 keywords, 5 to 10 are required"},
      {"KEYWORDS",
       LlmReply::completion({{"keywords", {"lamp", "fog", "logbook", "tower", "submarine"}}}),
       "keywords[4] 'submarine' does not occur in the text"},
      {"KEYWORDS",
       LlmReply::completion({{"keywords", {"lamp", "Lamp", "fog", "logbook", "tower"}}}),
       "keywords[1] 'Lamp' is repeated"},
      {"QUESTIONS",
       LlmReply::completion({{"questions",
                              {{{"question", "When?"},
                                {"choices", {"dusk", "dawn", "noon"}},
                                {"correct_index", 3}}}}}),
       "questions[0].correct_index is 3, not an index of its 3 choices"},
      {"QUESTIONS",
       LlmReply::completion(
           {{"questions",
             {{{"question", "When?"}, {"choices", {"dusk", "dawn"}}, {"correct_index", 0}}}}}),
       "questions[0].choices has 2 choices, 3 to 5 are required"},
  };
  for (const Case& c : cases) {
    server.push(c.reply);
    const Outcome r = run(c.field, short_doc());
    EXPECT_EQ(r.status.kind(), Status::Kind::kPermanent) << c.reason << ": " << r.status.message();
    EXPECT_NE(r.status.message().find(c.reason), std::string::npos)
        << "expected '" << c.reason << "' in: " << r.status.message();
  }
  // A cut answer (finish_reason "length") and a refusal are no answer either.
  LlmReply cut = LlmReply::completion_text("{\"summary\": \"A lighthouse");
  json body = json::parse(cut.body);
  body["choices"][0]["finish_reason"] = "length";
  cut.body = body.dump();
  server.push(cut);
  EXPECT_NE(run("SUMMARY", short_doc()).status.message().find("output token limit"),
            std::string::npos);
  LlmReply refused = LlmReply::completion_text("");
  body = json::parse(refused.body);
  body["choices"][0]["message"]["refusal"] = "I cannot help with that.";
  body["choices"][0]["message"]["content"] = nullptr;
  refused.body = body.dump();
  server.push(refused);
  EXPECT_NE(run("SUMMARY", short_doc()).status.message().find("the model refused"),
            std::string::npos);
}

TEST_F(OpenAiProvider, SlowAnswerPastTheTimeoutIsARetryableTimeout) {
  LlmReply slow = LlmReply::completion({{"summary", kSummary}});
  slow.delay = std::chrono::milliseconds(5000);
  server.push(slow);
  const Outcome r = run("SUMMARY", short_doc(), {}, {{"GENERATION__LLM_TIMEOUT_MS", "400"}});
  EXPECT_EQ(r.status.kind(), Status::Kind::kRetryable) << r.status.message();
  EXPECT_NE(r.status.message().find("within 400 ms"), std::string::npos) << r.status.message();
  // About the timeout: not the server's 5 s.
  EXPECT_GE(r.took.count(), 350);
  EXPECT_LT(r.took.count(), 2000);
  std::cout << "timeout 400 ms: the run took " << r.took.count() << " ms\n";
}

TEST_F(OpenAiProvider, AnAnswerOverFourMebibytesIsRefused) {
  LlmReply huge = LlmReply::completion_text(std::string(5 * 1024 * 1024, 'x'));
  server.push(huge);
  const Outcome r = run("SUMMARY", short_doc());
  EXPECT_EQ(r.status.kind(), Status::Kind::kPermanent) << r.status.message();
  EXPECT_NE(r.status.message().find("an answer of more than 4 MiB"), std::string::npos)
      << r.status.message();
}

// The task's own deadline ends a request that GENERATION__LLM_TIMEOUT_MS would still allow.
TEST_F(OpenAiProvider, TheTasksDeadlineCutsARequestShort) {
  LlmReply slow = LlmReply::completion({{"summary", kSummary}});
  slow.delay = std::chrono::milliseconds(5000);
  server.push(slow);
  GenerateGenerator generator;
  FakeContext ctx({{"field", "SUMMARY"}, {"provider", "openai"}});
  ctx.set_setting("GENERATION__LLM_URL", server.base_url())
      .set_setting("GENERATION__LLM_MODEL", "fake-model-1")
      .set_setting("GENERATION__LLM_TIMEOUT_MS", "60000")
      .set_time_limit(std::chrono::milliseconds(300));
  ctx.add_input("doc.json", std::string(kSegmentsMediaType), short_doc());
  const auto start = Clock::now();
  const Status status = ctx.run(generator);
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  EXPECT_FALSE(status.is_ok());
  EXPECT_TRUE(ctx.timed_out()) << status.message();
  EXPECT_LT(took, 1500) << "the request outlived the task's time limit";
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(OpenAiProvider, ConnectionRefusedIsRetryable) {
  std::string url;
  {
    FakeLlmServer gone;
    url = gone.base_url();
  }  // its port is closed now
  const Outcome r = run("SUMMARY", short_doc(), {}, {{"GENERATION__LLM_URL", url}});
  EXPECT_EQ(r.status.kind(), Status::Kind::kRetryable) << r.status.message();
  EXPECT_NE(r.status.message().find("cannot reach the LLM endpoint"), std::string::npos)
      << r.status.message();
}

TEST_F(OpenAiProvider, MissingSettingsArePermanentAndNamed) {
  Outcome r = run("SUMMARY", short_doc(), {}, {{"GENERATION__LLM_URL", "<unset>"}});
  EXPECT_EQ(r.status.kind(), Status::Kind::kPermanent);
  EXPECT_NE(r.status.message().find("GENERATION__LLM_URL is not set"), std::string::npos)
      << r.status.message();
  r = run("SUMMARY", short_doc(), {}, {{"GENERATION__LLM_MODEL", ""}});
  EXPECT_EQ(r.status.kind(), Status::Kind::kPermanent);
  EXPECT_NE(r.status.message().find("GENERATION__LLM_MODEL is not set"), std::string::npos)
      << r.status.message();
  EXPECT_TRUE(server.requests().empty());
}

// --- map-reduce ---------------------------------------------------------------------------------

// Paragraphs of the Apache licence (some 2,800 tokens) under a budget of 1,000 tokens.
TEST_F(OpenAiProvider, LongDocumentIsSummarisedByMapThenReduce) {
  const std::string text = read_file("/usr/share/common-licenses/Apache-2.0");
  const std::string segments = segments_json(text, "Apache License 2.0");
  server.set_responder([](const LlmRequest& q) {
    const json body = q.payload();
    const std::string system = body["messages"][0]["content"];
    if (system.find("one part of a longer document") != std::string::npos) {
      return LlmReply::completion({{"summary", "This part is about licence terms."}});
    }
    return LlmReply::completion({{"plug", "The Apache licence lets you use and share the work."}});
  });
  const Outcome r = run("PLUG", segments, {{"max_prompt_tokens", 1000}});
  ASSERT_TRUE(r.status.is_ok()) << r.status.message();
  EXPECT_EQ(r.field["value"], "The Apache licence lets you use and share the work.");

  const std::vector<LlmRequest> requests = server.requests();
  ASSERT_GE(requests.size(), 4u);  // at least 3 map calls for ~2,800 tokens, and the reduce
  const std::size_t maps = requests.size() - 1;
  std::string mapped;  // every map call's document text, in order
  for (std::size_t i = 0; i < maps; ++i) {
    const json body = requests[i].payload();
    EXPECT_NE(body["messages"][0]["content"].get<std::string>().find("one part"), std::string::npos)
        << "call " << i;
    EXPECT_EQ(body["response_format"]["json_schema"]["schema"],
              answer_schema("SUMMARY", FieldOptions{}));
    std::string user = body["messages"][1]["content"];
    user = user.substr(user.find("Text:\n") + 6);
    // Within the budget: 1,000 tokens of about 4 characters.
    EXPECT_LE(user.size(), 4u * 1000 + 200) << "call " << i;
    mapped += user + "\n\n";
  }
  // The map calls cover the whole document, in order, each paragraph once.
  json doc = json::parse(segments);
  std::size_t at = 0;
  for (const json& segment : doc["segments"]) {
    const std::string paragraph = segment["text"];
    const std::size_t found = mapped.find(paragraph, at);
    ASSERT_NE(found, std::string::npos) << paragraph.substr(0, 60);
    at = found + paragraph.size();
  }
  // One reduce call over the summaries, with the field's own schema.
  const json reduce = requests.back().payload();
  EXPECT_EQ(reduce["response_format"]["json_schema"]["schema"],
            answer_schema("PLUG", FieldOptions{}));
  const std::string over = reduce["messages"][1]["content"];
  EXPECT_NE(over.find("Part " + std::to_string(maps) + ": This part is about licence terms."),
            std::string::npos)
      << over;
  EXPECT_EQ(over.find("Part " + std::to_string(maps + 1) + ":"), std::string::npos);
  std::cout << "Apache-2.0 under 1,000 tokens: " << maps << " map calls + 1 reduce call\n";

  // The same document in one call when the budget holds it.
  const std::size_t before = server.requests().size();
  EXPECT_TRUE(run("PLUG", segments).status.is_ok());
  EXPECT_EQ(server.requests().size(), before + 1);
}

TEST_F(OpenAiProvider, LongDocumentKeywordsAreCandidatesPerChunkThenAChoice) {
  const std::string text = read_file("/usr/share/common-licenses/Apache-2.0");
  const std::string segments = segments_json(text, "Apache License 2.0");
  // Map: the first six distinct long words of the chunk (they occur in it); reduce: the
  // first seven candidates offered.
  server.set_responder([](const LlmRequest& q) {
    const json body = q.payload();
    const std::string user = body["messages"][1]["content"];
    json keywords = json::array();
    if (user.starts_with("Candidate keywords:\n")) {
      std::size_t at = user.find('\n') + 1;
      while (keywords.size() < 7 && at < user.size()) {
        const std::size_t end = user.find('\n', at);
        keywords.push_back(user.substr(at, end - at));
        at = end + 1;
      }
    } else {
      const std::string part = user.substr(user.find("Text:\n") + 6);
      std::set<std::string> seen;
      static const std::regex word("[A-Za-z]{9,}");
      for (auto it = std::sregex_iterator(part.begin(), part.end(), word);
           it != std::sregex_iterator() && keywords.size() < 6; ++it) {
        if (seen.insert(it->str()).second) keywords.push_back(it->str());
      }
    }
    return LlmReply::completion({{"keywords", keywords}});
  });
  const Outcome r = run("KEYWORDS", segments, {{"max_prompt_tokens", 1000}});
  ASSERT_TRUE(r.status.is_ok()) << r.status.message();
  const std::vector<LlmRequest> requests = server.requests();
  ASSERT_GE(requests.size(), 4u);
  for (std::size_t i = 0; i + 1 < requests.size(); ++i) {
    const std::string user = requests[i].payload()["messages"][1]["content"];
    EXPECT_NE(user.find("Text:\n"), std::string::npos) << "map call " << i;
  }
  const std::string reduce = requests.back().payload()["messages"][1]["content"];
  EXPECT_TRUE(reduce.starts_with("Candidate keywords:\n")) << reduce;
  ASSERT_EQ(r.field["value"].size(), 7u) << r.field.dump();
  for (const json& k : r.field["value"]) {
    EXPECT_NE(text.find(k.get<std::string>()), std::string::npos) << k;
  }
}

TEST_F(OpenAiProvider, LongDocumentQuestionsAreCandidatesPerChunkThenAChoice) {
  const std::string segments =
      segments_json(read_file("/usr/share/common-licenses/Apache-2.0"), "Apache License 2.0");
  int map_calls = 0;
  server.set_responder([&map_calls](const LlmRequest& q) {
    const std::string user = q.payload()["messages"][1]["content"];
    if (user.starts_with("Candidate questions:\n")) {
      // The reduce call: keep the last two candidates offered.
      json candidates = json::parse(user.substr(user.find('\n') + 1));
      json chosen = json::array({candidates[candidates.size() - 2], candidates.back()});
      return LlmReply::completion({{"questions", chosen}});
    }
    const int n = ++map_calls;
    return LlmReply::completion({{"questions",
                                  {{{"question", "Which part is this? (" + std::to_string(n) + ")"},
                                    {"choices", {"part " + std::to_string(n), "none", "all"}},
                                    {"correct_index", 0}}}}});
  });
  const Outcome r =
      run("QUESTIONS", segments, {{"max_prompt_tokens", 1000}, {"question_count", 2}});
  ASSERT_TRUE(r.status.is_ok()) << r.status.message();
  ASSERT_GE(map_calls, 3);
  EXPECT_EQ(server.requests().size(), static_cast<std::size_t>(map_calls) + 1);
  ASSERT_EQ(r.field["value"].size(), 2u);
  // Every chunk's candidate was offered; the choice is the reduce call's.
  EXPECT_EQ(r.field["value"][1]["choices"][0], "part " + std::to_string(map_calls));
  EXPECT_EQ(r.field["value"][1]["correct_index"], 0);
}

// --- SSRF ---------------------------------------------------------------------------------------

TEST_F(OpenAiProvider, LoopbackEndpointIsRefusedBeforeAnyConnectionWithoutTheAllowList) {
  ::unsetenv("WEBHOOKS__ALLOW_HOSTS");
  server.push(LlmReply::completion({{"summary", kSummary}}));
  const Outcome r = run("SUMMARY", short_doc());
  EXPECT_EQ(r.status.kind(), Status::Kind::kPermanent) << r.status.message();
  EXPECT_NE(r.status.message().find("GENERATION__LLM_URL: refused: host '127.0.0.1' resolves to "
                                    "127.0.0.1, a loopback address"),
            std::string::npos)
      << r.status.message();
  EXPECT_NE(r.status.message().find("WEBHOOKS__ALLOW_HOSTS"), std::string::npos);
  EXPECT_TRUE(server.requests().empty()) << "the server saw a request";

  // The cloud metadata address, and a name that resolves to loopback.
  for (const std::string& url : std::vector<std::string>{
           "http://169.254.169.254/v1", "http://localhost:" + std::to_string(server.port()) + "/v1",
           "http://[::ffff:127.0.0.1]:" + std::to_string(server.port())}) {
    const Outcome refused = run("SUMMARY", short_doc(), {}, {{"GENERATION__LLM_URL", url}});
    EXPECT_EQ(refused.status.kind(), Status::Kind::kPermanent) << url;
    EXPECT_NE(refused.status.message().find("refused"), std::string::npos)
        << refused.status.message();
    EXPECT_LT(refused.took.count(), 1000) << url << ": refused before connecting";
  }
  const Outcome metadata =
      run("SUMMARY", short_doc(), {}, {{"GENERATION__LLM_URL", "http://169.254.169.254/v1"}});
  EXPECT_NE(metadata.status.message().find("a link-local address"), std::string::npos)
      << metadata.status.message();
  for (const std::string& url :
       std::vector<std::string>{"ftp://127.0.0.1/v1", "http://user:pw@127.0.0.1/v1"}) {
    EXPECT_EQ(run("SUMMARY", short_doc(), {}, {{"GENERATION__LLM_URL", url}}).status.kind(),
              Status::Kind::kPermanent)
        << url;
  }
  EXPECT_TRUE(server.requests().empty());

  // The worker's allow-list opens it, by address or CIDR block.
  ::setenv("WEBHOOKS__ALLOW_HOSTS", "10.0.0.0/8, 127.0.0.0/8", 1);
  const Outcome allowed = run("SUMMARY", short_doc());
  EXPECT_TRUE(allowed.status.is_ok()) << allowed.status.message();
  EXPECT_EQ(server.requests().size(), 1u);
  // A malformed allow-list is the operator's error, named.
  ::setenv("WEBHOOKS__ALLOW_HOSTS", "not a host!", 1);
  const Outcome malformed = run("SUMMARY", short_doc());
  EXPECT_EQ(malformed.status.kind(), Status::Kind::kPermanent);
  EXPECT_NE(malformed.status.message().find("WEBHOOKS__ALLOW_HOSTS"), std::string::npos);
}

// --- provider selection -------------------------------------------------------------------------

TEST_F(OpenAiProvider, NativeProviderIsUnchangedAndSendsNothing) {
  const Outcome r =
      run("SUMMARY", segments_json(read_file("/usr/share/common-licenses/Apache-2.0")),
          {{"provider", "native"}});
  ASSERT_TRUE(r.status.is_ok()) << r.status.message();
  EXPECT_EQ(r.field["method"], "native:lexrank");
  EXPECT_TRUE(server.requests().empty());
}

}  // namespace
}  // namespace gen::meta

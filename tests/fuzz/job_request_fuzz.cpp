// The bodies of POST /api/v1/jobs and POST /api/v1/jobs/bulk (backend/src/job_request.cpp),
// checked against the real text and pdf plugins' generators (loaded by the real PluginHost
// from this build's plugins folder), so params validation runs on real ParamSpecs.
// Input: a request body. Expected refusals are gen::Error; anything else escaping is a bug
// (the API would answer 500) and fails the run.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "gen/core/base/errors.hpp"
#include "gen/core/base/log.hpp"
#include "gen/core/plugins/plugin_host.hpp"
#include "job_request.hpp"

namespace {

const gen::PluginHost* plugins = nullptr;

// A fixed "now", so an input means the same on every run (run_after, delay_ms).
constexpr std::int64_t kNowMs = 1'900'000'000'000;

template <typename Parse>
void expect_parsed_or_refused(Parse parse) {
  try {
    parse();
  } catch (const gen::Error&) {
    // A refusal naming the field: the expected outcome for most inputs.
  } catch (const nlohmann::json::out_of_range&) {
    // Known (issue 13 item 11): 1e400 or a 100,000-digit integer escapes as out_of_range
    // (HTTP 500) until the JSON limits work maps it to 422. Not counted as a finding.
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  gen::log::set_level("error");
  static gen::PluginHost host(GEN_FUZZ_PLUGIN_DIR);
  host.load_all();
  if (host.info("text.template") == nullptr || host.info("pdf.render") == nullptr) {
    std::fprintf(stderr, "job_request_fuzz: the text and pdf plugins did not load from %s\n",
                 GEN_FUZZ_PLUGIN_DIR);
    std::abort();
  }
  plugins = &host;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = gen::fuzz::as_text(data, size);
  if (!gen::fuzz::json_nesting_within(body, gen::fuzz::kMaxJsonNesting)) return -1;
  expect_parsed_or_refused([&] { (void)gen::backend::parse_job_request(body, *plugins, kNowMs); });
  expect_parsed_or_refused([&] { (void)gen::backend::parse_bulk_request(body, *plugins, kNowMs); });
  return 0;
}

// PDF inputs of pdf.info and pdf.extract_text (plugins/pdf/src/toolkit.cpp and
// text_extraction.cpp): open (strict QPDF), describe, extract each page's text. Input: a PDF.
// Both generators run with the SDK's FakeContext; Generator::run() must not throw (the host
// would turn it into a retryable failure), so an escaping exception fails the run.
#include <cstdint>
#include <string>

#include <gen/sdk/testing.hpp>

#include "fuzz_support.hpp"
#include "toolkit.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string pdf(gen::fuzz::as_text(bytes, size));
  {
    gen::pdf::InfoGenerator info;
    gen::sdk::testing::FakeContext context(nlohmann::json::object());
    context.add_input("in.pdf", "application/pdf", pdf);
    (void)info.run(context);
  }
  {
    gen::pdf::ExtractTextGenerator extract;
    gen::sdk::testing::FakeContext context({{"format", "json"}});
    context.add_input("in.pdf", "application/pdf", pdf);
    (void)extract.run(context);
  }
  return 0;
}

// Whether this build runs under AddressSanitizer (scripts/sanitize.sh builds everything so).
//
// A few tests measure the memory of the real services (peak RSS, memory kept after a job, the
// per-task address-space ceiling). Under ASan those figures are ASan's, not ours: its shadow
// memory and its quarantine of freed blocks (256 MB by default) add hundreds of MB, its
// allocator does not give memory back to the system, and its operator new aborts the process
// on an allocation past the limit instead of throwing std::bad_alloc (so the worker cannot
// turn it into OUT_OF_MEMORY). In the sanitizer build only, tests still run their scenario
// (so ASan checks the code path) but leave out the memory figures, and the two tests of the
// out-of-memory path skip visibly; the normal build (CI) checks everything.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define GEN_TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GEN_TEST_UNDER_ASAN 1
#endif
#endif

namespace gen::test {

#ifdef GEN_TEST_UNDER_ASAN
inline constexpr bool kUnderAddressSanitizer = true;
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif

}  // namespace gen::test

/// Skips the current test in the AddressSanitizer build, saying why (`reason`).
#define GEN_SKIP_UNDER_ASAN(reason)                              \
  do {                                                           \
    if (::gen::test::kUnderAddressSanitizer) {                   \
      GTEST_SKIP() << "not under AddressSanitizer: " << (reason) \
                   << "; the normal build (CI) runs this test";  \
    }                                                            \
  } while (false)

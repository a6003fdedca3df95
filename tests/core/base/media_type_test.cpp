// What a generator's input_media_types accept (the backend refuses the rest; plugin-check warns).
#include "gen/core/base/media_type.hpp"

#include <gtest/gtest.h>

namespace gen {
namespace {

TEST(MediaTypeMatches, ExactWildcardAndParameters) {
  EXPECT_TRUE(media_type_matches("*/*", "image/png"));
  EXPECT_TRUE(media_type_matches("*", "image/png"));
  EXPECT_TRUE(media_type_matches("text/*", "text/markdown"));
  EXPECT_TRUE(media_type_matches("text/plain", "text/plain; charset=utf-8"));
  EXPECT_FALSE(media_type_matches("text/*", "textual/plain"));
  EXPECT_FALSE(media_type_matches("text/plain", "text/markdown"));
  EXPECT_FALSE(media_type_matches("image/*", "text/plain"));
}

}  // namespace
}  // namespace gen

// LogLimiter: one line per interval, and the next line says how many were held back.
#include "util/log_limiter.h"

#include <gtest/gtest.h>

namespace oceanus {
namespace {

TEST(LogLimiterTest, OneLinePerIntervalWithTheCountHeldBack) {
  using namespace std::chrono_literals;
  LogLimiter limiter(1s);
  const auto t0 = LogLimiter::Clock::time_point() + 100s;
  std::uint64_t suppressed = 99;
  ASSERT_TRUE(limiter.Allow(t0, suppressed));
  EXPECT_EQ(suppressed, 0u);
  std::uint64_t untouched = 7;
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.Allow(t0 + 999ms, untouched));
  EXPECT_EQ(untouched, 7u);
  ASSERT_TRUE(limiter.Allow(t0 + 1s, suppressed));
  EXPECT_EQ(suppressed, 1000u);
  EXPECT_FALSE(limiter.Allow(t0 + 1500ms, suppressed));
  // A quiet spell: the next failure is logged at once, naming the one held back before it.
  ASSERT_TRUE(limiter.Allow(t0 + 60s, suppressed));
  EXPECT_EQ(suppressed, 1u);
}

}  // namespace
}  // namespace oceanus

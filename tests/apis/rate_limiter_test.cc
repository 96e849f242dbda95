#include "agent/apis/rate_limiter.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/apis/test_support.h"

namespace rampart::apis {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::T0;

RateLimits Reads(const char* text) {
  RateLimits limits;
  limits.reads = *ParseRateLimit(text);
  return limits;
}

TEST(ParseRateLimitTest, CountPerUnit) {
  EXPECT_EQ(*ParseRateLimit("100/second"), (RateLimit{100, seconds(1)}));
  EXPECT_EQ(*ParseRateLimit("100/minute"), (RateLimit{100, seconds(60)}));
  EXPECT_EQ(*ParseRateLimit("5000/hour"), (RateLimit{5000, seconds(3600)}));
  EXPECT_EQ(*ParseRateLimit("100000/day"), (RateLimit{100000, seconds(86400)}));
  EXPECT_EQ(*ParseRateLimit("7/m"), (RateLimit{7, seconds(60)}));
  EXPECT_EQ(FormatRateLimit(*ParseRateLimit("100/m")), "100/minute");
  for (const char* bad :
       {"100", "100/minutes", "/minute", "0/second", "-1/second", "1.5/second", "100 /second", "2000000000/second"}) {
    EXPECT_FALSE(ParseRateLimit(bad).ok()) << bad;
  }
  EXPECT_EQ(ParseRateLimit("100/minutes").status().message(),
            "bad rate \"100/minutes\": unknown unit \"minutes\" (expected COUNT/UNIT, e.g. 100/minute; units "
            "second, minute, hour, day)");
}

TEST(ClassOfTest, GetAndHeadReadEverythingElseWrites) {
  EXPECT_EQ(ClassOf("GET"), RequestClass::kRead);
  EXPECT_EQ(ClassOf("HEAD"), RequestClass::kRead);
  for (const char* m : {"POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) EXPECT_EQ(ClassOf(m), RequestClass::kWrite) << m;
}

TEST(L7RateLimiterTest, Request101IsThrottledAt100PerSecond) {
  L7RateLimiter limiter(Reads("100/second"), 1000);
  for (int i = 1; i <= 100; ++i) {
    const RateDecision d = limiter.Admit(1, RequestClass::kRead, T0() + milliseconds(i));
    ASSERT_TRUE(d.allowed) << "request " << i;
    EXPECT_EQ(d.count, static_cast<uint64_t>(i));
  }
  const RateDecision d101 = limiter.Admit(1, RequestClass::kRead, T0() + milliseconds(101));
  EXPECT_FALSE(d101.allowed);
  EXPECT_TRUE(d101.first_refusal);
  EXPECT_EQ(d101.count, 101u);
  EXPECT_EQ(d101.window_left, milliseconds(899));
  const RateDecision d102 = limiter.Admit(1, RequestClass::kRead, T0() + milliseconds(102));
  EXPECT_FALSE(d102.allowed);
  EXPECT_FALSE(d102.first_refusal) << "one first refusal per window";
  EXPECT_TRUE(limiter.Admit(1, RequestClass::kRead, T0() + milliseconds(1000)).allowed) << "a new window";
}

// A client sending 150 reads a second, evenly spread, for a simulated
// minute against 100/second: the pass count is within 5% of 6000 (with fixed
// windows it is exactly 6000), and the same against 3000/minute.
TEST(L7RateLimiterTest, OverASimulatedMinuteThePassCountIsWithinFivePercent) {
  struct Case {
    const char* limit;
    int per_second;
    double expected;
  };
  for (const Case c : {Case{"100/second", 150, 6000}, Case{"3000/minute", 150, 3000}, Case{"50/second", 49, 2940}}) {
    L7RateLimiter limiter(Reads(c.limit), 1000);
    int passed = 0;
    const int total = c.per_second * 60;
    for (int i = 0; i < total; ++i) {
      const auto at = T0() + std::chrono::microseconds(int64_t{60'000'000} * i / total);
      if (limiter.Admit(7, RequestClass::kRead, at).allowed) ++passed;
    }
    EXPECT_LE(std::abs(passed - c.expected), 0.05 * c.expected) << c.limit << ": " << passed << " passed";
    EXPECT_EQ(passed, static_cast<int>(c.expected)) << c.limit << ": exact counting";
  }
}

TEST(L7RateLimiterTest, ReadsAndWritesAndIdentitiesCountSeparately) {
  RateLimits limits;
  limits.reads = *ParseRateLimit("3/minute");
  limits.writes = *ParseRateLimit("1/minute");
  L7RateLimiter limiter(limits, 1000);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Admit(1, RequestClass::kRead, T0()).allowed);
  EXPECT_TRUE(limiter.Admit(1, RequestClass::kWrite, T0()).allowed);
  EXPECT_FALSE(limiter.Admit(1, RequestClass::kWrite, T0()).allowed);
  EXPECT_FALSE(limiter.Admit(1, RequestClass::kRead, T0()).allowed);
  EXPECT_TRUE(limiter.Admit(2, RequestClass::kRead, T0()).allowed) << "another identity";
  EXPECT_TRUE(limiter.Admit(1, RequestClass::kRead, T0() + seconds(60)).allowed) << "the next minute";
}

TEST(L7RateLimiterTest, NoLimitForAClassMeansAlwaysAllowed) {
  L7RateLimiter limiter(Reads("1/second"), 10);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(limiter.Admit(1, RequestClass::kWrite, T0()).allowed);
}

TEST(L7RateLimiterTest, AClockSteppedBackDoesNotResetTheCount) {
  L7RateLimiter limiter(Reads("2/minute"), 10);
  EXPECT_TRUE(limiter.Admit(1, RequestClass::kRead, T0() + seconds(90)).allowed);
  EXPECT_TRUE(limiter.Admit(1, RequestClass::kRead, T0() + seconds(90)).allowed);
  EXPECT_FALSE(limiter.Admit(1, RequestClass::kRead, T0() + seconds(30)).allowed);
}

TEST(L7RateLimiterTest, TrackedIdentitiesStayWithinTheCap) {
  L7RateLimiter limiter(Reads("5/minute"), 100);
  for (uint64_t id = 1; id <= 1000; ++id) limiter.Admit(id, RequestClass::kRead, T0());
  EXPECT_EQ(limiter.stats().identities, 100u);
  EXPECT_EQ(limiter.stats().evicted, 900u);
}

}  // namespace
}  // namespace rampart::apis

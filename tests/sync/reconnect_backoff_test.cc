// Reconnecting to the control plane: jittered exponential backoff.
#include "agent/sync/reconnect_backoff.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace rampart::sync {
namespace {

using std::chrono::milliseconds;

TEST(ReconnectBackoff, EachWaitLiesBetweenHalfAndAllOfARangeThatDoublesUpToTheCap) {
  ReconnectBackoff backoff(milliseconds(250), milliseconds(30000), /*seed=*/1);
  long top = 250;
  for (int attempt = 0; attempt < 12; ++attempt) {
    EXPECT_EQ(backoff.current().count(), top) << "attempt " << attempt;
    const long wait = backoff.Next().count();
    EXPECT_GE(wait, top / 2) << "attempt " << attempt;
    EXPECT_LE(wait, top) << "attempt " << attempt;
    top = std::min(top * 2, 30000L);
  }
  EXPECT_EQ(backoff.current(), milliseconds(30000));
}

TEST(ReconnectBackoff, AHealthyStreamStartsTheRangeOver) {
  ReconnectBackoff backoff(milliseconds(500), milliseconds(15000), /*seed=*/2);
  for (int i = 0; i < 5; ++i) backoff.Next();
  ASSERT_EQ(backoff.current(), milliseconds(15000));
  backoff.Reset();
  EXPECT_EQ(backoff.current(), milliseconds(500));
  EXPECT_LE(backoff.Next(), milliseconds(500));
}

// What the jitter is for: agents that lost the control plane at the same
// moment do not come back at the same moment.
TEST(ReconnectBackoff, AgentsThatFailedTogetherSpreadTheirRetries) {
  std::set<long> first_waits;
  std::set<long> fourth_waits;
  for (uint64_t agent = 0; agent < 100; ++agent) {
    ReconnectBackoff backoff(milliseconds(1000), milliseconds(60000), /*seed=*/agent);
    first_waits.insert(backoff.Next().count());
    backoff.Next();
    backoff.Next();
    fourth_waits.insert(backoff.Next().count());
  }
  // 100 draws over 501 and 4,001 possible values: nearly all distinct.
  EXPECT_GE(first_waits.size(), 80u);
  EXPECT_GE(fourth_waits.size(), 95u);
  EXPECT_GE(*first_waits.begin(), 500);
  EXPECT_LE(*first_waits.rbegin(), 1000);
  EXPECT_GE(*fourth_waits.begin(), 4000);
  EXPECT_LE(*fourth_waits.rbegin(), 8000);
}

TEST(ReconnectBackoff, ADrawDoesNotGrowTheRange) {
  ReconnectBackoff backoff(milliseconds(500), milliseconds(15000), /*seed=*/4);
  backoff.Next();
  for (int i = 0; i < 20; ++i) {
    const auto wait = backoff.Draw();
    EXPECT_GE(wait, milliseconds(500));
    EXPECT_LE(wait, milliseconds(1000));
  }
  EXPECT_EQ(backoff.current(), milliseconds(1000));
}

TEST(ReconnectBackoff, ACapBelowTheStartIsTheStart) {
  ReconnectBackoff backoff(milliseconds(400), milliseconds(100), /*seed=*/3);
  for (int i = 0; i < 3; ++i) {
    const auto wait = backoff.Next();
    EXPECT_GE(wait, milliseconds(200));
    EXPECT_LE(wait, milliseconds(400));
  }
}

}  // namespace
}  // namespace rampart::sync

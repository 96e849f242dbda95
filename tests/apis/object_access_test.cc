#include "agent/apis/object_access.h"

#include <gtest/gtest.h>

#include <string>

#include "agent/apis/hashing.h"
#include "tests/apis/test_support.h"

namespace rampart::apis {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::T0;

uint64_t Id(int i) { return Hash64(std::to_string(i), 99); }

TEST(ObjectAccessTrackerTest, AScraperEnumeratingFiveHundredIdsIsFlagged) {
  ObjectAccessTracker tracker({});  // 5m windows, 100 distinct, p = 10
  int first_flag = -1;
  int flagged_requests = 0;
  for (int i = 0; i < 500; ++i) {  // 500 ids in 200 seconds
    const ObjectAccessVerdict v = tracker.Record(1, Id(1000 + i), T0() + milliseconds(400 * i));
    if (v.first_in_window) {
      EXPECT_EQ(first_flag, -1) << "flagged once per window";
      first_flag = i;
    }
    if (v.flagged) ++flagged_requests;
  }
  EXPECT_EQ(first_flag, 100) << "the 101st distinct id passes the threshold of 100 (exact below 128)";
  EXPECT_EQ(flagged_requests, 400);
  EXPECT_EQ(tracker.stats().flagged_windows, 1u);
}

TEST(ObjectAccessTrackerTest, ClientsFetchingTheirOwnRecordOrAFewDozenAreNot) {
  ObjectAccessTracker tracker({});
  for (int minute = 0; minute < 60; ++minute) {
    for (int i = 0; i < 100; ++i) {
      // identity 1: its own id, over and over
      EXPECT_FALSE(tracker.Record(1, Id(7), T0() + seconds(minute * 60) + milliseconds(i)).flagged);
      // identity 2: pages through a few dozen records every minute
      EXPECT_FALSE(tracker.Record(2, Id(i % 40), T0() + seconds(minute * 60) + milliseconds(i)).flagged);
    }
  }
  EXPECT_EQ(tracker.stats().flagged_windows, 0u);
}

TEST(ObjectAccessTrackerTest, TheThresholdFollowsTheIdentitysBaseline) {
  ObjectAccessOptions options;
  options.window = seconds(60);
  options.min_distinct = 50;
  options.baseline_factor = 3;
  ObjectAccessTracker tracker(options);
  // An integration client that legitimately touches 80 ids a minute: above
  // min_distinct in its first window (flagged), then its baseline covers it.
  auto window = [&](int w, int distinct) {
    bool flagged = false;
    for (int i = 0; i < distinct; ++i) {
      flagged = tracker.Record(5, Id(w * 1000 + i), T0() + seconds(60 * w) + milliseconds(i)).flagged || flagged;
    }
    return flagged;
  };
  EXPECT_TRUE(window(0, 80)) << "no baseline yet: min_distinct applies";
  EXPECT_FALSE(window(1, 40));
  EXPECT_FALSE(window(2, 45));
  EXPECT_FALSE(window(3, 60)) << "threshold is now 3 x ~41 = 125";
  EXPECT_TRUE(window(4, 400)) << "ten times its usual";
  const ObjectAccessVerdict v = tracker.Record(5, Id(999999), T0() + seconds(60 * 5));
  EXPECT_FALSE(v.flagged);
  EXPECT_NEAR(v.baseline, 0.3 * 60 + 0.7 * (0.3 * 45 + 0.7 * 40), 3) << "the flagged windows stay out";
}

TEST(ObjectAccessTrackerTest, MemoryIsBounded) {
  ObjectAccessOptions options;
  options.max_tracked = 100;
  options.hll_precision = 12;
  ObjectAccessTracker tracker(options);
  for (uint64_t pair = 0; pair < 1000; ++pair) {
    for (int i = 0; i < 600; ++i) tracker.Record(pair, Id(i), T0());
  }
  const ObjectAccessStats s = tracker.stats();
  EXPECT_EQ(s.tracked, 100u);
  EXPECT_EQ(s.evicted, 900u);
  EXPECT_LE(s.sketch_bytes, 100u * 4096u);
}

}  // namespace
}  // namespace rampart::apis

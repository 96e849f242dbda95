// Pushes are paced fleet-wide: a burst at once, then a steady rate, turns in
// call order.
#include "controlplane/service/push_pacer.h"

#include <gtest/gtest.h>

#include <chrono>

namespace rampart::cp {
namespace {

using namespace std::chrono_literals;
using Clock = PushPacer::Clock;

TEST(PushPacerTest, TheBurstGoesAtOnce) {
  PushPacer pacer(100, 5);
  const Clock::time_point now = Clock::now();

  for (int i = 0; i < 5; ++i) EXPECT_EQ(pacer.Reserve(now), now) << "push " << i;
}

TEST(PushPacerTest, AfterTheBurstOnePushPerInterval) {
  PushPacer pacer(100, 5);  // one every 10 ms
  const Clock::time_point now = Clock::now();
  for (int i = 0; i < 5; ++i) pacer.Reserve(now);

  EXPECT_EQ(pacer.Reserve(now), now + 10ms);
  EXPECT_EQ(pacer.Reserve(now), now + 20ms);
  EXPECT_EQ(pacer.Reserve(now), now + 30ms);
}

TEST(PushPacerTest, QuietTimeRefillsTheBurst) {
  PushPacer pacer(100, 5);
  const Clock::time_point now = Clock::now();
  for (int i = 0; i < 8; ++i) pacer.Reserve(now);

  const Clock::time_point later = now + 1s;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(pacer.Reserve(later), later) << "push " << i;
  EXPECT_EQ(pacer.Reserve(later), later + 10ms);
}

TEST(PushPacerTest, ARateOfZeroDoesNotPace) {
  PushPacer pacer(0, 0);
  const Clock::time_point now = Clock::now();

  for (int i = 0; i < 10'000; ++i) ASSERT_EQ(pacer.Reserve(now), now);
}

TEST(PushPacerTest, AtTheDefaultRateAThousandAgentsHaveAChangeWithin150Milliseconds) {
  PushPacer pacer(kDefaultPushesPerSecond, static_cast<size_t>(kDefaultPushesPerSecond / 10));
  const Clock::time_point now = Clock::now();

  Clock::time_point last;
  for (int i = 0; i < 1000; ++i) last = pacer.Reserve(now);

  EXPECT_LE(last - now, 150ms);
  EXPECT_GT(last - now, 100ms);  // and it is paced: not everything at once
}

TEST(PushPacerTest, WaitSleepsUntilTheTurn) {
  PushPacer pacer(20, 1);  // one every 50 ms
  pacer.Wait();
  const Clock::time_point start = Clock::now();

  pacer.Wait();
  pacer.Wait();

  EXPECT_GE(Clock::now() - start, 90ms);
}

}  // namespace
}  // namespace rampart::cp

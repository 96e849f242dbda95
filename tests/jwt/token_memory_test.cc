#include "agent/jwt/token_memory.h"

#include <gtest/gtest.h>

namespace rampart::jwt {
namespace {

using std::chrono::seconds;

const std::chrono::system_clock::time_point kStart{seconds(1'700'000'000)};

TokenDigest Digest(int n) { return DigestToken("token-" + std::to_string(n)); }

TEST(TokenMemoryTest, HoldsAtMostMaxTokensAndForgetsTheLeastRecentlySeen) {
  TokenMemory memory(3, seconds(600));
  for (int n = 0; n < 3; ++n) memory.Observe(Digest(n), "a", kStart);
  memory.Observe(Digest(0), "a", kStart + seconds(1));  // 0 is now the most recent; 1 the least
  memory.Observe(Digest(3), "a", kStart + seconds(2));
  EXPECT_EQ(memory.size(), 3u);
  EXPECT_EQ(memory.evicted_within_window(), 1u);
  // 0 survived (seen from "a", so "b" is a replay); 1 was forgotten (no replay).
  EXPECT_EQ(memory.Observe(Digest(0), "b", kStart + seconds(3)).other_sources, 1u);
  EXPECT_EQ(memory.Observe(Digest(1), "b", kStart + seconds(3)).other_sources, 0u);
}

TEST(TokenMemoryTest, TokensIdleLongerThanTheWindowAreDropped) {
  TokenMemory memory(100, seconds(60));
  for (int n = 0; n < 10; ++n) memory.Observe(Digest(n), "a", kStart);
  memory.Observe(Digest(5), "a", kStart + seconds(30));
  EXPECT_EQ(memory.size(), 10u);
  memory.Observe(Digest(99), "a", kStart + seconds(61));
  EXPECT_EQ(memory.size(), 2u);  // 5 (seen at +30) and 99
  EXPECT_EQ(memory.evicted_within_window(), 0u);
}

TEST(TokenMemoryTest, RemembersTheVerdictWithTheToken) {
  TokenMemory memory(10, seconds(60));
  EXPECT_FALSE(memory.Observe(Digest(1), "a", kStart).verdict.has_value());
  SignatureVerdict verdict{SignatureVerdict::Outcome::kBadSignature, 1, "RS256 signature does not verify"};
  memory.RememberVerdict(Digest(1), verdict);
  memory.RememberVerdict(Digest(2), verdict);  // not remembered: nothing to attach it to
  auto sighting = memory.Observe(Digest(1), "a", kStart);
  ASSERT_TRUE(sighting.verdict.has_value());
  EXPECT_EQ(sighting.verdict->outcome, SignatureVerdict::Outcome::kBadSignature);
  EXPECT_EQ(sighting.verdict->reason, verdict.reason);
  EXPECT_FALSE(memory.Observe(Digest(2), "a", kStart).verdict.has_value());
}

TEST(TokenMemoryTest, KeepsABoundedNumberOfSourcesPerToken) {
  TokenMemory memory(10, seconds(600));
  for (int n = 0; n < 10; ++n) {
    auto sighting = memory.Observe(Digest(1), "10.0.0." + std::to_string(n), kStart + seconds(n));
    EXPECT_EQ(sighting.other_sources, std::min<size_t>(n, TokenMemory::kMaxSourcesPerToken)) << n;
  }
}

TEST(TokenMemoryTest, SourcesOutsideTheWindowDoNotCount) {
  TokenMemory memory(10, seconds(60));
  memory.Observe(Digest(1), "a", kStart);
  memory.Observe(Digest(1), "b", kStart + seconds(50));
  EXPECT_EQ(memory.Observe(Digest(1), "c", kStart + seconds(100)).other_sources, 1u);  // b only
}

TEST(TokenMemoryTest, ZeroMaxTokensRemembersNothing) {
  TokenMemory memory(0, seconds(60));
  memory.Observe(Digest(1), "a", kStart);
  EXPECT_EQ(memory.Observe(Digest(1), "b", kStart).other_sources, 0u);
  EXPECT_EQ(memory.size(), 0u);
}

TEST(TokenMemoryTest, AClockStepBackwardsKeepsSightingsInTheWindow) {
  TokenMemory memory(10, seconds(60));
  memory.Observe(Digest(1), "a", kStart);
  EXPECT_EQ(memory.Observe(Digest(1), "b", kStart - seconds(30)).other_sources, 1u);
}

}  // namespace
}  // namespace rampart::jwt

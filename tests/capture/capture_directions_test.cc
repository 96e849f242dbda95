// The directions a capture selection probes: what the --capture-directions
// flag accepts, and how policies' lists add up.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/capture/capture_manager.h"

namespace rampart::capture {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(CaptureDirections, TheFlagTakesReadWriteOrBothInEitherOrder) {
  EXPECT_EQ(*ParseCaptureDirections("read"), std::make_pair(true, false));
  EXPECT_EQ(*ParseCaptureDirections("write"), std::make_pair(false, true));
  EXPECT_EQ(*ParseCaptureDirections("read,write"), std::make_pair(true, true));
  EXPECT_EQ(*ParseCaptureDirections("write,read"), std::make_pair(true, true));
}

TEST(CaptureDirections, TheFlagRefusesAnythingElseNamingIt) {
  EXPECT_EQ(ParseCaptureDirections("reads").status().message(),
            "bad direction \"reads\" in \"reads\": expected read, write or read,write");
  EXPECT_THAT(std::string(ParseCaptureDirections("read,").status().message()), HasSubstr("bad direction \"\""));
  EXPECT_FALSE(ParseCaptureDirections("").ok());
  EXPECT_FALSE(ParseCaptureDirections("read write").ok());
}

TEST(CaptureDirections, NamingNoneMeansBothAndNamesAddUp) {
  bool reads = false, writes = false;
  AddCaptureDirections(std::vector<std::string>{"read"}, reads, writes);
  EXPECT_TRUE(reads);
  EXPECT_FALSE(writes);
  AddCaptureDirections(std::vector<std::string>{"write"}, reads, writes);
  EXPECT_TRUE(reads && writes);

  reads = writes = false;
  AddCaptureDirections(std::vector<std::string>{}, reads, writes);
  EXPECT_TRUE(reads && writes);
}

TEST(CaptureDirections, NamesForStatusComeReadFirst) {
  EXPECT_THAT(CaptureDirectionNames(true, true), ElementsAre("read", "write"));
  EXPECT_THAT(CaptureDirectionNames(false, true), ElementsAre("write"));
  EXPECT_THAT(CaptureDirectionNames(false, false), IsEmpty());
}

TEST(CaptureDirections, ASelectionProbesBothByDefault) {
  const CaptureSelection selection;
  EXPECT_TRUE(selection.reads);
  EXPECT_TRUE(selection.writes);
}

}  // namespace
}  // namespace rampart::capture

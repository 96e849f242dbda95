#include "agent/apis/bulk_extraction.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>

namespace rampart::apis {
namespace {

std::string JsonArray(int n) {
  std::string out = "[";
  for (int i = 0; i < n; ++i)
    out += (i ? "," : "") + std::string("{\"id\":") + std::to_string(i) + ",\"tags\":[\"a,b\",\"]\"]}";
  return out + "]";
}

TEST(CountRecordsTest, TopLevelArraysAndEnvelopes) {
  struct Case {
    std::string body;
    std::optional<uint64_t> want;
  };
  const Case cases[] = {
      {"[]", 0},
      {" [1, 2, 3] ", 3},
      {JsonArray(250), 250},
      {"{\"data\": [{\"a\": 1}, {\"a\": 2}]}", 2},
      {"{\"total\": 3, \"next\": {\"cursor\": \"x\"}, \"items\": [1, [2, 3], {\"k\": \"]\"}]}", 3},
      {"{\"meta\": {\"data\": [1, 2, 3, 4]}, \"results\": [\"a\\\"]\", \"b\"]}", 2},
      {"{\"user\": {\"id\": 1}}", std::nullopt},
      {"{\"data\": {\"id\": 1}}", std::nullopt},
      {"\"just a string\"", std::nullopt},
      {"<html></html>", std::nullopt},
      {"", std::nullopt},
      {"[{\"id\":1},{\"id\":2},{\"id\":", 3},  // cut short by the body cap: elements started
      {"\xEF\xBB\xBF[1,2]", 2},
  };
  for (const auto& c : cases) EXPECT_EQ(CountRecords(c.body), c.want) << c.body.substr(0, 60);
}

TEST(BulkExtractionTest, AResponseFarAboveTheIdentitysBaselineIsFlagged) {
  BulkExtractionDetector bulk({});  // warmup 20, factor 10, min 100 records, 1 MiB
  for (int i = 0; i < 30; ++i) {
    EXPECT_FALSE(bulk.Observe(1, 10, 20 + i % 5, 4000).flagged) << "normal page " << i;
  }
  const BulkVerdict dump = bulk.Observe(1, 10, 5000, 900000);
  EXPECT_TRUE(dump.flagged);
  EXPECT_TRUE(dump.by_records);
  EXPECT_FALSE(dump.by_bytes) << "900 KB is under the 1 MiB floor";
  EXPECT_FALSE(dump.endpoint_baseline);
  EXPECT_NEAR(dump.baseline_records, 22, 2);
  EXPECT_EQ(dump.threshold_records, static_cast<uint64_t>(std::ceil(10 * dump.baseline_records)));
  // Not learnt: the same dump again is still flagged.
  EXPECT_TRUE(bulk.Observe(1, 10, 5000, 900000).flagged);
  EXPECT_EQ(bulk.stats().flagged, 2u);
}

TEST(BulkExtractionTest, SizeAloneCanFlag) {
  BulkExtractionDetector bulk({});
  for (int i = 0; i < 25; ++i) bulk.Observe(1, 10, std::nullopt, 200000);  // not JSON: sizes only
  EXPECT_FALSE(bulk.Observe(1, 10, std::nullopt, 1500000).flagged) << "7.5x: under the factor of 10";
  // That one was learnt: the usual size is now 200000 + 0.1 x 1300000, the
  // threshold ten times that.
  const BulkVerdict v = bulk.Observe(1, 10, std::nullopt, 4000000);
  EXPECT_TRUE(v.flagged);
  EXPECT_TRUE(v.by_bytes);
}

TEST(BulkExtractionTest, NothingIsFlaggedBeforeAnyBaselineIsWarm) {
  BulkExtractionDetector bulk({});
  for (int i = 0; i < 19; ++i) bulk.Observe(1, 10, 10, 1000);
  EXPECT_FALSE(bulk.Observe(2, 10, 100000, 50000000).flagged) << "19 samples: still warming up";
}

TEST(BulkExtractionTest, ANewIdentityIsComparedWithTheEndpointsBaseline) {
  BulkExtractionDetector bulk({});
  for (int id = 0; id < 10; ++id) {
    for (int i = 0; i < 5; ++i) bulk.Observe(100 + id, 10, 25, 5000);
  }
  const BulkVerdict v = bulk.Observe(999, 10, 10000, 2000000);
  EXPECT_TRUE(v.flagged);
  EXPECT_TRUE(v.endpoint_baseline);
  EXPECT_FALSE(bulk.Observe(998, 10, 30, 6000).flagged);
}

TEST(BulkExtractionTest, BaselinesStayWithinTheCap) {
  BulkOptions options;
  options.max_tracked = 50;
  BulkExtractionDetector bulk(options);
  for (uint64_t pair = 0; pair < 500; ++pair) bulk.Observe(pair, pair % 7, 10, 100);
  EXPECT_EQ(bulk.stats().tracked, 50u);
  EXPECT_EQ(bulk.stats().evicted, 450u);
}

}  // namespace
}  // namespace rampart::apis

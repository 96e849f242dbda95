#include "agent/apis/hyperloglog.h"

#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <string>

#include "agent/apis/hashing.h"

namespace rampart::apis {
namespace {

// Distinct values as the tracker feeds them: hashes of id text.
uint64_t IdHash(uint64_t run, uint64_t i) { return Hash64("user-" + std::to_string(i), 0x5eed0000 + run); }

double RelativeError(uint64_t estimate, uint64_t truth) {
  return std::abs(static_cast<double>(estimate) - static_cast<double>(truth)) / static_cast<double>(truth);
}

TEST(HyperLogLogTest, CountsExactlyWhileSmall) {
  HyperLogLog hll(10);
  for (uint64_t i = 0; i < 128; ++i) {
    hll.Add(IdHash(0, i));
    hll.Add(IdHash(0, i));  // repeats do not count
    EXPECT_EQ(hll.Estimate(), i + 1);
  }
  EXPECT_TRUE(hll.exact());
  hll.Add(IdHash(0, 128));
  EXPECT_FALSE(hll.exact()) << "past 2^p/8 values it switches to registers";
}

TEST(HyperLogLogTest, RepeatsOfOneValueCountOnce) {
  HyperLogLog hll(10);
  for (int i = 0; i < 10000; ++i) hll.Add(IdHash(0, 7));
  EXPECT_EQ(hll.Estimate(), 1u);
}

// The standard error of HyperLogLog is 1.04 / sqrt(2^p). Each single estimate
// must be within 4 standard errors (a failure rate near 1e-4 per estimate), and
// the root-mean-square error over 30 independent runs within 1.3 standard
// errors of the theory (the RMS of 30 samples scatters about 13%).
struct ErrorCase {
  int precision;
  uint64_t distinct;
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << "p=" << c.precision << " n=" << c.distinct; }

class HyperLogLogErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(HyperLogLogErrorTest, ErrorWithinTheStandardErrorBound) {
  const auto [precision, distinct] = GetParam();
  const double standard_error = 1.04 / std::sqrt(static_cast<double>(1u << precision));
  double squares = 0;
  constexpr int kRuns = 30;
  for (int run = 0; run < kRuns; ++run) {
    HyperLogLog hll(precision);
    for (uint64_t i = 0; i < distinct; ++i) hll.Add(IdHash(run, i));
    const double error = RelativeError(hll.Estimate(), distinct);
    EXPECT_LT(error, 4 * standard_error) << "run " << run << " estimate " << hll.Estimate();
    squares += error * error;
  }
  const double rms = std::sqrt(squares / kRuns);
  EXPECT_LT(rms, 1.3 * standard_error) << "rms error " << rms << " vs standard error " << standard_error;
  RecordProperty("rms_error_percent", std::to_string(100 * rms));
}

INSTANTIATE_TEST_SUITE_P(Precisions, HyperLogLogErrorTest,
                         ::testing::Values(ErrorCase{10, 500}, ErrorCase{10, 5000}, ErrorCase{10, 100000},
                                           ErrorCase{11, 20000}, ErrorCase{12, 2000}, ErrorCase{12, 100000}),
                         [](const auto& info) {
                           return "p" + std::to_string(info.param.precision) + "_n" +
                                  std::to_string(info.param.distinct);
                         });

TEST(HyperLogLogTest, MemoryStaysWithinTwoToThePBytes) {
  for (int p : {10, 11, 12}) {
    HyperLogLog hll(p);
    size_t peak = 0;
    for (uint64_t i = 0; i < 50000; ++i) {
      hll.Add(IdHash(1, i));
      peak = std::max(peak, hll.MemoryBytes());
    }
    EXPECT_LE(peak, size_t{1} << p) << "precision " << p;
  }
}

TEST(HyperLogLogTest, ClearForgetsAndReleases) {
  HyperLogLog hll(12);
  for (uint64_t i = 0; i < 5000; ++i) hll.Add(IdHash(2, i));
  ASSERT_GT(hll.Estimate(), 4000u);
  hll.Clear();
  EXPECT_EQ(hll.Estimate(), 0u);
  EXPECT_EQ(hll.MemoryBytes(), 0u);
  hll.Add(IdHash(2, 1));
  EXPECT_EQ(hll.Estimate(), 1u);
}

TEST(HyperLogLogTest, PrecisionIsClamped) {
  EXPECT_EQ(HyperLogLog(2).precision(), HyperLogLog::kMinPrecision);
  EXPECT_EQ(HyperLogLog(30).precision(), HyperLogLog::kMaxPrecision);
}

}  // namespace
}  // namespace rampart::apis

#include "agent/dlp/detectors.h"

#include <gtest/gtest.h>

namespace rampart::dlp {
namespace {

using findings::Severity;

TEST(SeverityForTest, FullConfidenceReachesTheCeilingAndEachBandStepsDown) {
  EXPECT_EQ(SeverityFor(Severity::kHigh, 0.85), Severity::kHigh);
  EXPECT_EQ(SeverityFor(Severity::kHigh, 0.8), Severity::kHigh);
  EXPECT_EQ(SeverityFor(Severity::kHigh, 0.65), Severity::kMedium);
  EXPECT_EQ(SeverityFor(Severity::kHigh, 0.5), Severity::kLow);
  EXPECT_EQ(SeverityFor(Severity::kHigh, 0.2), Severity::kInfo);
  EXPECT_EQ(SeverityFor(Severity::kCritical, 0.95), Severity::kCritical);
}

TEST(SeverityForTest, NeverGoesBelowInfo) {
  EXPECT_EQ(SeverityFor(Severity::kLow, 0.5), Severity::kInfo);
  EXPECT_EQ(SeverityFor(Severity::kInfo, 1.0), Severity::kInfo);
}

TEST(DetectorNamedTest, AcceptsPolicyAndFindingNames) {
  EXPECT_EQ(DetectorNamed("credit_card"), Detector::kCardNumber);
  EXPECT_EQ(DetectorNamed("dlp.credit_card"), Detector::kCardNumber);
  EXPECT_EQ(DetectorNamed("us_ssn"), Detector::kUsSsn);
  EXPECT_EQ(DetectorNamed("aws_access_key"), Detector::kAwsAccessKeyId);
  EXPECT_EQ(DetectorNamed("private_key"), Detector::kPrivateKey);
  EXPECT_FALSE(DetectorNamed("creditcard").has_value());
}

TEST(DetectorInfoTest, ComplianceTagsFollowTheDataType) {
  EXPECT_EQ(InfoOf(Detector::kCardNumber).compliance, findings::kPciDss);
  EXPECT_EQ(InfoOf(Detector::kUsSsn).compliance, findings::kHipaa);
  EXPECT_EQ(InfoOf(Detector::kIban).compliance, findings::kGdpr);
  EXPECT_EQ(InfoOf(Detector::kEmail).compliance, findings::kGdpr);
  EXPECT_EQ(InfoOf(Detector::kPhoneNumber).compliance, findings::kGdpr);
  EXPECT_EQ(InfoOf(Detector::kAwsSecretKey).compliance, 0u);
  EXPECT_EQ(InfoOf(Detector::kBulkCardNumbers).compliance, findings::kPciDss);
}

}  // namespace
}  // namespace rampart::dlp

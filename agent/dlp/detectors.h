// The DLP detectors: what each one is called in findings and in policy, the
// highest severity it can reach, and the compliance regimes its data falls
// under. docs/dlp.md explains each choice.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "agent/findings/finding.h"

namespace rampart::dlp {

enum class Detector : uint8_t {
  kCardNumber,
  kUsSsn,
  kIban,
  kEmail,
  kPhoneNumber,
  kAwsAccessKeyId,
  kAwsSecretKey,
  kGcpServiceAccountKey,
  kGcpApiKey,
  kGithubToken,
  kSlackToken,
  kSlackWebhook,
  kStripeKey,
  kJwt,
  kPrivateKey,
  kGenericSecret,
  kBulkCardNumbers,
};
inline constexpr size_t kDetectorCount = static_cast<size_t>(Detector::kBulkCardNumbers) + 1;

struct DetectorInfo {
  std::string_view finding_name;  // Finding::detector, "dlp.credit_card"
  std::string_view policy_name;   // spec.inspection.dlp.detectors entry, "credit_card"
  // The severity a match reaches at full confidence; lower confidence maps
  // to lower severities (see SeverityFor). Some detectors narrow it per
  // match (Stripe test and publishable keys).
  findings::Severity ceiling;
  uint32_t compliance;  // findings::ComplianceTag bits
};

const DetectorInfo& InfoOf(Detector detector);

// By policy name ("credit_card") or finding name ("dlp.credit_card").
std::optional<Detector> DetectorNamed(std::string_view name);

// Confidence to severity, the same table for every detector:
//   confidence >= 0.8  -> ceiling
//   confidence >= 0.6  -> one step below the ceiling
//   confidence >= 0.4  -> two steps below the ceiling
//   otherwise          -> info
// never below info. With the high ceiling of cards, a number that only passes
// its checksum (0.5) is low; it takes supporting context to reach high.
findings::Severity SeverityFor(findings::Severity ceiling, double confidence);

}  // namespace rampart::dlp

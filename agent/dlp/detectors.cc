#include "agent/dlp/detectors.h"

#include <array>

namespace rampart::dlp {
namespace {

using findings::Severity;

// Credentials carry no compliance tag: a leaked key is a security incident,
// not personal data under these regimes. SSNs are tagged HIPAA (an identifier
// listed in its de-identification rule) and not GDPR: they identify US
// persons, whom GDPR covers only incidentally.
constexpr std::array<DetectorInfo, kDetectorCount> kInfos = {{
    {"dlp.credit_card", "credit_card", Severity::kHigh, findings::kPciDss},
    {"dlp.us_ssn", "us_ssn", Severity::kHigh, findings::kHipaa},
    {"dlp.iban", "iban", Severity::kMedium, findings::kGdpr},
    {"dlp.email", "email", Severity::kLow, findings::kGdpr},
    {"dlp.phone", "phone", Severity::kLow, findings::kGdpr},
    {"dlp.aws_access_key", "aws_access_key", Severity::kHigh, 0},
    {"dlp.aws_secret_key", "aws_secret_key", Severity::kCritical, 0},
    {"dlp.gcp_service_account_key", "gcp_service_account_key", Severity::kCritical, 0},
    {"dlp.gcp_api_key", "gcp_api_key", Severity::kHigh, 0},
    {"dlp.github_token", "github_token", Severity::kCritical, 0},
    {"dlp.slack_token", "slack_token", Severity::kHigh, 0},
    {"dlp.slack_webhook", "slack_webhook", Severity::kMedium, 0},
    {"dlp.stripe_key", "stripe_key", Severity::kCritical, 0},
    {"dlp.jwt", "jwt", Severity::kMedium, 0},
    {"dlp.private_key", "private_key", Severity::kCritical, 0},
    {"dlp.generic_secret", "generic_secret", Severity::kHigh, 0},
    {"dlp.bulk_card_numbers", "bulk_card_numbers", Severity::kCritical, findings::kPciDss},
}};

}  // namespace

const DetectorInfo& InfoOf(Detector detector) { return kInfos[static_cast<size_t>(detector)]; }

std::optional<Detector> DetectorNamed(std::string_view name) {
  for (size_t i = 0; i < kInfos.size(); ++i) {
    if (kInfos[i].policy_name == name || kInfos[i].finding_name == name) return static_cast<Detector>(i);
  }
  return std::nullopt;
}

Severity SeverityFor(Severity ceiling, double confidence) {
  int steps_down = confidence >= 0.8 ? 0 : confidence >= 0.6 ? 1 : confidence >= 0.4 ? 2 : 99;
  int level = static_cast<int>(ceiling) - steps_down;
  if (level < static_cast<int>(Severity::kInfo)) return Severity::kInfo;
  return static_cast<Severity>(level);
}

}  // namespace rampart::dlp

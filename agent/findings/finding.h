// What a detector reports. A finding never holds captured plaintext: the
// value that triggered it is masked by the detector that found it (MaskValue),
// and `reason` explains in words, not in bytes of the payload.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::findings {

enum class Severity : uint8_t { kInfo = 0, kLow = 1, kMedium = 2, kHigh = 3, kCritical = 4 };

std::string_view SeverityName(Severity severity);  // "info", "low", ...

// Compliance regimes a detector's data type falls under.
enum ComplianceTag : uint32_t {
  kPciDss = 1u << 0,
  kHipaa = 1u << 1,
  kGdpr = 1u << 2,
};
std::vector<std::string> ComplianceTagNames(uint32_t tags);  // {"PCI-DSS", "HIPAA", "GDPR"}

// Where in a message a value was found: "response.body $.customer.card",
// "request.query q", "request.header Authorization".
using Location = std::string;

struct Finding {
  std::string detector;   // dotted: "dlp.card_number", "attack.sqli", "jwt.alg_none"
  Severity severity = Severity::kInfo;
  double confidence = 0;  // 0..1, after context
  std::string masked_value;
  std::string reason;     // why, without plaintext
  Location location;
  uint32_t compliance = 0;  // ComplianceTag bits
  // Where the value sits within the text the detector scanned (the decoded
  // body, or the header value), when the detector knows: lets an offline
  // scan point into the file. length 0: unknown.
  uint64_t offset = 0;
  uint64_t length = 0;
};

// Keeps `keep_prefix` leading and `keep_suffix` trailing characters and
// replaces the rest with '*', keeping the length; values too short to show
// anything safely become all '*'. "4111111111111111", 0, 4 -> "************1111".
std::string MaskValue(std::string_view value, size_t keep_prefix, size_t keep_suffix);

}  // namespace rampart::findings

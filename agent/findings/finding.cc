#include "agent/findings/finding.h"

namespace rampart::findings {

std::string_view SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kInfo: return "info";
    case Severity::kLow: return "low";
    case Severity::kMedium: return "medium";
    case Severity::kHigh: return "high";
    case Severity::kCritical: return "critical";
  }
  return "unknown";
}

std::vector<std::string> ComplianceTagNames(uint32_t tags) {
  std::vector<std::string> names;
  if (tags & kPciDss) names.emplace_back("PCI-DSS");
  if (tags & kHipaa) names.emplace_back("HIPAA");
  if (tags & kGdpr) names.emplace_back("GDPR");
  return names;
}

std::string MaskValue(std::string_view value, size_t keep_prefix, size_t keep_suffix) {
  // Show at most half of the value, so short secrets never leak whole.
  if (keep_prefix + keep_suffix > value.size() / 2) return std::string(value.size(), '*');
  std::string out(value.size(), '*');
  for (size_t i = 0; i < keep_prefix; ++i) out[i] = value[i];
  for (size_t i = value.size() - keep_suffix; i < value.size(); ++i) out[i] = value[i];
  return out;
}

}  // namespace rampart::findings

#include "agent/enroll/node_identity.h"

#include "agent/common/strings.h"

namespace rampart::identity {
namespace {

constexpr std::string_view kSpiffeScheme = "spiffe://";
constexpr std::string_view kAgentPath = "/agent/";

// Empty when `name` is a valid lowercase DNS name, else why not.
std::string DnsNameProblem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name.size() > 253) return "is longer than 253 characters";
  size_t label_start = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i < name.size() && name[i] != '.') {
      const char c = name[i];
      if (c >= 'A' && c <= 'Z') return "has an uppercase letter (names are lowercase)";
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
        return StrCat("has the character '", c, "' (allowed: a-z 0-9 - .)");
      }
      continue;
    }
    const std::string_view label = name.substr(label_start, i - label_start);
    if (label.empty()) return "has an empty label (\"..\" or a leading or trailing '.')";
    if (label.size() > 63) return "has a label longer than 63 characters";
    if (label.front() == '-' || label.back() == '-') return "has a label that starts or ends with '-'";
    label_start = i + 1;
  }
  return "";
}

}  // namespace

absl::Status ValidateDnsName(std::string_view name, std::string_view what) {
  std::string problem = DnsNameProblem(name);
  if (problem.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(StrCat(what, " \"", name, "\" ", problem));
}

absl::Status ValidateNodeName(std::string_view name) { return ValidateDnsName(name, "node name"); }

absl::Status ValidateTrustDomain(std::string_view domain) { return ValidateDnsName(domain, "trust domain"); }

std::string NodeSpiffeId(std::string_view trust_domain, std::string_view node) {
  return StrCat(kSpiffeScheme, trust_domain, kAgentPath, node);
}

absl::StatusOr<SpiffeNode> ParseNodeSpiffeId(std::string_view uri) {
  auto refuse = [&] {
    return absl::InvalidArgumentError(StrCat("\"", uri, "\" is not a node identity (spiffe://DOMAIN/agent/NODE)"));
  };
  if (uri.substr(0, kSpiffeScheme.size()) != kSpiffeScheme) return refuse();
  const std::string_view rest = uri.substr(kSpiffeScheme.size());
  const size_t slash = rest.find(kAgentPath);
  if (slash == std::string_view::npos) return refuse();
  SpiffeNode parsed{std::string(rest.substr(0, slash)), std::string(rest.substr(slash + kAgentPath.size()))};
  if (!ValidateTrustDomain(parsed.trust_domain).ok() || !ValidateNodeName(parsed.node).ok()) return refuse();
  return parsed;
}

}  // namespace rampart::identity

// What a node is called in the fleet: its name, the trust domain, and the
// SPIFFE ID its certificate carries ("spiffe://<trust domain>/agent/<node>").
// The agent checks names before it asks; the control plane checks them again
// and is the only one that decides what goes into a certificate.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rampart::identity {

// A lowercase DNS name: labels of [a-z0-9-] (1-63 characters,
// no leading or trailing '-') joined by '.', at most 253 characters. So a
// hostname or FQDN works as is. InvalidArgument names `what` and says what
// is wrong: `host "Web_1" has the character '_' (allowed: a-z 0-9 - .)`.
absl::Status ValidateDnsName(std::string_view name, std::string_view what);
// A node name is a lowercase DNS name.
absl::Status ValidateNodeName(std::string_view name);
// A trust domain follows the same rule (SPIFFE allows a subset of this too).
absl::Status ValidateTrustDomain(std::string_view domain);

std::string NodeSpiffeId(std::string_view trust_domain, std::string_view node);

struct SpiffeNode {
  std::string trust_domain;
  std::string node;
};
// Parses "spiffe://<domain>/agent/<node>"; InvalidArgument for anything else.
absl::StatusOr<SpiffeNode> ParseNodeSpiffeId(std::string_view uri);

}  // namespace rampart::identity

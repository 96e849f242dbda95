// Reads policy YAML (docs/policy-reference.md) into the policy model and
// validates it. Every error is one line naming the file, the line where known,
// the field path and the offending value, e.g.
//   policies/web.yaml:12: spec.segmentation.ingress.allow[0].from[1]: bad CIDR "10.0.0.300/8": not an IPv4 or IPv6 address
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "rampart/v1/policy.pb.h"

namespace rampart::policy {

// Parses one YAML text that may hold several documents separated by "---".
// `source` names the text in errors and is stored in Policy.source.
absl::StatusOr<std::vector<v1::Policy>> ParsePolicyYaml(std::string_view text, std::string_view source);

// Loads a file, or every *.yaml / *.yml file of a directory (not recursive, in
// name order), and validates the whole set (ValidatePolicySet). All or nothing.
absl::StatusOr<std::vector<v1::Policy>> LoadPolicyPath(const std::string& path);

}  // namespace rampart::policy

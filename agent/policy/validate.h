// Semantic checks of the policy model that need no node: versions, names,
// prefixes, ports, rate limits, duplicates. The control plane runs them before storing a
// version; the agent runs them again on every bundle it receives.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "rampart/v1/policy.pb.h"

namespace rampart::policy {

// Field path ("spec.segmentation.ingress.allow[0].from[1]") -> 1-based line in
// the policy's source file. The YAML loader fills it so errors can cite lines.
using FieldLines = std::map<std::string, int>;

// Checks one policy. The error names policy.source (or "policy NAME" when it is
// empty), the line (when `lines` knows the field or, failing that, its nearest
// enclosing field), the field path and the value. Stops at the first error.
absl::Status ValidatePolicy(const v1::Policy& policy, const FieldLines* lines = nullptr);

// Checks each policy, then that metadata.name is unique across the set. `lines`,
// when given, runs parallel to `policies` (the YAML loader passes it so that
// errors, duplicate names included, cite lines).
absl::Status ValidatePolicySet(const std::vector<v1::Policy>& policies, const std::vector<FieldLines>* lines = nullptr);

// Spelling shared with the YAML loader, so that FieldLines keys and error paths
// agree. A map entry is "metadata.labels.team", or "metadata.labels[\"app.io/x\"]"
// when the key is not made of [A-Za-z0-9_-] alone.
std::string MapEntryPath(std::string_view map_path, std::string_view key);

// `value` in double quotes, with '"' and '\\' backslash-escaped.
std::string Quote(std::string_view value);

// The one-line error "SOURCE:LINE: PATH: message" ("SOURCE: PATH: message" when
// line <= 0, "SOURCE:LINE: message" when path is empty). Control characters in
// the message are escaped, so the error is always a single line.
absl::Status FieldError(std::string_view source, int line, std::string_view path, std::string_view message);

}  // namespace rampart::policy

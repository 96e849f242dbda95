// The `apis` section of a policy (spec.inspection.apis) in the policy model,
// v1::ApiInspection: from YAML for the loader, back to an ApiAnalyticsConfig
// for the validator and the agent, and the merge of several policies'
// sections on one node (docs/policy-reference.md, "API analytics").
//
// One parser decides what is valid: the loader checks the YAML with
// ParseApiAnalyticsConfig (errors with the file's line), and a section that
// arrives as a proto (the control plane's admin API, a bundle on the agent)
// is turned back into YAML and checked by the same function, so the two can
// never disagree.
//
// Compiled into rampart_policy (with config.cc and rate_limiter.cc), since
// the policy loader and validator call it and rampart_apis links
// rampart_policy.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/apis/config.h"
#include "rampart/v1/policy.pb.h"

namespace YAML {
class Node;
}

namespace rampart::apis {

// Checks `node` (the value of the `apis` key, at `path` in `source`) with
// ParseApiAnalyticsConfig, then fills `out` with what it says. Fields left
// out stay 0 or empty; `identity`, when given, is written whole (the options
// in force, defaults included). Host names and header names are lower-cased,
// rates normalized ("50/m" -> "50/minute").
absl::Status ApiInspectionFromYaml(const YAML::Node& node, std::string_view source, std::string_view path,
                                   v1::ApiInspection& out);

// The section as the detector's configuration, checked by
// ParseApiAnalyticsConfig; errors name `source` and the field, without a line.
absl::StatusOr<ApiAnalyticsConfig> ApiConfigFromProto(const v1::ApiInspection& section, std::string_view source,
                                                      std::string_view path = "spec.inspection.apis");

// The sections of a node's policies, given in policy name order, merged:
//   - openapi bindings: concatenated in that order (the first binding that
//     matches a service wins, so the first policy's), duplicates dropped;
//   - identity: header lists are unions of each policy's lists in force (a
//     policy without `identity` brings the default [x-api-key]); jwt and
//     addressFallback from the first policy that has `identity`;
//   - alerts, per kind: block wins over monitor; the TTL is the longest
//     blockTtl among the blocking policies (none: the default);
//   - every other field (rates, thresholds, caps, realertAfter): from the
//     first policy that sets it.
// The result's identity is always set.
v1::ApiInspection MergeApiInspections(const std::vector<const v1::ApiInspection*>& sections);

}  // namespace rampart::apis

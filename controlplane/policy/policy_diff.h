// Policy as code: what a policy set says, in a form that reads well in git and
// in a CI log, and what changes between two sets.
//
// A policy is rendered canonically as one "path: value" line per field that is
// set, for example
//   spec.segmentation.ingress.defaultAction: deny
//   spec.segmentation.ingress.allow[name=http].ports[]: "tcp/8080"
//   spec.nodeSelector.role: "web"
// Fields come in .proto order with their JSON names, map entries sorted by
// key, list elements in list order (elements with a name are keyed by it, so
// inserting a rule does not renumber the others), strings quoted with control
// characters escaped (every line is one line), enums in their policy spelling
// ("deny"). Fields at their default value are not rendered: proto3 cannot tell
// them from absent ones, and neither can the agent. Policy.source (the file a
// policy was read from) is left out: moving a file changes nothing a node
// enforces.
//
// Two policies are the same when their canonical lines are. The control plane
// uses that one definition everywhere: apply stores nothing for an unchanged
// set, and a node is not sent a bundle whose content it already has or refused.
#pragma once

#include <string>
#include <vector>

#include "rampart/v1/admin.pb.h"
#include "rampart/v1/policy.pb.h"

namespace rampart::cp {

std::vector<std::string> CanonicalLines(const v1::Policy& policy);

// SHA-256 (64 hex digits) of the canonical lines of `policies`, in the given
// order. Equal digests: the node enforces the same thing.
std::string ContentDigest(const google::protobuf::RepeatedPtrField<v1::Policy>& policies);

// `policies` in metadata.name order, the order the control plane stores them in.
std::vector<v1::Policy> SortedByName(std::vector<v1::Policy> policies);

// What applying `desired` on top of `from` changes. Policies are matched by
// metadata.name (unique in a valid set: policy::ValidatePolicySet) and listed
// in name order; the result does not depend on the order of either input. A
// changed policy carries the line diff of the two canonical renderings
// ("- path: old", "+ path: new"); an added or removed one carries all its lines.
// Costs a few canonical renderings; the line diff is quadratic only in the
// changed middle of a policy, and falls back to "all old lines removed, all new
// lines added" beyond 4 million line pairs.
v1::PolicyDiff DiffPolicies(const v1::PolicyVersion& from, const std::vector<v1::Policy>& desired);

bool HasChanges(const v1::PolicyDiff& diff);

// "2 changed, 1 added, 0 removed; from version 7"
std::string DiffSummary(const v1::PolicyDiff& diff);

// One block per change ("~ name", "+ name" or "- name", then its lines indented
// by four spaces), then the summary line. Ends with a newline.
std::string RenderDiff(const v1::PolicyDiff& diff);

}  // namespace rampart::cp

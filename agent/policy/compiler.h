// Compiles a policy bundle into the datapath's map entries (bpf/include/rampart/abi.h).
// Pure: no kernel, no I/O; the datapath writer adds the generation offsets.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/policy/types.h"
#include "rampart/abi.h"
#include "rampart/v1/policy.pb.h"

namespace rampart::policy {

// How much one policy generation may hold. Defaults are the ABI's map sizes.
struct DatapathCapacity {
  size_t max_prefixes = RP_MAX_PREFIXES;
  size_t max_rulesets = RP_MAX_RULESETS;
  size_t max_rules_per_prefix = RP_RULESET_MAX_RULES;
  size_t max_rules = RP_MAX_RULES;
};

// A named allow rule; its index is the rule id in rp_port_rule.rule_id.
struct RuleName {
  std::string policy;
  std::string rule;
  bool operator==(const RuleName&) const = default;
};

struct CompiledIngress {
  rp_action default_action = RP_ACTION_ALLOW;
  // Source prefix -> index into `rulesets`. Each ruleset already holds the
  // rules of every covering (shorter) prefix of the same family, so one
  // longest-prefix lookup decides.
  std::vector<std::pair<IpPrefix, uint32_t>> prefixes;
  std::vector<rp_ruleset> rulesets;  // deduplicated
  std::vector<RuleName> rules;       // rule id -> name
};

struct CompiledPolicy {
  uint64_t version = 0;
  std::vector<std::string> interfaces;  // union over policies, sorted, unique
  CompiledIngress ingress;
};

// Merges every policy of the bundle (the node's selection) into one node-wide
// policy: rules are a union; the ingress default is deny when any policy says
// deny. Refuses a bundle that does not fit `capacity`, naming the sizes, before
// anything is written. Expects a validated bundle (ValidatePolicySet).
absl::StatusOr<CompiledPolicy> CompilePolicy(const v1::PolicyBundle& bundle,
                                             const DatapathCapacity& capacity = {});

}  // namespace rampart::policy

// Compiles a policy bundle into the datapath's map entries (bpf/include/rampart/abi.h).
// Pure: no kernel, no I/O (cgroups are resolved through an injected function);
// the datapath writer adds the generation offsets.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
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
  size_t max_prefixes = RP_MAX_PREFIXES;          // per direction
  size_t max_rulesets = RP_MAX_RULESETS;          // both directions together
  size_t max_rules_per_prefix = RP_RULESET_MAX_RULES;
  size_t max_rules = RP_MAX_RULES;                // both directions together
  size_t max_rate_limits = RP_MAX_RATE_LIMITS;
  size_t max_confined = RP_MAX_CONFINED;
  // Distinct shorter-prefix lengths a family may use and still be looked up
  // by per-length hash probes; beyond it the family's shorter prefixes go to
  // the trie. At most RP_LENSET_MAX_LENGTHS.
  size_t max_probed_lengths = RP_LENSET_MAX_LENGTHS;
};

// How the datapath looks up one family's shorter prefixes (those below IPv4
// /32 and IPv6 /128; full-length ones always go to the host map).
struct PrefixLookup {
  // RP_LOOKUP_LENSETS: one hash probe per length, longest first; the first
  // hit is the longest match. RP_LOOKUP_TRIE: the family uses more lengths
  // than DatapathCapacity::max_probed_lengths, so all its shorter prefixes
  // stay in the LPM trie.
  rp_lookup_mode mode = RP_LOOKUP_LENSETS;
  std::vector<uint8_t> lengths;  // distinct mapped lengths in use, longest first (listed in either mode)
  bool operator==(const PrefixLookup&) const = default;
};

// A named allow rule; its index is the rule id in rp_port_rule.rule_id.
struct RuleName {
  std::string policy;
  std::string rule;
  bool operator==(const RuleName&) const = default;
};

struct CompiledDirection {
  rp_action default_action = RP_ACTION_ALLOW;
  // Peer prefix (source on ingress, destination on egress) -> index into
  // `rulesets`. Each ruleset already holds the rules of every covering
  // (shorter) prefix of the same family, so one longest-prefix lookup decides.
  std::vector<std::pair<IpPrefix, uint32_t>> prefixes;
  std::vector<rp_ruleset> rulesets;  // deduplicated; rule ids index `rules`
  std::vector<RuleName> rules;       // rule id -> name
  PrefixLookup lookup[RP_FAMILIES];  // indexed by rp_family

  // The lookup of `prefix`'s family (IPv4 prefixes are RP_FAMILY_IPV4).
  const PrefixLookup& LookupOf(const IpPrefix& prefix) const {
    return lookup[prefix.ipv4 ? RP_FAMILY_IPV4 : RP_FAMILY_IPV6];
  }
};

// One port range of a rate limit; a limit with several ranges has several
// entries sharing one limit_id (and so one set of buckets).
struct CompiledRateLimit {
  std::string policy;
  std::string name;
  rp_rate_limit limit{};  // limit_id indexes CompiledPolicy.rate_limit_names
};

struct CompiledPolicy {
  uint64_t version = 0;
  std::vector<std::string> interfaces;  // union over policies, sorted, unique
  CompiledDirection ingress;
  CompiledDirection egress;
  std::vector<CompiledRateLimit> rate_limits;  // in match order; each takes one of RP_MAX_RATE_LIMITS slots
  std::vector<std::string> rate_limit_names;   // limit id -> "policy/name"
  std::vector<uint64_t> confined_cgroups;      // cgroups named by egress rules, sorted
  // "unit payments.service" -> cgroup id, for every scope that resolved; the
  // agent recompiles when a resolution changes (a restarted service).
  std::map<std::string, uint64_t> resolved_scopes;
  // Operator-visible notes, e.g. a unit with no cgroup on this node (its rules
  // wait until it exists).
  std::vector<std::string> warnings;
};

// "IPv4 3 lengths (hash probes), IPv6 20 lengths (LPM trie)": how the
// datapath looks up the direction's shorter prefixes, for logs and status.
std::string DescribePrefixLookup(const CompiledDirection& direction);

// Resolves an egress rule's scope ("unit", "payments.service") or
// ("cgroup", "/system.slice/x") to a cgroup v2 id; nullopt when it does not
// exist on this node.
using CgroupResolver = std::function<std::optional<uint64_t>(const std::string& kind, const std::string& name)>;

// Merges every policy of the bundle (the node's selection) into one node-wide
// policy: rules are a union; each direction's default is deny when any policy
// says deny; rate limits keep bundle order. Refuses a bundle that does not
// fit `capacity`, naming the sizes, before anything is written. Expects a
// validated bundle (ValidatePolicySet).
absl::StatusOr<CompiledPolicy> CompilePolicy(const v1::PolicyBundle& bundle, const DatapathCapacity& capacity = {},
                                             const CgroupResolver& resolve = {});

}  // namespace rampart::policy

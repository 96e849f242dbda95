#include "agent/policy/compiler.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "absl/status/status.h"
#include "agent/common/strings.h"

namespace rampart::policy {
namespace {

// One port rule as the compiler sees it before packing into rp_port_rule.
using PortEntry = std::tuple<uint8_t, uint16_t, uint16_t, uint32_t>;  // proto, first, last, rule id

absl::Status TooBig(std::string_view what, size_t need, size_t have) {
  return absl::ResourceExhaustedError(rampart::StrCat("policy does not fit the datapath maps: ", need, " ", what,
                                                   ", the maps hold ", have, " per generation"));
}

}  // namespace

absl::StatusOr<CompiledPolicy> CompilePolicy(const v1::PolicyBundle& bundle, const DatapathCapacity& capacity) {
  CompiledPolicy out;
  out.version = bundle.version();

  std::set<std::string> interfaces;
  std::map<IpPrefix, std::set<PortEntry>> own;  // prefix -> entries of rules naming it
  for (const v1::Policy& policy : bundle.policies()) {
    for (const std::string& name : policy.spec().interfaces()) interfaces.insert(name);
    const auto& ingress = policy.spec().segmentation().ingress();
    if (ingress.default_action() == v1::DEFAULT_ACTION_DENY) out.ingress.default_action = RP_ACTION_DENY;
    for (const v1::SegmentationRule& rule : ingress.allow()) {
      const auto rule_id = static_cast<uint32_t>(out.ingress.rules.size());
      out.ingress.rules.push_back({policy.metadata().name(), rule.name()});
      std::vector<PortRange> ports;
      for (const std::string& text : rule.ports()) {
        auto port = PortRange::Parse(text);
        if (!port.ok()) return port.status();
        ports.push_back(*port);
      }
      for (const std::string& text : rule.from()) {
        auto prefix = IpPrefix::Parse(text);
        if (!prefix.ok()) return prefix.status();
        auto& entries = own[*prefix];
        for (const PortRange& port : ports) entries.insert({port.protocol, port.first, port.last, rule_id});
      }
    }
  }
  out.interfaces.assign(interfaces.begin(), interfaces.end());
  if (out.ingress.rules.size() > capacity.max_rules) {
    return TooBig("allow rules", out.ingress.rules.size(), capacity.max_rules);
  }

  // An IPv6 prefix such as ::/0 covers the IPv4-mapped block in the trie; an
  // IPv4 packet must never inherit IPv6 rules, so the block gets an IPv4 entry
  // of its own (empty unless 0.0.0.0/0 is named), which the trie prefers.
  for (const auto& [prefix, entries] : own) {
    if (!prefix.ipv4 && prefix.Contains(Ipv4MappedBlock())) {
      IpPrefix any_v4 = Ipv4MappedBlock();
      any_v4.ipv4 = true;
      own.try_emplace(any_v4);
      break;
    }
  }
  if (own.size() > capacity.max_prefixes) return TooBig("source prefixes", own.size(), capacity.max_prefixes);

  // In (address, length) order an ancestor precedes its descendants, so a stack
  // of open ancestors gives each prefix its nearest same-family ancestor.
  std::vector<std::pair<IpPrefix, std::set<PortEntry>>> stack;
  std::map<std::set<PortEntry>, uint32_t> ruleset_index;
  for (const auto& [prefix, entries] : own) {
    while (!stack.empty() && !stack.back().first.Contains(prefix)) stack.pop_back();
    std::set<PortEntry> full = entries;
    for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
      if (it->first.ipv4 == prefix.ipv4) {
        full.insert(it->second.begin(), it->second.end());
        break;
      }
    }
    if (full.size() > std::min<size_t>(capacity.max_rules_per_prefix, RP_RULESET_MAX_RULES)) {
      return absl::ResourceExhaustedError(rampart::StrCat("policy does not fit the datapath maps: source prefix ",
                                                       prefix.ToString(), " reaches ", full.size(),
                                                       " port rules, a prefix can reach at most ",
                                                       std::min<size_t>(capacity.max_rules_per_prefix,
                                                                        RP_RULESET_MAX_RULES)));
    }
    auto [it, inserted] = ruleset_index.try_emplace(full, static_cast<uint32_t>(ruleset_index.size()));
    // Past the limit keep counting, so the error can say how many the bundle needs.
    if (inserted && ruleset_index.size() <= capacity.max_rulesets) {
      rp_ruleset set{};
      for (const auto& [proto, first, last, rule_id] : full) {
        set.rules[set.count++] = rp_port_rule{.port_first = first, .port_last = last, .proto = proto, .pad = {},
                                              .rule_id = rule_id};
      }
      out.ingress.rulesets.push_back(set);
    }
    out.ingress.prefixes.emplace_back(prefix, it->second);
    stack.emplace_back(prefix, std::move(full));
  }
  if (ruleset_index.size() > capacity.max_rulesets) {
    return TooBig("distinct port-rule sets", ruleset_index.size(), capacity.max_rulesets);
  }
  return out;
}

}  // namespace rampart::policy

#include "agent/policy/compiler.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "absl/status/status.h"
#include "agent/common/strings.h"

namespace rampart::policy {
namespace {

// One port rule before packing into rp_port_rule.
using PortEntry = std::tuple<uint8_t, uint16_t, uint16_t, uint32_t, uint64_t>;  // proto, first, last, rule, cgroup

constexpr uint64_t kPicosPerSecond = 1'000'000'000'000ull;

absl::Status TooBig(std::string_view what, size_t need, size_t have) {
  return absl::ResourceExhaustedError(rampart::StrCat("policy does not fit the datapath maps: ", need, " ", what,
                                                      ", the maps hold ", have, " per generation"));
}

// Folds each prefix's entries with those of its nearest covering prefix of
// the same family and deduplicates the resulting rulesets into `index`.
// Rulesets past `budget` are counted in `distinct` but not built, so the
// caller's error can say how many the bundle needs without building them all.
absl::Status Fold(std::map<IpPrefix, std::set<PortEntry>> own, std::string_view peers, const DatapathCapacity& capacity,
                  size_t budget, size_t& distinct, CompiledDirection& out) {
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
  if (own.size() > capacity.max_prefixes) return TooBig(peers, own.size(), capacity.max_prefixes);
  const size_t per_prefix = std::min<size_t>(capacity.max_rules_per_prefix, RP_RULESET_MAX_RULES);

  // In (address, length) order an ancestor precedes its descendants, so a
  // stack of open ancestors gives each prefix its nearest same-family ancestor.
  std::vector<std::pair<IpPrefix, std::set<PortEntry>>> stack;
  std::map<std::set<PortEntry>, uint32_t> index;
  for (const auto& [prefix, entries] : own) {
    while (!stack.empty() && !stack.back().first.Contains(prefix)) stack.pop_back();
    std::set<PortEntry> full = entries;
    for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
      if (it->first.ipv4 == prefix.ipv4) {
        full.insert(it->second.begin(), it->second.end());
        break;
      }
    }
    if (full.size() > per_prefix) {
      return absl::ResourceExhaustedError(rampart::StrCat("policy does not fit the datapath maps: ",
                                                          peers.substr(0, peers.size() - 2), " ",
                                                          prefix.ToString(), " reaches ", full.size(),
                                                          " port rules, a prefix can reach at most ", per_prefix));
    }
    auto [mine, inserted] = index.try_emplace(full, static_cast<uint32_t>(index.size()));
    if (inserted && index.size() <= budget) {
      rp_ruleset set{};
      for (const auto& [proto, first, last, rule_id, cgroup] : full) {
        set.rules[set.count++] = rp_port_rule{.port_first = first, .port_last = last, .proto = proto, .pad = {},
                                              .rule_id = rule_id, .cgroup_id = cgroup};
      }
      out.rulesets.push_back(set);
    }
    out.prefixes.emplace_back(prefix, mine->second);
    stack.emplace_back(prefix, std::move(full));
  }
  distinct = index.size();
  return absl::OkStatus();
}

// Lists each family's distinct shorter-prefix lengths, longest first, and
// picks its lookup: per-length hash probes while the lengths fit the cap.
// Per family, so an IPv6 allowlist of many lengths leaves IPv4 on the hashes.
// Either lookup finds the same prefix: the longest in the family covering the
// peer; a packet only ever matches prefixes of its own family (Fold keeps
// IPv4 packets from IPv6 prefixes, and IPv6 prefixes never lie inside the
// IPv4-mapped block).
void PlanPrefixLookup(size_t max_lengths, CompiledDirection& out) {
  const size_t cap = std::min<size_t>(max_lengths, RP_LENSET_MAX_LENGTHS);
  std::set<uint8_t, std::greater<>> lengths[RP_FAMILIES];
  for (const auto& [prefix, ruleset] : out.prefixes) {
    if (prefix.mapped_len == 128) continue;  // the host map
    lengths[prefix.ipv4 ? RP_FAMILY_IPV4 : RP_FAMILY_IPV6].insert(prefix.mapped_len);
  }
  for (int family = 0; family < RP_FAMILIES; ++family) {
    out.lookup[family].lengths.assign(lengths[family].begin(), lengths[family].end());
    out.lookup[family].mode = lengths[family].size() <= cap ? RP_LOOKUP_LENSETS : RP_LOOKUP_TRIE;
  }
}

absl::StatusOr<std::vector<PortRange>> ParsePorts(const google::protobuf::RepeatedPtrField<std::string>& texts) {
  std::vector<PortRange> ports;
  for (const std::string& text : texts) {
    auto port = PortRange::Parse(text);
    if (!port.ok()) return port.status();
    ports.push_back(*port);
  }
  return ports;
}

uint64_t Interval(uint64_t per_second) { return per_second ? kPicosPerSecond / per_second : 0; }

}  // namespace

std::string DescribePrefixLookup(const CompiledDirection& direction) {
  std::string out;
  for (int family = 0; family < RP_FAMILIES; ++family) {
    const PrefixLookup& lookup = direction.lookup[family];
    const size_t n = lookup.lengths.size();
    out += family == RP_FAMILY_IPV4 ? "IPv4 " : ", IPv6 ";
    if (n == 0) {
      out += "no shorter prefixes";
    } else {
      out += rampart::StrCat(n, n == 1 ? " length" : " lengths",
                             lookup.mode == RP_LOOKUP_LENSETS ? " (hash probes)" : " (LPM trie)");
    }
  }
  return out;
}

absl::StatusOr<CompiledPolicy> CompilePolicy(const v1::PolicyBundle& bundle, const DatapathCapacity& capacity,
                                             const CgroupResolver& resolve) {
  CompiledPolicy out;
  out.version = bundle.version();

  std::set<std::string> interfaces;
  std::set<uint64_t> confined;
  std::map<IpPrefix, std::set<PortEntry>> own[RP_DIRECTIONS];
  CompiledDirection* dirs[RP_DIRECTIONS] = {&out.ingress, &out.egress};
  for (const v1::Policy& policy : bundle.policies()) {
    for (const std::string& name : policy.spec().interfaces()) interfaces.insert(name);
    const v1::SegmentationDirection* sections[RP_DIRECTIONS] = {&policy.spec().segmentation().ingress(),
                                                                &policy.spec().segmentation().egress()};
    for (int dir = 0; dir < RP_DIRECTIONS; ++dir) {
      const v1::SegmentationDirection& section = *sections[dir];
      CompiledDirection& compiled = *dirs[dir];
      if (section.default_action() == v1::DEFAULT_ACTION_DENY) compiled.default_action = RP_ACTION_DENY;
      for (const v1::SegmentationRule& rule : section.allow()) {
        uint64_t cgroup = 0;
        if (dir == RP_DIR_EGRESS && (!rule.unit().empty() || !rule.cgroup().empty())) {
          const std::string kind = rule.unit().empty() ? "cgroup" : "unit";
          const std::string& name = rule.unit().empty() ? rule.cgroup() : rule.unit();
          std::optional<uint64_t> id = resolve ? resolve(kind, name) : std::nullopt;
          if (!id) {
            out.warnings.push_back(rampart::StrCat("policy ", policy.metadata().name(), " rule ", rule.name(), ": ",
                                                   kind, " ", name,
                                                   " has no cgroup on this node; its rule waits until it exists"));
            continue;
          }
          cgroup = *id;
          confined.insert(cgroup);
          out.resolved_scopes[rampart::StrCat(kind, " ", name)] = cgroup;
        }
        const auto rule_id = static_cast<uint32_t>(compiled.rules.size());
        compiled.rules.push_back({policy.metadata().name(), rule.name()});
        auto ports = ParsePorts(rule.ports());
        if (!ports.ok()) return ports.status();
        const auto& peers = dir == RP_DIR_INGRESS ? rule.from() : rule.to();
        for (const std::string& text : peers) {
          auto prefix = IpPrefix::Parse(text);
          if (!prefix.ok()) return prefix.status();
          auto& entries = own[dir][*prefix];
          for (const PortRange& port : *ports) entries.insert({port.protocol, port.first, port.last, rule_id, cgroup});
        }
      }
    }
    for (const v1::RateLimit& limit : policy.spec().rate_limits()) {
      auto ports = ParsePorts(limit.match().ports());
      if (!ports.ok()) return ports.status();
      // All port ranges of one limit share its buckets: one limit id.
      const auto limit_id = static_cast<uint32_t>(out.rate_limit_names.size());
      out.rate_limit_names.push_back(policy.metadata().name() + "/" + limit.name());
      for (const PortRange& port : *ports) {
        CompiledRateLimit compiled{.policy = policy.metadata().name(), .name = limit.name(), .limit = {}};
        rp_rate_limit& l = compiled.limit;
        l.port_first = port.first;
        l.port_last = port.last;
        l.proto = port.protocol;
        l.key_kind = limit.key() == v1::RATE_LIMIT_KEY_FLOW ? RP_LIMIT_BY_FLOW : RP_LIMIT_BY_SOURCE;
        l.limit_id = limit_id;
        l.packet_interval_ps = Interval(limit.packets_per_second());
        l.packet_tolerance_ps =
            (limit.burst() ? limit.burst() : limit.packets_per_second()) * l.packet_interval_ps;
        l.byte_interval_ps = Interval(limit.bytes_per_second());
        l.byte_tolerance_ps = (limit.burst_bytes() ? limit.burst_bytes() : limit.bytes_per_second()) * l.byte_interval_ps;
        out.rate_limits.push_back(std::move(compiled));
      }
    }
  }
  out.interfaces.assign(interfaces.begin(), interfaces.end());
  out.confined_cgroups.assign(confined.begin(), confined.end());

  const size_t rules = out.ingress.rules.size() + out.egress.rules.size();
  if (rules > capacity.max_rules) return TooBig("allow rules", rules, capacity.max_rules);
  if (out.rate_limits.size() > capacity.max_rate_limits) {
    return TooBig("rate limits (one per port range)", out.rate_limits.size(), capacity.max_rate_limits);
  }
  if (out.confined_cgroups.size() > capacity.max_confined) {
    return TooBig("confined cgroups", out.confined_cgroups.size(), capacity.max_confined);
  }
  size_t rulesets = 0;
  for (int dir = 0; dir < RP_DIRECTIONS; ++dir) {
    size_t distinct = 0;
    const size_t budget = capacity.max_rulesets > rulesets ? capacity.max_rulesets - rulesets : 0;
    if (absl::Status st = Fold(std::move(own[dir]), dir == RP_DIR_INGRESS ? "source prefixes" : "destination prefixes",
                                 capacity, budget, distinct, *dirs[dir]); !st.ok()) return st;
    PlanPrefixLookup(capacity.max_probed_lengths, *dirs[dir]);
    rulesets += distinct;
  }
  if (rulesets > capacity.max_rulesets) return TooBig("distinct port-rule sets", rulesets, capacity.max_rulesets);
  return out;
}

}  // namespace rampart::policy

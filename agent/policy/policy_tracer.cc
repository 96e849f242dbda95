#include "agent/policy/policy_tracer.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "absl/status/status.h"
#include "agent/common/strings.h"

namespace rampart::policy {
namespace {

constexpr uint8_t kIcmpv6 = 58;
constexpr double kPicosPerSecond = 1e12;

bool IsMapped(const Address& a) {
  for (int i = 0; i < 10; ++i) {
    if (a[i] != 0) return false;
  }
  return a[10] == 0xff && a[11] == 0xff;
}

Address Masked(Address a, int len) {
  for (int bit = len; bit < 128; ++bit) a[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  return a;
}

std::string Endpoint(const Address& address, uint16_t port) {
  std::string host = FormatTraceAddress(address);
  if (!IsMapped(address)) host = rampart::StrCat("[", host, "]");
  return rampart::StrCat(host, ":", port);
}

std::string RuleText(const RuleName& rule) { return rampart::StrCat(rule.policy, "/", rule.rule); }

std::string PortsText(uint16_t first, uint16_t last) {
  return first == last ? rampart::StrCat(first) : rampart::StrCat(first, "-", last);
}

// The rate limit in the policy's terms, from its compiled intervals.
std::string RateText(const rp_rate_limit& l) {
  std::string out = rampart::StrCat(l.key_kind == RP_LIMIT_BY_FLOW ? "one bucket per flow" : "one bucket per source");
  if (l.packet_interval_ps) {
    out += rampart::StrCat(", ", std::llround(kPicosPerSecond / static_cast<double>(l.packet_interval_ps)),
                           " packets/s, burst ", l.packet_tolerance_ps / l.packet_interval_ps);
  }
  if (l.byte_interval_ps) {
    out += rampart::StrCat(", ", std::llround(kPicosPerSecond / static_cast<double>(l.byte_interval_ps)),
                           " bytes/s, burst ", l.byte_tolerance_ps / l.byte_interval_ps, " bytes");
  }
  return out;
}

bool BlockMatches(const BlocklistEntry& entry, rp_block_kind kind, const Address& src, const Address& dst,
                  uint8_t proto, uint16_t sport, uint16_t dport) {
  if (entry.kind != kind || entry.source != src) return false;
  if (kind == RP_BLOCK_SOURCE) return true;
  return entry.destination == dst && entry.protocol == proto && entry.source_port == sport &&
         entry.destination_port == dport;
}

}  // namespace

PolicyTracer::PolicyTracer(const CompiledPolicy& policy) : policy_(policy) {
  const CompiledDirection* dirs[RP_DIRECTIONS] = {&policy_.ingress, &policy_.egress};
  for (int dir = 0; dir < RP_DIRECTIONS; ++dir) {
    for (size_t i = 0; i < dirs[dir]->prefixes.size(); ++i) {
      const IpPrefix& prefix = dirs[dir]->prefixes[i].first;
      // As PolicyWriter::Publish writes them: full-length prefixes to the
      // host map, the others to the per-length hash or the trie (both find
      // the family's longest covering prefix, as the loop in Lookup does).
      if (prefix.mapped_len == 128) {
        index_[dir].hosts.emplace(prefix.addr, i);
      } else {
        index_[dir].prefixes.emplace(std::make_pair(prefix.mapped_len, prefix.addr), i);
      }
    }
  }
}

std::optional<std::pair<PeerLookup, size_t>> PolicyTracer::Lookup(rp_direction direction, const Address& peer) const {
  const DirectionIndex& index = index_[direction];
  if (auto host = index.hosts.find(peer); host != index.hosts.end()) return std::make_pair(PeerLookup::kHost, host->second);
  for (int len = 127; len >= 0; --len) {
    auto hit = index.prefixes.find({static_cast<uint8_t>(len), Masked(peer, len)});
    if (hit != index.prefixes.end()) return std::make_pair(PeerLookup::kPrefix, hit->second);
  }
  return std::nullopt;
}

std::string PolicyTracer::ScopeName(uint64_t cgroup_id) const {
  for (const auto& [scope, id] : policy_.resolved_scopes) {
    if (id == cgroup_id) return rampart::StrCat(scope, " (cgroup ", cgroup_id, ")");
  }
  return rampart::StrCat("cgroup ", cgroup_id);
}

PacketTrace PolicyTracer::Trace(const TracedPacket& p, const std::vector<BlocklistEntry>& blocklist) const {
  PacketTrace t;
  const bool ingress = p.direction == RP_DIR_INGRESS;
  const CompiledDirection& dir = ingress ? policy_.ingress : policy_.egress;
  const char* peer_role = ingress ? "source" : "destination";
  const Address& peer = ingress ? p.source : p.destination;
  t.default_action = dir.default_action;

  // 1. The blocklist: the peer, then the flow keyed as seen on ingress.
  for (const BlocklistEntry& entry : blocklist) {
    const bool source_hit = BlockMatches(entry, RP_BLOCK_SOURCE, peer, {}, 0, 0, 0);
    const bool flow_hit =
        ingress ? BlockMatches(entry, RP_BLOCK_FLOW, p.source, p.destination, p.protocol, p.source_port,
                               p.destination_port)
                : BlockMatches(entry, RP_BLOCK_FLOW, p.destination, p.source, p.protocol, p.destination_port,
                               p.source_port);
    if (!source_hit && !flow_hit) continue;
    t.blocked_by = entry;
    t.allowed = false;
    t.reason = RP_REASON_DROP_BLOCKED;
    t.steps.push_back(source_hit
                          ? rampart::StrCat("blocklist: ", peer_role, " ", FormatTraceAddress(peer),
                                            " is blocked: dropped")
                          : rampart::StrCat("blocklist: the flow ", ProtocolName(entry.protocol), " ",
                                            Endpoint(entry.source, entry.source_port), " -> ",
                                            Endpoint(entry.destination, entry.destination_port),
                                            " is blocked: dropped"));
    return t;
  }
  t.steps.push_back(rampart::StrCat("blocklist: no entry for ", peer_role, " ", FormatTraceAddress(peer),
                                    " or this flow (", blocklist.size(), " entries in force)"));

  // 2. Neighbour discovery is never filtered.
  if (p.protocol == kIcmpv6 && p.icmp6_type >= 133 && p.icmp6_type <= 137) {
    t.reason = RP_REASON_PASS_ICMPV6_ND;
    t.steps.push_back(rampart::StrCat("icmpv6 type ", p.icmp6_type, " is neighbour discovery: always passed"));
    return t;
  }

  // 3. The peer's host entry or longest prefix, then its port rules in order.
  auto found = Lookup(p.direction, peer);
  if (!found) {
    t.steps.push_back(rampart::StrCat("allowlist: no host entry and no ", peer_role, " prefix covers ",
                                      FormatTraceAddress(peer)));
  } else {
    t.lookup = found->first;
    const auto& [prefix, ruleset_index] = dir.prefixes[found->second];
    t.prefix = prefix;
    const rp_ruleset& set = dir.rulesets[ruleset_index];
    std::string how;
    if (found->first == PeerLookup::kPrefix) {
      // Which structure serves it (PolicyWriter::Publish): the same prefix
      // either way, found after this many hash probes or by one trie walk.
      const PrefixLookup& lookup = dir.LookupOf(prefix);
      const auto at = std::find(lookup.lengths.begin(), lookup.lengths.end(), prefix.mapped_len);
      how = lookup.mode == RP_LOOKUP_LENSETS
                ? rampart::StrCat("; hash probe ", at - lookup.lengths.begin() + 1, " of ", lookup.lengths.size())
                : std::string("; LPM trie");
    }
    t.steps.push_back(rampart::StrCat("allowlist: ", peer_role, " ", FormatTraceAddress(peer), " matches ",
                                      found->first == PeerLookup::kHost ? "host entry " : "prefix ",
                                      prefix.ToString(),
                                      found->first == PeerLookup::kPrefix ? " (the longest that covers it" : "",
                                      how, found->first == PeerLookup::kPrefix ? ")" : "", ": ", set.count,
                                      set.count == 1 ? " port rule" : " port rules"));
    if (set.count == 0 && prefix.ipv4 && prefix.mapped_len == 96) {
      t.steps.push_back("  (no rule names an IPv4 prefix covering it; IPv4 never inherits the rules of IPv6 "
                        "prefixes such as ::/0)");
    }
    for (uint32_t i = 0; i < set.count && i < RP_RULESET_MAX_RULES; ++i) {
      const rp_port_rule& r = set.rules[i];
      PortRuleCheck check;
      check.rule = r.rule_id < dir.rules.size() ? dir.rules[r.rule_id] : RuleName{"?", rampart::StrCat(r.rule_id)};
      check.ports = PortRange{.protocol = r.proto, .first = r.port_first, .last = r.port_last};
      check.cgroup_id = r.cgroup_id;
      // The order of the datapath's checks (rp_ruleset_match).
      if (r.proto != p.protocol) {
        check.mismatch = rampart::StrCat("the packet is ", ProtocolName(p.protocol));
      } else if (r.cgroup_id && r.cgroup_id != p.cgroup_id) {
        check.mismatch = rampart::StrCat("only for ", ScopeName(r.cgroup_id), "; the packet was sent ",
                                         p.cgroup_id ? rampart::StrCat("by cgroup ", p.cgroup_id)
                                                     : std::string("by no cgroup (give --unit or --cgroup)"));
      } else if (!p.later_fragment && (p.destination_port < r.port_first || p.destination_port > r.port_last)) {
        check.mismatch = rampart::StrCat("port ", p.destination_port, " is outside ", PortsText(r.port_first, r.port_last));
      } else {
        check.matched = true;
      }
      std::string line = rampart::StrCat("  rule ", RuleText(check.rule), " ", check.ports.ToString());
      if (r.cgroup_id) line += rampart::StrCat(" [", ScopeName(r.cgroup_id), "]");
      line += check.matched ? (p.later_fragment ? ": admits it (a later fragment carries no ports)" : ": admits it")
                            : ": " + check.mismatch;
      t.steps.push_back(std::move(line));
      t.checks.push_back(std::move(check));
      if (t.checks.back().matched) {
        t.rule = t.checks.back().rule;
        break;
      }
    }
  }

  // 4. No rule: egress confinement, then the direction's default.
  if (!t.rule) {
    const std::string what = rampart::StrCat(ProtocolName(p.protocol),
                                             p.later_fragment ? " (later fragment)"
                                                              : rampart::StrCat(" port ", p.destination_port));
    if (!ingress && p.cgroup_id != 0 &&
        std::binary_search(policy_.confined_cgroups.begin(), policy_.confined_cgroups.end(), p.cgroup_id)) {
      t.confined = true;
      t.allowed = false;
      t.reason = RP_REASON_DROP_CONFINED;
      t.steps.push_back(rampart::StrCat("egress: ", ScopeName(p.cgroup_id),
                                        " is confined by the rules that name it, and no rule admits ", what,
                                        " to it: dropped"));
      return t;
    }
    const bool deny = dir.default_action == RP_ACTION_DENY;
    t.allowed = !deny;
    t.reason = deny ? RP_REASON_DROP_DEFAULT : RP_REASON_ALLOW_DEFAULT;
    t.steps.push_back(rampart::StrCat("no rule admits ", what, "; ", ingress ? "ingress" : "egress",
                                      " default: ", deny ? "deny: dropped" : "allow: allowed"));
    if (deny) return t;
  } else {
    t.reason = RP_REASON_ALLOW_RULE;
    t.steps.push_back(rampart::StrCat("allowed by rule ", RuleText(*t.rule)));
  }

  // 5. Ingress: the first rate limit of the packet's protocol and port decides.
  if (ingress) {
    for (const CompiledRateLimit& limit : policy_.rate_limits) {
      const rp_rate_limit& l = limit.limit;
      if (l.proto != p.protocol) continue;
      if (!p.later_fragment && (p.destination_port < l.port_first || p.destination_port > l.port_last)) continue;
      t.rate_limit = limit;
      t.steps.push_back(rampart::StrCat("rate limit ", limit.policy, "/", limit.name, " (",
                                        ProtocolName(l.proto), "/", PortsText(l.port_first, l.port_last), ", ",
                                        RateText(l), ") applies: passed while its bucket holds tokens, "
                                        "else dropped (drop_rate_limit)"));
      break;
    }
    if (!t.rate_limit) {
      t.steps.push_back(rampart::StrCat("rate limits: none of the ", policy_.rate_limits.size(), " matches ",
                                        ProtocolName(p.protocol),
                                        p.later_fragment ? std::string() : rampart::StrCat(" port ", p.destination_port)));
    }
  }
  return t;
}

absl::StatusOr<Address> ParseTraceAddress(std::string_view text, bool* ipv4) {
  auto prefix = IpPrefix::Parse(text);
  if (!prefix.ok() || text.find('/') != std::string_view::npos) {
    if (prefix.ok() || !absl::IsInvalidArgument(prefix.status()) ||
        std::string(prefix.status().message()).find("IPv4-mapped") == std::string::npos) {
      return absl::InvalidArgumentError(rampart::StrCat("bad address \"", text, "\": expected an IPv4 or IPv6 address"));
    }
    return absl::InvalidArgumentError(rampart::StrCat(
        "bad address \"", text, "\": an IPv4-mapped IPv6 address (the datapath drops IPv6 packets from these as "
        "malformed); write IPv4 addresses as a.b.c.d"));
  }
  if (ipv4) *ipv4 = prefix->ipv4;
  return prefix->addr;
}

std::string FormatTraceAddress(const Address& address) {
  char buf[INET6_ADDRSTRLEN];
  if (IsMapped(address)) {
    inet_ntop(AF_INET, address.data() + 12, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, address.data(), buf, sizeof(buf));
  }
  return buf;
}

absl::StatusOr<uint8_t> ParseProtocol(std::string_view text) {
  if (text == "tcp") return uint8_t{IPPROTO_TCP};
  if (text == "udp") return uint8_t{IPPROTO_UDP};
  if (text == "icmp") return uint8_t{IPPROTO_ICMP};
  if (text == "icmpv6") return uint8_t{kIcmpv6};
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > 255) {
    return absl::InvalidArgumentError(
        rampart::StrCat("bad protocol \"", text, "\": expected tcp, udp, icmp, icmpv6 or a number 0-255"));
  }
  return static_cast<uint8_t>(value);
}

std::string ProtocolName(uint8_t protocol) {
  switch (protocol) {
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_ICMP: return "icmp";
    case kIcmpv6: return "icmpv6";
  }
  return rampart::StrCat(protocol);
}

}  // namespace rampart::policy

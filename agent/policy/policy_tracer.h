// Explains the datapath's verdict on one IP packet, in userspace, from the
// same compiled policy the datapath maps are written from (CompilePolicy's
// output, as PolicyWriter::Publish lays it out) and the blocklist in force.
// It takes the steps of bpf/lib/verdict.h in the same order: blocklist,
// ICMPv6 neighbour discovery, the peer's host entry or else its longest
// prefix, that prefix's port rules in their scan order, egress confinement,
// the direction's default, then (ingress, admitted packets) the first rate
// limit that matches. `rampartctl policy trace` is built on it, and
// kernel_tests/xdp/policy_trace_test.cc runs random packets through both the
// tracer and the real programs and compares the verdicts.
//
// What it cannot know: whether a rate limit's bucket has tokens left (it
// names the limit that applies; the packet passes while the bucket holds
// tokens), and the packet's parsing (it takes a well-formed IP packet).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/policy/compiler.h"
#include "agent/policy/types.h"
#include "rampart/abi.h"

namespace rampart::policy {

using Address = std::array<uint8_t, 16>;  // IPv4 in its IPv4-mapped form, as the datapath keeps it

// An IP packet as the datapath's parser reports it (struct rp_flow).
struct TracedPacket {
  rp_direction direction = RP_DIR_INGRESS;
  Address source{};
  Address destination{};
  uint8_t protocol = 0;            // IPPROTO_TCP, IPPROTO_UDP, 58 (ICMPv6), ...
  uint16_t source_port = 0;        // 0 for protocols without ports
  uint16_t destination_port = 0;
  bool later_fragment = false;     // a fragment other than the first: it carries no ports
  uint8_t icmp6_type = 0;
  uint64_t cgroup_id = 0;          // egress: the sending socket's cgroup v2 id, 0 when none
};

// An entry of the dynamic blocklist that has not expired (rp_block_key).
// Flows are keyed as seen on ingress: `source` is the remote peer.
struct BlocklistEntry {
  rp_block_kind kind = RP_BLOCK_SOURCE;
  Address source{};                // RP_BLOCK_SOURCE: the only field that counts
  Address destination{};
  uint8_t protocol = 0;
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
};

// One port rule of the peer's ruleset, as the datapath scanned it.
struct PortRuleCheck {
  RuleName rule;
  PortRange ports;
  uint64_t cgroup_id = 0;  // egress: the rule only admits this cgroup's packets; 0: any sender
  bool matched = false;
  std::string mismatch;    // why it did not admit the packet, in words; "" when it did
};

enum class PeerLookup {
  kNone,    // neither a host entry nor a prefix covers the peer
  kHost,    // an exact host entry (IPv4 /32, IPv6 /128): the host maps
  kPrefix,  // the longest covering shorter prefix: per-length hash probes or the LPM tries
};

struct PacketTrace {
  bool allowed = true;
  rp_reason reason = RP_REASON_ALLOW_DEFAULT;  // the reason counter the datapath bumps
  std::optional<BlocklistEntry> blocked_by;
  PeerLookup lookup = PeerLookup::kNone;
  std::optional<IpPrefix> prefix;           // the host entry or prefix the peer matched
  std::vector<PortRuleCheck> checks;        // its port rules in scan order, up to the one that matched
  std::optional<RuleName> rule;             // the rule that admitted the packet (whose counter moves)
  rp_action default_action = RP_ACTION_ALLOW;  // the direction's default
  bool confined = false;                    // egress: the sending cgroup is confined by a rule
  std::optional<CompiledRateLimit> rate_limit;  // ingress: the limit whose bucket decides next
  // The same, in words: one line per step, in the datapath's order.
  std::vector<std::string> steps;
};

class PolicyTracer {
 public:
  // Keeps a reference: `policy` must outlive the tracer.
  explicit PolicyTracer(const CompiledPolicy& policy);

  PacketTrace Trace(const TracedPacket& packet, const std::vector<BlocklistEntry>& blocklist = {}) const;

 private:
  struct DirectionIndex {
    std::map<Address, size_t> hosts;                          // address -> index into prefixes
    std::map<std::pair<uint8_t, Address>, size_t> prefixes;  // (mapped length, address) -> index
  };
  // The index into CompiledDirection::prefixes the datapath's lookup finds.
  std::optional<std::pair<PeerLookup, size_t>> Lookup(rp_direction direction, const Address& peer) const;
  std::string ScopeName(uint64_t cgroup_id) const;  // "unit payments.service (cgroup 1234)"

  const CompiledPolicy& policy_;
  DirectionIndex index_[RP_DIRECTIONS];
};

// Spellings shared by the tracer's callers: "10.0.0.5", "2001:db8::5" (an
// IPv4-mapped IPv6 spelling is refused: the datapath drops IPv6 packets from
// those as malformed); protocols "tcp", "udp", "icmp", "icmpv6" or a number.
absl::StatusOr<Address> ParseTraceAddress(std::string_view text, bool* ipv4 = nullptr);
std::string FormatTraceAddress(const Address& address);
absl::StatusOr<uint8_t> ParseProtocol(std::string_view text);
std::string ProtocolName(uint8_t protocol);

}  // namespace rampart::policy

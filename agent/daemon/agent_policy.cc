// The agent's policy API: the policy in force (rampartctl policy show) and
// traces over it (rampartctl policy trace). Packet traces read the compiled
// policy the datapath maps were written from and the blocklist map itself;
// HTTP traces build the node's detector families from the applied bundle.
#include <netinet/in.h>

#include <charconv>

#include "absl/status/status.h"
#include "agent/common/strings.h"
#include "agent/daemon/agent.h"
#include "agent/datapath/cgroups.h"
#include "agent/inspect/http_trace.h"
#include "agent/inspect/setup.h"
#include "agent/policy/policy_tracer.h"

namespace rampart::agent {
namespace {

std::string ActionName(rp_action action) { return action == RP_ACTION_DENY ? "deny" : "allow"; }

absl::Status BadRequest(const std::string& message) { return absl::InvalidArgumentError(message); }

// The sender's cgroup of an egress trace: --unit NAME, --cgroup ID or --cgroup /PATH.
absl::StatusOr<uint64_t> SenderCgroup(const v1::TracePacketRequest& request) {
  if (!request.unit().empty()) {
    auto id = datapath::ResolveCgroup("unit", request.unit());
    if (!id) return absl::NotFoundError(rampart::StrCat("unit ", request.unit(), " has no cgroup on this node (is it running?)"));
    return *id;
  }
  const std::string& cgroup = request.cgroup();
  if (cgroup.empty()) return 0;
  if (cgroup[0] == '/') {
    auto id = datapath::ResolveCgroup("cgroup", cgroup);
    if (!id) return absl::NotFoundError(rampart::StrCat("cgroup ", cgroup, " does not exist on this node"));
    return *id;
  }
  uint64_t id = 0;
  auto [end, ec] = std::from_chars(cgroup.data(), cgroup.data() + cgroup.size(), id);
  if (ec != std::errc() || end != cgroup.data() + cgroup.size()) {
    return BadRequest(rampart::StrCat("bad cgroup \"", cgroup, "\": expected a cgroup id or a cgroup v2 path (/system.slice/x)"));
  }
  return id;
}

absl::StatusOr<policy::TracedPacket> ToTracedPacket(const v1::TracePacketRequest& request) {
  policy::TracedPacket p;
  if (request.direction() == "egress") {
    p.direction = RP_DIR_EGRESS;
  } else if (!request.direction().empty() && request.direction() != "ingress") {
    return BadRequest(rampart::StrCat("bad direction \"", request.direction(), "\": expected ingress or egress"));
  }
  if (request.source().empty() || request.destination().empty()) return BadRequest("a trace needs --from and --to");
  bool source_v4 = false, destination_v4 = false;
  auto source = policy::ParseTraceAddress(request.source(), &source_v4);
  if (!source.ok()) return BadRequest(rampart::StrCat("--from: ", source.status().message()));
  auto destination = policy::ParseTraceAddress(request.destination(), &destination_v4);
  if (!destination.ok()) return BadRequest(rampart::StrCat("--to: ", destination.status().message()));
  if (source_v4 != destination_v4) {
    return BadRequest(rampart::StrCat("--from ", request.source(), " and --to ", request.destination(),
                                      " are not of one address family"));
  }
  p.source = *source;
  p.destination = *destination;
  if (request.protocol().empty()) return BadRequest("a trace needs --proto (tcp, udp, icmp, icmpv6 or a number)");
  auto protocol = policy::ParseProtocol(request.protocol());
  if (!protocol.ok()) return BadRequest(rampart::StrCat("--proto: ", protocol.status().message()));
  p.protocol = *protocol;
  const bool has_ports = p.protocol == IPPROTO_TCP || p.protocol == IPPROTO_UDP;
  if (request.source_port() > 65535 || request.destination_port() > 65535) return BadRequest("ports are 1-65535");
  if (!has_ports && (request.source_port() || request.destination_port())) {
    return BadRequest(rampart::StrCat("--sport and --dport are for tcp and udp, not ", request.protocol()));
  }
  p.later_fragment = request.later_fragment();
  if (has_ports && !p.later_fragment) {
    if (request.destination_port() == 0) return BadRequest("a tcp or udp trace needs --dport (or --later-fragment)");
    p.source_port = static_cast<uint16_t>(request.source_port());
    p.destination_port = static_cast<uint16_t>(request.destination_port());
  }
  if (request.icmp_type() > 255) return BadRequest("--icmp-type is 0-255");
  if (request.icmp_type() && p.protocol != 58) return BadRequest("--icmp-type is for icmpv6");
  p.icmp6_type = static_cast<uint8_t>(request.icmp_type());
  if (p.direction == RP_DIR_INGRESS && (!request.unit().empty() || !request.cgroup().empty())) {
    return BadRequest("--unit and --cgroup name the sender of an egress packet (--direction egress)");
  }
  if (!request.unit().empty() && !request.cgroup().empty()) return BadRequest("give --unit or --cgroup, not both");
  auto cgroup = SenderCgroup(request);
  if (!cgroup.ok()) return cgroup.status();
  p.cgroup_id = *cgroup;
  return p;
}

void FillBlocked(const policy::BlocklistEntry& e, v1::BlockedPeer& out) {
  out.set_kind(e.kind == RP_BLOCK_SOURCE ? "source" : "flow");
  out.set_source(policy::FormatTraceAddress(e.source));
  if (e.kind == RP_BLOCK_FLOW) {
    out.set_destination(policy::FormatTraceAddress(e.destination));
    out.set_protocol(policy::ProtocolName(e.protocol));
    out.set_source_port(e.source_port);
    out.set_destination_port(e.destination_port);
  }
}

}  // namespace

absl::StatusOr<v1::AppliedPolicy> Agent::GetPolicy() {
  v1::AppliedPolicy out;
  {
    std::lock_guard lock(mu_);
    out.set_version(applied_version_);
    out.set_source(policy_source_);
    out.set_last_error(last_policy_error_);
    for (const auto& w : policy_warnings_) out.add_warnings(w);
    if (applied_bundle_) {
      *out.mutable_bundle() = *applied_bundle_;
      *out.mutable_inspection() = inspect::MergeInspection(*applied_bundle_);
      for (const auto& policy : applied_bundle_->policies()) {
        for (const auto& rule : policy.spec().segmentation().egress().allow()) {
          if (rule.unit().empty() && rule.cgroup().empty()) continue;
          auto* scope = out.add_scopes();
          scope->set_policy(policy.metadata().name());
          scope->set_rule(rule.name());
          scope->set_kind(rule.unit().empty() ? "cgroup" : "unit");
          scope->set_name(rule.unit().empty() ? rule.cgroup() : rule.unit());
          auto id = resolved_scopes_.find(rampart::StrCat(scope->kind(), " ", scope->name()));
          scope->set_cgroup_id(id == resolved_scopes_.end() ? 0 : id->second);
        }
      }
    }
    const policy::CompiledPolicy none;
    const policy::CompiledPolicy& compiled = applied_compiled_ ? *applied_compiled_ : none;
    for (const auto& name : compiled.interfaces) out.add_interfaces(name);
    out.set_ingress_default(ActionName(compiled.ingress.default_action));
    out.set_egress_default(ActionName(compiled.egress.default_action));
  }
  v1::InspectionStatus inspection;
  FillInspectionStatus(inspection);
  *out.mutable_families() = inspection.families();
  return out;
}

absl::StatusOr<v1::PacketTrace> Agent::TracePacket(const v1::TracePacketRequest& request) {
  auto packet = ToTracedPacket(request);
  if (!packet.ok()) return packet.status();
  const char* direction = packet->direction == RP_DIR_INGRESS ? "ingress" : "egress";

  // The blocklist as the programs see it: the map itself, expired entries left out.
  auto entries = datapath_->blocklist().List();
  if (!entries.ok()) return entries.status();
  std::vector<policy::BlocklistEntry> blocklist;
  for (const auto& e : *entries) {
    blocklist.push_back({.kind = e.kind, .source = e.flow.src, .destination = e.flow.dst, .protocol = e.flow.proto,
                         .source_port = e.flow.sport, .destination_port = e.flow.dport});
  }
  policy::CompiledPolicy compiled;
  uint64_t version = 0;
  {
    std::lock_guard lock(mu_);
    if (applied_compiled_) compiled = *applied_compiled_;
    version = applied_version_;
  }
  const policy::PacketTrace trace = policy::PolicyTracer(compiled).Trace(*packet, blocklist);

  v1::PacketTrace out;
  out.set_policy_version(version);
  out.set_cgroup_id(packet->cgroup_id);
  bool attached_here = false, attached_anywhere = false;
  for (const auto& a : datapath_->Attachments()) {
    if (a.direction != direction) continue;
    attached_anywhere = true;
    attached_here |= a.ifname == request.interface();
  }
  out.set_enforced(request.interface().empty() ? attached_anywhere : attached_here);
  if (!request.interface().empty() && !attached_here) {
    out.add_steps(rampart::StrCat("interface ", request.interface(), ": no Rampart ", direction,
                                  " program is attached (not one of the policy's interfaces): the packet passes "
                                  "unseen. On a policy interface:"));
  } else if (request.interface().empty() && !attached_anywhere) {
    out.add_steps(rampart::StrCat("no interface has Rampart's ", direction,
                                  " program attached (the policy names none): nothing is enforced. On a policy "
                                  "interface:"));
  }
  for (const auto& step : trace.steps) out.add_steps(step);
  if (!request.interface().empty() && !attached_here) {
    out.set_verdict("allow");
    out.set_reason("not_attached");
  } else {
    out.set_verdict(trace.allowed ? "allow" : "drop");
    out.set_reason(datapath::ReasonName(trace.reason));
  }
  if (trace.blocked_by) FillBlocked(*trace.blocked_by, *out.mutable_blocked_by());
  out.set_lookup(trace.lookup == policy::PeerLookup::kHost     ? "host"
                 : trace.lookup == policy::PeerLookup::kPrefix ? "prefix"
                                                               : "none");
  if (trace.prefix) out.set_prefix(trace.prefix->ToString());
  for (const auto& check : trace.checks) {
    auto* rule = out.add_rules();
    rule->set_policy(check.rule.policy);
    rule->set_rule(check.rule.rule);
    rule->set_ports(check.ports.ToString());
    rule->set_cgroup_id(check.cgroup_id);
    rule->set_matched(check.matched);
    rule->set_mismatch(check.mismatch);
  }
  if (trace.rule) {
    out.set_policy(trace.rule->policy);
    out.set_rule(trace.rule->rule);
  }
  out.set_default_action(ActionName(trace.default_action));
  out.set_confined(trace.confined);
  if (trace.rate_limit) out.set_rate_limit(trace.rate_limit->policy + "/" + trace.rate_limit->name);
  return out;
}

absl::StatusOr<v1::HttpTrace> Agent::TraceHttp(const v1::TraceHttpRequest& request) {
  v1::Inspection inspection;
  v1::HttpTrace out;
  {
    std::lock_guard lock(mu_);
    if (applied_bundle_) inspection = inspect::MergeInspection(*applied_bundle_);
    out.set_policy_version(applied_version_);
  }
  // Built afresh, like ApplyBundle builds it: the same detectors and verdicts,
  // but none of the live pipeline's state (JWT replay, API learning).
  auto setup = inspect::BuildInspectionSetup(inspection);
  if (!setup.ok()) {
    return absl::FailedPreconditionError(
        rampart::StrCat("the node's detectors no longer build: ", setup.status().message()));
  }
  for (const auto& [family, verdict] : setup->verdicts) {
    auto* f = out.add_families();
    f->set_family(family);
    f->set_action(verdict.block ? "block" : "monitor");
    f->set_min_severity(std::string(findings::SeverityName(verdict.min_severity)));
    f->set_block_ttl_seconds(static_cast<uint32_t>(verdict.ttl.count()));
  }
  const inspect::HttpTraceResult result = inspect::TraceHttpExchange(*setup, request.content());
  out.set_messages(static_cast<uint32_t>(result.messages));
  for (const auto& traced : result.findings) {
    auto* f = out.add_findings();
    f->set_detector(traced.finding.detector);
    f->set_severity(std::string(findings::SeverityName(traced.finding.severity)));
    f->set_masked_value(traced.finding.masked_value);
    f->set_location(traced.finding.location);
    f->set_reason(traced.finding.reason);
    f->set_family(traced.family);
    f->set_action(traced.blocks ? "block" : "monitor");
    f->set_family_action(traced.verdict.block ? "block" : "monitor");
    f->set_min_severity(std::string(findings::SeverityName(traced.verdict.min_severity)));
    f->set_block_ttl_seconds(static_cast<uint32_t>(traced.verdict.ttl.count()));
    f->set_is_request(traced.in_request);
  }
  return out;
}

}  // namespace rampart::agent

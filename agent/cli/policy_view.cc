#include "agent/cli/policy_view.h"

#include <sstream>
#include <vector>

#include "agent/cli/status_view.h"
#include "agent/common/strings.h"

namespace rampart::cli {
namespace {

using Rows = std::vector<std::vector<std::string>>;

std::string Join(const google::protobuf::RepeatedPtrField<std::string>& items, const std::string& separator = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

std::string DefaultName(v1::DefaultAction action) {
  switch (action) {
    case v1::DEFAULT_ACTION_ALLOW: return "allow";
    case v1::DEFAULT_ACTION_DENY: return "deny";
    default: return "-";
  }
}

std::string Scope(const v1::AppliedPolicy& p, const std::string& policy, const v1::SegmentationRule& rule) {
  if (rule.unit().empty() && rule.cgroup().empty()) return "any sender";
  const std::string kind = rule.unit().empty() ? "cgroup" : "unit";
  const std::string& name = rule.unit().empty() ? rule.cgroup() : rule.unit();
  for (const auto& s : p.scopes()) {
    if (s.policy() != policy || s.rule() != rule.name()) continue;
    return s.cgroup_id() ? rampart::StrCat(kind, " ", name, " = cgroup ", s.cgroup_id())
                         : rampart::StrCat(kind, " ", name, " (not on this node: the rule waits)");
  }
  return rampart::StrCat(kind, " ", name);
}

std::string Rate(const v1::RateLimit& l) {
  std::vector<std::string> parts;
  if (l.packets_per_second()) parts.push_back(rampart::StrCat(l.packets_per_second(), " packets/s"));
  if (l.bytes_per_second()) parts.push_back(rampart::StrCat(l.bytes_per_second(), " bytes/s"));
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : ", ") + part;
  return out;
}

std::string Burst(const v1::RateLimit& l) {
  std::vector<std::string> parts;
  if (l.packets_per_second()) parts.push_back(rampart::StrCat(l.burst() ? l.burst() : l.packets_per_second(), " packets"));
  if (l.bytes_per_second()) {
    parts.push_back(rampart::StrCat(l.burst_bytes() ? l.burst_bytes() : l.bytes_per_second(), " bytes"));
  }
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : ", ") + part;
  return out;
}

void RenderInspection(const v1::AppliedPolicy& p, std::ostringstream& out) {
  const v1::Inspection& in = p.inspection();
  out << "\nInspection:\n";
  std::vector<std::string> capture;
  if (in.capture().all()) capture.push_back("every process with TLS code");
  if (!in.capture().processes().empty()) capture.push_back("processes " + Join(in.capture().processes()));
  if (!in.capture().units().empty()) capture.push_back("units " + Join(in.capture().units()));
  std::string captured;
  for (const auto& c : capture) captured += (captured.empty() ? "" : "; ") + c;
  if (!captured.empty() && in.capture().directions_size() == 1) {
    captured += "; only what they " + std::string(in.capture().directions(0) == "read" ? "receive" : "send") + " (" +
                in.capture().directions(0) + ")";
  }
  out << "  capture: " << (captured.empty() ? "nothing selected by policy" : captured) << "\n";
  if (p.families().empty()) {
    out << "  no detector family configured\n";
    return;
  }
  Rows rows = {{"FAMILY", "ACTION", "MIN SEVERITY", "BLOCK TTL", "SETTINGS"}};
  for (const auto& f : p.families()) {
    std::string settings;
    if (f.family() == "dlp") {
      settings = rampart::StrCat("detectors ", in.dlp().detectors().empty() ? "all" : Join(in.dlp().detectors()),
                                 "; bulk at ", in.dlp().bulk_card_threshold() ? in.dlp().bulk_card_threshold() : 5,
                                 " cards");
    } else if (f.family() == "attacks") {
      settings = rampart::StrCat("max header ", in.attacks().max_header_bytes() ? in.attacks().max_header_bytes() : 32768,
                                 " bytes; max body ",
                                 in.attacks().max_body_bytes() ? in.attacks().max_body_bytes() : 10485760, " bytes");
    } else if (f.family() == "jwt") {
      const auto& jwt = in.jwt();
      settings = rampart::StrCat("keys ", jwt.jwks_files().empty() && jwt.pem_files().empty()
                                              ? std::string("none")
                                              : Join(jwt.jwks_files()) +
                                                    (jwt.jwks_files().empty() || jwt.pem_files().empty() ? "" : ", ") +
                                                    Join(jwt.pem_files()),
                                 "; algorithms ", jwt.allowed_algorithms().empty() ? "all" : Join(jwt.allowed_algorithms()),
                                 "; leeway ", jwt.leeway_seconds() ? jwt.leeway_seconds() : 60, " s");
    }
    rows.push_back({f.family(), f.action(), f.action() == "block" ? f.min_severity() : "-",
                    f.action() == "block" ? rampart::StrCat(f.block_ttl_seconds(), " s") : "-", settings});
  }
  out << RenderTable(rows, "  ");
}

}  // namespace

std::string RenderAppliedPolicy(const v1::AppliedPolicy& p) {
  std::ostringstream out;
  if (p.version() == 0) {
    out << "Policy version: none (no policy applied: the datapath allows everything)\n";
    if (!p.last_error().empty()) out << "Last refused:   " << p.last_error() << "\n";
    return out.str();
  }
  out << "Policy version: " << p.version();
  if (!p.source().empty()) out << " (from " << p.source() << ")";
  out << "\n";
  if (!p.last_error().empty()) out << "Last refused:   " << p.last_error() << "\n";
  out << "Interfaces:     "
      << (p.interfaces().empty() ? "none (nothing is attached: segmentation is not enforced)" : Join(p.interfaces()))
      << "\n";

  Rows ingress = {{"POLICY", "RULE", "FROM", "PORTS"}};
  Rows egress = {{"POLICY", "RULE", "TO", "PORTS", "SCOPE"}};
  Rows limits = {{"POLICY", "RATE LIMIT", "PORTS", "KEY", "RATE", "BURST"}};
  Rows policies = {{"POLICY", "NODE SELECTOR", "INTERFACES", "INGRESS", "EGRESS", "FILE"}};
  for (const auto& policy : p.bundle().policies()) {
    const std::string& name = policy.metadata().name();
    const auto& seg = policy.spec().segmentation();
    for (const auto& rule : seg.ingress().allow()) {
      ingress.push_back({name, rule.name(), Join(rule.from()), Join(rule.ports())});
    }
    for (const auto& rule : seg.egress().allow()) {
      egress.push_back({name, rule.name(), Join(rule.to()), Join(rule.ports()), Scope(p, name, rule)});
    }
    for (const auto& limit : policy.spec().rate_limits()) {
      limits.push_back({name, limit.name(), Join(limit.match().ports()),
                        limit.key() == v1::RATE_LIMIT_KEY_FLOW ? "flow" : "source", Rate(limit), Burst(limit)});
    }
    std::string selector;
    for (const auto& [key, value] : policy.spec().node_selector()) {
      selector += (selector.empty() ? "" : ",") + key + "=" + value;
    }
    policies.push_back({name, selector.empty() ? "(every node)" : selector,
                        policy.spec().interfaces().empty() ? "-" : Join(policy.spec().interfaces(), ","),
                        DefaultName(seg.ingress().default_action()), DefaultName(seg.egress().default_action()),
                        policy.source().empty() ? "-" : policy.source()});
  }
  out << "\nIngress: default " << p.ingress_default() << "\n";
  out << (ingress.size() > 1 ? RenderTable(ingress, "  ") : "  no allow rules\n");
  out << "\nEgress: default " << p.egress_default() << "\n";
  out << (egress.size() > 1 ? RenderTable(egress, "  ") : "  no allow rules\n");
  out << "\nRate limits (ingress; the first whose protocol and port match decides):\n";
  out << (limits.size() > 1 ? RenderTable(limits, "  ") : "  none\n");
  out << "\nPolicies (node-wide: rules are a union, a direction denies when any policy says deny):\n";
  out << RenderTable(policies, "  ");
  RenderInspection(p, out);
  if (!p.warnings().empty()) {
    out << "\nWarnings:\n";
    for (const auto& w : p.warnings()) out << "  " << w << "\n";
  }
  return out.str();
}

std::string DescribeTracedPacket(const v1::TracePacketRequest& r) {
  const bool ports = r.protocol() == "tcp" || r.protocol() == "udp" || r.protocol() == "6" || r.protocol() == "17";
  auto endpoint = [&](const std::string& address, uint32_t port) {
    std::string host = address.find(':') != std::string::npos ? "[" + address + "]" : address;
    return ports && !r.later_fragment() ? rampart::StrCat(host, ":", port) : host;
  };
  std::string out = rampart::StrCat(r.direction().empty() ? "ingress" : r.direction(), " ", r.protocol(), " ",
                                    endpoint(r.source(), r.source_port()), " -> ",
                                    endpoint(r.destination(), r.destination_port()));
  if (r.later_fragment()) out += " (later fragment)";
  if (r.icmp_type()) out += rampart::StrCat(" type ", r.icmp_type());
  if (!r.unit().empty()) out += " from unit " + r.unit();
  if (!r.cgroup().empty()) out += " from cgroup " + r.cgroup();
  if (!r.interface().empty()) out += " on " + r.interface();
  return out;
}

std::string RenderPacketTrace(const v1::TracePacketRequest& request, const v1::PacketTrace& t) {
  std::ostringstream out;
  out << "Trace: " << DescribeTracedPacket(request) << ", policy version " << t.policy_version() << "\n";
  for (const auto& step : t.steps()) out << "  " << step << "\n";
  out << "Verdict: " << (t.verdict() == "drop" ? "DROP" : "ALLOW") << " (" << t.reason() << ")\n";
  return out.str();
}

std::string RenderHttpTrace(const std::string& file, const v1::HttpTrace& t) {
  std::ostringstream out;
  out << file << ": " << t.messages() << (t.messages() == 1 ? " HTTP message" : " HTTP messages")
      << ", policy version " << t.policy_version() << "\n";
  if (t.families().empty()) {
    out << "No detector family is configured by this node's policy (spec.inspection): nothing would be inspected.\n";
    return out.str();
  }
  out << "Families:";
  for (const auto& f : t.families()) {
    out << " " << f.family() << " "
        << (f.action() == "block" ? rampart::StrCat("block at ", f.min_severity(), " or above (", f.block_ttl_seconds(), " s)")
                                  : std::string("monitor"))
        << (&f == &t.families(t.families_size() - 1) ? "" : ";");
  }
  out << "\n";
  if (t.findings().empty()) {
    out << "Verdict: nothing found\n";
    return out.str();
  }
  Rows rows = {{"SEVERITY", "DETECTOR", "MESSAGE", "WHERE", "VALUE", "VERDICT"}};
  int blocking = 0;
  for (const auto& f : t.findings()) {
    blocking += f.action() == "block";
    std::string why = f.action() == "block" ? rampart::StrCat("block (", f.family(), " blocks at ", f.min_severity(), "+)")
                      : f.family_action() == "block"
                          ? rampart::StrCat("monitor (", f.family(), " blocks at ", f.min_severity(), "+ only)")
                          : rampart::StrCat("monitor (", f.family(), " monitors)");
    rows.push_back({f.severity(), f.detector(), f.is_request() ? "request" : "response", f.location(),
                    f.masked_value(), why});
  }
  out << RenderTable(rows, "  ");
  if (blocking > 0) {
    out << "Verdict: BLOCK (" << blocking << " of " << t.findings_size()
        << " findings would block the peer)\n";
  } else {
    out << "Verdict: MONITOR (" << t.findings_size() << (t.findings_size() == 1 ? " finding" : " findings")
        << ", recorded only)\n";
  }
  return out.str();
}

}  // namespace rampart::cli

#include "agent/cli/status_view.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <vector>

#include "absl/strings/str_join.h"
#include "agent/common/strings.h"

namespace rampart::cli {
namespace {

std::string StateName(v1::ConnectionState state) {
  switch (state) {
    case v1::CONNECTION_STATE_CONNECTING: return "connecting";
    case v1::CONNECTION_STATE_CONNECTED: return "connected";
    case v1::CONNECTION_STATE_DISCONNECTED: return "disconnected";
    case v1::CONNECTION_STATE_DISABLED: return "disabled (no control plane configured)";
    default: return "unknown";
  }
}

std::string Table(const std::vector<std::vector<std::string>>& rows) { return RenderTable(rows, "  "); }

// The apis family's counters and per-alert actions.
std::string RenderApiAnalyticsStatus(const v1::ApiAnalyticsStatus& a) {
  std::string out = rampart::StrCat(
      "API analytics: ", a.requests(), " requests, ", a.responses(), " responses (", a.unpaired_responses(),
      " unpaired, ", a.client_side_skipped(), " client-side skipped), ", a.services(), " services, ", a.endpoints(),
      " endpoints, ", a.findings(), " findings (", a.alerts_suppressed(), " repeats suppressed)\n");
  out += rampart::StrCat("  rate limits: ", a.rate_limit_identities(), " identities, ", a.rate_limit_refused(),
                         " requests over a limit, ", a.rate_limit_evicted(), " identities evicted\n");
  out += rampart::StrCat("  bola: ", a.bola_tracked(), " identity/endpoint pairs (", a.bola_sketch_bytes(),
                         " sketch bytes), ", a.bola_flagged_windows(), " windows flagged, ", a.bola_evicted(),
                         " evicted; bulk extraction: ", a.bulk_tracked(), " baselines, ", a.bulk_flagged(),
                         " responses flagged, ", a.bulk_evicted(), " evicted\n");
  if (a.dropped_service_requests() + a.dropped_endpoint_requests() != 0) {
    out += rampart::StrCat("  inventory full: ", a.dropped_service_requests(), " requests of new services and ",
                           a.dropped_endpoint_requests(), " of new endpoints not recorded\n");
  }
  std::map<std::string, std::string> alerts(a.alerts().begin(), a.alerts().end());
  std::string actions;
  for (const auto& [kind, action] : alerts) actions += rampart::StrCat(actions.empty() ? "" : ", ", kind, " ", action);
  if (!actions.empty()) out += "  alerts: " + actions + "\n";
  return out;
}

}  // namespace

std::string RenderTable(const std::vector<std::vector<std::string>>& rows, const std::string& indent) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::ostringstream out;
  for (const auto& row : rows) {
    out << indent;
    for (size_t i = 0; i < row.size(); ++i) {
      out << row[i];
      if (i + 1 < row.size()) out << std::string(width[i] - row[i].size() + 2, ' ');
    }
    out << "\n";
  }
  return out.str();
}

std::string RenderStatus(const v1::AgentStatus& s) {
  std::ostringstream out;
  out << "Node:           " << s.node_name() << "\n";
  out << "Policy version: " << (s.policy_version() ? rampart::StrCat(s.policy_version()) : "none");
  if (!s.policy_source().empty()) out << " (from " << s.policy_source() << ")";
  out << "\n";
  if (!s.last_policy_error().empty()) out << "Policy error:   " << s.last_policy_error() << "\n";
  out << "Control plane:  " << StateName(s.control_plane().state());
  if (!s.control_plane().address().empty()) out << " " << s.control_plane().address();
  out << "\n";
  if (!s.control_plane().last_error().empty() && s.control_plane().state() != v1::CONNECTION_STATE_CONNECTED) {
    out << "  last error:   " << s.control_plane().last_error() << "\n";
  }
  if (s.control_plane().state() != v1::CONNECTION_STATE_DISABLED) {
    out << "  events:       " << s.control_plane().events_acked() << " acked, " << s.control_plane().events_queued()
        << " queued, " << s.control_plane().events_dropped() << " lost\n";
  }
  for (const auto& w : s.policy_warnings()) out << "Warning:        " << w << "\n";
  out << "\nPrograms:\n";
  if (s.programs().empty()) {
    out << "  (none attached)\n";
  } else {
    std::vector<std::vector<std::string>> rows = {{"INTERFACE", "DIRECTION", "HOOK", "PROGRAM", "PROG ID", "LINK ID"}};
    for (const auto& p : s.programs()) {
      rows.push_back({p.interface(), p.direction(), p.hook(), p.program(), rampart::StrCat(p.program_id()),
                      p.link_id() ? rampart::StrCat(p.link_id()) : "-"});
    }
    out << Table(rows);
  }
  out << "\nPackets:\n";
  out << Table({{"allowed", rampart::StrCat(s.counters().allowed_packets())},
                {"dropped", rampart::StrCat(s.counters().dropped_packets())}});
  std::vector<std::vector<std::string>> reasons = {{"DIRECTION", "REASON", "PACKETS"}};
  for (const auto& r : s.counters().by_reason()) {
    if (r.packets() != 0) reasons.push_back({r.direction(), r.reason(), rampart::StrCat(r.packets())});
  }
  if (reasons.size() > 1) out << "\n" << Table(reasons);
  if (!s.counters().by_rule().empty()) {
    std::vector<std::vector<std::string>> rules = {{"DIRECTION", "POLICY", "RULE", "PACKETS"}};
    for (const auto& r : s.counters().by_rule()) {
      rules.push_back({r.direction(), r.policy(), r.rule(), rampart::StrCat(r.packets())});
    }
    out << "\n" << Table(rules);
  }
  if (s.capture().enabled()) {
    const auto& c = s.capture();
    const std::string directions = absl::StrJoin(c.directions(), " and ");
    out << "\nTLS capture: " << c.probes() << " probes" << (directions.empty() ? "" : " (" + directions + ")") << "; "
        << c.calls() << " calls, " << c.bytes() << " bytes, " << c.bytes_captured() << " captured, " << c.bytes_truncated() << " truncated, " << c.chunks_lost()
        << " chunks (" << c.bytes_lost() << " bytes) lost to a full ring buffer, " << c.tuple_misses()
        << " chunks without a 5-tuple; sockets learned by " << c.socket_hook() << "\n"
        << "Peer certificates: " << c.peer_certificates() << " seen in handshakes, " << c.peer_certificates_attached()
        << " attached to their connection, " << c.peer_certificates_truncated() << " too long, "
        << c.peer_certificates_lost() << " lost to a full ring buffer\n"
        << "Capture reader: " << c.reader_scheduling()
        << (c.reader_scheduling_reason().empty() ? "" : " (" + c.reader_scheduling_reason() + ")") << "; "
        << c.reader_demotions() << " steps down to normal over its CPU budget\n";
    std::vector<std::vector<std::string>> rows = {{"PID", "PROCESS", "TLS IN", "ATTACHED", "CHUNKS", "WITH 5-TUPLE"}};
    for (const auto& p : c.processes()) {
      rows.push_back({rampart::StrCat(p.pid()), p.comm(), p.file(), p.attached() ? "yes" : "no: " + p.reason(),
                      rampart::StrCat(p.chunks()), rampart::StrCat(p.tuple_known())});
    }
    if (rows.size() > 1) out << Table(rows);
  }
  if (s.inspection().enabled()) {
    const auto& i = s.inspection();
    out << "\nInspection: " << i.connections() << " connections, " << i.messages() << " HTTP messages, "
        << i.findings() << " findings, " << i.blocks() << " blocks (" << i.block_errors() << " failed), "
        << i.desyncs() << " desyncs, " << i.http2_midway_undecodable()
        << " HTTP/2 connections picked up midway (not decoded), " << i.oversized_heads()
        << " oversized header sections (not inspected), " << i.not_http() << " connections not HTTP\n";
    std::vector<std::vector<std::string>> rows = {{"DETECTORS", "ACTION", "BLOCKS AT", "BLOCK TTL"}};
    for (const auto& f : i.families()) {
      if (f.family() == "apis") {  // each alert kind has its own action, below
        rows.push_back({f.family(), "per alert", "-", "-"});
        continue;
      }
      rows.push_back({f.family(), f.action(), f.action() == "block" ? f.min_severity() + "+" : "-",
                      f.action() == "block" ? rampart::StrCat(f.block_ttl_seconds(), "s") : "-"});
    }
    out << Table(rows);
    if (i.has_apis()) out << RenderApiAnalyticsStatus(i.apis());
    out << "findings log: " << i.findings_log() << "\n";
  }
  std::vector<std::vector<std::string>> errors = {{"KERNEL ERROR", "COUNT"}};
  for (const auto& e : s.counters().errors()) {
    if (e.count() != 0) errors.push_back({e.error(), rampart::StrCat(e.count())});
  }
  if (errors.size() > 1) out << "\n" << Table(errors);
  return out.str();
}

std::string RenderFlows(const v1::ListFlowsReply& reply) {
  std::vector<std::vector<std::string>> rows = {
      {"KEY", "LIMIT", "SOURCE", "DESTINATION", "PASS PPS", "PASS BPS", "DROP PPS", "DROPPED"}};
  auto rate = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f", v);
    return std::string(buf);
  };
  for (const auto& f : reply.flows()) {
    std::string src = f.source(), dst = "-";
    if (f.key() == "flow") {
      src = rampart::StrCat(f.protocol(), " ", f.source(), ":", f.source_port());
      dst = rampart::StrCat(f.destination(), ":", f.destination_port());
    }
    rows.push_back({f.key(), f.limit(), src, dst, rate(f.packets_per_second()), rate(f.bytes_per_second()),
                    rate(f.dropped_per_second()), rampart::StrCat(f.dropped_packets())});
  }
  return rampart::StrCat(Table(rows), "  (", reply.tracked(), " buckets tracked)\n");
}

namespace {

std::string Clock(int64_t unix_ns) {
  const time_t seconds = static_cast<time_t>(unix_ns / 1'000'000'000);
  char when[32];
  std::strftime(when, sizeof(when), "%H:%M:%S", std::localtime(&seconds));
  return when;
}

}  // namespace

std::string RenderDrop(const v1::DropEvent& e) {
  std::string line = rampart::StrCat(Clock(e.unix_ns()), " ", e.interface(), " ", e.direction(), " ", e.reason());
  if (!e.rule().empty()) line += rampart::StrCat(" (", e.rule(), ")");
  return rampart::StrCat(line, " ", e.protocol(), " ", e.source(), ":", e.source_port(), " -> ", e.destination(), ":",
                         e.destination_port());
}

std::string RenderCapture(const v1::CaptureEvent& e) {
  std::string line = rampart::StrCat(Clock(e.unix_ns()), " ", e.comm(), "[", e.pid(), "] ", e.direction(), " ",
                                     e.tuple_known() ? rampart::StrCat(e.local(), (e.direction() == "write" ? " -> " : " <- "), e.remote())
                                                     : std::string("(connection unknown)"),
                                     " ", e.length(), " bytes");
  if (e.truncated()) line += rampart::StrCat(" (", e.captured(), " captured)");
  if (!e.payload().empty()) {
    line += "\n  ";
    for (unsigned char c : e.payload()) {
      if (c == '\n') {
        line += "\\n\n  ";
      } else if (c >= 0x20 && c < 0x7f && c != '\\') {
        line += static_cast<char>(c);
      } else {
        char hex[5];
        std::snprintf(hex, sizeof(hex), "\\x%02x", c);
        line += hex;
      }
    }
  }
  return line;
}

std::string RenderFinding(const v1::Finding& f) {
  std::string line = rampart::StrCat(Clock(f.unix_ns()), " ", f.severity(), " ", f.detector(), " ", f.comm(), "[",
                                     f.pid(), "] ", f.remote().empty() ? "(connection unknown)" : f.remote(), " ",
                                     f.location(), " ", f.masked_value(), " - ", f.reason());
  if (f.compliance_size() > 0) {
    line += " [";
    for (int i = 0; i < f.compliance_size(); ++i) line += (i ? "," : "") + f.compliance(i);
    line += "]";
  }
  if (f.truncated()) line += " (truncated capture)";
  if (f.action() == "block") line += rampart::StrCat(" BLOCKED: ", f.enforced());
  return line;
}

std::string RenderFindings(const std::vector<v1::Finding>& findings) {
  std::vector<std::vector<std::string>> rows = {
      {"TIME", "SEVERITY", "DETECTOR", "PROCESS", "PEER", "WHERE", "VALUE", "ACTION"}};
  for (const auto& f : findings) {
    rows.push_back({Clock(f.unix_ns()), f.severity(), f.detector(), rampart::StrCat(f.comm(), "[", f.pid(), "]"),
                    f.remote().empty() ? "-" : f.remote(), f.location(), f.masked_value(),
                    f.action() == "block" ? "block: " + f.enforced() : f.action()});
  }
  return Table(rows);
}

std::string RenderBlocks(const v1::ListBlocksReply& reply) {
  std::vector<std::vector<std::string>> rows = {{"KIND", "PEER", "REASON", "EXPIRES IN"}};
  for (const auto& b : reply.entries()) {
    std::string peer = b.kind() == "source"
                           ? b.source()
                           : rampart::StrCat(b.protocol(), " ", b.source(), ":", b.source_port(), " -> ",
                                             b.destination(), ":", b.destination_port());
    rows.push_back({b.kind(), peer, b.reason_name().empty() ? rampart::StrCat(b.reason()) : b.reason_name(),
                    b.remaining_ms() ? rampart::StrCat(b.remaining_ms() / 1000, " s") : "never"});
  }
  return Table(rows);
}

std::string RenderJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

}  // namespace rampart::cli

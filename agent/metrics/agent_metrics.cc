#include "agent/metrics/agent_metrics.h"

#include "agent/metrics/metric_families.h"

namespace rampart::metrics {
namespace {

using prometheus::MetricType;

bool IsDropReason(const std::string& reason) { return reason.rfind("drop_", 0) == 0; }

}  // namespace

std::vector<prometheus::MetricFamily> AgentMetrics(const v1::AgentStatus& s) {
  std::vector<prometheus::MetricFamily> out;
  out.push_back(FamilyBuilder("rampart_agent_info", "The agent's node name and version.", MetricType::Gauge)
                    .Add(1, {{"node", s.node_name()}, {"version", RAMPART_VERSION}})
                    .Build());
  out.push_back(FamilyBuilder("rampart_policy_version", "Policy version in force; 0 when none is applied.",
                              MetricType::Gauge)
                    .Add(static_cast<double>(s.policy_version()), {{"source", s.policy_source()}})
                    .Build());

  // Control-plane connection: one series per state, 1 for the current one,
  // so alerts read `rampart_control_plane_connection_state{state="connected"} == 0`.
  FamilyBuilder connection("rampart_control_plane_connection_state",
                           "1 for the state of the stream to the control plane, 0 for the others.", MetricType::Gauge);
  const std::pair<v1::ConnectionState, const char*> states[] = {
      {v1::CONNECTION_STATE_DISABLED, "disabled"},
      {v1::CONNECTION_STATE_CONNECTING, "connecting"},
      {v1::CONNECTION_STATE_CONNECTED, "connected"},
      {v1::CONNECTION_STATE_DISCONNECTED, "disconnected"},
  };
  for (const auto& [state, name] : states) connection.Add(s.control_plane().state() == state ? 1 : 0, {{"state", name}});
  out.push_back(connection.Build());
  out.push_back(FamilyBuilder("rampart_control_plane_events_queued",
                              "Findings and drop summaries waiting for the control plane's ack.", MetricType::Gauge)
                    .Add(static_cast<double>(s.control_plane().events_queued()))
                    .Build());
  out.push_back(FamilyBuilder("rampart_control_plane_events_dropped_total",
                              "Events lost because the queue to the control plane was full.", MetricType::Counter)
                    .Add(static_cast<double>(s.control_plane().events_dropped()))
                    .Build());

  // Datapath: packets by direction and reason, split into drops and the rest.
  FamilyBuilder drops("rampart_drops_total", "Packets dropped by the datapath, by direction and reason.",
                      MetricType::Counter);
  FamilyBuilder passed("rampart_forwarded_packets_total",
                       "Packets the datapath let through, by direction and reason.", MetricType::Counter);
  for (const auto& r : s.counters().by_reason()) {
    (IsDropReason(r.reason()) ? drops : passed)
        .Add(static_cast<double>(r.packets()), {{"direction", r.direction()}, {"reason", r.reason()}});
  }
  out.push_back(drops.Build());
  out.push_back(passed.Build());
  FamilyBuilder rules("rampart_rule_hits_total", "Packets matched by each rule of the policy in force.",
                      MetricType::Counter);
  for (const auto& r : s.counters().by_rule()) {
    rules.Add(static_cast<double>(r.packets()),
              {{"direction", r.direction()}, {"policy", r.policy()}, {"rule", r.rule()}});
  }
  out.push_back(rules.Build());
  // Ring-buffer reserves that failed, and the other helper failures: data lost, never silently.
  FamilyBuilder errors("rampart_datapath_errors_total",
                       "Datapath helper failures that lost data (ringbuf_full: drop events not delivered).",
                       MetricType::Counter);
  for (const auto& e : s.counters().errors()) errors.Add(static_cast<double>(e.count()), {{"error", e.error()}});
  out.push_back(errors.Build());

  // TLS capture.
  const v1::CaptureStatus& c = s.capture();
  out.push_back(FamilyBuilder("rampart_capture_calls_total", "SSL read and write calls seen by the probes.",
                              MetricType::Counter)
                    .Add(static_cast<double>(c.calls()))
                    .Build());
  out.push_back(FamilyBuilder("rampart_capture_bytes_total",
                              "Plaintext bytes of the SSL calls seen, by what became of them.", MetricType::Counter)
                    .Add(static_cast<double>(c.bytes_captured()), {{"outcome", "captured"}})
                    .Add(static_cast<double>(c.bytes_truncated()), {{"outcome", "truncated"}})
                    .Add(static_cast<double>(c.bytes_lost()), {{"outcome", "lost"}})
                    .Build());
  out.push_back(FamilyBuilder("rampart_capture_ringbuf_lost_chunks_total",
                              "Captured chunks lost because the capture ring buffer was full.", MetricType::Counter)
                    .Add(static_cast<double>(c.chunks_lost()))
                    .Build());
  out.push_back(FamilyBuilder("rampart_capture_tuple_misses_total",
                              "Captured chunks whose connection 5-tuple could not be learned.", MetricType::Counter)
                    .Add(static_cast<double>(c.tuple_misses()))
                    .Build());
  out.push_back(FamilyBuilder("rampart_capture_peer_certificates_total",
                              "Peer certificates seen in captured TLS handshakes.", MetricType::Counter)
                    .Add(static_cast<double>(c.peer_certificates()))
                    .Build());
  out.push_back(FamilyBuilder("rampart_capture_peer_certificates_attached_total",
                              "Peer certificates parsed and attached to their connection as its mTLS identity.",
                              MetricType::Counter)
                    .Add(static_cast<double>(c.peer_certificates_attached()))
                    .Build());
  out.push_back(FamilyBuilder("rampart_capture_reader_raised",
                              "1 while the capture reader thread runs raised (high: nice -20, or realtime: "
                              "SCHED_FIFO 1), 0 at normal scheduling.",
                              MetricType::Gauge)
                    .Add(c.reader_scheduling() == "high" || c.reader_scheduling() == "realtime" ? 1.0 : 0.0)
                    .Build());
  out.push_back(FamilyBuilder("rampart_capture_reader_demotions_total",
                              "Times the raised capture reader stepped down to normal scheduling, over its CPU "
                              "budget.",
                              MetricType::Counter)
                    .Add(static_cast<double>(c.reader_demotions()))
                    .Build());
  size_t attached = 0;
  for (const auto& p : c.processes()) attached += p.attached() ? 1 : 0;
  out.push_back(FamilyBuilder("rampart_capture_processes", "Processes with TLS code, by whether they are captured.",
                              MetricType::Gauge)
                    .Add(static_cast<double>(attached), {{"attached", "true"}})
                    .Add(static_cast<double>(c.processes_size() - attached), {{"attached", "false"}})
                    .Build());

  // Inspection.
  const v1::InspectionStatus& i = s.inspection();
  out.push_back(FamilyBuilder("rampart_http_messages_total", "HTTP requests and responses parsed.",
                              MetricType::Counter)
                    .Add(static_cast<double>(i.messages()))
                    .Build());
  FamilyBuilder findings("rampart_findings_total", "Findings reported, by detector.", MetricType::Counter);
  for (const auto& [detector, count] : i.findings_by_detector()) {
    findings.Add(static_cast<double>(count), {{"detector", detector}});
  }
  out.push_back(findings.Build());
  out.push_back(FamilyBuilder("rampart_verdict_blocks_total", "Findings that wrote a block into the datapath.",
                              MetricType::Counter)
                    .Add(static_cast<double>(i.blocks()))
                    .Build());
  out.push_back(FamilyBuilder("rampart_verdict_block_errors_total", "Blocks that could not be written.",
                              MetricType::Counter)
                    .Add(static_cast<double>(i.block_errors()))
                    .Build());
  out.push_back(FamilyBuilder("rampart_inspection_gap_bytes_total",
                              "Stream bytes inspection never saw (truncated or lost in capture).", MetricType::Counter)
                    .Add(static_cast<double>(i.gap_bytes()))
                    .Build());
  return out;
}

}  // namespace rampart::metrics

#include "controlplane/service/control_plane_metrics.h"

#include <map>

#include "agent/metrics/metric_families.h"

namespace rampart::cp {

using metrics::FamilyBuilder;
using prometheus::MetricType;

std::vector<prometheus::MetricFamily> ControlPlaneMetrics(const v1::ListNodesReply& nodes,
                                                          const v1::EventStats& events) {
  std::vector<prometheus::MetricFamily> out;
  out.push_back(FamilyBuilder("rampart_cp_info", "The control plane's version.", MetricType::Gauge)
                    .Add(1, {{"version", RAMPART_VERSION}})
                    .Build());
  out.push_back(FamilyBuilder("rampart_cp_policy_version", "Policy version in force.", MetricType::Gauge)
                    .Add(static_cast<double>(nodes.current_version()))
                    .Build());
  // Every status always present, so a dashboard sums without gaps.
  std::map<std::string, int> by_status = {{"in_sync", 0}, {"pending", 0}, {"refused", 0}, {"disconnected", 0}};
  for (const auto& n : nodes.nodes()) {
    switch (n.status()) {
      case v1::NODE_SYNC_STATUS_IN_SYNC: ++by_status["in_sync"]; break;
      case v1::NODE_SYNC_STATUS_PENDING: ++by_status["pending"]; break;
      case v1::NODE_SYNC_STATUS_REFUSED: ++by_status["refused"]; break;
      default: ++by_status["disconnected"]; break;
    }
  }
  FamilyBuilder status("rampart_cp_nodes", "Nodes seen since start, by sync status (connected: all but disconnected).",
                       MetricType::Gauge);
  for (const auto& [name, count] : by_status) status.Add(count, {{"status", name}});
  out.push_back(status.Build());

  uint64_t received = 0, duplicates = 0, agent_dropped = 0;
  for (const auto& n : events.nodes()) {
    received += n.received();
    duplicates += n.duplicates();
    agent_dropped += n.agent_dropped();
  }
  out.push_back(FamilyBuilder("rampart_cp_events_stored", "Fleet events held in memory.", MetricType::Gauge)
                    .Add(static_cast<double>(events.stored()))
                    .Build());
  out.push_back(FamilyBuilder("rampart_cp_events_received_total", "Fleet events stored since start.",
                              MetricType::Counter)
                    .Add(static_cast<double>(received))
                    .Build());
  out.push_back(FamilyBuilder("rampart_cp_events_duplicates_total",
                              "Events sent again by agents after a reconnect, already stored.", MetricType::Counter)
                    .Add(static_cast<double>(duplicates))
                    .Build());
  out.push_back(FamilyBuilder("rampart_cp_events_expired_total", "Events removed by the retention bounds.",
                              MetricType::Counter)
                    .Add(static_cast<double>(events.expired()))
                    .Build());
  out.push_back(FamilyBuilder("rampart_cp_agent_events_dropped",
                              "Events the agents report they lost to their bounded queues (their current runs).",
                              MetricType::Gauge)
                    .Add(static_cast<double>(agent_dropped))
                    .Build());
  return out;
}

}  // namespace rampart::cp

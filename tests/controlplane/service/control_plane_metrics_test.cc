// rampart-cp's metrics: the policy version, nodes by sync status (every status
// present, zero or not), and the fleet events it holds and received.
#include "controlplane/service/control_plane_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/metrics/metric_families.h"

namespace rampart::cp {
namespace {

using ::testing::HasSubstr;

TEST(ControlPlaneMetrics, CountNodesByStatusAndTheEventsHeld) {
  v1::ListNodesReply nodes;
  nodes.set_current_version(12);
  for (auto status : {v1::NODE_SYNC_STATUS_IN_SYNC, v1::NODE_SYNC_STATUS_IN_SYNC, v1::NODE_SYNC_STATUS_REFUSED}) {
    nodes.add_nodes()->set_status(status);
  }
  v1::EventStats events;
  events.set_stored(30);
  events.set_expired(4);
  auto* a = events.add_nodes();
  a->set_received(20);
  a->set_duplicates(1);
  auto* b = events.add_nodes();
  b->set_received(14);
  b->set_agent_dropped(6);

  const std::string text = metrics::ToText(ControlPlaneMetrics(nodes, events));

  EXPECT_THAT(text, HasSubstr("rampart_cp_policy_version 12"));
  EXPECT_THAT(text, HasSubstr("rampart_cp_nodes{status=\"in_sync\"} 2"));
  EXPECT_THAT(text, HasSubstr("rampart_cp_nodes{status=\"refused\"} 1"));
  EXPECT_THAT(text, HasSubstr("rampart_cp_nodes{status=\"pending\"} 0"));
  EXPECT_THAT(text, HasSubstr("rampart_cp_events_stored 30"));
  EXPECT_THAT(text, HasSubstr("rampart_cp_events_received_total 34"));
  EXPECT_THAT(text, HasSubstr("rampart_cp_events_expired_total 4"));
  EXPECT_THAT(text, HasSubstr("rampart_cp_agent_events_dropped 6"));
}

}  // namespace
}  // namespace rampart::cp

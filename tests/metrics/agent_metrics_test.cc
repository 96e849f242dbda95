// rampartd's metrics, as Prometheus scrapes them: rampart_ names, counters
// ending in _total, drops split from forwarded packets by reason, one series
// per rule and per detector, and the control-plane state as a 0/1 gauge.
#include "agent/metrics/agent_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "agent/metrics/metric_families.h"

namespace rampart::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::AgentStatus SampleStatus() {
  v1::AgentStatus s;
  s.set_node_name("web-1");
  s.set_policy_version(7);
  s.set_policy_source("control-plane");
  s.mutable_control_plane()->set_state(v1::CONNECTION_STATE_CONNECTED);
  s.mutable_control_plane()->set_events_queued(3);
  s.mutable_control_plane()->set_events_dropped(2);
  auto reason = [&](const char* direction, const char* name, uint64_t packets) {
    auto* r = s.mutable_counters()->add_by_reason();
    r->set_direction(direction);
    r->set_reason(name);
    r->set_packets(packets);
  };
  reason("ingress", "drop_default", 40);
  reason("ingress", "allow_rule", 1000);
  reason("egress", "drop_confined", 5);
  auto* rule = s.mutable_counters()->add_by_rule();
  rule->set_direction("ingress");
  rule->set_policy("web");
  rule->set_rule("http");
  rule->set_packets(1000);
  auto* error = s.mutable_counters()->add_errors();
  error->set_error("ringbuf_full");
  error->set_count(9);
  s.mutable_capture()->set_bytes_captured(123456);
  s.mutable_capture()->set_bytes_truncated(100);
  s.mutable_capture()->set_chunks_lost(4);
  (*s.mutable_inspection()->mutable_findings_by_detector())["dlp.card_number"] = 11;
  (*s.mutable_inspection()->mutable_findings_by_detector())["attack.sqli"] = 2;
  return s;
}

TEST(AgentMetrics, ExposeDropsByReasonApartFromForwardedPackets) {
  const std::string text = ToText(AgentMetrics(SampleStatus()));
  EXPECT_THAT(text, HasSubstr("# TYPE rampart_drops_total counter"));
  EXPECT_THAT(text, HasSubstr("rampart_drops_total{direction=\"ingress\",reason=\"drop_default\"} 40"));
  EXPECT_THAT(text, HasSubstr("rampart_drops_total{direction=\"egress\",reason=\"drop_confined\"} 5"));
  EXPECT_THAT(text, HasSubstr("rampart_forwarded_packets_total{direction=\"ingress\",reason=\"allow_rule\"} 1000"));
  EXPECT_THAT(text, Not(HasSubstr("rampart_drops_total{direction=\"ingress\",reason=\"allow_rule\"")));
}

TEST(AgentMetrics, ExposeRuleHitsRingBufferLossesCaptureAndFindings) {
  const std::string text = ToText(AgentMetrics(SampleStatus()));
  EXPECT_THAT(text, HasSubstr("rampart_rule_hits_total{direction=\"ingress\",policy=\"web\",rule=\"http\"} 1000"));
  EXPECT_THAT(text, HasSubstr("rampart_datapath_errors_total{error=\"ringbuf_full\"} 9"));
  EXPECT_THAT(text, HasSubstr("rampart_capture_bytes_total{outcome=\"captured\"} 123456"));
  EXPECT_THAT(text, HasSubstr("rampart_capture_ringbuf_lost_chunks_total 4"));
  EXPECT_THAT(text, HasSubstr("rampart_findings_total{detector=\"dlp.card_number\"} 11"));
  EXPECT_THAT(text, HasSubstr("rampart_findings_total{detector=\"attack.sqli\"} 2"));
}

TEST(AgentMetrics, ExposeWhetherTheCaptureReaderIsRaisedAndItsStepsDown) {
  v1::AgentStatus s = SampleStatus();
  s.mutable_capture()->set_reader_scheduling("high");
  s.mutable_capture()->set_reader_demotions(3);
  std::string text = ToText(AgentMetrics(s));
  EXPECT_THAT(text, HasSubstr("rampart_capture_reader_raised 1"));
  EXPECT_THAT(text, HasSubstr("rampart_capture_reader_demotions_total 3"));
  s.mutable_capture()->set_reader_scheduling("realtime");
  EXPECT_THAT(ToText(AgentMetrics(s)), HasSubstr("rampart_capture_reader_raised 1"));
  s.mutable_capture()->set_reader_scheduling("normal");
  EXPECT_THAT(ToText(AgentMetrics(s)), HasSubstr("rampart_capture_reader_raised 0"));
}

TEST(AgentMetrics, ExposePolicyVersionAndControlPlaneState) {
  const std::string text = ToText(AgentMetrics(SampleStatus()));
  EXPECT_THAT(text, HasSubstr("rampart_policy_version{source=\"control-plane\"} 7"));
  EXPECT_THAT(text, HasSubstr("rampart_control_plane_connection_state{state=\"connected\"} 1"));
  EXPECT_THAT(text, HasSubstr("rampart_control_plane_connection_state{state=\"disconnected\"} 0"));
  EXPECT_THAT(text, HasSubstr("rampart_control_plane_events_queued 3"));
  EXPECT_THAT(text, HasSubstr("rampart_agent_info{node=\"web-1\",version=\"" RAMPART_VERSION "\"} 1"));
}

// Prometheus naming: every family is rampart_*, snake_case; counters end in
// _total and nothing else does.
TEST(AgentMetrics, FollowPrometheusNamingConventions) {
  const std::regex name("rampart_[a-z0-9_]+");
  for (const auto& family : AgentMetrics(SampleStatus())) {
    EXPECT_TRUE(std::regex_match(family.name, name)) << family.name;
    const bool total = family.name.size() > 6 && family.name.compare(family.name.size() - 6, 6, "_total") == 0;
    EXPECT_EQ(total, family.type == prometheus::MetricType::Counter) << family.name;
    EXPECT_FALSE(family.help.empty()) << family.name;
  }
}

}  // namespace
}  // namespace rampart::metrics

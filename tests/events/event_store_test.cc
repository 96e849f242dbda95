// What a control-plane replica keeps of the fleet's events: each event once
// per node and agent run, at most max_events of them and none older than
// max_age, in arrival order for followers.
#include "controlplane/events/event_store.h"

#include <gtest/gtest.h>

#include <vector>

namespace rampart::cp {
namespace {

using namespace std::chrono_literals;

v1::AgentEvent FindingEvent(uint64_t seq, const std::string& detector = "dlp.card_number",
                            const std::string& severity = "high") {
  v1::AgentEvent event;
  event.set_seq(seq);
  event.mutable_finding()->set_detector(detector);
  event.mutable_finding()->set_severity(severity);
  event.mutable_finding()->set_masked_value("************1111");
  return event;
}

v1::EventReport Report(const std::string& run, std::vector<v1::AgentEvent> events, uint64_t dropped = 0) {
  v1::EventReport report;
  report.set_run_id(run);
  report.set_dropped(dropped);
  for (auto& e : events) *report.add_events() = std::move(e);
  return report;
}

class FakeClock {
 public:
  std::chrono::system_clock::time_point now = std::chrono::system_clock::time_point(1'800'000'000s);
  EventStore::Clock AsClock() {
    return [this] { return now; };
  }
};

v1::WatchEventsRequest AnyEvent() { return {}; }

TEST(EventStore, StoresEachEventOnceAndAcksTheHighestSequence) {
  EventStore store;
  auto first = store.Add("node-a", Report("run1", {FindingEvent(1), FindingEvent(2)}));
  EXPECT_EQ(first.acked_seq, 2u);
  EXPECT_EQ(first.added, 2u);

  // After a reconnect the agent sends again what it had not seen acked.
  auto again = store.Add("node-a", Report("run1", {FindingEvent(2), FindingEvent(3)}));
  EXPECT_EQ(again.acked_seq, 3u);
  EXPECT_EQ(again.added, 1u);

  auto events = store.Recent(AnyEvent(), 100);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].node(), "node-a");
  EXPECT_LT(events[0].id(), events[1].id());
  auto stats = store.Stats();
  ASSERT_EQ(stats.nodes_size(), 1);
  EXPECT_EQ(stats.nodes(0).received(), 3u);
  EXPECT_EQ(stats.nodes(0).duplicates(), 1u);
}

TEST(EventStore, ARestartedAgentStartsANewRunFromSequenceOne) {
  EventStore store;
  store.Add("node-a", Report("run1", {FindingEvent(1), FindingEvent(2)}));
  auto restarted = store.Add("node-a", Report("run2", {FindingEvent(1)}));
  EXPECT_EQ(restarted.added, 1u);
  EXPECT_EQ(restarted.acked_seq, 1u);
  EXPECT_EQ(store.Recent(AnyEvent(), 100).size(), 3u);
}

TEST(EventStore, NodesHaveSeparateSequences) {
  EventStore store;
  store.Add("node-a", Report("run", {FindingEvent(1)}));
  auto b = store.Add("node-b", Report("run", {FindingEvent(1)}));
  EXPECT_EQ(b.added, 1u);
  EXPECT_EQ(store.Recent(AnyEvent(), 100).size(), 2u);
}

TEST(EventStore, KeepsAtMostMaxEventsDroppingTheOldest) {
  EventStore store(EventRetention{.max_events = 3, .max_age = 3600s});
  for (uint64_t seq = 1; seq <= 5; ++seq) store.Add("node-a", Report("run", {FindingEvent(seq)}));
  auto events = store.Recent(AnyEvent(), 100);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events.front().id(), 3u);
  EXPECT_EQ(events.back().id(), 5u);
  EXPECT_EQ(store.Stats().expired(), 2u);
}

TEST(EventStore, ForgetsEventsOlderThanMaxAge) {
  FakeClock clock;
  EventStore store(EventRetention{.max_events = 100, .max_age = 60s}, clock.AsClock());
  store.Add("node-a", Report("run", {FindingEvent(1)}));
  clock.now += 30s;
  store.Add("node-a", Report("run", {FindingEvent(2)}));
  clock.now += 45s;  // the first is 75 s old, the second 45 s
  auto events = store.Recent(AnyEvent(), 100);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id(), 2u);
}

TEST(EventStore, RecentReturnsTheNewestMatchesOldestFirst) {
  EventStore store;
  store.Add("node-a", Report("run", {FindingEvent(1, "dlp.card_number", "high"), FindingEvent(2, "attack.sqli", "medium"),
                                     FindingEvent(3, "dlp.us_ssn", "low"), FindingEvent(4, "dlp.iban", "critical")}));
  v1::WatchEventsRequest dlp;
  dlp.set_detector("dlp");
  auto newest_two = store.Recent(dlp, 2);
  ASSERT_EQ(newest_two.size(), 2u);
  EXPECT_EQ(newest_two[0].finding().detector(), "dlp.us_ssn");
  EXPECT_EQ(newest_two[1].finding().detector(), "dlp.iban");

  v1::WatchEventsRequest severe;
  severe.set_min_severity("high");
  auto high = store.Recent(severe, 100);
  ASSERT_EQ(high.size(), 2u);
  EXPECT_EQ(high[0].finding().detector(), "dlp.card_number");
  EXPECT_EQ(high[1].finding().detector(), "dlp.iban");
}

TEST(EventStore, KindAndNodeFiltersSeparateFindingsFromDropSummaries) {
  EventStore store;
  v1::AgentEvent drops;
  drops.set_seq(2);
  drops.mutable_drops()->set_dropped_packets(7);
  store.Add("node-a", Report("run", {FindingEvent(1), drops}));
  store.Add("node-b", Report("run", {FindingEvent(1)}));

  v1::WatchEventsRequest only_drops;
  only_drops.set_kind(v1::WatchEventsRequest::KIND_DROPS);
  auto d = store.Recent(only_drops, 100);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].drops().dropped_packets(), 7u);

  v1::WatchEventsRequest node_b;
  node_b.set_node("node-b");
  EXPECT_EQ(store.Recent(node_b, 100).size(), 1u);

  // A finding filter never matches a drop summary.
  v1::WatchEventsRequest detector;
  detector.set_detector("dlp");
  for (const auto& e : store.Recent(detector, 100)) EXPECT_TRUE(e.has_finding());
}

TEST(EventStore, SubscribersSeeNewEventsInIdOrder) {
  EventStore store;
  std::vector<uint64_t> seen;
  int token = store.Subscribe([&](const v1::FleetEvent& e) { seen.push_back(e.id()); });
  store.Add("node-a", Report("run", {FindingEvent(1), FindingEvent(2)}));
  store.Add("node-b", Report("run", {FindingEvent(1)}));
  store.Unsubscribe(token);
  store.Add("node-b", Report("run", {FindingEvent(2)}));
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2, 3}));
}

TEST(EventStore, ShowsWhatTheAgentLost) {
  EventStore store;
  store.Add("node-a", Report("run", {FindingEvent(40)}, /*dropped=*/39));
  auto stats = store.Stats();
  ASSERT_EQ(stats.nodes_size(), 1);
  EXPECT_EQ(stats.nodes(0).agent_dropped(), 39u);
  EXPECT_EQ(stats.stored(), 1u);
}

}  // namespace
}  // namespace rampart::cp

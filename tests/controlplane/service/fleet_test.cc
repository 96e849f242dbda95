// The control plane's fleet view: which policies each node gets, what each node
// reported, what a sync session sends it (content a node refused is not sent
// again until it changes), and how versions are debounced on their way out.
#include "controlplane/service/fleet.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace rampart::cp {
namespace {

using namespace std::chrono_literals;
using Labels = std::map<std::string, std::string>;

v1::Policy MakePolicy(const std::string& name, const Labels& selector = {}) {
  v1::Policy policy;
  policy.mutable_metadata()->set_name(name);
  for (const auto& [key, value] : selector) (*policy.mutable_spec()->mutable_node_selector())[key] = value;
  return policy;
}

v1::PolicyVersion MakeVersion(uint64_t number, std::vector<v1::Policy> policies = {}) {
  v1::PolicyVersion version;
  version.set_version(number);
  for (v1::Policy& policy : policies) *version.add_policies() = std::move(policy);
  return version;
}

std::vector<std::string> Names(const v1::PolicyBundle& bundle) {
  std::vector<std::string> names;
  for (const v1::Policy& policy : bundle.policies()) names.push_back(policy.metadata().name());
  return names;
}

// The state Nodes() lists for `name`; a test failure when it is not listed.
v1::NodeState NodeState(const Fleet& fleet, const std::string& name) {
  const v1::ListNodesReply reply = fleet.Nodes();
  for (const v1::NodeState& node : reply.nodes()) {
    if (node.name() == name) return node;
  }
  ADD_FAILURE() << "node " << name << " is not listed";
  return {};
}

// --- BundleForNode: selection by nodeSelector ---

TEST(BundleForNodeTest, PolicyWithoutSelectorGoesToEveryNode) {
  v1::PolicyVersion version = MakeVersion(5, {MakePolicy("base")});

  EXPECT_EQ(Names(BundleForNode(version, {})), std::vector<std::string>{"base"});
  EXPECT_EQ(Names(BundleForNode(version, {{"role", "web"}})), std::vector<std::string>{"base"});
}

TEST(BundleForNodeTest, PolicyGoesToNodesCarryingEverySelectorLabel) {
  v1::PolicyVersion version = MakeVersion(5, {MakePolicy("web", {{"role", "web"}, {"zone", "a"}})});

  EXPECT_EQ(Names(BundleForNode(version, {{"role", "web"}, {"zone", "a"}, {"rack", "12"}})),
            std::vector<std::string>{"web"});
}

TEST(BundleForNodeTest, NodeMissingASelectorLabelDoesNotGetThePolicy) {
  v1::PolicyVersion version = MakeVersion(5, {MakePolicy("web", {{"role", "web"}, {"zone", "a"}})});

  EXPECT_TRUE(Names(BundleForNode(version, {{"role", "web"}})).empty());
  EXPECT_TRUE(Names(BundleForNode(version, {})).empty());
}

TEST(BundleForNodeTest, NodeWithADifferentLabelValueDoesNotGetThePolicy) {
  v1::PolicyVersion version = MakeVersion(5, {MakePolicy("web", {{"role", "web"}})});

  EXPECT_TRUE(Names(BundleForNode(version, {{"role", "db"}})).empty());
  EXPECT_TRUE(Names(BundleForNode(version, {{"role", "Web"}})).empty());
}

TEST(BundleForNodeTest, BundleCarriesTheVersionAndTheSelectedPoliciesInOrder) {
  v1::PolicyVersion version = MakeVersion(9, {
                                                 MakePolicy("base"),
                                                 MakePolicy("db", {{"role", "db"}}),
                                                 MakePolicy("web", {{"role", "web"}}),
                                                 MakePolicy("audit"),
                                             });

  v1::PolicyBundle bundle = BundleForNode(version, {{"role", "web"}});

  EXPECT_EQ(bundle.version(), 9u);
  EXPECT_EQ(Names(bundle), (std::vector<std::string>{"base", "web", "audit"}));
}

TEST(BundleForNodeTest, NodeSelectingNothingStillGetsTheVersion) {
  // An empty bundle of version N tells the node to remove its policies.
  v1::PolicyBundle bundle = BundleForNode(MakeVersion(4, {MakePolicy("web", {{"role", "web"}})}), {{"role", "db"}});

  EXPECT_EQ(bundle.version(), 4u);
  EXPECT_EQ(bundle.policies_size(), 0);
}

// --- Fleet: what each node reported ---

constexpr char kDigestA[] = "digest-a";
constexpr char kDigestB[] = "digest-b";

TEST(FleetTest, ConnectedNodeIsListedWithItsLabelsAndAppliedVersion) {
  Fleet fleet(MakeVersion(3));

  fleet.Connected("node-a", {{"role", "web"}}, 2, "1.0");

  v1::NodeState node = NodeState(fleet, "node-a");
  EXPECT_TRUE(node.connected());
  EXPECT_EQ(node.applied_version(), 2u);
  EXPECT_EQ(node.agent_version(), "1.0");
  ASSERT_EQ(node.labels().size(), 1u);
  EXPECT_EQ(node.labels().at("role"), "web");
}

TEST(FleetTest, ReconnectingNodeReplacesItsLabels) {
  Fleet fleet(MakeVersion(3));
  const uint64_t session = fleet.Connected("node-a", {{"role", "web"}, {"zone", "a"}}, 2, "1.0");
  fleet.Disconnected("node-a", session);

  fleet.Connected("node-a", {{"role", "db"}}, 3, "1.0");

  v1::NodeState node = NodeState(fleet, "node-a");
  EXPECT_TRUE(node.connected());
  EXPECT_EQ(node.applied_version(), 3u);
  ASSERT_EQ(node.labels().size(), 1u);
  EXPECT_EQ(node.labels().at("role"), "db");
}

TEST(FleetTest, TheEndOfAReplacedStreamDoesNotMarkTheReconnectedNodeGone) {
  Fleet fleet(MakeVersion(3));
  const uint64_t old_session = fleet.Connected("node-a", {}, 3, "1.0");
  fleet.Connected("node-a", {}, 3, "1.0");  // the agent reconnected before the old stream ended

  fleet.Disconnected("node-a", old_session);

  EXPECT_TRUE(NodeState(fleet, "node-a").connected());
}

TEST(FleetTest, SentVersionIsRecordedWithoutChangingTheAppliedVersion) {
  Fleet fleet(MakeVersion(3));
  fleet.Connected("node-a", {}, 2, "1.0");

  fleet.Sent("node-a", 3);

  v1::NodeState node = NodeState(fleet, "node-a");
  EXPECT_EQ(node.sent_version(), 3u);
  EXPECT_EQ(node.applied_version(), 2u);
}

TEST(FleetTest, AckMakesTheVersionApplied) {
  Fleet fleet(MakeVersion(3));
  fleet.Connected("node-a", {}, 2, "1.0");
  fleet.Sent("node-a", 3);

  fleet.Acked("node-a", 3, kDigestA);

  EXPECT_EQ(NodeState(fleet, "node-a").applied_version(), 3u);
}

TEST(FleetTest, NackRecordsTheVersionAndEachErrorAndKeepsTheAppliedVersion) {
  Fleet fleet(MakeVersion(4));
  fleet.Connected("node-a", {}, 3, "1.0");
  fleet.Sent("node-a", 4);
  v1::PolicyError interface_error, port_error;
  interface_error.set_policy("web");
  interface_error.set_message("web.yaml:7: spec.interfaces[1]: interface \"eth9\" does not exist on this node");
  port_error.set_policy("db");
  port_error.set_message("db.yaml:9: spec.segmentation.ingress.allow[0].ports[0]: bad port");

  fleet.Nacked("node-a", 4, kDigestA, {interface_error, port_error});

  v1::NodeState node = NodeState(fleet, "node-a");
  EXPECT_EQ(node.applied_version(), 3u);
  EXPECT_EQ(node.refused_version(), 4u);
  ASSERT_EQ(node.errors_size(), 2);
  EXPECT_EQ(node.errors(0).policy(), "web");
  EXPECT_EQ(node.errors(1).policy(), "db");
  EXPECT_EQ(node.last_error(),
            "version 4: web.yaml:7: spec.interfaces[1]: interface \"eth9\" does not exist on this node; "
            "db.yaml:9: spec.segmentation.ingress.allow[0].ports[0]: bad port");
}

TEST(FleetTest, RefusalIsShownOnOneLineEvenWhenTheAgentSentSeveral) {
  Fleet fleet(MakeVersion(4));
  fleet.Connected("node-a", {}, 3, "1.0");
  v1::PolicyError error;
  error.set_policy("web");
  error.set_message("first line\nsecond line");

  fleet.Nacked("node-a", 4, kDigestA, {error});

  EXPECT_EQ(NodeState(fleet, "node-a").last_error(), "version 4: web: first line second line");
}

TEST(FleetTest, AckClearsThePreviousError) {
  Fleet fleet(MakeVersion(5));
  fleet.Connected("node-a", {}, 3, "1.0");
  fleet.Nacked("node-a", 4, kDigestA, {});

  fleet.Acked("node-a", 5, kDigestB);

  v1::NodeState node = NodeState(fleet, "node-a");
  EXPECT_EQ(node.applied_version(), 5u);
  EXPECT_EQ(node.last_error(), "");
  EXPECT_EQ(node.errors_size(), 0);
  EXPECT_EQ(node.refused_version(), 0u);
}

TEST(FleetTest, DisconnectedNodeStaysListedAsNotConnected) {
  Fleet fleet(MakeVersion(3));
  const uint64_t session = fleet.Connected("node-a", {{"role", "web"}}, 3, "1.0");

  fleet.Disconnected("node-a", session);

  v1::NodeState node = NodeState(fleet, "node-a");
  EXPECT_FALSE(node.connected());
  EXPECT_EQ(node.status(), v1::NODE_SYNC_STATUS_DISCONNECTED);
  EXPECT_EQ(node.applied_version(), 3u);
  EXPECT_EQ(node.labels().at("role"), "web");
}

TEST(FleetTest, EachNodeKeepsItsOwnState) {
  Fleet fleet(MakeVersion(3));
  fleet.Connected("node-a", {}, 3, "1.0");
  fleet.Connected("node-b", {}, 1, "1.0");

  fleet.Nacked("node-b", 3, kDigestA, {});

  EXPECT_EQ(fleet.Nodes().nodes_size(), 2);
  EXPECT_EQ(NodeState(fleet, "node-a").last_error(), "");
  EXPECT_NE(NodeState(fleet, "node-b").last_error(), "");
  EXPECT_EQ(NodeState(fleet, "node-b").applied_version(), 1u);
}

// --- Fleet: what a sync session sends (NACK memory) ---

TEST(PushDecisionTest, TheFirstBundleOnAStreamIsSent) {
  Fleet fleet(MakeVersion(3));
  fleet.Connected("node-a", {}, 0, "1.0");

  EXPECT_EQ(fleet.Decide("node-a", kDigestA, ""), PushDecision::kSend);
}

TEST(PushDecisionTest, ContentTheStreamAlreadyCarriedIsNotSentAgain) {
  Fleet fleet(MakeVersion(3));
  fleet.Connected("node-a", {}, 0, "1.0");

  EXPECT_EQ(fleet.Decide("node-a", kDigestA, kDigestA), PushDecision::kAlreadySent);
}

TEST(PushDecisionTest, RefusedContentIsNotSentAgainOnTheSameStream) {
  Fleet fleet(MakeVersion(3));
  fleet.Connected("node-a", {}, 0, "1.0");
  fleet.Nacked("node-a", 3, kDigestA, {});

  EXPECT_EQ(fleet.Decide("node-a", kDigestA, kDigestA), PushDecision::kRefused);
}

TEST(PushDecisionTest, RefusedContentIsNotSentAfterTheNodeReconnects) {
  Fleet fleet(MakeVersion(3));
  const uint64_t session = fleet.Connected("node-a", {}, 2, "1.0");
  fleet.Nacked("node-a", 3, kDigestA, {});
  fleet.Disconnected("node-a", session);

  fleet.Connected("node-a", {}, 2, "1.0");

  EXPECT_EQ(fleet.Decide("node-a", kDigestA, ""), PushDecision::kRefused);
  EXPECT_EQ(NodeState(fleet, "node-a").status(), v1::NODE_SYNC_STATUS_REFUSED);
}

TEST(PushDecisionTest, ChangedContentIsSentAfterARefusal) {
  Fleet fleet(MakeVersion(3));
  fleet.Connected("node-a", {}, 2, "1.0");
  fleet.Nacked("node-a", 3, kDigestA, {});

  EXPECT_EQ(fleet.Decide("node-a", kDigestB, kDigestA), PushDecision::kSend);
}

TEST(PushDecisionTest, AnAckForgetsTheRefusal) {
  Fleet fleet(MakeVersion(3));
  fleet.Connected("node-a", {}, 2, "1.0");
  fleet.Nacked("node-a", 3, kDigestA, {});
  fleet.Acked("node-a", 4, kDigestB);

  // Content A comes back (say, a rollback): the node is asked again.
  EXPECT_EQ(fleet.Decide("node-a", kDigestA, kDigestB), PushDecision::kSend);
}

TEST(PushDecisionTest, AnotherAgentVersionIsOfferedWhatTheOldOneRefused) {
  Fleet fleet(MakeVersion(3));
  const uint64_t session = fleet.Connected("node-a", {}, 2, "1.0");
  fleet.Nacked("node-a", 3, kDigestA, {});
  fleet.Disconnected("node-a", session);

  fleet.Connected("node-a", {}, 2, "1.1");

  EXPECT_EQ(fleet.Decide("node-a", kDigestA, ""), PushDecision::kSend);
}

TEST(NodeStatusTest, InSyncOnceTheNodeAcknowledgedWhatTheCurrentVersionHoldsForIt) {
  Fleet fleet(MakeVersion(3));
  fleet.Connected("node-a", {}, 2, "1.0");
  fleet.Decide("node-a", kDigestA, "");
  EXPECT_EQ(NodeState(fleet, "node-a").status(), v1::NODE_SYNC_STATUS_PENDING);

  fleet.Acked("node-a", 3, kDigestA);

  EXPECT_EQ(NodeState(fleet, "node-a").status(), v1::NODE_SYNC_STATUS_IN_SYNC);
}

TEST(NodeStatusTest, PendingWhileTheCurrentContentIsNotAcknowledged) {
  Fleet fleet(MakeVersion(4));
  fleet.Connected("node-a", {}, 3, "1.0");
  fleet.Acked("node-a", 3, kDigestA);

  fleet.Decide("node-a", kDigestB, kDigestA);

  EXPECT_EQ(NodeState(fleet, "node-a").status(), v1::NODE_SYNC_STATUS_PENDING);
}

TEST(NodeStatusTest, RefusedWhileTheCurrentContentIsTheRefusedOne) {
  Fleet fleet(MakeVersion(4));
  fleet.Connected("node-a", {}, 3, "1.0");
  fleet.Decide("node-a", kDigestA, "");

  fleet.Nacked("node-a", 4, kDigestA, {});

  EXPECT_EQ(NodeState(fleet, "node-a").status(), v1::NODE_SYNC_STATUS_REFUSED);
}

TEST(NodeStatusTest, ANodeWithNothingToApplyIsInSync) {
  Fleet fleet(MakeVersion(0));

  fleet.Connected("node-a", {}, 0, "1.0");

  EXPECT_EQ(NodeState(fleet, "node-a").status(), v1::NODE_SYNC_STATUS_IN_SYNC);
}

// --- Fleet: the version in force and waiting for the next one ---

FleetOptions NoDebounce() {
  FleetOptions options;
  options.debounce = std::chrono::milliseconds(0);
  return options;
}

TEST(FleetTest, WithoutDebounceAPublishedVersionIsCurrentAtOnce) {
  Fleet fleet(MakeVersion(3), NoDebounce());

  fleet.Publish(MakeVersion(4, {MakePolicy("web")}));

  EXPECT_EQ(fleet.Current().version(), 4u);
  EXPECT_EQ(fleet.Current().policies_size(), 1);
  EXPECT_EQ(fleet.Publications(), 1u);
}

TEST(FleetTest, AVersionNotNewerThanThePublishedOneIsIgnored) {
  Fleet fleet(MakeVersion(5), NoDebounce());

  fleet.Publish(MakeVersion(5, {MakePolicy("web")}));
  fleet.Publish(MakeVersion(4));

  EXPECT_EQ(fleet.Current().version(), 5u);
  EXPECT_EQ(fleet.Current().policies_size(), 0);
  EXPECT_EQ(fleet.Publications(), 0u);
}

TEST(FleetDebounceTest, ABurstOfPublishesBecomesCurrentOnceAsItsNewestVersion) {
  Fleet fleet(MakeVersion(3));  // the default debounce, 100 ms

  for (uint64_t v = 4; v <= 13; ++v) fleet.Publish(MakeVersion(v));
  EXPECT_EQ(fleet.Current().version(), 3u) << "published before the burst was over";

  EXPECT_EQ(fleet.WaitForVersionAfter(3, 10s), 13u);
  std::this_thread::sleep_for(300ms);  // long enough for a second publication to show
  EXPECT_EQ(fleet.Current().version(), 13u);
  EXPECT_EQ(fleet.Publications(), 1u);
}

TEST(FleetDebounceTest, AVersionBecomesCurrentAboutTheDebounceAfterTheLastPublish) {
  Fleet fleet(MakeVersion(3));
  const auto start = std::chrono::steady_clock::now();

  fleet.Publish(MakeVersion(4));
  ASSERT_EQ(fleet.WaitForVersionAfter(3, 10s), 4u);

  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 100ms);
  EXPECT_LT(waited, 5s);
}

TEST(FleetDebounceTest, ASteadyStreamOfPublishesStillGoesOutWithinTheMaximumDelay) {
  FleetOptions options;
  options.debounce = 100ms;
  options.max_debounce = 300ms;
  Fleet fleet(MakeVersion(1), options);
  const auto start = std::chrono::steady_clock::now();

  // A publish every 20 ms for 1.5 s never leaves 100 ms of quiet.
  uint64_t first_seen_current = 0;
  for (uint64_t v = 2; std::chrono::steady_clock::now() - start < 1500ms; ++v) {
    fleet.Publish(MakeVersion(v));
    if (first_seen_current == 0 && fleet.Current().version() != 1) first_seen_current = fleet.Current().version();
    std::this_thread::sleep_for(20ms);
  }

  EXPECT_NE(first_seen_current, 0u) << "nothing went out while publishes kept coming";
  EXPECT_GE(fleet.Publications(), 2u);
}

TEST(FleetTest, WaitReturnsAtOnceWhenTheVersionAlreadyDiffers) {
  Fleet fleet(MakeVersion(3));
  const auto start = std::chrono::steady_clock::now();

  uint64_t version = fleet.WaitForVersionAfter(2, 10s);

  EXPECT_EQ(version, 3u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(FleetTest, WaitReturnsTheSameVersionAfterTheTimeoutWhenNothingIsPublished) {
  Fleet fleet(MakeVersion(3));
  const auto start = std::chrono::steady_clock::now();

  uint64_t version = fleet.WaitForVersionAfter(3, 100ms);

  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(version, 3u);
  EXPECT_GE(waited, 100ms);
  EXPECT_LT(waited, 5s);
}

TEST(FleetTest, WaitWakesWhenAnotherThreadPublishes) {
  Fleet fleet(MakeVersion(3));
  std::thread publisher([&fleet] {
    std::this_thread::sleep_for(100ms);
    fleet.Publish(MakeVersion(4));
  });
  const auto start = std::chrono::steady_clock::now();

  uint64_t version = fleet.WaitForVersionAfter(3, 30s);

  const auto waited = std::chrono::steady_clock::now() - start;
  publisher.join();
  EXPECT_EQ(version, 4u);
  EXPECT_LT(waited, 10s) << "the waiter was not woken by Publish";
}

}  // namespace
}  // namespace rampart::cp

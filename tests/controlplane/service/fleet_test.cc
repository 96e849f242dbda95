// The control plane's fleet view: which policies each node gets, what each node
// reported, and how sessions wait for a new version.
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

TEST(FleetTest, ConnectedNodeIsListedWithItsLabelsAndAppliedVersion) {
  Fleet fleet(MakeVersion(3));

  fleet.Connected("node-a", {{"role", "web"}}, 2);

  v1::NodeState node = NodeState(fleet, "node-a");
  EXPECT_TRUE(node.connected());
  EXPECT_EQ(node.applied_version(), 2u);
  ASSERT_EQ(node.labels().size(), 1u);
  EXPECT_EQ(node.labels().at("role"), "web");
}

TEST(FleetTest, ReconnectingNodeReplacesItsLabels) {
  Fleet fleet(MakeVersion(3));
  fleet.Connected("node-a", {{"role", "web"}, {"zone", "a"}}, 2);
  fleet.Disconnected("node-a");

  fleet.Connected("node-a", {{"role", "db"}}, 3);

  v1::NodeState node = NodeState(fleet, "node-a");
  EXPECT_TRUE(node.connected());
  EXPECT_EQ(node.applied_version(), 3u);
  ASSERT_EQ(node.labels().size(), 1u);
  EXPECT_EQ(node.labels().at("role"), "db");
}

TEST(FleetTest, SentVersionIsRecordedWithoutChangingTheAppliedVersion) {
  Fleet fleet(MakeVersion(3));
  fleet.Connected("node-a", {}, 2);

  fleet.Sent("node-a", 3);

  v1::NodeState node = NodeState(fleet, "node-a");
  EXPECT_EQ(node.sent_version(), 3u);
  EXPECT_EQ(node.applied_version(), 2u);
}

TEST(FleetTest, AckMakesTheVersionApplied) {
  Fleet fleet(MakeVersion(3));
  fleet.Connected("node-a", {}, 2);
  fleet.Sent("node-a", 3);

  fleet.Acked("node-a", 3);

  EXPECT_EQ(NodeState(fleet, "node-a").applied_version(), 3u);
}

TEST(FleetTest, NackRecordsTheVersionAndTheErrorAndKeepsTheAppliedVersion) {
  Fleet fleet(MakeVersion(4));
  fleet.Connected("node-a", {}, 3);
  fleet.Sent("node-a", 4);

  fleet.Nacked("node-a", 4, "web.yaml: spec.interfaces[1]: interface \"eth9\" does not exist on this node");

  v1::NodeState node = NodeState(fleet, "node-a");
  EXPECT_EQ(node.applied_version(), 3u);
  EXPECT_NE(node.last_error().find("version 4"), std::string::npos) << node.last_error();
  EXPECT_NE(node.last_error().find("interface \"eth9\" does not exist on this node"), std::string::npos)
      << node.last_error();
}

TEST(FleetTest, AckClearsThePreviousError) {
  Fleet fleet(MakeVersion(5));
  fleet.Connected("node-a", {}, 3);
  fleet.Nacked("node-a", 4, "bad policy");

  fleet.Acked("node-a", 5);

  v1::NodeState node = NodeState(fleet, "node-a");
  EXPECT_EQ(node.applied_version(), 5u);
  EXPECT_EQ(node.last_error(), "");
}

TEST(FleetTest, DisconnectedNodeStaysListedAsNotConnected) {
  Fleet fleet(MakeVersion(3));
  fleet.Connected("node-a", {{"role", "web"}}, 3);

  fleet.Disconnected("node-a");

  v1::NodeState node = NodeState(fleet, "node-a");
  EXPECT_FALSE(node.connected());
  EXPECT_EQ(node.applied_version(), 3u);
  EXPECT_EQ(node.labels().at("role"), "web");
}

TEST(FleetTest, EachNodeKeepsItsOwnState) {
  Fleet fleet(MakeVersion(3));
  fleet.Connected("node-a", {}, 3);
  fleet.Connected("node-b", {}, 1);

  fleet.Nacked("node-b", 3, "bad policy");

  EXPECT_EQ(fleet.Nodes().nodes_size(), 2);
  EXPECT_EQ(NodeState(fleet, "node-a").last_error(), "");
  EXPECT_NE(NodeState(fleet, "node-b").last_error(), "");
  EXPECT_EQ(NodeState(fleet, "node-b").applied_version(), 1u);
}

// --- Fleet: the version in force and waiting for the next one ---

TEST(FleetTest, PublishedVersionIsCurrent) {
  Fleet fleet(MakeVersion(3));

  fleet.Publish(MakeVersion(4, {MakePolicy("web")}));

  EXPECT_EQ(fleet.Current().version(), 4u);
  EXPECT_EQ(fleet.Current().policies_size(), 1);
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

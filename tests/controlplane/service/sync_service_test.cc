// The sync stream as an agent sees it, through a real gRPC server on
// 127.0.0.1 (plaintext; the node name comes from request metadata instead of a
// client certificate): pushes carry a version and a nonce, ACK and NACK are
// matched by nonce, and content a node refused is not sent to it again, on
// the same stream or after a reconnect, until it changes.
#include "controlplane/service/sync_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/common/strings.h"

namespace rampart::cp {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using Labels = std::map<std::string, std::string>;

constexpr char kNodeHeader[] = "x-test-node";
// How long a test waits to be sure something is NOT sent. A session decides
// at once when it connects or a version is published, so this is generous.
constexpr auto kQuiet = 700ms;

std::string NodeFromMetadata(const grpc::ServerContextBase& context) {
  auto it = context.client_metadata().find(kNodeHeader);
  if (it == context.client_metadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

v1::Policy MakePolicy(const std::string& name, const Labels& selector = {}, const std::string& port = "tcp/80") {
  v1::Policy policy;
  policy.set_api_version("rampart/v1");
  policy.set_kind("Policy");
  policy.mutable_metadata()->set_name(name);
  for (const auto& [k, v] : selector) (*policy.mutable_spec()->mutable_node_selector())[k] = v;
  auto* rule = policy.mutable_spec()->mutable_segmentation()->mutable_ingress()->add_allow();
  rule->set_name("app");
  rule->add_from("10.0.0.0/8");
  rule->add_ports(port);
  return policy;
}

v1::PolicyVersion MakeVersion(uint64_t number, std::vector<v1::Policy> policies) {
  v1::PolicyVersion version;
  version.set_version(number);
  for (auto& p : policies) *version.add_policies() = std::move(p);
  return version;
}

// One agent's stream: says hello, collects pushes, answers when told to.
class TestAgent {
 public:
  TestAgent(v1::AgentSync::Stub& stub, const std::string& node, const Labels& labels, uint64_t applied = 0,
            const std::string& agent_version = "1.0", const std::string& hello_name = "") {
    context_.AddMetadata(kNodeHeader, node);
    stream_ = stub.Sync(&context_);
    v1::AgentMessage hello;
    hello.mutable_hello()->set_node_name(hello_name.empty() ? node : hello_name);
    hello.mutable_hello()->set_applied_version(applied);
    hello.mutable_hello()->set_agent_version(agent_version);
    for (const auto& [k, v] : labels) (*hello.mutable_hello()->mutable_labels())[k] = v;
    stream_->Write(hello);
    reader_ = std::thread([this] {
      v1::ControlMessage message;
      while (stream_->Read(&message)) {
        std::lock_guard lock(mu_);
        if (message.has_push()) pushes_.push_back(message.push());
        arrived_.notify_all();
      }
      std::lock_guard lock(mu_);
      ended_ = true;
      arrived_.notify_all();
    });
  }

  ~TestAgent() { Close(); }

  // The next push, or nullopt when none arrives within `timeout`.
  std::optional<v1::BundlePush> NextPush(std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    if (!arrived_.wait_for(lock, timeout, [&] { return !pushes_.empty() || ended_; }) || pushes_.empty()) {
      return std::nullopt;
    }
    v1::BundlePush push = pushes_.front();
    pushes_.pop_front();
    return push;
  }

  // How the server ended the stream; waits for it.
  grpc::Status Finish() {
    reader_.join();
    return stream_->Finish();
  }

  void Ack(const v1::BundlePush& push) {
    v1::AgentMessage reply;
    reply.mutable_ack()->set_version(push.version());
    reply.mutable_ack()->set_nonce(push.nonce());
    stream_->Write(reply);
  }

  void Nack(const v1::BundlePush& push, const std::string& policy, const std::string& error) {
    v1::AgentMessage reply;
    reply.mutable_nack()->set_version(push.version());
    reply.mutable_nack()->set_nonce(push.nonce());
    auto* e = reply.mutable_nack()->add_errors();
    e->set_policy(policy);
    e->set_message(error);
    stream_->Write(reply);
  }

  void AckWithNonce(uint64_t version, const std::string& nonce) {
    v1::AgentMessage reply;
    reply.mutable_ack()->set_version(version);
    reply.mutable_ack()->set_nonce(nonce);
    stream_->Write(reply);
  }

  void Close() {
    if (!reader_.joinable()) return;
    stream_->WritesDone();
    context_.TryCancel();
    reader_.join();
    stream_->Finish();
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AgentMessage, v1::ControlMessage>> stream_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable arrived_;
  std::deque<v1::BundlePush> pushes_;
  bool ended_ = false;
};

class SyncServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FleetOptions fleet_options;
    fleet_options.debounce = 0ms;
    fleet_ = std::make_unique<Fleet>(MakeVersion(1, {MakePolicy("web", {{"role", "web"}})}), fleet_options);
    sync_ = std::make_unique<SyncService>(*fleet_, Options());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(sync_.get());
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_ != nullptr);
    ASSERT_NE(port, 0);
    stub_ = v1::AgentSync::NewStub(
        grpc::CreateChannel(StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  virtual SyncOptions Options() {
    SyncOptions options;
    options.identity = NodeFromMetadata;
    return options;
  }

  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + 5s);
  }

  v1::NodeState Node(const std::string& name) {
    const v1::ListNodesReply nodes = fleet_->Nodes();
    for (const auto& n : nodes.nodes()) {
      if (n.name() == name) return n;
    }
    ADD_FAILURE() << "node " << name << " is not listed";
    return {};
  }

  // Waits until `predicate` holds for the node's state; false after 10 s.
  template <typename Predicate>
  bool WaitForNode(const std::string& name, Predicate predicate) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      const v1::ListNodesReply nodes = fleet_->Nodes();
      for (const auto& n : nodes.nodes()) {
        if (n.name() == name && predicate(n)) return true;
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  std::unique_ptr<Fleet> fleet_;
  std::unique_ptr<SyncService> sync_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::AgentSync::Stub> stub_;
};

TEST_F(SyncServiceTest, PushCarriesTheVersionANonceAndTheNodesPolicies) {
  fleet_->Publish(MakeVersion(2, {MakePolicy("web", {{"role", "web"}}), MakePolicy("db", {{"role", "db"}})}));
  TestAgent agent(*stub_, "node-a", {{"role", "web"}});

  std::optional<v1::BundlePush> push = agent.NextPush();

  ASSERT_TRUE(push.has_value());
  EXPECT_EQ(push->version(), 2u);
  EXPECT_EQ(push->bundle().version(), 2u);
  EXPECT_EQ(push->nonce().size(), 16u);
  ASSERT_EQ(push->bundle().policies_size(), 1);
  EXPECT_EQ(push->bundle().policies(0).metadata().name(), "web");
  EXPECT_TRUE(WaitForNode("node-a", [](const v1::NodeState& n) { return n.sent_version() == 2; }));
}

TEST_F(SyncServiceTest, AckMakesTheNodeInSyncWithTheAckedVersionApplied) {
  TestAgent agent(*stub_, "node-a", {{"role", "web"}});
  std::optional<v1::BundlePush> push = agent.NextPush();
  ASSERT_TRUE(push.has_value());

  agent.Ack(*push);

  EXPECT_TRUE(WaitForNode("node-a", [](const v1::NodeState& n) {
    return n.status() == v1::NODE_SYNC_STATUS_IN_SYNC && n.applied_version() == 1;
  })) << Node("node-a").DebugString();
}

TEST_F(SyncServiceTest, NackIsRecordedWithItsErrorAndTheNodeShowsRefused) {
  TestAgent agent(*stub_, "node-a", {{"role", "web"}});
  std::optional<v1::BundlePush> push = agent.NextPush();
  ASSERT_TRUE(push.has_value());

  agent.Nack(*push, "web", "web.yaml:6: spec.interfaces[0]: interface \"eth9\" does not exist on this node");

  ASSERT_TRUE(WaitForNode("node-a", [](const v1::NodeState& n) { return n.status() == v1::NODE_SYNC_STATUS_REFUSED; }))
      << Node("node-a").DebugString();
  v1::NodeState node = Node("node-a");
  EXPECT_EQ(node.refused_version(), 1u);
  EXPECT_EQ(node.applied_version(), 0u);
  EXPECT_THAT(node.last_error(), HasSubstr("version 1: web.yaml:6: spec.interfaces[0]"));
  ASSERT_EQ(node.errors_size(), 1);
  EXPECT_EQ(node.errors(0).policy(), "web");
}

TEST_F(SyncServiceTest, RefusedContentIsNotResentOnTheSameStreamWhenANewVersionLeavesItUnchanged) {
  TestAgent agent(*stub_, "node-a", {{"role", "web"}});
  std::optional<v1::BundlePush> push = agent.NextPush();
  ASSERT_TRUE(push.has_value());
  agent.Nack(*push, "web", "bad");
  ASSERT_TRUE(WaitForNode("node-a", [](const v1::NodeState& n) { return n.refused_version() == 1; }));

  // Version 2 changes only what db nodes get: node-a's content is the refused one.
  fleet_->Publish(MakeVersion(2, {MakePolicy("web", {{"role", "web"}}), MakePolicy("db", {{"role", "db"}})}));

  EXPECT_FALSE(agent.NextPush(kQuiet).has_value()) << "the refused content was sent again";
  EXPECT_EQ(Node("node-a").status(), v1::NODE_SYNC_STATUS_REFUSED);
}

TEST_F(SyncServiceTest, RefusedContentIsNotResentAfterTheNodeReconnects) {
  {
    TestAgent agent(*stub_, "node-a", {{"role", "web"}}, 0);
    std::optional<v1::BundlePush> push = agent.NextPush();
    ASSERT_TRUE(push.has_value());
    agent.Nack(*push, "web", "bad");
    ASSERT_TRUE(WaitForNode("node-a", [](const v1::NodeState& n) { return n.refused_version() == 1; }));
  }
  ASSERT_TRUE(WaitForNode("node-a", [](const v1::NodeState& n) { return !n.connected(); }));

  TestAgent again(*stub_, "node-a", {{"role", "web"}}, 0);

  EXPECT_FALSE(again.NextPush(kQuiet).has_value()) << "the refused content was sent after the reconnect";
  v1::NodeState node = Node("node-a");
  EXPECT_TRUE(node.connected());
  EXPECT_EQ(node.status(), v1::NODE_SYNC_STATUS_REFUSED);
  EXPECT_THAT(node.last_error(), HasSubstr("bad"));
}

TEST_F(SyncServiceTest, ChangedContentIsSentAfterARefusalAndItsAckClearsTheError) {
  TestAgent agent(*stub_, "node-a", {{"role", "web"}});
  std::optional<v1::BundlePush> refused = agent.NextPush();
  ASSERT_TRUE(refused.has_value());
  agent.Nack(*refused, "web", "bad");
  ASSERT_TRUE(WaitForNode("node-a", [](const v1::NodeState& n) { return n.refused_version() == 1; }));

  fleet_->Publish(MakeVersion(2, {MakePolicy("web", {{"role", "web"}}, "tcp/443")}));
  std::optional<v1::BundlePush> fixed = agent.NextPush();

  ASSERT_TRUE(fixed.has_value());
  EXPECT_EQ(fixed->version(), 2u);
  EXPECT_NE(fixed->nonce(), refused->nonce());
  agent.Ack(*fixed);
  ASSERT_TRUE(WaitForNode("node-a", [](const v1::NodeState& n) { return n.status() == v1::NODE_SYNC_STATUS_IN_SYNC; }))
      << Node("node-a").DebugString();
  v1::NodeState node = Node("node-a");
  EXPECT_EQ(node.applied_version(), 2u);
  EXPECT_EQ(node.last_error(), "");
  EXPECT_EQ(node.errors_size(), 0);
}

TEST_F(SyncServiceTest, AnAcceptedBundleIsNotSentAgainWhenANewVersionLeavesItUnchanged) {
  TestAgent agent(*stub_, "node-a", {{"role", "web"}});
  std::optional<v1::BundlePush> push = agent.NextPush();
  ASSERT_TRUE(push.has_value());
  agent.Ack(*push);

  fleet_->Publish(MakeVersion(2, {MakePolicy("web", {{"role", "web"}}), MakePolicy("db", {{"role", "db"}})}));

  EXPECT_FALSE(agent.NextPush(kQuiet).has_value());
  EXPECT_EQ(Node("node-a").status(), v1::NODE_SYNC_STATUS_IN_SYNC);
}

TEST_F(SyncServiceTest, AnAnswerWithAnUnknownNonceChangesNothing) {
  TestAgent agent(*stub_, "node-a", {{"role", "web"}});
  std::optional<v1::BundlePush> push = agent.NextPush();
  ASSERT_TRUE(push.has_value());

  agent.AckWithNonce(push->version(), "not-a-nonce-we-sent");
  agent.Ack(*push);  // answers are handled in order: once this one shows, the first was handled

  ASSERT_TRUE(WaitForNode("node-a", [](const v1::NodeState& n) { return n.applied_version() == 1; }));
  fleet_->Publish(MakeVersion(2, {MakePolicy("web", {{"role", "web"}}, "tcp/443")}));
  std::optional<v1::BundlePush> next = agent.NextPush();
  ASSERT_TRUE(next.has_value());
  agent.AckWithNonce(next->version(), push->nonce());  // an old nonce, already answered
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(Node("node-a").applied_version(), 1u);
  EXPECT_EQ(Node("node-a").status(), v1::NODE_SYNC_STATUS_PENDING);
}

TEST_F(SyncServiceTest, ClosedStreamLeavesTheNodeListedAsDisconnected) {
  {
    TestAgent agent(*stub_, "node-a", {{"role", "web"}});
    ASSERT_TRUE(agent.NextPush().has_value());
  }

  EXPECT_TRUE(WaitForNode("node-a", [](const v1::NodeState& n) {
    return !n.connected() && n.status() == v1::NODE_SYNC_STATUS_DISCONNECTED;
  }));
}

TEST_F(SyncServiceTest, AStreamWithoutIdentityIsRejected) {
  grpc::ClientContext context;
  auto stream = stub_->Sync(&context);
  v1::AgentMessage hello;
  hello.mutable_hello()->set_node_name("node-a");
  stream->Write(hello);
  stream->WritesDone();
  v1::ControlMessage message;
  while (stream->Read(&message)) {
  }

  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(SyncServiceTest, AHelloForAnotherNodeIsRejected) {
  TestAgent agent(*stub_, "node-a", {}, 0, "1.0", /*hello_name=*/"node-b");

  grpc::Status status = agent.Finish();

  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("node-b"));
}

TEST_F(SyncServiceTest, DisconnectEndsOnlyThatNodesStreamWithPermissionDenied) {
  TestAgent deleted(*stub_, "node-a", {{"role", "web"}});
  TestAgent other(*stub_, "node-b", {{"role", "web"}});
  ASSERT_TRUE(deleted.NextPush().has_value());
  ASSERT_TRUE(other.NextPush().has_value());
  EXPECT_THAT(sync_->ConnectedNodes(), ::testing::ElementsAre("node-a", "node-b"));

  EXPECT_EQ(sync_->Disconnect("node-a"), 1u);

  grpc::Status status = deleted.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(), "node deleted");
  EXPECT_TRUE(WaitForNode("node-a", [](const v1::NodeState& n) { return !n.connected(); }));
  EXPECT_THAT(sync_->ConnectedNodes(), ::testing::ElementsAre("node-b"));
  // The other node's stream carries on.
  fleet_->Publish(MakeVersion(2, {MakePolicy("web", {{"role", "web"}}, "tcp/443")}));
  std::optional<v1::BundlePush> next = other.NextPush();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->version(), 2u);
  EXPECT_TRUE(Node("node-b").connected());
}

TEST_F(SyncServiceTest, DisconnectEndsEveryStreamOfTheNodeAndFindsNoneOfAnUnknownNode) {
  TestAgent first(*stub_, "node-a", {{"role", "web"}});
  TestAgent second(*stub_, "node-a", {{"role", "web"}});
  ASSERT_TRUE(first.NextPush().has_value());
  ASSERT_TRUE(second.NextPush().has_value());

  EXPECT_EQ(sync_->Disconnect("node-z"), 0u);
  EXPECT_EQ(sync_->Disconnect("node-a"), 2u);

  EXPECT_EQ(first.Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(second.Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(sync_->ConnectedNodes().empty());
  EXPECT_EQ(sync_->Disconnect("node-a"), 0u);
}

// Pushes paced at 20 a second after a burst of one: one every 50 ms.
class PacedSyncServiceTest : public SyncServiceTest {
 protected:
  SyncOptions Options() override {
    SyncOptions options = SyncServiceTest::Options();
    options.pushes_per_second = 20;
    options.push_burst = 1;
    return options;
  }
};

TEST_F(PacedSyncServiceTest, PushesToSeveralStreamsGoOutAtThePacersRate) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<TestAgent>> agents;
  for (const char* node : {"node-a", "node-b", "node-c", "node-d"}) {
    agents.push_back(std::make_unique<TestAgent>(*stub_, node, Labels{{"role", "web"}}));
  }

  for (auto& agent : agents) ASSERT_TRUE(agent->NextPush().has_value());

  // The first goes at once, the fourth three turns (150 ms) later.
  EXPECT_GE(std::chrono::steady_clock::now() - start, 140ms);
}

TEST_F(PacedSyncServiceTest, AVersionPublishedWhilePushesWaitForTheirTurnStillReachesEveryStream) {
  std::vector<std::unique_ptr<TestAgent>> agents;
  for (const char* node : {"node-a", "node-b", "node-c"}) {
    agents.push_back(std::make_unique<TestAgent>(*stub_, node, Labels{{"role", "web"}}));
  }
  fleet_->Publish(MakeVersion(2, {MakePolicy("web", {{"role", "web"}}, "tcp/443")}));

  for (auto& agent : agents) {
    std::optional<v1::BundlePush> push;
    do {
      push = agent->NextPush();
      ASSERT_TRUE(push.has_value()) << "version 2 never arrived";
      agent->Ack(*push);
    } while (push->version() != 2);
  }
  for (const char* node : {"node-a", "node-b", "node-c"}) {
    EXPECT_TRUE(WaitForNode(node, [](const v1::NodeState& n) {
      return n.status() == v1::NODE_SYNC_STATUS_IN_SYNC && n.applied_version() == 2;
    })) << Node(node).DebugString();
  }
}

}  // namespace
}  // namespace rampart::cp

// EtcdStore across a three-member etcd cluster: losing a member, even the
// leader, or the one a replica's watch is connected to, stops neither writes
// nor WaitForVersionAfter; endpoints that do not answer are skipped, and when
// none answers the error says which endpoints and which operation.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "controlplane/store/etcd_store.h"
#include "tests/controlplane/store/etcd_fixture.h"

namespace rampart::cp {
namespace {

using namespace std::chrono_literals;

v1::Policy MakePolicy(const std::string& port) {
  v1::Policy policy;
  policy.set_api_version("rampart/v1");
  policy.set_kind("Policy");
  policy.mutable_metadata()->set_name("web");
  policy.mutable_spec()->add_interfaces("eth0");
  policy.mutable_spec()->mutable_segmentation()->mutable_ingress()->add_allow()->add_ports(port);
  return policy;
}

std::unique_ptr<EtcdStore> MustOpen(const std::vector<std::string>& endpoints) {
  EtcdOptions options;
  options.endpoints = endpoints;
  options.prefix = "/rampart-ha/";
  options.timeout = 5s;
  auto store = EtcdStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

// Waits on `waiter` for a version after `seen` while `writer` appends; the
// waiter must wake well before its own timeout.
void ExpectWaiterWakesOnAppend(Store& waiter, Store& writer, uint64_t seen) {
  const auto start = std::chrono::steady_clock::now();
  auto woke = std::async(std::launch::async, [&] { return waiter.WaitForVersionAfter(seen, 20s); });
  std::this_thread::sleep_for(200ms);
  auto appended = writer.Append({MakePolicy("tcp/443")}, "alice", "after the failure", seen);
  ASSERT_TRUE(appended.ok()) << appended.status();
  absl::StatusOr<uint64_t> version = woke.get();
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, seen + 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "the waiter did not notice the append promptly";
}

class EtcdHa : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = EtcdCluster::Start(3);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
  }

  std::unique_ptr<EtcdCluster> cluster_;
};

TEST_F(EtcdHa, KillingTheLeaderStopsNeitherAppendsNorWaiters) {
  auto leader = cluster_->Leader();
  ASSERT_TRUE(leader.ok()) << leader.status();
  // Both replicas prefer the leader's endpoint, so they lose their connection
  // (and the waiter its watch) with it.
  std::vector<std::string> endpoints = {cluster_->ClientEndpoint(*leader)};
  for (int i = 0; i < cluster_->size(); ++i) {
    if (i != *leader) endpoints.push_back(cluster_->ClientEndpoint(i));
  }
  std::unique_ptr<EtcdStore> writer = MustOpen(endpoints);
  std::unique_ptr<EtcdStore> waiter = MustOpen(endpoints);
  ASSERT_NE(writer, nullptr);
  ASSERT_NE(waiter, nullptr);
  ASSERT_TRUE(writer->Append({MakePolicy("tcp/80")}, "alice", "before", 0).ok());

  ASSERT_TRUE(cluster_->Kill(*leader).ok());

  auto appended = writer->Append({MakePolicy("tcp/8080")}, "alice", "without the old leader", 1);
  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_EQ(appended->version(), 2u);
  auto seen = waiter->WaitForVersionAfter(1, 10s);
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(*seen, 2u);
  ExpectWaiterWakesOnAppend(*waiter, *writer, 2);
  auto current = waiter->Current();
  ASSERT_TRUE(current.ok()) << current.status();
  EXPECT_EQ(current->version(), 3u);
}

TEST_F(EtcdHa, KillingAFollowerStopsNeitherAppendsNorWaiters) {
  auto leader = cluster_->Leader();
  ASSERT_TRUE(leader.ok()) << leader.status();
  const int follower = (*leader + 1) % cluster_->size();
  std::vector<std::string> endpoints = {cluster_->ClientEndpoint(follower)};
  for (int i = 0; i < cluster_->size(); ++i) {
    if (i != follower) endpoints.push_back(cluster_->ClientEndpoint(i));
  }
  std::unique_ptr<EtcdStore> writer = MustOpen(endpoints);
  std::unique_ptr<EtcdStore> waiter = MustOpen(endpoints);
  ASSERT_NE(writer, nullptr);
  ASSERT_NE(waiter, nullptr);
  ASSERT_TRUE(writer->Append({MakePolicy("tcp/80")}, "alice", "before", 0).ok());

  ASSERT_TRUE(cluster_->Kill(follower).ok());

  ExpectWaiterWakesOnAppend(*waiter, *writer, 1);
  auto token_record = v1::JoinTokenRecord();
  token_record.set_id("abc123");
  token_record.set_expires_unix_ms(INT64_MAX);
  ASSERT_TRUE(writer->PutJoinToken(token_record).ok());
  EXPECT_TRUE(waiter->ConsumeJoinToken("abc123", "node-1", 1).ok());
}

TEST_F(EtcdHa, AnEndpointThatDoesNotAnswerIsSkipped) {
  const std::string closed = ClosedLoopbackEndpoint();

  std::unique_ptr<EtcdStore> store = MustOpen({closed, cluster_->ClientEndpoint(0)});
  ASSERT_NE(store, nullptr);

  auto appended = store->Append({MakePolicy("tcp/443")}, "alice", "through the second endpoint", 0);
  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_EQ(appended->version(), 1u);
}

TEST(EtcdStoreErrors, OpenWithNoAnsweringEndpointNamesTheEndpointsAndTheOperation) {
  const std::string closed = ClosedLoopbackEndpoint();
  EtcdOptions options;
  options.endpoints = {closed};
  options.timeout = 300ms;

  const auto start = std::chrono::steady_clock::now();
  auto store = EtcdStore::Open(options);

  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
  const std::string message(store.status().message());
  EXPECT_NE(message.find(closed), std::string::npos) << message;
  EXPECT_NE(message.find("open store"), std::string::npos) << message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(EtcdStoreErrors, OpenRefusesAnEmptyEndpointListOrHalfAClientCertificate) {
  EtcdOptions none;
  EXPECT_EQ(EtcdStore::Open(none).status().code(), absl::StatusCode::kInvalidArgument);

  EtcdOptions half;
  half.endpoints = {"127.0.0.1:1"};
  half.cert_file = "/nonexistent/client.pem";
  EXPECT_EQ(EtcdStore::Open(half).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rampart::cp

// Our copy of etcd's API (proto/etcd/) against a real etcd: every RPC and
// every field EtcdStore uses makes a round trip, and each test checks what
// comes back. A field number that differs from etcd's shows up here as a
// missing or misplaced value, long before it could corrupt a store.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "agent/common/strings.h"
#include "etcd/etcdserverpb/rpc.grpc.pb.h"
#include "tests/controlplane/store/etcd_fixture.h"

namespace rampart::cp {
namespace {

using namespace std::chrono_literals;
using etcdserverpb::Compare;
using etcdserverpb::RangeRequest;

class EtcdApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = EtcdCluster::Start(1);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->release();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr) << "etcd did not start";
    auto channel = grpc::CreateChannel(cluster_->ClientEndpoint(0), grpc::InsecureChannelCredentials());
    kv_ = etcdserverpb::KV::NewStub(channel);
    watch_ = etcdserverpb::Watch::NewStub(channel);
    lease_ = etcdserverpb::Lease::NewStub(channel);
    static std::atomic<int> next{0};
    prefix_ = rampart::StrCat("/api-test-", getpid(), "-", next++, "/");
  }

  // A context with a deadline: a hung etcd fails the test instead of hanging it.
  static std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + 5s);
    return context;
  }

  etcdserverpb::PutResponse MustPut(const std::string& key, const std::string& value, int64_t lease = 0) {
    etcdserverpb::PutRequest request;
    request.set_key(key);
    request.set_value(value);
    request.set_lease(lease);
    etcdserverpb::PutResponse response;
    grpc::Status status = kv_->Put(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  etcdserverpb::RangeResponse MustRange(const RangeRequest& request) {
    etcdserverpb::RangeResponse response;
    grpc::Status status = kv_->Range(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  etcdserverpb::RangeResponse MustGet(const std::string& key) {
    RangeRequest request;
    request.set_key(key);
    return MustRange(request);
  }

  // Every key under the test's prefix.
  RangeRequest PrefixRange() const {
    RangeRequest request;
    request.set_key(prefix_);
    std::string end = prefix_;
    end.back() = static_cast<char>(end.back() + 1);
    request.set_range_end(end);
    return request;
  }

  static EtcdCluster* cluster_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch_;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease_;
  std::string prefix_;
};

EtcdCluster* EtcdApi::cluster_ = nullptr;

// --- KV ---

TEST_F(EtcdApi, PutThenRangeReturnsTheKeyValueWithItsRevisions) {
  const std::string key = prefix_ + "k";

  etcdserverpb::PutResponse put = MustPut(key, "v1");
  etcdserverpb::RangeResponse got = MustGet(key);

  EXPECT_NE(put.header().cluster_id(), 0u);
  EXPECT_NE(put.header().member_id(), 0u);
  EXPECT_GT(put.header().raft_term(), 0u);
  const int64_t created = put.header().revision();
  EXPECT_GT(created, 0);
  EXPECT_EQ(got.header().revision(), created);
  EXPECT_EQ(got.header().cluster_id(), put.header().cluster_id());
  EXPECT_EQ(got.count(), 1);
  EXPECT_FALSE(got.more());
  ASSERT_EQ(got.kvs_size(), 1);
  EXPECT_EQ(got.kvs(0).key(), key);
  EXPECT_EQ(got.kvs(0).value(), "v1");
  EXPECT_EQ(got.kvs(0).create_revision(), created);
  EXPECT_EQ(got.kvs(0).mod_revision(), created);
  EXPECT_EQ(got.kvs(0).version(), 1);
  EXPECT_EQ(got.kvs(0).lease(), 0);
}

TEST_F(EtcdApi, PutOverAKeyReturnsThePreviousValueAndBumpsItsVersion) {
  const std::string key = prefix_ + "k";
  const int64_t created = MustPut(key, "v1").header().revision();

  etcdserverpb::PutRequest request;
  request.set_key(key);
  request.set_value("v2");
  request.set_prev_kv(true);
  etcdserverpb::PutResponse put;
  ASSERT_TRUE(kv_->Put(Context().get(), request, &put).ok());

  EXPECT_EQ(put.prev_kv().key(), key);
  EXPECT_EQ(put.prev_kv().value(), "v1");
  etcdserverpb::RangeResponse got = MustGet(key);
  ASSERT_EQ(got.kvs_size(), 1);
  EXPECT_EQ(got.kvs(0).value(), "v2");
  EXPECT_EQ(got.kvs(0).version(), 2);
  EXPECT_EQ(got.kvs(0).create_revision(), created);
  EXPECT_EQ(got.kvs(0).mod_revision(), put.header().revision());
  EXPECT_GT(put.header().revision(), created);
}

TEST_F(EtcdApi, RangeAtAnOlderRevisionSeesTheOlderValue) {
  const std::string key = prefix_ + "k";
  const int64_t first = MustPut(key, "old").header().revision();
  MustPut(key, "new");

  RangeRequest request;
  request.set_key(key);
  request.set_revision(first);
  etcdserverpb::RangeResponse got = MustRange(request);

  ASSERT_EQ(got.kvs_size(), 1);
  EXPECT_EQ(got.kvs(0).value(), "old");
}

TEST_F(EtcdApi, RangeOverAPrefixSortsLimitsAndCounts) {
  for (const char* name : {"b", "a", "c"}) MustPut(prefix_ + name, std::string("value-") + name);

  RangeRequest request = PrefixRange();
  request.set_sort_order(RangeRequest::DESCEND);
  request.set_sort_target(RangeRequest::KEY);
  request.set_limit(2);
  etcdserverpb::RangeResponse newest = MustRange(request);

  ASSERT_EQ(newest.kvs_size(), 2);
  EXPECT_EQ(newest.kvs(0).key(), prefix_ + "c");
  EXPECT_EQ(newest.kvs(0).value(), "value-c");
  EXPECT_EQ(newest.kvs(1).key(), prefix_ + "b");
  EXPECT_TRUE(newest.more());
  EXPECT_EQ(newest.count(), 3);

  RangeRequest ascending = PrefixRange();
  ascending.set_sort_order(RangeRequest::ASCEND);
  ascending.set_sort_target(RangeRequest::KEY);
  ascending.set_serializable(true);
  etcdserverpb::RangeResponse all = MustRange(ascending);
  ASSERT_EQ(all.kvs_size(), 3);
  EXPECT_EQ(all.kvs(0).key(), prefix_ + "a");
  EXPECT_EQ(all.kvs(2).key(), prefix_ + "c");
}

TEST_F(EtcdApi, RangeKeysOnlyAndCountOnly) {
  for (const char* name : {"a", "b"}) MustPut(prefix_ + name, "some value");

  RangeRequest keys_only = PrefixRange();
  keys_only.set_keys_only(true);
  etcdserverpb::RangeResponse keys = MustRange(keys_only);
  RangeRequest count_only = PrefixRange();
  count_only.set_count_only(true);
  etcdserverpb::RangeResponse count = MustRange(count_only);

  ASSERT_EQ(keys.kvs_size(), 2);
  EXPECT_EQ(keys.kvs(0).key(), prefix_ + "a");
  EXPECT_TRUE(keys.kvs(0).value().empty());
  EXPECT_EQ(count.kvs_size(), 0);
  EXPECT_EQ(count.count(), 2);
}

TEST_F(EtcdApi, DeleteRangeDeletesEveryKeyInTheRangeAndReturnsThem) {
  MustPut(prefix_ + "a", "1");
  MustPut(prefix_ + "b", "2");
  MustPut(prefix_ + "c", "3");

  etcdserverpb::DeleteRangeRequest request;
  request.set_key(prefix_ + "a");
  request.set_range_end(prefix_ + "c");  // [a, c)
  request.set_prev_kv(true);
  etcdserverpb::DeleteRangeResponse deleted;
  grpc::Status status = kv_->DeleteRange(Context().get(), request, &deleted);

  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(deleted.deleted(), 2);
  ASSERT_EQ(deleted.prev_kvs_size(), 2);
  EXPECT_EQ(deleted.prev_kvs(0).key(), prefix_ + "a");
  EXPECT_EQ(deleted.prev_kvs(0).value(), "1");
  EXPECT_EQ(deleted.prev_kvs(1).value(), "2");
  EXPECT_GT(deleted.header().revision(), 0);
  etcdserverpb::RangeResponse left = MustRange(PrefixRange());
  ASSERT_EQ(left.kvs_size(), 1);
  EXPECT_EQ(left.kvs(0).key(), prefix_ + "c");
}

// --- Txn ---

TEST_F(EtcdApi, TxnWhoseComparesHoldRunsTheSuccessOps) {
  const std::string key = prefix_ + "guarded";
  etcdserverpb::PutResponse put = MustPut(key, "v1");
  const int64_t revision = put.header().revision();

  etcdserverpb::TxnRequest request;
  auto add_compare = [&](Compare::CompareTarget target) {
    Compare* compare = request.add_compare();
    compare->set_key(key);
    compare->set_target(target);
    compare->set_result(Compare::EQUAL);
    return compare;
  };
  add_compare(Compare::MOD)->set_mod_revision(revision);
  add_compare(Compare::CREATE)->set_create_revision(revision);
  add_compare(Compare::VERSION)->set_version(1);
  add_compare(Compare::VALUE)->set_value("v1");
  add_compare(Compare::LEASE)->set_lease(0);
  Compare* absent = request.add_compare();  // a missing key has mod_revision 0
  absent->set_key(prefix_ + "missing");
  absent->set_target(Compare::MOD);
  absent->set_result(Compare::EQUAL);
  absent->set_mod_revision(0);
  Compare* greater = request.add_compare();
  greater->set_key(key);
  greater->set_target(Compare::MOD);
  greater->set_result(Compare::GREATER);
  greater->set_mod_revision(revision - 1);
  etcdserverpb::PutRequest* update = request.add_success()->mutable_request_put();
  update->set_key(key);
  update->set_value("v2");
  request.add_success()->mutable_request_range()->set_key(key);
  request.add_success()->mutable_request_delete_range()->set_key(prefix_ + "missing");
  etcdserverpb::PutRequest* never = request.add_failure()->mutable_request_put();
  never->set_key(prefix_ + "failure-ran");
  never->set_value("x");
  etcdserverpb::TxnResponse txn;
  grpc::Status status = kv_->Txn(Context().get(), request, &txn);

  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(txn.succeeded());
  EXPECT_EQ(txn.header().revision(), revision + 1);
  ASSERT_EQ(txn.responses_size(), 3);
  EXPECT_TRUE(txn.responses(0).has_response_put());
  ASSERT_TRUE(txn.responses(1).has_response_range());
  ASSERT_EQ(txn.responses(1).response_range().kvs_size(), 1);
  EXPECT_EQ(txn.responses(1).response_range().kvs(0).value(), "v2");
  EXPECT_EQ(txn.responses(1).response_range().kvs(0).mod_revision(), revision + 1);
  ASSERT_TRUE(txn.responses(2).has_response_delete_range());
  EXPECT_EQ(txn.responses(2).response_delete_range().deleted(), 0);
  EXPECT_EQ(MustGet(prefix_ + "failure-ran").kvs_size(), 0);
}

TEST_F(EtcdApi, TxnWhoseCompareFailsRunsTheFailureOpsOnly) {
  const std::string key = prefix_ + "guarded";
  const int64_t revision = MustPut(key, "v1").header().revision();
  MustPut(key, "v2");  // moves the key's mod_revision past `revision`

  etcdserverpb::TxnRequest request;
  Compare* stale = request.add_compare();
  stale->set_key(key);
  stale->set_target(Compare::MOD);
  stale->set_result(Compare::EQUAL);
  stale->set_mod_revision(revision);
  etcdserverpb::PutRequest* update = request.add_success()->mutable_request_put();
  update->set_key(key);
  update->set_value("lost update");
  request.add_failure()->mutable_request_range()->set_key(key);
  etcdserverpb::TxnResponse txn;
  grpc::Status status = kv_->Txn(Context().get(), request, &txn);

  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(txn.succeeded());
  ASSERT_EQ(txn.responses_size(), 1);
  ASSERT_TRUE(txn.responses(0).has_response_range());
  ASSERT_EQ(txn.responses(0).response_range().kvs_size(), 1);
  EXPECT_EQ(txn.responses(0).response_range().kvs(0).value(), "v2");
  EXPECT_EQ(MustGet(key).kvs(0).value(), "v2");
}

TEST_F(EtcdApi, TxnCompareOnCreateRevisionZeroFailsForAnExistingKey) {
  const std::string key = prefix_ + "token";
  MustPut(key, "first");

  etcdserverpb::TxnRequest request;
  Compare* absent = request.add_compare();
  absent->set_key(key);
  absent->set_target(Compare::CREATE);
  absent->set_result(Compare::EQUAL);
  absent->set_create_revision(0);
  etcdserverpb::PutRequest* put = request.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value("second");
  etcdserverpb::TxnResponse txn;
  ASSERT_TRUE(kv_->Txn(Context().get(), request, &txn).ok());

  EXPECT_FALSE(txn.succeeded());
  EXPECT_EQ(MustGet(key).kvs(0).value(), "first");
}

// --- Watch ---

TEST_F(EtcdApi, WatchReportsPutAndDeleteEventsWithTheirRevisions) {
  const std::string key = prefix_ + "watched";
  const int64_t before = MustPut(prefix_ + "unrelated", "x").header().revision();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 10s);
  auto stream = watch_->Watch(&context);
  etcdserverpb::WatchRequest create;
  create.mutable_create_request()->set_key(key);
  create.mutable_create_request()->set_prev_kv(true);
  create.mutable_create_request()->set_watch_id(7);
  ASSERT_TRUE(stream->Write(create));
  etcdserverpb::WatchResponse created;
  ASSERT_TRUE(stream->Read(&created));
  EXPECT_TRUE(created.created());
  EXPECT_EQ(created.watch_id(), 7);
  EXPECT_GE(created.header().revision(), before);

  const int64_t put_revision = MustPut(key, "v1").header().revision();
  etcdserverpb::PutResponse second = MustPut(key, "v2");
  etcdserverpb::DeleteRangeRequest remove;
  remove.set_key(key);
  etcdserverpb::DeleteRangeResponse removed;
  ASSERT_TRUE(kv_->DeleteRange(Context().get(), remove, &removed).ok());

  std::vector<mvccpb::Event> events;
  etcdserverpb::WatchResponse response;
  while (events.size() < 3 && stream->Read(&response)) {
    EXPECT_EQ(response.watch_id(), 7);
    for (const mvccpb::Event& event : response.events()) events.push_back(event);
  }
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type(), mvccpb::Event::PUT);
  EXPECT_EQ(events[0].kv().key(), key);
  EXPECT_EQ(events[0].kv().value(), "v1");
  EXPECT_EQ(events[0].kv().mod_revision(), put_revision);
  EXPECT_EQ(events[0].kv().create_revision(), put_revision);
  EXPECT_EQ(events[0].kv().version(), 1);
  EXPECT_EQ(events[1].type(), mvccpb::Event::PUT);
  EXPECT_EQ(events[1].kv().value(), "v2");
  EXPECT_EQ(events[1].kv().mod_revision(), second.header().revision());
  EXPECT_EQ(events[1].prev_kv().value(), "v1");
  EXPECT_EQ(events[2].type(), mvccpb::Event::DELETE);
  EXPECT_EQ(events[2].kv().key(), key);
  EXPECT_EQ(events[2].kv().mod_revision(), removed.header().revision());

  etcdserverpb::WatchRequest cancel;
  cancel.mutable_cancel_request()->set_watch_id(7);
  ASSERT_TRUE(stream->Write(cancel));
  etcdserverpb::WatchResponse canceled;
  ASSERT_TRUE(stream->Read(&canceled));
  EXPECT_TRUE(canceled.canceled());
  EXPECT_EQ(canceled.watch_id(), 7);
  context.TryCancel();
  stream->Finish();
}

TEST_F(EtcdApi, WatchFromAPastRevisionReplaysWhatHappenedSince) {
  const std::string key = prefix_ + "watched";
  const int64_t first = MustPut(key, "v1").header().revision();
  MustPut(key, "v2");
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 10s);
  auto stream = watch_->Watch(&context);
  etcdserverpb::WatchRequest create;
  create.mutable_create_request()->set_key(prefix_);
  std::string end = prefix_;
  end.back() = static_cast<char>(end.back() + 1);
  create.mutable_create_request()->set_range_end(end);
  create.mutable_create_request()->set_start_revision(first + 1);
  ASSERT_TRUE(stream->Write(create));

  std::vector<mvccpb::Event> events;
  etcdserverpb::WatchResponse response;
  while (events.empty() && stream->Read(&response)) {
    for (const mvccpb::Event& event : response.events()) events.push_back(event);
  }
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kv().value(), "v2");
  EXPECT_EQ(events[0].kv().mod_revision(), first + 1);
  context.TryCancel();
  stream->Finish();
}

// --- Lease ---

TEST_F(EtcdApi, LeaseGrantReturnsTheIdAndTtl) {
  etcdserverpb::LeaseGrantRequest chosen;
  chosen.set_ttl(30);
  etcdserverpb::LeaseGrantResponse by_etcd;
  ASSERT_TRUE(lease_->LeaseGrant(Context().get(), chosen, &by_etcd).ok());
  const int64_t own_id = 0x7a11'0000 + getpid();
  etcdserverpb::LeaseGrantRequest requested;
  requested.set_ttl(40);
  requested.set_id(own_id);
  etcdserverpb::LeaseGrantResponse by_us;
  grpc::Status status = lease_->LeaseGrant(Context().get(), requested, &by_us);

  EXPECT_NE(by_etcd.id(), 0);
  EXPECT_EQ(by_etcd.ttl(), 30);
  EXPECT_TRUE(by_etcd.error().empty()) << by_etcd.error();
  EXPECT_GT(by_etcd.header().revision(), 0);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(by_us.id(), own_id);
  EXPECT_EQ(by_us.ttl(), 40);
}

TEST_F(EtcdApi, LeaseKeepAliveRenewsTheLeaseAndReportsItsTtl) {
  etcdserverpb::LeaseGrantRequest grant;
  grant.set_ttl(20);
  etcdserverpb::LeaseGrantResponse granted;
  ASSERT_TRUE(lease_->LeaseGrant(Context().get(), grant, &granted).ok());

  auto context = Context();
  auto stream = lease_->LeaseKeepAlive(context.get());
  etcdserverpb::LeaseKeepAliveRequest keepalive;
  keepalive.set_id(granted.id());
  ASSERT_TRUE(stream->Write(keepalive));
  etcdserverpb::LeaseKeepAliveResponse renewed;
  ASSERT_TRUE(stream->Read(&renewed));
  keepalive.set_id(granted.id() + 1);  // never granted
  ASSERT_TRUE(stream->Write(keepalive));
  etcdserverpb::LeaseKeepAliveResponse unknown;
  ASSERT_TRUE(stream->Read(&unknown));
  stream->WritesDone();
  grpc::Status status = stream->Finish();

  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(renewed.id(), granted.id());
  EXPECT_EQ(renewed.ttl(), 20);
  EXPECT_GT(renewed.header().revision(), 0);
  EXPECT_EQ(unknown.id(), granted.id() + 1);
  EXPECT_LE(unknown.ttl(), 0);
}

TEST_F(EtcdApi, LeaseRevokeDeletesTheKeysAttachedToIt) {
  etcdserverpb::LeaseGrantRequest grant;
  grant.set_ttl(30);
  etcdserverpb::LeaseGrantResponse granted;
  ASSERT_TRUE(lease_->LeaseGrant(Context().get(), grant, &granted).ok());
  const std::string key = prefix_ + "leased";
  MustPut(key, "alive", granted.id());
  etcdserverpb::RangeResponse attached = MustGet(key);
  ASSERT_EQ(attached.kvs_size(), 1);
  EXPECT_EQ(attached.kvs(0).lease(), granted.id());

  etcdserverpb::LeaseRevokeRequest revoke;
  revoke.set_id(granted.id());
  etcdserverpb::LeaseRevokeResponse revoked;
  grpc::Status status = lease_->LeaseRevoke(Context().get(), revoke, &revoked);

  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_GT(revoked.header().revision(), attached.header().revision());
  EXPECT_EQ(MustGet(key).kvs_size(), 0);
}

}  // namespace
}  // namespace rampart::cp

// The Store contract (controlplane/store/store.h), one suite for every store:
// versions count 1, 2, 3 without gaps and keep what was applied, who applied it
// and when; Append refuses a change based on an old version; replicas sharing
// one backend see each other's writes, and of several racing writers exactly
// one wins; join tokens are consumed once; nodes and live replicas are kept.
//
// Each store joins through INSTANTIATE_TEST_SUITE_P with a Backend: a place
// (a database file, an etcd key prefix) on which a test can open as many store
// instances as it likes, each standing for one rampart-cp replica.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agent/common/strings.h"
#include "controlplane/store/etcd_store.h"
#include "controlplane/store/sqlite_store.h"
#include "tests/controlplane/store/etcd_fixture.h"
#include "tests/controlplane/temp_dir.h"

namespace rampart::cp {
namespace {

using rampart::testing::TempDir;

using namespace std::chrono_literals;
using google::protobuf::util::MessageDifferencer;

// One test's share of a backend. Every Open() is a new store instance on the
// same data, as a second replica or a restarted control plane sees it.
class StoreLocation {
 public:
  virtual ~StoreLocation() = default;
  virtual absl::StatusOr<std::unique_ptr<Store>> Open() = 0;
};

struct Backend {
  std::string name;
  std::function<absl::StatusOr<std::unique_ptr<StoreLocation>>()> make;
};

// Test names and failures show the backend by name.
void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

// --- SQLite: a database file in a directory private to the test ---

class SqliteLocation final : public StoreLocation {
 public:
  absl::StatusOr<std::unique_ptr<Store>> Open() override {
    if (dir_.path().empty()) return absl::InternalError("no temporary directory");
    auto store = SqliteStore::Open(dir_.path() + "/state/store.db");
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(*std::move(store));
  }

 private:
  TempDir dir_;
};

// --- etcd: a key prefix private to the test on one etcd shared by the process ---

class EtcdLocation final : public StoreLocation {
 public:
  EtcdLocation(std::string endpoint, std::string prefix) : endpoint_(std::move(endpoint)), prefix_(std::move(prefix)) {}

  absl::StatusOr<std::unique_ptr<Store>> Open() override {
    EtcdOptions options;
    options.endpoints = {endpoint_};
    options.prefix = prefix_;
    options.timeout = 5s;
    auto store = EtcdStore::Open(options);
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(*std::move(store));
  }

 private:
  const std::string endpoint_;
  const std::string prefix_;
};

absl::StatusOr<std::unique_ptr<StoreLocation>> MakeEtcdLocation() {
  // Started on first use and stopped (by PID) when the test binary exits.
  static absl::StatusOr<std::unique_ptr<EtcdCluster>> etcd = EtcdCluster::Start(1);
  if (!etcd.ok()) return etcd.status();
  static std::atomic<int> next_prefix{0};
  std::string prefix = rampart::StrCat("/rampart-test-", getpid(), "-", next_prefix++, "/");
  return std::unique_ptr<StoreLocation>(new EtcdLocation((*etcd)->ClientEndpoint(0), prefix));
}

// --- records ---

v1::Policy MakePolicy(const std::string& name, const std::string& port) {
  v1::Policy policy;
  policy.set_api_version("rampart/v1");
  policy.set_kind("Policy");
  policy.mutable_metadata()->set_name(name);
  policy.mutable_spec()->add_interfaces("eth0");
  v1::SegmentationRule* rule = policy.mutable_spec()->mutable_segmentation()->mutable_ingress()->add_allow();
  rule->set_name("r");
  rule->add_from("10.0.0.0/8");
  rule->add_ports(port);
  return policy;
}

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

v1::JoinTokenRecord MakeToken(const std::string& id, int64_t expires_unix_ms) {
  v1::JoinTokenRecord token;
  token.set_id(id);
  token.set_secret_sha256(std::string(32, '\x5a'));
  token.set_expires_unix_ms(expires_unix_ms);
  token.set_description("token " + id);
  token.set_created_unix_ms(NowUnixMs());
  return token;
}

v1::NodeRecord MakeNode(const std::string& name) {
  v1::NodeRecord node;
  node.set_name(name);
  (*node.mutable_labels())["zone"] = "eu-1";
  node.set_enrolled_unix_ms(NowUnixMs());
  node.add_cert_serials("0a1b2c");
  return node;
}

v1::ReplicaRecord MakeReplica(const std::string& id, const std::string& address) {
  v1::ReplicaRecord replica;
  replica.set_id(id);
  replica.set_address(address);
  replica.set_started_unix_ms(NowUnixMs());
  return replica;
}

bool SamePolicies(const google::protobuf::RepeatedPtrField<v1::Policy>& got, const std::vector<v1::Policy>& want) {
  if (got.size() != static_cast<int>(want.size())) return false;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!MessageDifferencer::Equals(got[static_cast<int>(i)], want[i])) return false;
  }
  return true;
}

template <typename Record>
std::vector<std::string> Ids(const std::vector<Record>& records) {
  std::vector<std::string> ids;
  for (const Record& record : records) {
    if constexpr (std::is_same_v<Record, v1::NodeRecord>) {
      ids.push_back(record.name());
    } else {
      ids.push_back(record.id());
    }
  }
  return ids;
}

class StoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    auto location = GetParam().make();
    ASSERT_TRUE(location.ok()) << location.status();
    location_ = *std::move(location);
    store_ = Open();
    ASSERT_NE(store_, nullptr);
  }

  // Another replica on the same data, or this one after a restart.
  std::unique_ptr<Store> Open() {
    auto store = location_->Open();
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  static v1::PolicyVersion MustCurrent(Store& store) {
    auto current = store.Current();
    EXPECT_TRUE(current.ok()) << current.status();
    return current.ok() ? *current : v1::PolicyVersion{};
  }

  v1::PolicyVersion MustAppend(const std::vector<v1::Policy>& policies, const std::string& author = "alice",
                               const std::string& message = "change", uint64_t expected_version = kAnyVersion) {
    auto appended = store_->Append(policies, author, message, expected_version);
    EXPECT_TRUE(appended.ok()) << appended.status();
    return appended.ok() ? *appended : v1::PolicyVersion{};
  }

  std::unique_ptr<StoreLocation> location_;
  std::unique_ptr<Store> store_;
};

// --- policy versions ---

TEST_P(StoreContract, EmptyStoreIsAtVersionZeroWithNoPolicies) {
  v1::PolicyVersion current = MustCurrent(*store_);

  EXPECT_EQ(current.version(), 0u);
  EXPECT_EQ(current.policies_size(), 0);
}

TEST_P(StoreContract, AppendNumbersVersionsOneTwoThreeWithoutGaps) {
  EXPECT_EQ(MustAppend({MakePolicy("web", "tcp/443")}).version(), 1u);
  EXPECT_EQ(MustAppend({MakePolicy("web", "tcp/8443")}).version(), 2u);
  EXPECT_EQ(MustAppend({MakePolicy("web", "tcp/9443")}).version(), 3u);

  for (uint64_t version = 1; version <= 3; ++version) {
    auto stored = store_->Get(version);
    ASSERT_TRUE(stored.ok()) << "version " << version << ": " << stored.status();
    EXPECT_EQ(stored->version(), version);
  }
}

TEST_P(StoreContract, AppendedVersionKeepsPoliciesAuthorMessageAndCreationTime) {
  std::vector<v1::Policy> policies = {MakePolicy("web", "tcp/443"), MakePolicy("ops", "tcp/22")};
  const int64_t before = NowUnixMs();

  v1::PolicyVersion appended = MustAppend(policies, "alice@example.com", "open https and ssh");

  const int64_t after = NowUnixMs();
  EXPECT_EQ(appended.version(), 1u);
  EXPECT_TRUE(SamePolicies(appended.policies(), policies)) << appended.DebugString();
  EXPECT_EQ(appended.author(), "alice@example.com");
  EXPECT_EQ(appended.message(), "open https and ssh");
  EXPECT_GE(appended.created_unix_ms(), before);
  EXPECT_LE(appended.created_unix_ms(), after);
  EXPECT_TRUE(MessageDifferencer::Equals(MustCurrent(*store_), appended))
      << "Current() differs from what Append() returned";
}

TEST_P(StoreContract, CurrentIsTheNewestVersion) {
  MustAppend({MakePolicy("web", "tcp/443")}, "alice", "first");
  MustAppend({MakePolicy("web", "tcp/8443")}, "bob", "second");
  std::vector<v1::Policy> newest = {MakePolicy("web", "tcp/9443"), MakePolicy("ops", "tcp/22")};
  MustAppend(newest, "carol", "third");

  v1::PolicyVersion current = MustCurrent(*store_);

  EXPECT_EQ(current.version(), 3u);
  EXPECT_TRUE(SamePolicies(current.policies(), newest)) << current.DebugString();
  EXPECT_EQ(current.author(), "carol");
  EXPECT_EQ(current.message(), "third");
}

TEST_P(StoreContract, VersionsAreOrderedAsNumbersPastNine) {
  for (int i = 1; i <= 12; ++i) {
    MustAppend({MakePolicy("web", rampart::StrCat("tcp/", 1000 + i))}, "alice", rampart::StrCat("change ", i));
  }

  v1::PolicyVersion current = MustCurrent(*store_);

  EXPECT_EQ(current.version(), 12u);
  EXPECT_EQ(current.message(), "change 12");
}

TEST_P(StoreContract, EmptyPolicySetIsANewVersion) {
  // Applying no policies removes them all; that is a change like any other.
  MustAppend({MakePolicy("web", "tcp/443")});

  v1::PolicyVersion appended = MustAppend({}, "alice", "remove everything");

  EXPECT_EQ(appended.version(), 2u);
  v1::PolicyVersion current = MustCurrent(*store_);
  EXPECT_EQ(current.version(), 2u);
  EXPECT_EQ(current.policies_size(), 0);
}

TEST_P(StoreContract, GetReturnsTheVersionAsAppended) {
  std::vector<v1::Policy> first = {MakePolicy("web", "tcp/443")};
  v1::PolicyVersion appended = MustAppend(first, "alice", "first");
  MustAppend({MakePolicy("web", "tcp/8443")}, "bob", "second");

  auto stored = store_->Get(1);

  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*stored, appended)) << stored->DebugString();
}

TEST_P(StoreContract, GetOfAVersionThatNeverExistedIsNotFound) {
  MustAppend({MakePolicy("web", "tcp/443")});

  EXPECT_EQ(store_->Get(0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get(2).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get(12345).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreContract, HistoryIsNewestFirstWithMetadataButNoPolicies) {
  const int64_t before = NowUnixMs();
  MustAppend({MakePolicy("web", "tcp/443")}, "alice", "first");
  MustAppend({MakePolicy("web", "tcp/8443")}, "bob", "second");
  MustAppend({MakePolicy("web", "tcp/9443")}, "carol", "third");
  const int64_t after = NowUnixMs();

  auto history = store_->History(10);

  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 3u);
  const std::vector<std::pair<std::string, std::string>> want = {
      {"carol", "third"}, {"bob", "second"}, {"alice", "first"}};
  for (size_t i = 0; i < 3; ++i) {
    const v1::PolicyVersion& entry = (*history)[i];
    EXPECT_EQ(entry.version(), 3 - i);
    EXPECT_EQ(entry.author(), want[i].first);
    EXPECT_EQ(entry.message(), want[i].second);
    EXPECT_GE(entry.created_unix_ms(), before);
    EXPECT_LE(entry.created_unix_ms(), after);
    EXPECT_EQ(entry.policies_size(), 0) << "History carries policies for version " << entry.version();
  }
}

TEST_P(StoreContract, HistoryStopsAtTheLimit) {
  for (int i = 0; i < 5; ++i) MustAppend({MakePolicy("web", "tcp/443")});

  auto history = store_->History(2);

  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].version(), 5u);
  EXPECT_EQ((*history)[1].version(), 4u);
}

TEST_P(StoreContract, HistoryOfAnEmptyStoreIsEmpty) {
  auto history = store_->History(10);

  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_TRUE(history->empty());
}

TEST_P(StoreContract, AppendBasedOnTheNewestVersionSucceeds) {
  MustAppend({MakePolicy("web", "tcp/443")});

  auto appended = store_->Append({MakePolicy("web", "tcp/8443")}, "bob", "based on 1", 1);

  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_EQ(appended->version(), 2u);
}

TEST_P(StoreContract, FirstAppendExpectsVersionZero) {
  auto wrong = store_->Append({MakePolicy("web", "tcp/443")}, "alice", "based on 1", 1);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition) << wrong.status();

  auto appended = store_->Append({MakePolicy("web", "tcp/443")}, "alice", "based on nothing", 0);

  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_EQ(appended->version(), 1u);
}

TEST_P(StoreContract, AppendBasedOnAnOlderVersionFailsNamingBothAndWritesNothing) {
  MustAppend({MakePolicy("web", "tcp/443")});
  MustAppend({MakePolicy("web", "tcp/8443")}, "bob", "second");

  auto stale = store_->Append({MakePolicy("web", "tcp/1")}, "carol", "based on 1", 1);

  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition) << stale.status();
  EXPECT_EQ(std::string(stale.status().message()), "policy changed since version 1: now 2");
  v1::PolicyVersion current = MustCurrent(*store_);
  EXPECT_EQ(current.version(), 2u);
  EXPECT_EQ(current.author(), "bob");
}

TEST_P(StoreContract, AppendWithAnyVersionReplacesWhateverIsNewest) {
  MustAppend({MakePolicy("web", "tcp/443")});
  MustAppend({MakePolicy("web", "tcp/8443")});

  auto appended = store_->Append({MakePolicy("web", "tcp/9443")}, "carol", "blind", kAnyVersion);

  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_EQ(appended->version(), 3u);
}

TEST_P(StoreContract, TwoReplicasRacingOnTheSameVersionExactlyOneWins) {
  std::unique_ptr<Store> other = Open();
  ASSERT_NE(other, nullptr);
  Store* replicas[] = {store_.get(), other.get()};
  constexpr int kRounds = 5;
  constexpr int kWritersPerReplica = 4;

  for (int round = 0; round < kRounds; ++round) {
    const uint64_t based_on = static_cast<uint64_t>(round);
    std::atomic<bool> go{false};
    std::vector<std::future<absl::StatusOr<v1::PolicyVersion>>> writers;
    for (int i = 0; i < 2 * kWritersPerReplica; ++i) {
      Store* replica = replicas[i % 2];
      writers.push_back(std::async(std::launch::async, [&go, replica, based_on, i] {
        while (!go.load()) std::this_thread::yield();
        return replica->Append({MakePolicy("web", rampart::StrCat("tcp/", 1000 + i))}, rampart::StrCat("writer ", i),
                               "race", based_on);
      }));
    }
    go = true;

    int won = 0;
    for (auto& writer : writers) {
      absl::StatusOr<v1::PolicyVersion> result = writer.get();
      if (result.ok()) {
        ++won;
        EXPECT_EQ(result->version(), based_on + 1);
      } else {
        EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition) << result.status();
      }
    }
    EXPECT_EQ(won, 1) << "round " << round;
    EXPECT_EQ(MustCurrent(*other).version(), based_on + 1);
  }
}

TEST_P(StoreContract, ConcurrentBlindAppendsOnTwoReplicasLeaveNoGaps) {
  std::unique_ptr<Store> other = Open();
  ASSERT_NE(other, nullptr);
  Store* replicas[] = {store_.get(), other.get()};
  constexpr int kWriters = 6;
  constexpr int kAppendsEach = 4;

  std::vector<std::future<std::vector<uint64_t>>> writers;
  for (int i = 0; i < kWriters; ++i) {
    Store* replica = replicas[i % 2];
    writers.push_back(std::async(std::launch::async, [replica, i] {
      std::vector<uint64_t> versions;
      for (int n = 0; n < kAppendsEach; ++n) {
        auto appended =
            replica->Append({MakePolicy("web", "tcp/443")}, rampart::StrCat("writer ", i), "blind", kAnyVersion);
        EXPECT_TRUE(appended.ok()) << appended.status();
        if (appended.ok()) versions.push_back(appended->version());
      }
      return versions;
    }));
  }
  std::multiset<uint64_t> versions;
  for (auto& writer : writers) {
    for (uint64_t version : writer.get()) versions.insert(version);
  }

  std::multiset<uint64_t> want;
  for (uint64_t v = 1; v <= kWriters * kAppendsEach; ++v) want.insert(v);
  EXPECT_EQ(versions, want);
  EXPECT_EQ(MustCurrent(*store_).version(), static_cast<uint64_t>(kWriters * kAppendsEach));
}

TEST_P(StoreContract, WaitForVersionAfterWakesPromptlyWhenAnotherReplicaAppends) {
  std::unique_ptr<Store> other = Open();
  ASSERT_NE(other, nullptr);
  MustAppend({MakePolicy("web", "tcp/443")});

  const auto start = std::chrono::steady_clock::now();
  auto waiter = std::async(std::launch::async, [&] { return store_->WaitForVersionAfter(1, 20s); });
  std::this_thread::sleep_for(300ms);
  auto appended = other->Append({MakePolicy("web", "tcp/8443")}, "bob", "from the other replica", 1);
  ASSERT_TRUE(appended.ok()) << appended.status();
  absl::StatusOr<uint64_t> seen = waiter.get();
  const auto waited = std::chrono::steady_clock::now() - start;

  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(*seen, 2u);
  EXPECT_GE(waited, 300ms);
  EXPECT_LT(waited, 2s) << "the waiter did not notice the other replica's write promptly";
}

TEST_P(StoreContract, WaitForVersionAfterReturnsAtOnceWhenANewerVersionExists) {
  MustAppend({MakePolicy("web", "tcp/443")});
  MustAppend({MakePolicy("web", "tcp/8443")});

  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<uint64_t> seen = store_->WaitForVersionAfter(0, 20s);

  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(*seen, 2u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_P(StoreContract, WaitForVersionAfterTimesOutWithTheNewestVersion) {
  MustAppend({MakePolicy("web", "tcp/443")});

  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<uint64_t> seen = store_->WaitForVersionAfter(1, 300ms);
  const auto waited = std::chrono::steady_clock::now() - start;

  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(*seen, 1u);
  EXPECT_GE(waited, 300ms);
  EXPECT_LT(waited, 2s);
}

// --- join tokens ---

TEST_P(StoreContract, PutJoinTokenThenGetReturnsIt) {
  v1::JoinTokenRecord token = MakeToken("abc123", NowUnixMs() + 60'000);

  ASSERT_TRUE(store_->PutJoinToken(token).ok());
  auto stored = store_->GetJoinToken("abc123");

  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*stored, token)) << stored->DebugString();
}

TEST_P(StoreContract, PutJoinTokenWithAnIdInUseIsAlreadyExistsAndKeepsTheFirst) {
  v1::JoinTokenRecord first = MakeToken("abc123", NowUnixMs() + 60'000);
  ASSERT_TRUE(store_->PutJoinToken(first).ok());
  v1::JoinTokenRecord second = MakeToken("abc123", NowUnixMs() + 120'000);
  second.set_description("impostor");

  absl::Status status = store_->PutJoinToken(second);

  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  auto stored = store_->GetJoinToken("abc123");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->description(), "token abc123");
}

TEST_P(StoreContract, JoinTokensListsEveryToken) {
  for (const char* id : {"zzz999", "abc123", "mmm555"}) {
    ASSERT_TRUE(store_->PutJoinToken(MakeToken(id, NowUnixMs() + 60'000)).ok());
  }

  auto tokens = store_->JoinTokens();

  ASSERT_TRUE(tokens.ok()) << tokens.status();
  std::vector<std::string> ids = Ids(*tokens);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"abc123", "mmm555", "zzz999"}));
}

TEST_P(StoreContract, GetOfAnUnknownJoinTokenIsNotFound) {
  EXPECT_EQ(store_->GetJoinToken("nope00").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreContract, ConsumeJoinTokenReturnsItAsItWasAndMarksItUsed) {
  const int64_t now = NowUnixMs();
  v1::JoinTokenRecord token = MakeToken("abc123", now + 60'000);
  ASSERT_TRUE(store_->PutJoinToken(token).ok());

  auto consumed = store_->ConsumeJoinToken("abc123", "node-1", now);

  ASSERT_TRUE(consumed.ok()) << consumed.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*consumed, token)) << consumed->DebugString();
  auto stored = store_->GetJoinToken("abc123");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_TRUE(stored->used());
  EXPECT_EQ(stored->used_by_node(), "node-1");
  EXPECT_EQ(stored->used_unix_ms(), now);
  EXPECT_EQ(stored->secret_sha256(), token.secret_sha256());
}

TEST_P(StoreContract, ConsumingAUsedJoinTokenIsFailedPrecondition) {
  const int64_t now = NowUnixMs();
  ASSERT_TRUE(store_->PutJoinToken(MakeToken("abc123", now + 60'000)).ok());
  ASSERT_TRUE(store_->ConsumeJoinToken("abc123", "node-1", now).ok());

  auto again = store_->ConsumeJoinToken("abc123", "node-2", now + 1);

  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition) << again.status();
  auto stored = store_->GetJoinToken("abc123");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->used_by_node(), "node-1");
}

TEST_P(StoreContract, ConsumingAnExpiredJoinTokenIsFailedPreconditionAndLeavesItUnused) {
  const int64_t now = NowUnixMs();
  ASSERT_TRUE(store_->PutJoinToken(MakeToken("abc123", now)).ok());

  auto consumed = store_->ConsumeJoinToken("abc123", "node-1", now);

  EXPECT_EQ(consumed.status().code(), absl::StatusCode::kFailedPrecondition) << consumed.status();
  auto stored = store_->GetJoinToken("abc123");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_FALSE(stored->used());
}

TEST_P(StoreContract, ConsumingAnUnknownJoinTokenIsNotFound) {
  EXPECT_EQ(store_->ConsumeJoinToken("nope00", "node-1", NowUnixMs()).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreContract, EightNodesRacingForOneTokenOnTwoReplicasExactlyOneWins) {
  std::unique_ptr<Store> other = Open();
  ASSERT_NE(other, nullptr);
  const int64_t now = NowUnixMs();
  ASSERT_TRUE(store_->PutJoinToken(MakeToken("abc123", now + 60'000)).ok());
  Store* replicas[] = {store_.get(), other.get()};

  std::atomic<bool> go{false};
  std::vector<std::future<absl::StatusOr<v1::JoinTokenRecord>>> nodes;
  for (int i = 0; i < 8; ++i) {
    Store* replica = replicas[i % 2];
    nodes.push_back(std::async(std::launch::async, [&go, replica, now, i] {
      while (!go.load()) std::this_thread::yield();
      return replica->ConsumeJoinToken("abc123", rampart::StrCat("node-", i), now);
    }));
  }
  go = true;

  int won = 0;
  for (auto& node : nodes) {
    absl::StatusOr<v1::JoinTokenRecord> result = node.get();
    if (result.ok()) {
      ++won;
      EXPECT_FALSE(result->used());
    } else {
      EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition) << result.status();
    }
  }
  EXPECT_EQ(won, 1);
  auto stored = other->GetJoinToken("abc123");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_TRUE(stored->used());
}

// --- nodes ---

TEST_P(StoreContract, PutNodeThenGetReturnsIt) {
  v1::NodeRecord node = MakeNode("web-1");

  ASSERT_TRUE(store_->PutNode(node).ok());
  auto stored = store_->GetNode("web-1");

  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*stored, node)) << stored->DebugString();
}

TEST_P(StoreContract, GetOfAnUnknownNodeIsNotFound) {
  EXPECT_EQ(store_->GetNode("ghost").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreContract, NodesAreSortedByName) {
  for (const char* name : {"web-2", "db-1", "web-10", "api-1"}) ASSERT_TRUE(store_->PutNode(MakeNode(name)).ok());

  auto nodes = store_->Nodes();

  ASSERT_TRUE(nodes.ok()) << nodes.status();
  EXPECT_EQ(Ids(*nodes), (std::vector<std::string>{"api-1", "db-1", "web-10", "web-2"}));
}

TEST_P(StoreContract, PutNodeReplacesTheRecordWithTheSameName) {
  v1::NodeRecord node = MakeNode("web-1");
  ASSERT_TRUE(store_->PutNode(node).ok());
  node.set_revoked(true);
  node.set_revoked_unix_ms(NowUnixMs());
  node.add_cert_serials("ffee");

  ASSERT_TRUE(store_->PutNode(node).ok());

  auto stored = store_->GetNode("web-1");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*stored, node)) << stored->DebugString();
  auto nodes = store_->Nodes();
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  EXPECT_EQ(nodes->size(), 1u);
}

// --- replicas ---

TEST_P(StoreContract, LiveReplicasListsEveryReplicaKeptAliveSortedById) {
  std::unique_ptr<Store> other = Open();
  ASSERT_NE(other, nullptr);
  v1::ReplicaRecord b = MakeReplica("cp-b", "10.0.0.2:9443");
  v1::ReplicaRecord a = MakeReplica("cp-a", "10.0.0.1:9443");

  ASSERT_TRUE(store_->KeepReplicaAlive(b, 30s).ok());
  ASSERT_TRUE(other->KeepReplicaAlive(a, 30s).ok());

  auto live = store_->LiveReplicas();
  ASSERT_TRUE(live.ok()) << live.status();
  ASSERT_EQ(live->size(), 2u);
  EXPECT_TRUE(MessageDifferencer::Equals((*live)[0], a)) << (*live)[0].DebugString();
  EXPECT_TRUE(MessageDifferencer::Equals((*live)[1], b)) << (*live)[1].DebugString();
}

TEST_P(StoreContract, AReplicaThatStopsRefreshingDisappearsAfterItsTtl) {
  std::unique_ptr<Store> other = Open();
  ASSERT_NE(other, nullptr);
  constexpr auto kTtl = 2s;
  v1::ReplicaRecord steady = MakeReplica("cp-steady", "10.0.0.1:9443");
  v1::ReplicaRecord gone = MakeReplica("cp-gone", "10.0.0.2:9443");
  ASSERT_TRUE(store_->KeepReplicaAlive(steady, kTtl).ok());
  ASSERT_TRUE(other->KeepReplicaAlive(gone, kTtl).ok());

  // `steady` refreshes twice a second; `gone` never again. etcd checks leases
  // for expiry every 500 ms, so allow a little past the TTL.
  std::vector<std::string> live_ids;
  const auto deadline = std::chrono::steady_clock::now() + kTtl + 2500ms;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(500ms);
    ASSERT_TRUE(store_->KeepReplicaAlive(steady, kTtl).ok());
    auto live = other->LiveReplicas();
    ASSERT_TRUE(live.ok()) << live.status();
    live_ids = Ids(*live);
    if (live_ids == std::vector<std::string>{"cp-steady"}) break;
  }

  EXPECT_EQ(live_ids, std::vector<std::string>{"cp-steady"});
}

// --- restarts ---

TEST_P(StoreContract, EverythingSurvivesAReopenAndVersionsContinue) {
  MustAppend({MakePolicy("web", "tcp/443")}, "alice", "first");
  v1::PolicyVersion second = MustAppend({MakePolicy("web", "tcp/8443")}, "bob", "second");
  v1::JoinTokenRecord token = MakeToken("abc123", NowUnixMs() + 60'000);
  ASSERT_TRUE(store_->PutJoinToken(token).ok());
  v1::NodeRecord node = MakeNode("web-1");
  ASSERT_TRUE(store_->PutNode(node).ok());
  store_.reset();

  std::unique_ptr<Store> reopened = Open();
  ASSERT_NE(reopened, nullptr);

  EXPECT_TRUE(MessageDifferencer::Equals(MustCurrent(*reopened), second));
  auto stored_token = reopened->GetJoinToken("abc123");
  ASSERT_TRUE(stored_token.ok()) << stored_token.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*stored_token, token));
  auto stored_node = reopened->GetNode("web-1");
  ASSERT_TRUE(stored_node.ok()) << stored_node.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*stored_node, node));
  auto third = reopened->Append({MakePolicy("web", "tcp/9443")}, "carol", "third", 2);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(third->version(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreContract,
                         ::testing::Values(Backend{"Sqlite",
                                                   []() -> absl::StatusOr<std::unique_ptr<StoreLocation>> {
                                                     return std::unique_ptr<StoreLocation>(new SqliteLocation());
                                                   }},
                                           Backend{"Etcd", MakeEtcdLocation}),
                         [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

}  // namespace
}  // namespace rampart::cp

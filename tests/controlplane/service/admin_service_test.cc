// The admin RPCs behind `rampart-cp policy ...`, over a real SQLite store:
// apply with an expected version, diff, history, rollback, and the debounce
// between a burst of applies and the fleet.
#include "controlplane/service/admin_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/common/strings.h"
#include "agent/policy/loader.h"
#include "controlplane/policy/policy_diff.h"
#include "controlplane/store/sqlite_store.h"
#include "tests/controlplane/temp_dir.h"

namespace rampart::cp {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using rampart::testing::TempDir;

// A policy named `name` that opens `port` to 10.0.0.0/8.
v1::Policy Policy(const std::string& name, int port = 8080, const std::string& source = "") {
  auto policies = policy::ParsePolicyYaml(
      StrCat("apiVersion: rampart/v1\nkind: Policy\nmetadata: {name: ", name,
             "}\nspec:\n  segmentation:\n    ingress:\n      default: deny\n      allow:\n"
             "        - {name: app, from: [10.0.0.0/8], ports: [\"tcp/",
             port, "\"]}\n"),
      source.empty() ? name + ".yaml" : source);
  EXPECT_TRUE(policies.ok()) << policies.status();
  return policies.ok() ? policies->front() : v1::Policy();
}

class AdminServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::Open(dir_.path() + "/store.db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    FleetOptions options;
    options.debounce = 0ms;  // the debounce has its own test below
    fleet_ = std::make_unique<Fleet>(v1::PolicyVersion(), options);
    admin_ = std::make_unique<AdminService>(*store_, *fleet_);
  }

  grpc::Status Apply(const std::vector<v1::Policy>& policies, v1::ApplyReply* reply,
                     std::optional<uint64_t> expected = std::nullopt, const std::string& author = "alice@host",
                     const std::string& message = "") {
    v1::ApplyRequest request;
    for (const auto& p : policies) *request.add_policies() = p;
    request.set_author(author);
    request.set_message(message);
    if (expected) request.set_expected_version(*expected);
    grpc::ServerContext context;
    return admin_->Apply(&context, &request, reply);
  }

  // Applies and expects a new version; returns its number.
  uint64_t MustApply(const std::vector<v1::Policy>& policies, const std::string& message = "") {
    v1::ApplyReply reply;
    grpc::Status status = Apply(policies, &reply, std::nullopt, "alice@host", message);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(reply.changed());
    return reply.version();
  }

  grpc::Status Rollback(uint64_t version, v1::ApplyReply* reply, std::optional<uint64_t> expected = std::nullopt,
                        const std::string& message = "") {
    v1::RollbackRequest request;
    request.set_version(version);
    request.set_author("bob@host");
    request.set_message(message);
    if (expected) request.set_expected_version(*expected);
    grpc::ServerContext context;
    return admin_->Rollback(&context, &request, reply);
  }

  std::vector<v1::PolicyVersion> History(uint32_t limit) {
    v1::HistoryRequest request;
    request.set_limit(limit);
    v1::HistoryReply reply;
    grpc::ServerContext context;
    grpc::Status status = admin_->History(&context, &request, &reply);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {reply.versions().begin(), reply.versions().end()};
  }

  v1::PolicyVersion Current() {
    auto current = store_->Current();
    EXPECT_TRUE(current.ok()) << current.status();
    return current.ok() ? *current : v1::PolicyVersion();
  }

  TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Fleet> fleet_;
  std::unique_ptr<AdminService> admin_;
};

v1::PolicyVersion Version(const std::vector<v1::Policy>& policies) {
  v1::PolicyVersion version;
  for (const auto& p : policies) *version.add_policies() = p;
  return version;
}

std::vector<std::vector<std::string>> Canonical(const v1::PolicyVersion& version) {
  std::vector<std::vector<std::string>> out;
  for (const auto& p : version.policies()) out.push_back(CanonicalLines(p));
  return out;
}

// --- apply ---

TEST_F(AdminServiceTest, ApplyStoresANewVersionWithItsAuthorAndMessageAndPublishesIt) {
  v1::ApplyReply reply;
  ASSERT_TRUE(Apply({Policy("web")}, &reply, std::nullopt, "alice@ci-7", "open 8080").ok());

  EXPECT_TRUE(reply.changed());
  EXPECT_EQ(reply.version(), 1u);
  EXPECT_EQ(DiffSummary(reply.diff()), "0 changed, 1 added, 0 removed; from version 0");
  v1::PolicyVersion stored = Current();
  EXPECT_EQ(stored.version(), 1u);
  EXPECT_EQ(stored.author(), "alice@ci-7");
  EXPECT_EQ(stored.message(), "open 8080");
  EXPECT_EQ(fleet_->Current().version(), 1u);
}

TEST_F(AdminServiceTest, ApplyOfTheSameSetStoresNothingWhateverItsOrderOrFiles) {
  MustApply({Policy("web"), Policy("db")});

  v1::ApplyReply reply;
  ASSERT_TRUE(Apply({Policy("db", 8080, "/tmp/ci/db.yaml"), Policy("web", 8080, "/tmp/ci/web.yaml")}, &reply).ok());

  EXPECT_FALSE(reply.changed());
  EXPECT_EQ(reply.version(), 1u);
  EXPECT_FALSE(HasChanges(reply.diff()));
  EXPECT_EQ(Current().version(), 1u);
}

TEST_F(AdminServiceTest, PoliciesAreStoredInNameOrder) {
  MustApply({Policy("zeta"), Policy("alpha"), Policy("mid")});

  std::vector<std::string> names;
  const v1::PolicyVersion stored = Current();
  for (const auto& p : stored.policies()) names.push_back(p.metadata().name());
  EXPECT_THAT(names, ElementsAre("alpha", "mid", "zeta"));
}

TEST_F(AdminServiceTest, ApplyBasedOnAnOlderVersionFailsAndStoresNothing) {
  MustApply({Policy("web", 80)});
  MustApply({Policy("web", 81)});  // another operator, in between

  v1::ApplyReply reply;
  grpc::Status status = Apply({Policy("web", 82)}, &reply, /*expected=*/1);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "policy changed since version 1: now 2");
  EXPECT_EQ(Current().version(), 2u);
  EXPECT_EQ(Canonical(Current()), Canonical(Version({Policy("web", 81)})));
}

TEST_F(AdminServiceTest, ApplyBasedOnTheNewestVersionSucceeds) {
  MustApply({Policy("web", 80)});

  v1::ApplyReply reply;
  grpc::Status status = Apply({Policy("web", 81)}, &reply, /*expected=*/1);

  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply.version(), 2u);
}

TEST_F(AdminServiceTest, ApplyAgainstNothingAppliedExpectsVersionZero) {
  v1::ApplyReply reply;
  ASSERT_TRUE(Apply({Policy("web")}, &reply, /*expected=*/0).ok());
  EXPECT_EQ(reply.version(), 1u);

  EXPECT_EQ(Apply({Policy("web", 9)}, &reply, /*expected=*/0).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(AdminServiceTest, AnInvalidSetIsRefusedWithTheFirstError) {
  v1::Policy broken = Policy("web");
  broken.mutable_spec()->mutable_segmentation()->mutable_ingress()->mutable_allow(0)->set_from(0, "10.0.0.300/8");

  v1::ApplyReply reply;
  grpc::Status status = Apply({broken}, &reply);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("10.0.0.300/8"));
  EXPECT_EQ(Current().version(), 0u);
}

// --- diff ---

TEST_F(AdminServiceTest, DiffComparesWithTheCurrentVersionAndStoresNothing) {
  MustApply({Policy("web", 80), Policy("old")});

  v1::DiffRequest request;
  *request.add_policies() = Policy("web", 81);
  *request.add_policies() = Policy("new");
  v1::DiffReply reply;
  grpc::ServerContext context;
  ASSERT_TRUE(admin_->Diff(&context, &request, &reply).ok());

  EXPECT_EQ(DiffSummary(reply.diff()), "1 changed, 1 added, 1 removed; from version 1");
  EXPECT_EQ(RenderDiff(reply.diff()), RenderDiff(DiffPolicies(Current(), {Policy("web", 81), Policy("new")})));
  EXPECT_EQ(Current().version(), 1u);
}

// --- history ---

TEST_F(AdminServiceTest, HistoryListsVersionsNewestFirstWithAuthorTimeAndMessage) {
  const int64_t before = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  MustApply({Policy("web", 80)}, "first");
  MustApply({Policy("web", 81)}, "second");
  MustApply({Policy("web", 82)}, "third");

  std::vector<v1::PolicyVersion> history = History(0);

  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].version(), 3u);
  EXPECT_EQ(history[0].message(), "third");
  EXPECT_EQ(history[1].version(), 2u);
  EXPECT_EQ(history[1].message(), "second");
  EXPECT_EQ(history[2].version(), 1u);
  EXPECT_EQ(history[2].message(), "first");
  for (const auto& v : history) {
    EXPECT_EQ(v.author(), "alice@host");
    EXPECT_GE(v.created_unix_ms(), before - 1000);
    EXPECT_EQ(v.policies_size(), 0) << "history carries metadata only";
  }
  EXPECT_GE(history[0].created_unix_ms(), history[2].created_unix_ms());
}

TEST_F(AdminServiceTest, HistoryStopsAtTheLimit) {
  for (int port = 80; port < 85; ++port) MustApply({Policy("web", port)});

  std::vector<v1::PolicyVersion> history = History(2);

  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].version(), 5u);
  EXPECT_EQ(history[1].version(), 4u);
}

// --- rollback ---

TEST_F(AdminServiceTest, RollbackStoresANewVersionWithTheOldPolicies) {
  MustApply({Policy("web", 80), Policy("db")});
  MustApply({Policy("web", 81)});

  v1::ApplyReply reply;
  grpc::Status status = Rollback(1, &reply);

  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(reply.changed());
  EXPECT_EQ(reply.version(), 3u);
  EXPECT_EQ(DiffSummary(reply.diff()), "1 changed, 1 added, 0 removed; from version 2");
  v1::PolicyVersion stored = Current();
  EXPECT_EQ(stored.version(), 3u);
  EXPECT_EQ(stored.author(), "bob@host");
  EXPECT_EQ(stored.message(), "rollback to version 1");
  auto first = store_->Get(1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(Canonical(stored), Canonical(*first));
  EXPECT_EQ(History(0).size(), 3u) << "versions 1 and 2 stay in the history";
  EXPECT_EQ(fleet_->Current().version(), 3u);
}

TEST_F(AdminServiceTest, RollbackKeepsTheOperatorsMessage) {
  MustApply({Policy("web", 80)});
  MustApply({Policy("web", 81)});

  v1::ApplyReply reply;
  ASSERT_TRUE(Rollback(1, &reply, std::nullopt, "81 broke checkout").ok());

  EXPECT_EQ(Current().message(), "81 broke checkout");
}

TEST_F(AdminServiceTest, RollbackToAnUnknownVersionIsNotFound) {
  MustApply({Policy("web", 80)});
  MustApply({Policy("web", 81)});

  v1::ApplyReply reply;
  grpc::Status status = Rollback(42, &reply);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "no policy version 42 (the newest is 2)");
  EXPECT_EQ(Current().version(), 2u);
}

TEST_F(AdminServiceTest, RollbackToVersionZeroIsBadUsage) {
  v1::ApplyReply reply;
  EXPECT_EQ(Rollback(0, &reply).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AdminServiceTest, RollbackToWhatIsInForceStoresNothing) {
  MustApply({Policy("web", 80)});
  MustApply({Policy("web", 81)});
  MustApply({Policy("web", 80)});

  v1::ApplyReply reply;
  ASSERT_TRUE(Rollback(1, &reply).ok());

  EXPECT_FALSE(reply.changed());
  EXPECT_EQ(reply.version(), 3u);
  EXPECT_EQ(Current().version(), 3u);
}

TEST_F(AdminServiceTest, RollbackBasedOnAnOlderVersionFails) {
  MustApply({Policy("web", 80)});
  MustApply({Policy("web", 81)});
  MustApply({Policy("web", 82)});

  v1::ApplyReply reply;
  grpc::Status status = Rollback(1, &reply, /*expected=*/2);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "policy changed since version 2: now 3");
  EXPECT_EQ(Current().version(), 3u);
}

// --- the debounce between applies and the fleet ---

TEST(AdminDebounceTest, ABurstOfTenAppliesReachesTheFleetOnceAsTheNewestVersion) {
  TempDir dir;
  auto store = SqliteStore::Open(dir.path() + "/store.db");
  ASSERT_TRUE(store.ok()) << store.status();
  Fleet fleet{v1::PolicyVersion()};  // the default debounce, 100 ms
  AdminService admin(**store, fleet);

  for (int i = 0; i < 10; ++i) {
    v1::ApplyRequest request;
    *request.add_policies() = Policy("web", 8000 + i);
    v1::ApplyReply reply;
    grpc::ServerContext context;
    ASSERT_TRUE(admin.Apply(&context, &request, &reply).ok());
    ASSERT_EQ(reply.version(), static_cast<uint64_t>(i + 1));
  }

  EXPECT_EQ(fleet.WaitForVersionAfter(0, 10s), 10u);
  std::this_thread::sleep_for(300ms);  // long enough for a second publication to show
  EXPECT_EQ(fleet.Publications(), 1u);
  EXPECT_EQ(fleet.Current().version(), 10u);
  EXPECT_EQ(fleet.Current().policies(0).spec().segmentation().ingress().allow(0).ports(0), "tcp/8009");
}

}  // namespace
}  // namespace rampart::cp

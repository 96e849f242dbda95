// The PolicyStore contract (controlplane/store/policy_store.h): versions start
// at 1 and count up, each keeps its policies, author, message and creation
// time, and the newest survives a restart. Every store implementation joins the
// PolicyStoreContract suite through INSTANTIATE_TEST_SUITE_P with its factory.
#include "controlplane/store/file_store.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "agent/common/strings.h"

namespace rampart::cp {
namespace {

namespace fs = std::filesystem;

// A directory private to one test, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "rampart-store-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp " << pattern << ": " << std::strerror(errno);
      return;
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Opens a store on `location`, a directory private to the test. Opening twice
// on the same location must give the same data, as after a restart. (A store
// that does not live in files, such as etcd, can use it as a key prefix.)
struct StoreFactory {
  std::string name;
  std::function<absl::StatusOr<std::unique_ptr<PolicyStore>>(const std::string& location)> open;
};

// Test names and failures show the store by name.
void PrintTo(const StoreFactory& factory, std::ostream* os) { *os << factory.name; }

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

bool SamePolicies(const google::protobuf::RepeatedPtrField<v1::Policy>& got, const std::vector<v1::Policy>& want) {
  if (got.size() != static_cast<int>(want.size())) return false;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!google::protobuf::util::MessageDifferencer::Equals(got[static_cast<int>(i)], want[i])) return false;
  }
  return true;
}

class PolicyStoreContract : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    store_ = Open();
    ASSERT_NE(store_, nullptr);
  }

  // A new store on the same location, as a restarted control plane opens it.
  std::unique_ptr<PolicyStore> Open() {
    auto store = GetParam().open(dir_.path());
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  v1::PolicyVersion MustCurrent(PolicyStore& store) {
    auto current = store.Current();
    EXPECT_TRUE(current.ok()) << current.status();
    return current.ok() ? *current : v1::PolicyVersion{};
  }

  v1::PolicyVersion MustAppend(const std::vector<v1::Policy>& policies, const std::string& author = "alice",
                               const std::string& message = "change") {
    auto appended = store_->Append(policies, author, message);
    EXPECT_TRUE(appended.ok()) << appended.status();
    return appended.ok() ? *appended : v1::PolicyVersion{};
  }

  TempDir dir_;
  std::unique_ptr<PolicyStore> store_;
};

TEST_P(PolicyStoreContract, EmptyStoreIsAtVersionZeroWithNoPolicies) {
  v1::PolicyVersion current = MustCurrent(*store_);

  EXPECT_EQ(current.version(), 0u);
  EXPECT_EQ(current.policies_size(), 0);
}

TEST_P(PolicyStoreContract, AppendNumbersVersionsOneTwoThree) {
  EXPECT_EQ(MustAppend({MakePolicy("web", "tcp/443")}).version(), 1u);
  EXPECT_EQ(MustAppend({MakePolicy("web", "tcp/8443")}).version(), 2u);
  EXPECT_EQ(MustAppend({MakePolicy("web", "tcp/9443")}).version(), 3u);
}

TEST_P(PolicyStoreContract, AppendedVersionKeepsPoliciesAuthorMessageAndCreationTime) {
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
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(MustCurrent(*store_), appended))
      << "Current() differs from what Append() returned";
}

TEST_P(PolicyStoreContract, CurrentIsTheNewestVersion) {
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

TEST_P(PolicyStoreContract, VersionsAreOrderedAsNumbersPastNine) {
  for (int i = 1; i <= 12; ++i)
    MustAppend({MakePolicy("web", rampart::StrCat("tcp/", 1000 + i))}, "alice", rampart::StrCat("change ", i));

  v1::PolicyVersion current = MustCurrent(*store_);

  EXPECT_EQ(current.version(), 12u);
  EXPECT_EQ(current.message(), "change 12");
}

TEST_P(PolicyStoreContract, EmptyPolicySetIsANewVersion) {
  // Applying no policies removes them all; that is a change like any other.
  MustAppend({MakePolicy("web", "tcp/443")});

  v1::PolicyVersion appended = MustAppend({}, "alice", "remove everything");

  EXPECT_EQ(appended.version(), 2u);
  v1::PolicyVersion current = MustCurrent(*store_);
  EXPECT_EQ(current.version(), 2u);
  EXPECT_EQ(current.policies_size(), 0);
}

TEST_P(PolicyStoreContract, NewestVersionSurvivesARestart) {
  MustAppend({MakePolicy("web", "tcp/443")}, "alice", "first");
  std::vector<v1::Policy> newest = {MakePolicy("web", "tcp/8443")};
  v1::PolicyVersion appended = MustAppend(newest, "bob", "second");
  store_.reset();

  std::unique_ptr<PolicyStore> reopened = Open();
  ASSERT_NE(reopened, nullptr);
  v1::PolicyVersion current = MustCurrent(*reopened);

  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(current, appended)) << current.DebugString();
}

TEST_P(PolicyStoreContract, VersionsContinueAfterARestart) {
  MustAppend({MakePolicy("web", "tcp/443")});
  MustAppend({MakePolicy("web", "tcp/8443")});
  store_.reset();

  std::unique_ptr<PolicyStore> reopened = Open();
  ASSERT_NE(reopened, nullptr);
  auto appended = reopened->Append({MakePolicy("web", "tcp/9443")}, "alice", "third");

  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_EQ(appended->version(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Stores, PolicyStoreContract,
                         ::testing::Values(StoreFactory{
                             "FileStore",
                             [](const std::string& location) -> absl::StatusOr<std::unique_ptr<PolicyStore>> {
                               auto store = FileStore::Open(location + "/policies");
                               if (!store.ok()) return store.status();
                               return std::unique_ptr<PolicyStore>(*std::move(store));
                             }}),
                         [](const ::testing::TestParamInfo<StoreFactory>& info) { return info.param.name; });

// --- FileStore specifics ---

TEST(FileStoreTest, OpenCreatesAMissingDirectoryReadableOnlyByItsOwner) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/a/b/policies";

  auto store = FileStore::Open(path);

  ASSERT_TRUE(store.ok()) << store.status();
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0) << std::strerror(errno);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

}  // namespace
}  // namespace rampart::cp

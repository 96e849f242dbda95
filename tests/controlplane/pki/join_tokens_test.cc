// One-time join tokens as the control plane keeps them: only a hash of the
// secret is stored, and a token works once, before it expires, with the
// right secret.
#include "controlplane/pki/join_tokens.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "controlplane/store/sqlite_store.h"
#include "tests/controlplane/pki/test_control_plane.h"

namespace rampart::cp {
namespace {

using namespace std::chrono_literals;

constexpr char kPin[] = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

class JoinTokens : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::Open(dir_.path() + "/store.db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  identity::JoinToken Create(std::chrono::seconds ttl = 1h) {
    auto token = CreateJoinToken(*store_, kPin, "cp.fleet.test:7443", ttl, "rack 4", now_);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : identity::JoinToken{};
  }

  testing::TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
  const x509::TimePoint now_ = std::chrono::system_clock::now();
};

TEST_F(JoinTokens, TheStoreKeepsOnlyAHashOfTheSecret) {
  identity::JoinToken token = Create();
  auto record = store_->GetJoinToken(token.id);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->secret_sha256(), HashTokenSecret(token.secret));
  EXPECT_EQ(record->secret_sha256().size(), 32u);
  EXPECT_EQ(record->SerializeAsString().find(token.secret), std::string::npos);
  EXPECT_EQ(record->description(), "rack 4");
  EXPECT_FALSE(record->used());
}

TEST_F(JoinTokens, ANewTokenIsAPasteableStringWithThePinAndAddress) {
  identity::JoinToken token = Create();
  auto parsed = identity::JoinToken::Parse(token.ToString());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->id, token.id);
  EXPECT_EQ(parsed->secret, token.secret);
  EXPECT_EQ(parsed->ca_pin, kPin);
  EXPECT_EQ(parsed->address, "cp.fleet.test:7443");
}

TEST_F(JoinTokens, IdsAndSecretsAreFreshEachTime) {
  std::set<std::string> ids, secrets;
  for (int i = 0; i < 20; ++i) {
    identity::JoinToken token = Create();
    EXPECT_TRUE(identity::IsTokenPart(token.id, 6)) << token.id;
    EXPECT_TRUE(identity::IsTokenPart(token.secret, 16));
    ids.insert(token.id);
    secrets.insert(token.secret);
  }
  EXPECT_EQ(ids.size(), 20u);
  EXPECT_EQ(secrets.size(), 20u);
}

TEST_F(JoinTokens, ATokenThatWasUsedIsRefusedTheSecondTime) {
  identity::JoinToken token = Create();
  ASSERT_TRUE(RedeemJoinToken(*store_, token.id, token.secret, "node-a", now_).ok());
  auto again = RedeemJoinToken(*store_, token.id, token.secret, "node-b", now_ + 1s);
  ASSERT_EQ(again.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(again.status().message().find("join token " + token.id + " was already used (by node \"node-a\""),
            std::string::npos)
      << again.status();
  EXPECT_EQ(store_->GetJoinToken(token.id)->used_by_node(), "node-a");
}

TEST_F(JoinTokens, AnExpiredTokenIsRefused) {
  identity::JoinToken token = Create(60s);
  auto late = RedeemJoinToken(*store_, token.id, token.secret, "node-a", now_ + 61s);
  ASSERT_EQ(late.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(late.status().message().find("join token " + token.id + " expired at "), std::string::npos)
      << late.status();
  EXPECT_TRUE(RedeemJoinToken(*store_, token.id, token.secret, "node-a", now_ + 59s).ok());
}

TEST_F(JoinTokens, AWrongSecretIsRefusedAndLeavesTheTokenUsable) {
  identity::JoinToken token = Create();
  std::string wrong = token.secret;
  wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
  auto refused = RedeemJoinToken(*store_, token.id, wrong, "node-a", now_);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(refused.status().message(), "join token " + token.id + ": wrong secret");
  EXPECT_EQ(refused.status().message().find(wrong), std::string::npos);
  EXPECT_TRUE(RedeemJoinToken(*store_, token.id, token.secret, "node-a", now_).ok());
}

TEST_F(JoinTokens, AnUnknownTokenIsRefused) {
  auto refused = RedeemJoinToken(*store_, "zzzzzz", "0123456789abcdef", "node-a", now_);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(refused.status().message().find("join token zzzzzz is unknown"), std::string::npos) << refused.status();
}

TEST_F(JoinTokens, OfManyConcurrentJoinsWithOneTokenExactlyOneSucceeds) {
  identity::JoinToken token = Create();
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      if (RedeemJoinToken(*store_, token.id, token.secret, "node-" + std::to_string(i), now_).ok()) succeeded++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(succeeded.load(), 1);
}

TEST_F(JoinTokens, ATokenMustLiveForAPositiveTime) {
  auto token = CreateJoinToken(*store_, kPin, "", 0s, "", now_);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rampart::cp

// The pasteable join token: ID.SECRET.sha256:PIN[@HOST:PORT].
#include "agent/enroll/join_token.h"

#include <gtest/gtest.h>

namespace rampart::identity {
namespace {

const std::string kPin = "sha256:" + std::string(64, 'a');

TEST(JoinToken, ParsesIdSecretPinAndAddress) {
  auto token = JoinToken::Parse("abc123.0123456789abcdef." + kPin + "@cp.example.net:7443");
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->id, "abc123");
  EXPECT_EQ(token->secret, "0123456789abcdef");
  EXPECT_EQ(token->ca_pin, kPin);
  EXPECT_EQ(token->address, "cp.example.net:7443");
}

TEST(JoinToken, TheAddressIsOptional) {
  auto token = JoinToken::Parse("abc123.0123456789abcdef." + kPin);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->address, "");
}

TEST(JoinToken, FormatsToWhatItParsesFrom) {
  JoinToken token{"abc123", "0123456789abcdef", kPin, "[::1]:7443"};
  EXPECT_EQ(token.ToString(), "abc123.0123456789abcdef." + kPin + "@[::1]:7443");
  auto parsed = JoinToken::Parse(token.ToString());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->address, "[::1]:7443");
}

TEST(JoinToken, MalformedTokensSayWhichPartIsWrongAndNeverEchoTheSecret) {
  const std::string secret = "0123456789abcdef";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "missing parts"},
      {"abc123." + secret, "missing parts"},
      {"ABC123." + secret + "." + kPin, "the id is not 6 of [a-z0-9]"},
      {"abc12." + secret + "." + kPin, "the id is not 6 of [a-z0-9]"},
      {"abc123.0123456789ABCDEF." + kPin, "the secret is not 16 of [a-z0-9]"},
      {"abc123." + secret + ".md5:" + std::string(32, 'a'), "the CA pin is not sha256:<64 lowercase hex>"},
      {"abc123." + secret + ".sha256:" + std::string(63, 'a'), "the CA pin is not sha256:<64 lowercase hex>"},
      {"abc123." + secret + "." + kPin + "@", "empty address"},
  };
  for (const auto& [text, reason] : cases) {
    auto token = JoinToken::Parse(text);
    ASSERT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_NE(token.status().message().find(reason), std::string::npos) << text << ": " << token.status();
    EXPECT_EQ(token.status().message().find(secret), std::string::npos) << token.status();
  }
}

}  // namespace
}  // namespace rampart::identity

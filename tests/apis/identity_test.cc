#include "agent/apis/identity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "agent/apis/api_inventory.h"
#include "agent/jwt/base64url.h"
#include "tests/apis/test_support.h"

namespace rampart::apis {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Request;

// An unsigned-looking JWT: identity reads claims without verifying them.
std::string Jwt(const std::string& claims) {
  return jwt::EncodeBase64Url(R"({"alg":"RS256","typ":"JWT"})") + "." + jwt::EncodeBase64Url(claims) + ".c2lnbmF0dXJl";
}

IdentityOptions WithMtls() {
  IdentityOptions options;
  options.api_key_headers = {"x-api-key", "x-partner-key"};
  options.mtls_headers = {"x-forwarded-client-cert"};
  return options;
}

TEST(IdentityResolverTest, EachSourceInItsOrder) {
  const IdentityResolver resolver(WithMtls(), 1);
  const std::string key = "sk_live_0123456789abcdef";
  const std::string token = Jwt(R"({"sub":"user-8812","client_id":"mobile-app"})");
  struct Case {
    std::vector<http::Header> headers;
    IdentityKind kind;
    std::string masked;
  };
  const Case cases[] = {
      {{{"x-partner-key", key}, {"authorization", "Bearer " + token}},
       IdentityKind::kApiKey,
       "api_key ********************cdef"},
      {{{"authorization", "Bearer " + token}}, IdentityKind::kJwtSubject, "jwt_sub *******12"},
      {{{"authorization", "bearer " + Jwt(R"({"client_id":"mobile-app"})")}},
       IdentityKind::kJwtClient,
       "jwt_client_id ********pp"},
      {{{"authorization", "Bearer opaque-access-token-123"}}, IdentityKind::kBearer, "bearer *******************-123"},
      {{{"x-forwarded-client-cert", "By=spiffe://cluster/ns/api;URI=spiffe://cluster/ns/batch"}},
       IdentityKind::kMtls,
       ""},
      {{{"authorization", "Basic dXNlcjpwYXNz"}}, IdentityKind::kAddress, "address 10.0.0.7"},
      {{}, IdentityKind::kAddress, "address 10.0.0.7"},
  };
  for (const auto& c : cases) {
    const Identity id = resolver.Resolve(Request("GET", "/x", c.headers), "10.0.0.7");
    EXPECT_EQ(IdentityKindName(id.kind), IdentityKindName(c.kind)) << id.masked;
    if (!c.masked.empty()) {
      EXPECT_EQ(id.masked, c.masked);
    }
    EXPECT_NE(id.key, 0u);
  }
}

TEST(IdentityResolverTest, TheSameCredentialIsTheSameIdentityWhateverElseDiffers) {
  const IdentityResolver resolver(WithMtls(), 1);
  const Identity a = resolver.Resolve(Request("GET", "/a", {{"x-api-key", "k-123456789"}}), "10.0.0.7");
  const Identity b = resolver.Resolve(Request("POST", "/b", {{"x-api-key", "k-123456789"}}), "10.0.0.9");
  const Identity c = resolver.Resolve(Request("GET", "/a", {{"x-api-key", "k-987654321"}}), "10.0.0.7");
  EXPECT_EQ(a.key, b.key);
  EXPECT_NE(a.key, c.key);
  // The same value as a different kind is a different identity.
  const Identity as_bearer = resolver.Resolve(Request("GET", "/a", {{"authorization", "Bearer k-123456789"}}), "");
  EXPECT_NE(a.key, as_bearer.key);
  // Keys are keyed hashes: another seed, other keys.
  const IdentityResolver other(WithMtls(), 2);
  EXPECT_NE(other.Resolve(Request("GET", "/a", {{"x-api-key", "k-123456789"}}), "").key, a.key);
}

TEST(IdentityResolverTest, MaskedIdentitiesNeverHoldTheCredential) {
  const IdentityResolver resolver(WithMtls(), 1);
  const std::string key = "sk_live_0123456789abcdef";
  EXPECT_THAT(resolver.Resolve(Request("GET", "/", {{"x-api-key", key}}), "").masked, Not(HasSubstr("0123456789")));
  const std::string sub = "alice@example.com";
  const Identity id =
      resolver.Resolve(Request("GET", "/", {{"authorization", "Bearer " + Jwt(R"({"sub":")" + sub + R"("})")}}), "");
  EXPECT_THAT(id.masked, Not(HasSubstr("alice")));
  EXPECT_EQ(resolver.Resolve(Request("GET", "/", {{"x-api-key", "short"}}), "").masked, "api_key *****");
}

TEST(IdentityResolverTest, WithoutAddressFallbackAnAnonymousRequestHasNoIdentity) {
  IdentityOptions options;
  options.address_fallback = false;
  const IdentityResolver resolver(options, 1);
  const Identity id = resolver.Resolve(Request("GET", "/"), "10.0.0.7");
  EXPECT_EQ(id.kind, IdentityKind::kNone);
  EXPECT_EQ(id.key, 0u);
}

TEST(IdentityResolverTest, JwtIdentityCanBeTurnedOff) {
  IdentityOptions options;
  options.jwt = false;
  const IdentityResolver resolver(options, 1);
  const Identity id =
      resolver.Resolve(Request("GET", "/", {{"authorization", "Bearer " + Jwt(R"({"sub":"u1"})")}}), "");
  EXPECT_EQ(id.kind, IdentityKind::kBearer) << "the token still identifies the client, as an opaque credential";
}

TEST(IdentityResolverTest, AuthSchemesSeen) {
  const IdentityResolver resolver(WithMtls(), 1);
  auto schemes = [&](std::vector<http::Header> headers) {
    return AuthSchemeNames(resolver.AuthSchemes(Request("GET", "/", std::move(headers))));
  };
  EXPECT_THAT(schemes({}), ElementsAre("none"));
  EXPECT_THAT(schemes({{"authorization", "Basic dXNlcjpwYXNz"}}), ElementsAre("basic"));
  EXPECT_THAT(schemes({{"authorization", "Bearer " + Jwt("{}")}}), ElementsAre("jwt"));
  EXPECT_THAT(schemes({{"authorization", "Bearer abc"}, {"cookie", "sid=1"}}), ElementsAre("bearer", "cookie"));
  EXPECT_THAT(schemes({{"x-partner-key", "k"}, {"x-forwarded-client-cert", "Hash=ab"}}),
              ElementsAre("api_key", "mtls"));
}

}  // namespace
}  // namespace rampart::apis

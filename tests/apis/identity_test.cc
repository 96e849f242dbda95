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

capture::PeerCertificate Peer(std::string cn, std::vector<std::string> uris, std::vector<std::string> dns) {
  return capture::PeerCertificate{.subject_cn = std::move(cn), .uri_sans = std::move(uris), .dns_sans = std::move(dns)};
}

TEST(IdentityResolverTest, TheConnectionsClientCertificateComesAfterHeadersAndBeforeTheAddress) {
  const IdentityResolver resolver(WithMtls(), 1);
  const capture::PeerCertificate peer = Peer("client-a", {}, {});
  struct Case {
    std::vector<http::Header> headers;
    IdentityKind kind;
  };
  const Case cases[] = {
      {{{"x-api-key", "k-123456789"}}, IdentityKind::kApiKey},
      {{{"authorization", "Bearer " + Jwt(R"({"sub":"user-8812"})")}}, IdentityKind::kJwtSubject},
      // Behind a terminator the connection's peer is the proxy; its header names the client.
      {{{"x-forwarded-client-cert", "URI=spiffe://cluster/ns/batch"}}, IdentityKind::kMtls},
      {{{"authorization", "Basic dXNlcjpwYXNz"}}, IdentityKind::kMtlsPeer},
      {{}, IdentityKind::kMtlsPeer},
  };
  for (const auto& c : cases) {
    const Identity id = resolver.Resolve(Request("GET", "/x", c.headers), "10.0.0.7", &peer);
    EXPECT_EQ(IdentityKindName(id.kind), IdentityKindName(c.kind)) << id.masked;
  }
  const Identity id = resolver.Resolve(Request("GET", "/x", {}), "10.0.0.7", &peer);
  EXPECT_EQ(id.masked, "mtls_peer CN=client-a") << "a certificate name names the client; it is not a secret";
  EXPECT_EQ(resolver.Resolve(Request("GET", "/x", {}), "10.0.0.7", nullptr).kind, IdentityKind::kAddress)
      << "no certificate on the connection: the address";
}

TEST(IdentityResolverTest, TwoCertificatesFromOneAddressAreTwoIdentities) {
  const IdentityResolver resolver(IdentityOptions{}, 1);
  const capture::PeerCertificate a = Peer("client-a", {}, {});
  const capture::PeerCertificate b = Peer("client-b", {}, {});
  const Identity ida = resolver.Resolve(Request("GET", "/x", {}), "10.0.0.7", &a);
  const Identity idb = resolver.Resolve(Request("GET", "/x", {}), "10.0.0.7", &b);
  EXPECT_NE(ida.key, idb.key);
  EXPECT_EQ(ida.key, resolver.Resolve(Request("POST", "/y", {}), "10.0.0.9", &a).key)
      << "the same certificate from another address is the same client";
}

TEST(IdentityResolverTest, MtlsPeerModeChoosesTheName) {
  const capture::PeerCertificate full =
      Peer("client-a", {"spiffe://example.org/ns/prod/sa/billing"}, {"billing.example", "b.example"});
  const capture::PeerCertificate dns_only = Peer("", {}, {"billing.example"});
  const capture::PeerCertificate cn_only = Peer("client-a", {}, {});
  struct Case {
    MtlsPeerMode mode;
    const capture::PeerCertificate* peer;
    std::string text;
  };
  const Case cases[] = {
      {MtlsPeerMode::kAuto, &full, "spiffe://example.org/ns/prod/sa/billing"},
      {MtlsPeerMode::kAuto, &cn_only, "CN=client-a"},
      {MtlsPeerMode::kAuto, &dns_only, "DNS=billing.example"},
      {MtlsPeerMode::kSubject, &full, "CN=client-a"},
      {MtlsPeerMode::kSubject, &dns_only, ""},
      {MtlsPeerMode::kSan, &full, "spiffe://example.org/ns/prod/sa/billing"},
      {MtlsPeerMode::kSan, &dns_only, "DNS=billing.example"},
      {MtlsPeerMode::kSan, &cn_only, ""},
      {MtlsPeerMode::kOff, &full, ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(PeerIdentityText(*c.peer, c.mode), c.text) << MtlsPeerModeName(c.mode);
    IdentityOptions options;
    options.mtls_peer = c.mode;
    const IdentityResolver resolver(options, 1);
    const Identity id = resolver.Resolve(Request("GET", "/x", {}), "10.0.0.7", c.peer);
    if (c.text.empty()) {
      EXPECT_EQ(id.kind, IdentityKind::kAddress) << MtlsPeerModeName(c.mode) << ": no name, the address";
      EXPECT_EQ(resolver.AuthSchemes(Request("GET", "/x", {}), c.peer), kAuthNone);
    } else {
      EXPECT_EQ(id.masked, "mtls_peer " + c.text);
      EXPECT_EQ(resolver.AuthSchemes(Request("GET", "/x", {}), c.peer), kAuthMtls);
    }
  }
}

TEST(IdentityResolverTest, MtlsPeerModeNamesRoundTrip) {
  for (MtlsPeerMode mode : {MtlsPeerMode::kOff, MtlsPeerMode::kAuto, MtlsPeerMode::kSubject, MtlsPeerMode::kSan}) {
    MtlsPeerMode parsed = MtlsPeerMode::kOff;
    EXPECT_TRUE(ParseMtlsPeerMode(MtlsPeerModeName(mode), parsed));
    EXPECT_EQ(parsed, mode);
  }
  MtlsPeerMode untouched = MtlsPeerMode::kSan;
  EXPECT_FALSE(ParseMtlsPeerMode("cn", untouched));
  EXPECT_EQ(untouched, MtlsPeerMode::kSan);
}

}  // namespace
}  // namespace rampart::apis

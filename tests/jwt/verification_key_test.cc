#include "agent/jwt/verification_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "agent/jwt/base64url.h"
#include "agent/jwt/jwt_inspector.h"
#include "tests/jwt/test_signer.h"

namespace rampart::jwt {
namespace {

using testing::GenerateEc;
using testing::GenerateEd25519;
using ::testing::HasSubstr;
using testing::Jwks;
using testing::OctJwk;
using testing::SharedRsa;
using ::testing::StartsWith;
using testing::TestKey;

const std::string kSecret(32, 's');

const TestKey& Rsa() {
  static const TestKey* key = new TestKey(SharedRsa("issuer", "rsa-1"));
  return *key;
}

std::string ErrorOf(const absl::StatusOr<std::vector<VerificationKey>>& result) {
  return result.ok() ? "<ok>" : std::string(result.status().message());
}

TEST(JwksTest, LoadsEveryKeyTypeWithItsKidAndAlg) {
  TestKey ec256 = GenerateEc("P-256", "ec-256");
  TestKey ec521 = GenerateEc("P-521", "ec-521");
  TestKey ed = GenerateEd25519("ed-1");
  auto keys = ParseJwks("jwks.json", Jwks({Rsa().Jwk(R"("alg":"RS256","use":"sig")"), ec256.Jwk(), ec521.Jwk(),
                                           ed.Jwk(), OctJwk(kSecret, "hs-1")}));
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 5u);
  EXPECT_EQ((*keys)[0].kind, KeyKind::kRsa);
  EXPECT_EQ((*keys)[0].kid, "rsa-1");
  EXPECT_EQ((*keys)[0].alg, "RS256");
  EXPECT_EQ((*keys)[0].origin, "jwks jwks.json key 0");
  EXPECT_EQ((*keys)[1].kind, KeyKind::kEc);
  EXPECT_EQ((*keys)[1].curve, "P-256");
  EXPECT_EQ((*keys)[2].curve, "P-521");
  EXPECT_EQ((*keys)[3].kind, KeyKind::kOkp);
  EXPECT_EQ((*keys)[3].curve, "Ed25519");
  EXPECT_EQ((*keys)[4].kind, KeyKind::kOct);
  EXPECT_EQ((*keys)[4].secret, kSecret);
}

TEST(JwksTest, KeyFitsOnlyItsAlgorithmFamilyCurveAndNamedAlg) {
  TestKey ec384 = GenerateEc("P-384", "ec-384");
  auto keys = ParseJwks("j", Jwks({Rsa().Jwk(), ec384.Jwk(), Rsa().Jwk(R"("alg":"PS256")")}));
  ASSERT_TRUE(keys.ok()) << keys.status();
  const VerificationKey& rsa = (*keys)[0];
  const VerificationKey& ec = (*keys)[1];
  const VerificationKey& ps256_only = (*keys)[2];
  EXPECT_TRUE(KeyFits(*FindJwsAlgorithm("RS512"), rsa));
  EXPECT_TRUE(KeyFits(*FindJwsAlgorithm("PS384"), rsa));
  EXPECT_FALSE(KeyFits(*FindJwsAlgorithm("HS256"), rsa));
  EXPECT_TRUE(KeyFits(*FindJwsAlgorithm("ES384"), ec));
  EXPECT_FALSE(KeyFits(*FindJwsAlgorithm("ES256"), ec));  // the curve is part of the algorithm
  EXPECT_TRUE(KeyFits(*FindJwsAlgorithm("PS256"), ps256_only));
  EXPECT_FALSE(KeyFits(*FindJwsAlgorithm("RS256"), ps256_only));
}

TEST(JwksTest, AcceptsASingleJwk) {
  auto keys = ParseJwks("one.jwk", Rsa().Jwk());
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->size(), 1u);
}

TEST(JwksTest, SkipsKeysThatDoNotVerifyJwsSignatures) {
  auto keys = ParseJwks(
      "j", Jwks({Rsa().Jwk(R"("use":"enc")"), Rsa().Jwk(R"("alg":"RSA-OAEP")"), Rsa().Jwk(R"("key_ops":["encrypt"])"),
                 R"({"kty":"OKP","crv":"X25519","x":"AAAA"})", R"({"kty":"EC","crv":"secp256k1","x":"AA","y":"AA"})",
                 R"({"kty":"XYZ"})", OctJwk(kSecret, "kept", R"("key_ops":["sign","verify"])")}));
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].kid, "kept");
}

TEST(JwksTest, ADocumentWithoutAnySignatureKeyIsAnError) {
  EXPECT_EQ(ErrorOf(ParseJwks("/etc/rampart/enc.json", Jwks({Rsa().Jwk(R"("use":"enc")")}))),
            "jwks /etc/rampart/enc.json: no signature verification key among 1 (skipped: use other than \"sig\", "
            "key_ops without \"verify\", unsupported alg, kty or crv)");
  EXPECT_THAT(ErrorOf(ParseJwks("e.json", R"({"keys":[]})")), StartsWith("jwks e.json: no signature verification key"));
}

TEST(JwksTest, ErrorsNameTheFileTheKeyAndWhatIsWrong) {
  struct Case {
    std::string jwk;
    std::string error;
  };
  std::string rsa = Rsa().Jwk();
  const Case cases[] = {
      {R"({"kty":"RSA","kid":"abc","e":"AQAB"})", R"(key 2 (kid "abc"): RSA key without "n")"},
      {R"({"kty":"RSA","n":"AQAB"})", R"(key 2: RSA key without "e")"},
      {R"({"kty":"RSA","n":"AQ+B","e":"AQAB"})", R"(key 2: "n" is not base64url)"},
      {R"({"kty":"RSA","n":17,"e":"AQAB"})", R"(key 2: "n" is not a string)"},
      {R"({"kty":"RSA","n":"","e":"AQAB"})", R"(key 2: "n" is empty)"},
      {R"({"kid":"x"})", R"(key 2 (kid "x"): no "kty")"},
      {R"({"kty":"RSA","kid":7})", R"(key 2: "kid" is not a string)"},
      {R"([1])", R"(key 2: not an object)"},
      {R"({"kty":"EC","x":"AA","y":"AA"})", R"(key 2: EC key without "crv")"},
      {R"({"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"})", R"(key 2: "x" has 3 bytes; P-256 needs 32)"},
      {R"({"kty":"OKP","crv":"Ed25519","x":"AAAA"})", R"(key 2: "x" has 3 bytes; Ed25519 needs 32)"},
      {R"({"kty":"oct","kid":"short","k":"c2hvcnQ"})",
       R"(key 2 (kid "short"): oct key of 5 bytes; RFC 7518 requires at least 32)"},
      {OctJwk(std::string(40, 'k'), "", R"("alg":"HS512")"),
       R"(key 2: oct key of 40 bytes; RFC 7518 requires at least 64)"},
      {R"({"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQAB"})",
       R"(key 2: holds a private key ("d"); configure the public JWKS)"},
      {R"({"kty":"RSA","n":"AQAB","e":"Ag"})", R"(key 2: "e" is not an odd exponent above 1)"},
  };
  for (const Case& c : cases) {
    auto keys = ParseJwks("/etc/rampart/jwks.json", Jwks({rsa, rsa, c.jwk}));
    EXPECT_EQ(ErrorOf(keys), "jwks /etc/rampart/jwks.json: " + c.error) << c.jwk;
  }
}

TEST(JwksTest, RefusesRsaKeysBelow2048Bits) {
  TestKey small = SharedRsa("small", "small", 1024);
  EXPECT_EQ(ErrorOf(ParseJwks("j", Jwks({small.Jwk()}))),
            R"(jwks j: key 0 (kid "small"): RSA modulus of 1024 bits; RFC 7518 requires at least 2048)");
}

TEST(JwksTest, RefusesAnEcPointOffTheCurve) {
  TestKey ec = GenerateEc("P-256", "");
  std::string jwk = ec.Jwk();
  // Replace y with another 32-byte value: (x, y') is not on P-256.
  size_t y = jwk.find("\"y\":\"") + 5;
  jwk.replace(y, jwk.find('"', y) - y, EncodeBase64Url(std::string(32, '\x01')));
  EXPECT_EQ(ErrorOf(ParseJwks("j", Jwks({jwk}))), "jwks j: key 0: (x, y) is not a point on the curve");
}

TEST(JwksTest, InvalidJsonNamesTheFileAndOffset) {
  EXPECT_EQ(ErrorOf(ParseJwks("/k.json", R"({"keys": [)")),
            "jwks /k.json: invalid JSON at byte 10: expected a value, found the end");
  EXPECT_EQ(ErrorOf(ParseJwks("/k.json", R"({"keys": {}})")), "jwks /k.json: \"keys\" is not an array");
  EXPECT_EQ(ErrorOf(ParseJwks("/k.json", R"({"issuer": "x"})")),
            "jwks /k.json: neither a JWK set ({\"keys\": [...]}) nor a JWK");
}

TEST(PemKeysTest, LoadsPublicKeysAndCertificatesOfEveryType) {
  TestKey ec = GenerateEc("P-384", "");
  TestKey ed = GenerateEd25519("");
  auto keys =
      ParsePemKeys("issuer.pem", Rsa().PublicPem() + ec.CertificatePem() + "comment between blocks\n" + ed.PublicPem());
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 3u);
  EXPECT_EQ((*keys)[0].kind, KeyKind::kRsa);
  EXPECT_EQ((*keys)[0].origin, "pem issuer.pem block 0");
  EXPECT_TRUE((*keys)[0].kid.empty());
  EXPECT_EQ((*keys)[1].kind, KeyKind::kEc);
  EXPECT_EQ((*keys)[1].curve, "P-384");
  EXPECT_EQ((*keys)[2].kind, KeyKind::kOkp);
}

TEST(PemKeysTest, KeepsThePemAsWrittenAmongThePublicEncodings) {
  std::string pem = Rsa().PublicPem();
  auto keys = ParsePemKeys("issuer.pem", pem);
  ASSERT_TRUE(keys.ok()) << keys.status();
  const std::vector<std::string>& encodings = (*keys)[0].public_encodings;
  EXPECT_THAT(encodings, ::testing::Contains(pem));
  EXPECT_THAT(encodings, ::testing::Contains(pem.substr(0, pem.size() - 1)));      // without the final newline
  EXPECT_THAT(encodings, ::testing::Contains(HasSubstr("BEGIN RSA PUBLIC KEY")));  // PKCS#1
}

TEST(PemKeysTest, RefusesPrivateKeysNamingTheBlock) {
  EXPECT_EQ(ErrorOf(ParsePemKeys("/etc/rampart/issuer.pem", Rsa().PublicPem() + Rsa().PrivatePem())),
            "pem /etc/rampart/issuer.pem: block 1 (PRIVATE KEY): private keys are refused; configure the public key");
}

TEST(PemKeysTest, ErrorsNameTheFileAndBlock) {
  EXPECT_EQ(ErrorOf(ParsePemKeys("/x.pem", "just text\n")), "pem /x.pem: no PEM block");
  EXPECT_EQ(ErrorOf(ParsePemKeys("/x.pem", "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n")),
            "pem /x.pem: block 0 (X509 CRL): not a public key or certificate");
  TestKey small = SharedRsa("small", "", 1024);
  EXPECT_EQ(ErrorOf(ParsePemKeys("/x.pem", small.PublicPem())),
            "pem /x.pem: block 0 (PUBLIC KEY): RSA modulus of 1024 bits; RFC 7518 requires at least 2048");
  EXPECT_THAT(ErrorOf(ParsePemKeys("/x.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")),
              StartsWith("pem /x.pem: block 0 (PUBLIC KEY): "));
}

class KeyFilesTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = ::testing::TempDir() + "jwt_keys_" + name;
    std::ofstream(path) << content;
    return path;
  }
};

TEST_F(KeyFilesTest, CreateLoadsTheConfiguredFiles) {
  JwtOptions options;
  options.jwks_files = {Write("good.json", Jwks({Rsa().Jwk()}))};
  options.pem_files = {Write("good.pem", Rsa().PublicPem())};
  EXPECT_TRUE(JwtInspector::Create(options).ok());
}

TEST_F(KeyFilesTest, CreateErrorsNameTheFile) {
  JwtOptions options;
  std::string bad = Write("bad.json", R"({"keys":[{"kty":"RSA","kid":"abc","e":"AQAB"}]})");
  options.jwks_files = {bad};
  auto inspector = JwtInspector::Create(options);
  ASSERT_FALSE(inspector.ok());
  EXPECT_EQ(inspector.status().message(), "jwks " + bad + R"(: key 0 (kid "abc"): RSA key without "n")");

  options.jwks_files = {"/nonexistent/jwks.json"};
  inspector = JwtInspector::Create(options);
  ASSERT_FALSE(inspector.ok());
  EXPECT_THAT(std::string(inspector.status().message()), StartsWith("jwks /nonexistent/jwks.json: "));
  EXPECT_THAT(std::string(inspector.status().message()), HasSubstr("ENOENT"));

  options.jwks_files.clear();
  options.pem_files = {Write("private.pem", Rsa().PrivatePem())};
  inspector = JwtInspector::Create(options);
  ASSERT_FALSE(inspector.ok());
  EXPECT_THAT(std::string(inspector.status().message()), HasSubstr("private.pem: block 0 (PRIVATE KEY)"));
}

TEST_F(KeyFilesTest, KeyDocumentsUseTheirNameInErrors) {
  JwtOptions options;
  options.jwks_documents = {{"policy payments-api jwks", R"({"keys":[{"kty":"EC","crv":"P-256"}]})"}};
  auto inspector = JwtInspector::Create(options);
  ASSERT_FALSE(inspector.ok());
  EXPECT_EQ(inspector.status().message(), R"(jwks policy payments-api jwks: key 0: EC key without "x")");
}

TEST(JwtOptionsTest, AllowedAlgsMustBeSupportedAndNeverNone) {
  JwtOptions options;
  options.allowed_algs = {"RS256", "RS1"};
  auto inspector = JwtInspector::Create(options);
  ASSERT_FALSE(inspector.ok());
  EXPECT_THAT(std::string(inspector.status().message()),
              StartsWith(R"(allowed_algs: "RS1" is not a supported JWS algorithm (HS256, HS384)"));
  options.allowed_algs = {"None"};
  inspector = JwtInspector::Create(options);
  ASSERT_FALSE(inspector.ok());
  EXPECT_THAT(std::string(inspector.status().message()), HasSubstr("cannot be allowed"));
}

TEST(JwtOptionsTest, NegativeDurationsAreRefused) {
  JwtOptions options;
  options.leeway = std::chrono::seconds(-1);
  EXPECT_FALSE(JwtInspector::Create(options).ok());
  options.leeway = std::chrono::seconds(0);
  options.replay_window = std::chrono::seconds(-5);
  EXPECT_FALSE(JwtInspector::Create(options).ok());
}

}  // namespace
}  // namespace rampart::jwt

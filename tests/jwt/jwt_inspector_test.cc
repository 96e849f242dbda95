#include "agent/jwt/jwt_inspector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>

#include "agent/jwt/base64url.h"
#include "tests/jwt/test_signer.h"

namespace rampart::jwt {
namespace {

using findings::Finding;
using findings::Severity;
using std::chrono::seconds;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using testing::GenerateEc;
using testing::GenerateEd25519;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::Jwks;
using ::testing::Not;
using testing::OctJwk;
using testing::SharedRsa;
using testing::SignHmac;
using testing::SignJws;
using ::testing::StartsWith;
using testing::TestKey;
using testing::Unsigned;

const std::chrono::system_clock::time_point kNow{seconds(1'700'000'000)};
constexpr int64_t kNowSeconds = 1'700'000'000;
constexpr std::string_view kSource = "10.0.0.7";
constexpr std::string_view kOtherSource = "2001:db8::9";

// Keys as an identity provider would hold them; generated once, RSA
// generation being the slow part of the suite.
struct IssuerKeys {
  TestKey rsa = SharedRsa("issuer", "rsa-1");
  TestKey rsa_unpublished = SharedRsa("unpublished", "rsa-1");  // same kid, key not in the JWKS
  TestKey ec256 = GenerateEc("P-256", "ec-256");
  TestKey ec384 = GenerateEc("P-384", "ec-384");
  TestKey ec521 = GenerateEc("P-521", "ec-521");
  TestKey ed = GenerateEd25519("ed-1");
  std::string secret = std::string(64, '\x5a') + "hmac";
  std::string jwks = Jwks({rsa.Jwk(), ec256.Jwk(), ec384.Jwk(), ec521.Jwk(), ed.Jwk(), OctJwk(secret, "hs-1")});
};
const IssuerKeys& Keys() {
  static const IssuerKeys* keys = new IssuerKeys();
  return *keys;
}

std::string KidFor(std::string_view alg) {
  if (alg[0] == 'H') return "hs-1";
  if (alg[0] == 'R' || alg[0] == 'P') return "rsa-1";
  if (alg == "ES256") return "ec-256";
  if (alg == "ES384") return "ec-384";
  if (alg == "ES512") return "ec-521";
  return "ed-1";
}

const TestKey& KeyFor(std::string_view alg) {
  std::string kid = KidFor(alg);
  if (kid == "rsa-1") return Keys().rsa;
  if (kid == "ec-256") return Keys().ec256;
  if (kid == "ec-384") return Keys().ec384;
  if (kid == "ec-521") return Keys().ec521;
  return Keys().ed;
}

std::string Header(std::string_view alg, std::string_view kid) {
  std::string header = R"({"alg":")" + std::string(alg) + R"(","typ":"JWT")";
  if (!kid.empty()) header += R"(,"kid":")" + std::string(kid) + "\"";
  return header + "}";
}

// Claims with values a finding must never show.
std::string Claims(std::string extra = "") {
  return R"({"sub":"alice@example.com","name":"Alice Example","role":"admin-7f3e")" +
         (extra.empty() ? std::string() : "," + extra) + "}";
}
std::string ValidClaims() {
  return Claims("\"iat\":" + std::to_string(kNowSeconds - 10) + ",\"exp\":" + std::to_string(kNowSeconds + 3600));
}

std::string Token(std::string_view alg, const std::string& claims = ValidClaims(), std::string kid = "-") {
  if (kid == "-") kid = KidFor(alg);
  if (alg[0] == 'H') return SignHmac(Header(alg, kid), claims, alg, Keys().secret);
  return SignJws(Header(alg, kid), claims, alg, KeyFor(alg));
}

http::Message Request(std::vector<http::Header> headers) {
  http::Message message;
  message.method = "GET";
  message.target = "/v1/accounts/42";
  message.headers = std::move(headers);
  return message;
}
http::Message Bearer(std::string_view token) { return Request({{"authorization", "Bearer " + std::string(token)}}); }

std::vector<std::string> Detectors(const std::vector<Finding>& findings) {
  std::vector<std::string> names;
  for (const Finding& finding : findings) names.push_back(finding.detector);
  return names;
}

std::string ReplaceSegment(const std::string& token, size_t index, const std::string& segment) {
  size_t start = 0;
  for (size_t i = 0; i < index; ++i) start = token.find('.', start) + 1;
  size_t end = token.find('.', start);
  std::string out = token;
  out.replace(start, (end == std::string::npos ? token.size() : end) - start, segment);
  return out;
}

class JwtInspectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.jwks_documents = {{"test jwks", Keys().jwks}};
    options_.leeway = seconds(60);
    options_.replay_window = seconds(600);
  }
  std::unique_ptr<JwtInspector> Make() {
    auto inspector = JwtInspector::Create(options_);
    EXPECT_TRUE(inspector.ok()) << inspector.status();
    return inspector.ok() ? *std::move(inspector) : nullptr;
  }
  std::vector<Finding> InspectOnce(const http::Message& message, std::chrono::system_clock::time_point now = kNow) {
    return Make()->Inspect(message, kSource, now);
  }
  JwtOptions options_;
};

class EachAlgorithmTest : public JwtInspectorTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(EachAlgorithmTest, ValidTokenHasNoFindings) { EXPECT_THAT(InspectOnce(Bearer(Token(GetParam()))), IsEmpty()); }

TEST_P(EachAlgorithmTest, ValidTokenWithoutKidVerifiesAgainstEveryFittingKey) {
  EXPECT_THAT(InspectOnce(Bearer(Token(GetParam(), ValidClaims(), ""))), IsEmpty());
}

TEST_P(EachAlgorithmTest, TamperedPayloadIsABadSignature) {
  std::string forged = ReplaceSegment(Token(GetParam()), 1, EncodeBase64Url(Claims(R"("scope":"root")")));
  std::vector<Finding> findings = InspectOnce(Bearer(forged));
  ASSERT_THAT(Detectors(findings), ElementsAre("jwt.bad_signature"));
  EXPECT_EQ(findings[0].severity, Severity::kHigh);
  EXPECT_THAT(findings[0].reason, StartsWith(std::string(GetParam()) + " signature does not verify with "));
  EXPECT_THAT(findings[0].reason, HasSubstr("kid \"" + KidFor(GetParam()) + "\""));
}

TEST_P(EachAlgorithmTest, FlippedSignatureBitIsABadSignature) {
  std::string token = Token(GetParam());
  std::string signature = *DecodeBase64Url(token.substr(token.rfind('.') + 1));
  signature[signature.size() / 2] ^= 0x01;
  EXPECT_THAT(Detectors(InspectOnce(Bearer(ReplaceSegment(token, 2, EncodeBase64Url(signature))))),
              ElementsAre("jwt.bad_signature"));
}

INSTANTIATE_TEST_SUITE_P(Jws, EachAlgorithmTest,
                         ::testing::Values("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384",
                                           "PS512", "ES256", "ES384", "ES512", "EdDSA"));

// Strict decoding and the signature together leave no edit unreported: a
// changed character is a bad signature, an unknown key or alg, or a token
// that does not parse (including the 2 or 4 spare bits of a segment's last
// character, which a lenient decoder would ignore).
TEST_F(JwtInspectorTest, EverySingleCharacterEditOfASignedTokenIsReported) {
  auto inspector = Make();
  for (const char* alg : {"HS256", "ES256"}) {
    const std::string token = Token(alg);
    for (size_t i = 0; i < token.size(); ++i) {
      for (char replacement : {'A', 'f', '_', '.'}) {
        if (token[i] == replacement) continue;
        std::string edited = token;
        edited[i] = replacement;
        EXPECT_THAT(inspector->Inspect(Bearer(edited), kSource, kNow), Not(IsEmpty())) << alg << " at " << i;
      }
    }
  }
}

TEST_F(JwtInspectorTest, SignatureByAnotherKeyUnderAPublishedKidIsABadSignature) {
  std::string token = SignJws(Header("RS256", "rsa-1"), ValidClaims(), "RS256", Keys().rsa_unpublished);
  EXPECT_THAT(Detectors(InspectOnce(Bearer(token))), ElementsAre("jwt.bad_signature"));
}

TEST_F(JwtInspectorTest, EcdsaSignatureOfTheWrongSizeIsABadSignature) {
  std::string token = Token("ES256");
  std::string signature = *DecodeBase64Url(token.substr(token.rfind('.') + 1));
  // DER instead of r||s is a common signer bug; JOSE verifiers refuse it.
  EXPECT_THAT(
      Detectors(InspectOnce(Bearer(ReplaceSegment(token, 2, EncodeBase64Url(signature + std::string(1, '\0')))))),
      ElementsAre("jwt.bad_signature"));
}

TEST_F(JwtInspectorTest, AlgNoneInAnyLetterCaseIsCritical) {
  for (const char* none : {"none", "None", "NONE", "nOnE"}) {
    std::string unsigned_token = Unsigned(Header(none, ""), ValidClaims());
    std::vector<Finding> findings = InspectOnce(Bearer(unsigned_token));
    ASSERT_THAT(Detectors(findings), ElementsAre("jwt.alg_none")) << none;
    EXPECT_EQ(findings[0].severity, Severity::kCritical);
    EXPECT_EQ(findings[0].confidence, 1.0);
    // A signature segment left in does not make it signed.
    std::string with_signature = unsigned_token + EncodeBase64Url("not-a-signature-at-all");
    EXPECT_THAT(Detectors(InspectOnce(Bearer(with_signature))), ElementsAre("jwt.alg_none")) << none;
  }
}

TEST_F(JwtInspectorTest, AlgNoneIsReportedEvenWithoutKeys) {
  options_.jwks_documents.clear();
  EXPECT_THAT(Detectors(InspectOnce(Bearer(Unsigned(Header("none", ""), ValidClaims())))), ElementsAre("jwt.alg_none"));
}

TEST_F(JwtInspectorTest, AlgOutsideTheAllowedListIsReportedAndStillVerified) {
  options_.allowed_algs = {"RS256", "EdDSA"};
  std::vector<Finding> findings = InspectOnce(Bearer(Token("ES256")));
  ASSERT_THAT(Detectors(findings), ElementsAre("jwt.alg_not_allowed"));
  EXPECT_EQ(findings[0].severity, Severity::kHigh);
  EXPECT_EQ(findings[0].reason, "ES256 is not an allowed algorithm (RS256, EdDSA)");
  EXPECT_THAT(InspectOnce(Bearer(Token("RS256"))), IsEmpty());
}

TEST_F(JwtInspectorTest, UnknownAlgIsNotAllowedAndNotQuoted) {
  std::string token = SignHmac(Header("HS1'--", "hs-1"), ValidClaims(), "HS256", Keys().secret);
  std::vector<Finding> findings = InspectOnce(Bearer(token));
  ASSERT_THAT(Detectors(findings), ElementsAre("jwt.alg_not_allowed"));
  EXPECT_THAT(findings[0].reason, Not(HasSubstr("HS1")));
}

TEST_F(JwtInspectorTest, ExpiryHonoursTheLeewayToTheSecond) {
  auto with_exp = [&](int64_t exp) { return Bearer(Token("ES256", Claims("\"exp\":" + std::to_string(exp)))); };
  EXPECT_THAT(InspectOnce(with_exp(kNowSeconds - 60)), IsEmpty());  // exp == now - leeway
  std::vector<Finding> findings = InspectOnce(with_exp(kNowSeconds - 61));
  ASSERT_THAT(Detectors(findings), ElementsAre("jwt.expired"));
  EXPECT_EQ(findings[0].severity, Severity::kMedium);
  EXPECT_EQ(findings[0].reason, "expired 61s ago (leeway 60s)");
  // Fractional NumericDates are valid (RFC 7519 section 2).
  EXPECT_THAT(Detectors(InspectOnce(Bearer(Token("ES256", Claims("\"exp\":1699999939.5"))))),
              ElementsAre("jwt.expired"));
  EXPECT_THAT(InspectOnce(Bearer(Token("ES256", Claims("\"exp\":1699999940.0")))), IsEmpty());
}

TEST_F(JwtInspectorTest, ZeroLeewayExpiresAtExp) {
  options_.leeway = seconds(0);
  auto with_exp = [&](int64_t exp) { return Bearer(Token("ES256", Claims("\"exp\":" + std::to_string(exp)))); };
  EXPECT_THAT(InspectOnce(with_exp(kNowSeconds)), IsEmpty());
  EXPECT_THAT(Detectors(InspectOnce(with_exp(kNowSeconds - 1))), ElementsAre("jwt.expired"));
  EXPECT_THAT(Detectors(InspectOnce(with_exp(kNowSeconds), kNow + std::chrono::milliseconds(1))),
              ElementsAre("jwt.expired"));
}

TEST_F(JwtInspectorTest, NotBeforeHonoursTheLeewayToTheSecond) {
  auto with_nbf = [&](int64_t nbf) { return Bearer(Token("ES256", Claims("\"nbf\":" + std::to_string(nbf)))); };
  EXPECT_THAT(InspectOnce(with_nbf(kNowSeconds + 60)), IsEmpty());
  std::vector<Finding> findings = InspectOnce(with_nbf(kNowSeconds + 61));
  ASSERT_THAT(Detectors(findings), ElementsAre("jwt.not_yet_valid"));
  EXPECT_EQ(findings[0].reason, "not valid before 61s from now (nbf) (leeway 60s)");
}

TEST_F(JwtInspectorTest, IssuedInTheFutureIsNotYetValid) {
  auto with_iat = [&](int64_t iat) { return Bearer(Token("ES256", Claims("\"iat\":" + std::to_string(iat)))); };
  EXPECT_THAT(InspectOnce(with_iat(kNowSeconds + 60)), IsEmpty());
  std::vector<Finding> findings = InspectOnce(with_iat(kNowSeconds + 3600));
  ASSERT_THAT(Detectors(findings), ElementsAre("jwt.not_yet_valid"));
  EXPECT_EQ(findings[0].reason, "issued 3600s in the future (iat) (leeway 60s)");
}

TEST_F(JwtInspectorTest, ExtremeTimeClaimsAreReportedNotOverflowed) {
  std::vector<Finding> findings = InspectOnce(Bearer(Token("ES256", Claims(R"("exp":-1e300,"nbf":1e300)"))));
  ASSERT_THAT(Detectors(findings), ElementsAre("jwt.expired", "jwt.not_yet_valid"));
  EXPECT_EQ(findings[0].reason, "expired 1000000000000000s ago (leeway 60s)");
  EXPECT_THAT(InspectOnce(Bearer(Token("ES256", Claims(R"("exp":1e300,"nbf":-1e300)")))), IsEmpty());
}

TEST_F(JwtInspectorTest, TimeClaimsAreCheckedWithoutKeysToo) {
  options_.jwks_documents.clear();
  EXPECT_THAT(Detectors(InspectOnce(Bearer(Token("RS256", Claims("\"exp\":1"))))), ElementsAre("jwt.expired"));
}

TEST_F(JwtInspectorTest, KidThatNamesNoConfiguredKeyIsAnUnknownKey) {
  std::string token = SignJws(Header("RS256", "rotated-2031"), ValidClaims(), "RS256", Keys().rsa);
  std::vector<Finding> findings = InspectOnce(Bearer(token));
  ASSERT_THAT(Detectors(findings), ElementsAre("jwt.unknown_key"));
  EXPECT_EQ(findings[0].severity, Severity::kMedium);
  EXPECT_THAT(findings[0].reason, Not(HasSubstr("rotated-2031")));  // kids from tokens stay out of findings
}

TEST_F(JwtInspectorTest, KidNotFoundFallsBackToKeysWithoutKid) {
  options_.jwks_documents.clear();
  options_.pem_documents = {{"issuer.pem", Keys().rsa.PublicPem()}};
  std::string token = SignJws(Header("RS256", "idp-key-17"), ValidClaims(), "RS256", Keys().rsa);
  EXPECT_THAT(InspectOnce(Bearer(token)), IsEmpty());
  std::string other = SignJws(Header("RS256", "idp-key-17"), ValidClaims(), "RS256", Keys().rsa_unpublished);
  EXPECT_THAT(Detectors(InspectOnce(Bearer(other))), ElementsAre("jwt.unknown_key"));
}

TEST_F(JwtInspectorTest, AlgWithNoFittingKeyIsAnUnknownKey) {
  options_.jwks_documents = {{"rsa only", Jwks({Keys().rsa.Jwk()})}};
  std::vector<Finding> findings = InspectOnce(Bearer(Token("ES256", ValidClaims(), "")));
  ASSERT_THAT(Detectors(findings), ElementsAre("jwt.unknown_key"));
  EXPECT_EQ(findings[0].reason, "no configured key can verify ES256");
}

TEST_F(JwtInspectorTest, WithoutKeysSignaturesAreNotChecked) {
  options_.jwks_documents.clear();
  std::string forged = ReplaceSegment(Token("RS256"), 1, EncodeBase64Url(ValidClaims()));
  EXPECT_THAT(InspectOnce(Bearer(forged)), IsEmpty());
}

// The classic forgery: the server holds an RSA public key, the attacker
// signs HS256 with that public key as the HMAC secret, and a library that
// lets the token pick the algorithm verifies it.
TEST_F(JwtInspectorTest, Hs256SignedWithThePublicKeyPemIsAlgorithmConfusion) {
  std::string forged = SignHmac(Header("HS256", "rsa-1"), ValidClaims(), "HS256", Keys().rsa.PublicPem());
  std::vector<Finding> findings = InspectOnce(Bearer(forged));
  ASSERT_THAT(Detectors(findings), ElementsAre("jwt.alg_confusion"));
  EXPECT_EQ(findings[0].severity, Severity::kHigh);
  EXPECT_EQ(findings[0].confidence, 1.0);
  EXPECT_THAT(findings[0].reason, HasSubstr("forged with the public key"));
  EXPECT_THAT(findings[0].reason, HasSubstr("RSA key kid \"rsa-1\""));
}

TEST_F(JwtInspectorTest, AlgorithmConfusionIsFoundWithoutKidAndForEveryEncoding) {
  const std::string pem = Keys().rsa.PublicPem();
  const std::string trimmed = pem.substr(0, pem.size() - 1);
  for (const std::string& secret : {pem, trimmed}) {
    std::string forged = SignHmac(Header("HS384", ""), ValidClaims(), "HS384", secret);
    std::vector<Finding> findings = InspectOnce(Bearer(forged));
    ASSERT_THAT(Detectors(findings), ElementsAre("jwt.alg_confusion"));
    EXPECT_EQ(findings[0].confidence, 1.0);
  }
}

TEST_F(JwtInspectorTest, AlgorithmConfusionWithAPemFileUsesTheFileBytes) {
  options_.jwks_documents.clear();
  // Certificates are what many servers are configured with.
  std::string certificate = Keys().ec256.CertificatePem();
  options_.pem_documents = {{"issuer.crt", certificate}};
  std::string forged = SignHmac(Header("HS256", ""), ValidClaims(), "HS256", certificate);
  std::vector<Finding> findings = InspectOnce(Bearer(forged));
  ASSERT_THAT(Detectors(findings), ElementsAre("jwt.alg_confusion"));
  EXPECT_EQ(findings[0].confidence, 1.0);
  EXPECT_THAT(findings[0].reason, HasSubstr("EC P-256 key (pem issuer.crt block 0)"));
}

TEST_F(JwtInspectorTest, HmacTokenNamingAPublicKeyIsAlgorithmConfusionEvenIfTheSecretIsUnknown) {
  std::string forged = SignHmac(Header("HS256", "ec-256"), ValidClaims(), "HS256", "some other encoding");
  std::vector<Finding> findings = InspectOnce(Bearer(forged));
  ASSERT_THAT(Detectors(findings), ElementsAre("jwt.alg_confusion"));
  EXPECT_EQ(findings[0].confidence, 0.9);
}

TEST_F(JwtInspectorTest, HmacTokenWithTheWrongSharedSecretIsABadSignatureNotConfusion) {
  std::string token = SignHmac(Header("HS256", "hs-1"), ValidClaims(), "HS256", std::string(64, 'w'));
  EXPECT_THAT(Detectors(InspectOnce(Bearer(token))), ElementsAre("jwt.bad_signature"));
}

TEST_F(JwtInspectorTest, BadSignatureNotesAKeyBroughtInTheHeader) {
  std::string header = R"({"alg":"RS256","kid":"rsa-1","jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"}})";
  std::string token = SignJws(header, ValidClaims(), "RS256", Keys().rsa_unpublished);
  std::vector<Finding> findings = InspectOnce(Bearer(token));
  ASSERT_THAT(Detectors(findings), ElementsAre("jwt.bad_signature"));
  EXPECT_THAT(findings[0].reason, HasSubstr("brings its own key (\"jwk\")"));
}

TEST_F(JwtInspectorTest, TokenFromASecondSourceWithinTheWindowIsAReplay) {
  auto inspector = Make();
  std::string token = Token("EdDSA");
  EXPECT_THAT(inspector->Inspect(Bearer(token), kSource, kNow), IsEmpty());
  std::vector<Finding> findings = inspector->Inspect(Bearer(token), kOtherSource, kNow + seconds(300));
  ASSERT_THAT(Detectors(findings), ElementsAre("jwt.replay"));
  EXPECT_EQ(findings[0].severity, Severity::kHigh);
  EXPECT_EQ(findings[0].reason, "the same token came from 2 source addresses within 600s");
  // Reported once per source that joins, not on each request after.
  EXPECT_THAT(inspector->Inspect(Bearer(token), kOtherSource, kNow + seconds(301)), IsEmpty());
  EXPECT_THAT(inspector->Inspect(Bearer(token), kSource, kNow + seconds(302)), IsEmpty());
  findings = inspector->Inspect(Bearer(token), "192.0.2.1", kNow + seconds(303));
  ASSERT_THAT(Detectors(findings), ElementsAre("jwt.replay"));
  EXPECT_EQ(findings[0].reason, "the same token came from 3 source addresses within 600s");
}

TEST_F(JwtInspectorTest, ReplayWindowIncludesItsLastSecond) {
  auto inspector = Make();
  std::string token = Token("EdDSA");
  inspector->Inspect(Bearer(token), kSource, kNow);
  EXPECT_THAT(Detectors(inspector->Inspect(Bearer(token), kOtherSource, kNow + seconds(600))),
              ElementsAre("jwt.replay"));
}

TEST_F(JwtInspectorTest, TokenFromASecondSourceAfterTheWindowIsNotAReplay) {
  auto inspector = Make();
  std::string token = Token("EdDSA");
  EXPECT_THAT(inspector->Inspect(Bearer(token), kSource, kNow), IsEmpty());
  EXPECT_THAT(inspector->Inspect(Bearer(token), kOtherSource, kNow + seconds(601)), IsEmpty());
}

TEST_F(JwtInspectorTest, WindowCountsFromTheLastRequestOfTheOtherSource) {
  auto inspector = Make();
  std::string token = Token("EdDSA");
  inspector->Inspect(Bearer(token), kSource, kNow);
  inspector->Inspect(Bearer(token), kSource, kNow + seconds(500));
  EXPECT_THAT(Detectors(inspector->Inspect(Bearer(token), kOtherSource, kNow + seconds(1000))),
              ElementsAre("jwt.replay"));
}

TEST_F(JwtInspectorTest, SameSourceRepeatingATokenIsNotAReplay) {
  auto inspector = Make();
  std::string token = Token("RS256");
  for (int i = 0; i < 5; ++i) EXPECT_THAT(inspector->Inspect(Bearer(token), kSource, kNow + seconds(i)), IsEmpty());
}

TEST_F(JwtInspectorTest, ReplayDetectionNeedsASourceAndAWindow) {
  auto inspector = Make();
  std::string token = Token("RS256");
  inspector->Inspect(Bearer(token), "", kNow);
  EXPECT_THAT(inspector->Inspect(Bearer(token), kOtherSource, kNow), IsEmpty());
  options_.replay_window = seconds(0);
  inspector = Make();
  inspector->Inspect(Bearer(token), kSource, kNow);
  EXPECT_THAT(inspector->Inspect(Bearer(token), kOtherSource, kNow), IsEmpty());
}

TEST_F(JwtInspectorTest, ReplayOfAForgedTokenIsReportedWithItsBadSignatureEachTime) {
  auto inspector = Make();
  std::string forged = ReplaceSegment(Token("ES384"), 1, EncodeBase64Url(Claims()));
  EXPECT_THAT(Detectors(inspector->Inspect(Bearer(forged), kSource, kNow)), ElementsAre("jwt.bad_signature"));
  // The second sighting uses the remembered verdict; it must be the same.
  EXPECT_THAT(Detectors(inspector->Inspect(Bearer(forged), kSource, kNow)), ElementsAre("jwt.bad_signature"));
  EXPECT_THAT(Detectors(inspector->Inspect(Bearer(forged), kOtherSource, kNow)),
              ElementsAre("jwt.bad_signature", "jwt.replay"));
}

TEST_F(JwtInspectorTest, ForgottenTokensAreCountedWhenStillInTheWindow) {
  options_.replay_max_tokens = 2;
  auto inspector = Make();
  for (int i = 0; i < 5; ++i) {
    inspector->Inspect(Bearer(Token("HS256", Claims("\"n\":" + std::to_string(i)))), kSource, kNow);
  }
  EXPECT_EQ(inspector->stats().remembered_tokens, 2u);
  EXPECT_EQ(inspector->stats().evicted_within_window, 3u);
}

TEST_F(JwtInspectorTest, MalformedTokensAreLowSeverityFindings) {
  struct Case {
    std::string token;
    std::string reason;
  };
  const std::string header = EncodeBase64Url(R"({"alg":"HS256"})");
  const std::string claims = EncodeBase64Url(Claims());
  const std::string signature = EncodeBase64Url("0123456789abcdef0123456789abcdef");
  const Case cases[] = {
      {"eyJhbGciOiJIUzI1NiJ9", "3 segments expected, found 1"},
      {header + "." + claims, "3 segments expected, found 2"},
      {header + "." + claims + "." + signature + "." + signature, "3 segments expected, found 4"},
      {header + "." + claims + "." + signature + "==", "signature is not base64url"},
      {header + "=." + claims + "." + signature, "header is not base64url"},
      {header + "." + claims + "!." + signature, "payload is not base64url"},
      {EncodeBase64Url("hello world") + "." + claims + "." + signature,
       "header is not JSON: at byte 0: expected a value"},
      {header + "." + EncodeBase64Url("[1,2]") + "." + signature, "payload is not a JSON object"},
      {header + "." + EncodeBase64Url("{\"sub\":\"x\",}") + "." + signature,
       "payload is not JSON: at byte 11: expected a member name"},
      {EncodeBase64Url(R"({"typ":"JWT"})") + "." + claims + "." + signature, "header has no \"alg\""},
      {EncodeBase64Url(R"({"alg":["RS256"]})") + "." + claims + "." + signature, "header \"alg\" is not a string"},
      {EncodeBase64Url(R"({"alg":"RS256","alg":"none"})") + "." + claims + "." + signature,
       "header is not JSON: at byte 15: repeated member name"},
      {EncodeBase64Url(R"({"alg":"RS256","kid":5})") + "." + claims + "." + signature,
       "header \"kid\" is not a string"},
      {header + "." + EncodeBase64Url(R"({"exp":"tomorrow"})") + "." + signature, "exp is not a number"},
      {"..", "header is not JSON: at byte 0: expected a value, found the end"},
  };
  for (const Case& c : cases) {
    std::vector<Finding> findings = InspectOnce(Bearer(c.token));
    ASSERT_THAT(Detectors(findings), ElementsAre("jwt.malformed")) << c.token;
    EXPECT_EQ(findings[0].severity, Severity::kLow);
    EXPECT_EQ(findings[0].reason, "not a valid JWT: " + c.reason) << c.token;
    EXPECT_EQ(findings[0].location, "request.header authorization");
  }
}

TEST_F(JwtInspectorTest, OversizedTokenIsMalformedWithoutParsing) {
  std::string huge = Token("HS256", Claims("\"pad\":\"" + std::string(20000, 'p') + "\""));
  std::vector<Finding> findings = InspectOnce(Bearer(huge));
  ASSERT_THAT(Detectors(findings), ElementsAre("jwt.malformed"));
  EXPECT_THAT(findings[0].reason, HasSubstr("over the 16384 inspected"));
}

TEST_F(JwtInspectorTest, OpaqueBearerTokensAndOtherSchemesAreIgnored) {
  EXPECT_THAT(InspectOnce(Bearer("2YotnFZFEjr1zCsicMWpAA")), IsEmpty());
  EXPECT_THAT(InspectOnce(Bearer("ya29.a0AfH6SMBx")), IsEmpty());
  EXPECT_THAT(InspectOnce(Request({{"authorization", "Basic " + EncodeBase64Url("a.b.c:pass")}})), IsEmpty());
  EXPECT_THAT(InspectOnce(Request({{"authorization", "Bearer"}})), IsEmpty());
}

TEST_F(JwtInspectorTest, BearerSchemeIsCaseInsensitive) {
  std::string forged = ReplaceSegment(Token("RS256"), 1, EncodeBase64Url(Claims()));
  std::vector<Finding> findings = InspectOnce(Request({{"authorization", "bEaReR \t" + forged + " "}}));
  ASSERT_THAT(Detectors(findings), ElementsAre("jwt.bad_signature"));
  EXPECT_EQ(findings[0].offset, 8u);
  EXPECT_EQ(findings[0].length, forged.size());
}

TEST_F(JwtInspectorTest, FindsTokensInConfiguredHeadersAndCookies) {
  options_.header_names = {"X-Auth-Token"};
  options_.cookie_names = {"session"};
  std::string expired = Token("ES256", Claims("\"exp\":1"));
  std::vector<Finding> findings = InspectOnce(Request({{"x-auth-token", expired}}));
  ASSERT_THAT(Detectors(findings), ElementsAre("jwt.expired"));
  EXPECT_EQ(findings[0].location, "request.header x-auth-token");
  EXPECT_THAT(Detectors(InspectOnce(Request({{"x-auth-token", "Bearer " + expired}}))), ElementsAre("jwt.expired"));

  const std::string cookie = "theme=dark; session=\"" + expired + "\"; Session=x";
  findings = InspectOnce(Request({{"cookie", cookie}}));
  ASSERT_THAT(Detectors(findings), ElementsAre("jwt.expired"));
  EXPECT_EQ(findings[0].location, "request.cookie session");
  // Where the token sits in the header value, for tools that hold the message.
  EXPECT_EQ(cookie.substr(findings[0].offset, findings[0].length), expired);
}

TEST_F(JwtInspectorTest, ConfiguredPlacesHoldJwtsSoAnythingElseIsMalformed) {
  options_.cookie_names = {"session"};
  std::vector<Finding> findings = InspectOnce(Request({{"cookie", "session=opaque-value"}}));
  ASSERT_THAT(Detectors(findings), ElementsAre("jwt.malformed"));
  EXPECT_EQ(findings[0].masked_value, "************");  // too short for a fingerprint
}

TEST_F(JwtInspectorTest, OpaqueTokensDoNotUseUpTheTokensInspectedPerRequest) {
  std::vector<http::Header> headers(20, http::Header{"authorization", "Bearer opaque-access-token-0123456789"});
  headers.push_back({"authorization", "Bearer " + Unsigned(Header("none", ""), ValidClaims())});
  EXPECT_THAT(Detectors(InspectOnce(Request(headers))), ElementsAre("jwt.alg_none"));
}

TEST_F(JwtInspectorTest, OneTokenInSeveralPlacesOfARequestIsCheckedOnce) {
  options_.cookie_names = {"session"};
  std::string expired = Token("ES256", Claims("\"exp\":1"));
  std::vector<Finding> findings =
      InspectOnce(Request({{"authorization", "Bearer " + expired}, {"cookie", "session=" + expired}}));
  EXPECT_THAT(Detectors(findings), ElementsAre("jwt.expired"));
}

TEST_F(JwtInspectorTest, ResponsesAreNotInspected) {
  http::Message response = Bearer(Unsigned(Header("none", ""), ValidClaims()));
  response.is_request = false;
  EXPECT_THAT(Make()->Inspect(response, kSource, kNow), IsEmpty());
}

TEST_F(JwtInspectorTest, EncryptedTokensAreNotMalformed) {
  std::string jwe_header = EncodeBase64Url(R"({"alg":"RSA-OAEP","enc":"A256GCM"})");
  std::string jwe = jwe_header + ".a2V5.aXZpdg.Y2lwaGVydGV4dA.dGFn";
  EXPECT_THAT(InspectOnce(Bearer(jwe)), IsEmpty());
}

std::string ExpectedFingerprint(std::string_view token) {
  unsigned char digest[32];
  unsigned int length = 0;
  EVP_Digest(token.data(), token.size(), digest, &length, EVP_sha256(), nullptr);
  char hex[9];
  snprintf(hex, sizeof(hex), "%02x%02x%02x%02x", digest[0], digest[1], digest[2], digest[3]);
  return std::string("sha256:") + hex;
}

TEST_F(JwtInspectorTest, FindingsNeverHoldTheTokenOrItsClaims) {
  auto inspector = Make();
  const std::string forged = ReplaceSegment(Token("RS256"), 1, EncodeBase64Url(Claims("\"exp\":1")));
  const std::string confused = SignHmac(Header("HS256", "rsa-1"), Claims(), "HS256", Keys().rsa.PublicPem());
  const std::string unsigned_token = Unsigned(Header("NONE", ""), Claims("\"nbf\":1800000000"));
  const std::string malformed =
      EncodeBase64Url(R"({"alg":"RS256"})") + "." + EncodeBase64Url(Claims() + "garbage") + ".c2ln";
  const std::string unknown_kid = SignJws(Header("RS256", "kid-alice@example.com"), Claims(), "RS256", Keys().rsa);
  std::vector<Finding> all;
  for (const std::string& token : {forged, confused, unsigned_token, malformed, unknown_kid}) {
    for (std::string_view source : {kSource, kOtherSource}) {
      std::vector<Finding> findings = inspector->Inspect(Bearer(token), source, kNow);
      for (Finding& finding : findings) {
        EXPECT_EQ(finding.masked_value, ExpectedFingerprint(token)) << finding.detector;
        all.push_back(std::move(finding));
      }
    }
  }
  EXPECT_THAT(Detectors(all),
              ::testing::IsSupersetOf({"jwt.bad_signature", "jwt.expired", "jwt.alg_confusion", "jwt.alg_none",
                                       "jwt.not_yet_valid", "jwt.malformed", "jwt.unknown_key", "jwt.replay"}));
  for (const Finding& finding : all) {
    for (const std::string& field : {finding.masked_value, finding.reason, finding.location, finding.detector}) {
      for (const std::string& token : {forged, confused, unsigned_token, malformed, unknown_kid}) {
        for (size_t start = 0, dot; start < token.size(); start = dot + 1) {
          dot = token.find('.', start);
          if (dot == std::string::npos) dot = token.size();
          std::string segment = token.substr(start, dot - start);
          if (segment.size() >= 8) {
            EXPECT_THAT(field, Not(HasSubstr(segment.substr(0, 8)))) << finding.detector;
          }
        }
      }
      for (const char* claim : {"alice", "Alice Example", "admin-7f3e", "1800000000", "eyJ"}) {
        EXPECT_THAT(field, Not(HasSubstr(claim))) << finding.detector;
      }
    }
    EXPECT_EQ(finding.compliance, 0u);
    EXPECT_GT(finding.confidence, 0.0);
  }
}

}  // namespace
}  // namespace rampart::jwt

#include "agent/dlp/dlp_scanner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace rampart::dlp {
namespace {

using findings::Finding;
using findings::Severity;
using testing::HasSubstr;

// Token-shaped test values are assembled from pieces so that secret scanners
// reading this repository do not mistake them for leaked credentials.
const std::string kGithubToken = std::string("ghp_") + "u8qRtZHjQMhuOzE95B9EgE0VrbBGI00ayhb5";
const std::string kAwsKeyId = std::string("AKIA") + "Z7QW3RTY5UIO2PLM";
const std::string kAwsSecret = std::string("oDzp7O8QuKEh6D0JCk39") + "QmJWikyFE/xzzdAIDhXz";
const std::string kSlackToken = std::string("xoxb-") + "2837465019283-4918273645102-aB3dE5fG7hJ9kL1mN3pQ5rS7";
const std::string kStripeLive = std::string("sk_") + "live_51Hx9Q2eZvKYlo2C8aB3dE5f";
const std::string kGcpApiKey = std::string("AIza") + "SyD3k8Jd92LqPz0vXw7RmN4sT6uV8wX0yZ1";
const std::string kJwt =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
const std::string kPemBody =
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
    "1LEphAU08/OHXCWwi+oGwodM+qTdF7LYQoRd6CpbxTmIiseAVKI5nM/J/MLaMc49\n";
const std::string kPem = "-----BEGIN RSA PRIVATE KEY-----\n" + kPemBody + "-----END RSA PRIVATE KEY-----\n";

std::unique_ptr<DlpScanner> Create(DlpOptions options) {
  auto scanner = DlpScanner::Create(options);
  EXPECT_TRUE(scanner.ok()) << scanner.status();
  return scanner.ok() ? std::move(*scanner) : nullptr;
}

// Compiling the database costs tens of milliseconds, so tests share the two
// common configurations (scanners keep no state between messages).
DlpScanner* Scanner() {
  static std::unique_ptr<DlpScanner> scanner = Create({});
  return scanner.get();
}

DlpScanner* ReportingEverything() {
  static std::unique_ptr<DlpScanner> scanner = [] {
    DlpOptions options;
    options.report_min_confidence = 0;
    return Create(options);
  }();
  return scanner.get();
}

std::vector<Finding> Json(DlpScanner& scanner, std::string_view body) {
  return scanner.ScanText(body, "response.body", ContentKind::kJson);
}

std::vector<Finding> Text(DlpScanner& scanner, std::string_view body) {
  return scanner.ScanText(body, "response.body", ContentKind::kPlainText);
}

std::vector<Finding> Of(const std::vector<Finding>& all, std::string_view detector) {
  std::vector<Finding> out;
  for (const Finding& f : all) {
    if (f.detector == detector) out.push_back(f);
  }
  return out;
}

// No field of any finding holds `raw` or any `window`-character piece of it.
void ExpectNoLeak(const std::vector<Finding>& findings, std::string_view raw, size_t window = 8) {
  const size_t w = std::min(window, raw.size());
  for (const Finding& f : findings) {
    for (const std::string* field : {&f.detector, &f.masked_value, &f.reason, &f.location}) {
      for (size_t i = 0; i + w <= raw.size(); ++i) {
        EXPECT_EQ(field->find(raw.substr(i, w)), std::string::npos)
            << f.detector << " leaks '" << raw.substr(i, w) << "' in '" << *field << "'";
      }
    }
  }
}

http::Message Response(std::string content_type, std::string body) {
  http::Message m;
  m.is_request = false;
  m.status = 200;
  if (!content_type.empty()) m.headers.push_back({"content-type", std::move(content_type)});
  m.body = std::move(body);
  return m;
}

// --- Payment cards --------------------------------------------------------

TEST(CardNumberTest, ALuhnValidNumberUnderACardKeyIsHighAndMasked) {
  auto scanner = Scanner();
  const std::string body = R"({"customer":{"card_number":"4539526018159083"}})";
  auto findings = Json(*scanner, body);
  ASSERT_EQ(findings.size(), 1u);
  const Finding& f = findings[0];
  EXPECT_EQ(f.offset, body.find("4539"));
  EXPECT_EQ(f.length, 16u);
  EXPECT_EQ(f.detector, "dlp.credit_card");
  EXPECT_EQ(f.severity, Severity::kHigh);
  EXPECT_DOUBLE_EQ(f.confidence, 0.85);
  EXPECT_EQ(f.masked_value, "************9083");
  EXPECT_EQ(f.location, "response.body $.customer.card_number");
  EXPECT_EQ(f.compliance, findings::kPciDss);
  EXPECT_THAT(f.reason, HasSubstr("Luhn-valid Visa number"));
  EXPECT_THAT(f.reason, HasSubstr("key word 'card' +0.35"));
}

// With no keyword in the body, the JSON index is built only around what the
// recognizers found (DlpScanner::RecognizeMatches): the one real card among
// hundreds of card-shaped ids that fail the checksum still gets its path,
// its array position and its key's context.
TEST(CardNumberTest, ACardAmongChecksumFailingIdsKeepsItsPathAndContext) {
  std::string body = R"({"items":[)";
  for (int i = 0; i < 300; ++i) body += R"({"ean":)" + std::to_string(4006381333900LL + 2 * i) + "},";
  body += R"({"payment":{"card_number":"4539526018159083"}},{"ean":4006381333931}]})";
  auto findings = Json(*Scanner(), body);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].offset, body.find("4539526018159083"));
  EXPECT_EQ(findings[0].location, "response.body $.items[300].payment.card_number");
  EXPECT_EQ(findings[0].severity, Severity::kHigh);
  EXPECT_THAT(findings[0].reason, HasSubstr("key word 'card' +0.35"));
}

TEST(CardNumberTest, TheSameNumberUnderAnIdKeyStaysInfoAndIsNotReportedByDefault) {
  const std::string body = R"({"id": 4539526018159083})";
  EXPECT_TRUE(Json(*Scanner(), body).empty());
  auto findings = Json(*ReportingEverything(), body);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].severity, Severity::kInfo);
  EXPECT_DOUBLE_EQ(findings[0].confidence, 0.2);
  EXPECT_THAT(findings[0].reason, HasSubstr("key word 'id' -0.30"));
}

TEST(CardNumberTest, AChecksumAloneIsLowNeverBlockLevel) {
  auto findings = Text(*Scanner(), "value 4539526018159083 end");
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].severity, Severity::kLow);
  EXPECT_DOUBLE_EQ(findings[0].confidence, 0.5);
}

TEST(CardNumberTest, NearbyWordsRaiseOrLowerInText) {
  auto scanner = ReportingEverything();
  auto raised = Text(*scanner, "<td>Credit card</td><td>4539 5260 1815 9083</td>");
  ASSERT_EQ(raised.size(), 1u);
  EXPECT_DOUBLE_EQ(raised[0].confidence, 0.9);  // 0.5 + 0.15 grouped + 0.25 nearby
  auto lowered = Text(*scanner, "Order #4539526018159083 shipped");
  ASSERT_EQ(lowered.size(), 1u);
  EXPECT_DOUBLE_EQ(lowered[0].confidence, 0.35);
}

TEST(CardNumberTest, EveryBrandIsRecognizedWithItsPrintedGrouping) {
  auto scanner = Scanner();
  for (const char* printed : {"4539 5260 1815 9083", "5425-8246-2819-4820", "3714 378657 97547", "6011323194875746",
                              "3530555979711476", "3056 104974 6501", "6212236671276849", "4716301661317"}) {
    auto findings = Text(*scanner, std::string("card: ") + printed);
    EXPECT_EQ(Of(findings, "dlp.credit_card").size(), 1u) << printed;
  }
}

TEST(CardNumberTest, RejectsNumbersFailingLuhnOrIinRules) {
  auto scanner = ReportingEverything();
  EXPECT_TRUE(Text(*scanner, "card: 4539526018159084").empty());  // Luhn fails
  EXPECT_TRUE(Text(*scanner, "card: 1234398259791907").empty());  // Luhn-valid, no network starts with 1
  EXPECT_TRUE(Text(*scanner, "card: 9876017494109883").empty());
  EXPECT_TRUE(Text(*scanner, "card: 4444444444444448").empty());  // filler
}

TEST(CardNumberTest, SeparatorsMustBeConsistentAndGroupedLikeACard) {
  auto scanner = ReportingEverything();
  EXPECT_TRUE(Text(*scanner, "card: 4539-5260 1815-9083").empty());
  EXPECT_TRUE(Text(*scanner, "card: 45 3952 6018 1590 83").empty());
  EXPECT_TRUE(Text(*scanner, "card: 4539 5260 18159083").empty());
  EXPECT_TRUE(Text(*scanner, "card: 4539--5260--1815--9083").empty());
}

TEST(CardNumberTest, IgnoresNumbersEmbeddedInLongerTokens) {
  auto scanner = ReportingEverything();
  EXPECT_TRUE(Text(*scanner, "45395260181590831").empty());
  EXPECT_TRUE(Text(*scanner, "145395260181590830").empty());
  EXPECT_TRUE(Text(*scanner, "id=x4539526018159083").empty());
  EXPECT_TRUE(Text(*scanner, "sha 4539526018159083ab").empty());
  EXPECT_TRUE(Text(*scanner, "0.4539526018159083").empty());
  EXPECT_TRUE(Text(*scanner, "4539526018159083.25").empty());
}

TEST(CardNumberTest, FindsEveryCardInASpaceSeparatedList) {
  auto findings = Text(*Scanner(), "cards: 4539526018159083 5425824628194820 12 3714 378657 97547");
  std::vector<std::string> masked;
  for (const Finding& f : Of(findings, "dlp.credit_card")) masked.push_back(f.masked_value);
  EXPECT_THAT(masked, testing::UnorderedElementsAre("************9083", "************4820", "***********7547"));
}

TEST(CardNumberTest, PublishedTestNumbersAreLowered) {
  auto findings = Json(*ReportingEverything(), R"({"card_number":"4111111111111111"})");
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_DOUBLE_EQ(findings[0].confidence, 0.5);
  EXPECT_THAT(findings[0].reason, HasSubstr("well-known test number"));
}

// --- US SSN ----------------------------------------------------------------

TEST(UsSsnTest, ADashedSsnUnderItsKeyIsHighAndKeepsOnlyTheLastFour) {
  auto findings = Json(*Scanner(), R"({"applicant":{"ssn":"536-22-1234"}})");
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].detector, "dlp.us_ssn");
  EXPECT_EQ(findings[0].severity, Severity::kHigh);
  EXPECT_EQ(findings[0].masked_value, "***-**-1234");
  EXPECT_EQ(findings[0].compliance, findings::kHipaa);
}

TEST(UsSsnTest, NumbersNeverIssuedAreNotSsns) {
  auto scanner = ReportingEverything();
  for (const char* ssn : {"000-22-1234", "666-22-1234", "900-22-1234", "999-22-1234", "536-00-1234", "536-22-0000",
                          "078-05-1120", "219-09-9999"}) {
    EXPECT_TRUE(Text(*scanner, std::string("SSN: ") + ssn).empty()) << ssn;
  }
}

TEST(UsSsnTest, SeparatorsMustMatchAndTheNumberMustStandAlone) {
  auto scanner = ReportingEverything();
  EXPECT_TRUE(Text(*scanner, "ssn 536-22 1234").empty());
  EXPECT_TRUE(Text(*scanner, "ssn 536-22-12345").empty());
  EXPECT_TRUE(Of(Text(*scanner, "tel 1-536-22-1234"), "dlp.us_ssn").empty());
  EXPECT_EQ(Of(Text(*scanner, "ssn 536 22 1234"), "dlp.us_ssn").size(), 1u);
}

TEST(UsSsnTest, BareNineDigitsCountOnlyWhenNamedAsAnSsn) {
  auto scanner = Scanner();
  auto named = Json(*scanner, R"({"ssn":"536221234"})");
  ASSERT_EQ(named.size(), 1u);
  EXPECT_EQ(named[0].severity, Severity::kHigh);
  EXPECT_EQ(named[0].masked_value, "*****1234");
  EXPECT_EQ(Of(Text(*scanner, "Social Security Number: 536221234"), "dlp.us_ssn").size(), 1u);
  EXPECT_TRUE(Json(*ReportingEverything(), R"({"zip":"536221234","amount":536221234})").empty());
  EXPECT_TRUE(Json(*ReportingEverything(), R"({"ssn":"666221234"})").empty());
}

// --- IBAN ------------------------------------------------------------------

TEST(IbanTest, RealIbansFromSeveralCountriesAreFoundWithOrWithoutSpaces) {
  auto scanner = Scanner();
  for (const char* iban : {"DE89 3704 0044 0532 0130 00", "GB29NWBK60161331926819", "FR14 2004 1010 0505 0001 3M02 606",
                           "NL91ABNA0417164300", "NO93 8601 1117 947", "CH93 0076 2011 6238 5295 7"}) {
    auto findings = Of(Text(*scanner, std::string("Pay to ") + iban + " today"), "dlp.iban");
    ASSERT_EQ(findings.size(), 1u) << iban;
    EXPECT_EQ(findings[0].severity, Severity::kMedium);
    EXPECT_EQ(findings[0].compliance, findings::kGdpr);
    EXPECT_EQ(findings[0].masked_value.substr(0, 2), std::string(iban, 2));
  }
}

TEST(IbanTest, KeepsCountryAndLastFour) {
  auto findings = Json(*Scanner(), R"({"iban":"DE89 3704 0044 0532 0130 00"})");
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].masked_value, "DE****************3000");
  EXPECT_DOUBLE_EQ(findings[0].confidence, 1.0);
}

TEST(IbanTest, OneChangedDigitOrAWrongLengthIsNotAnIban) {
  auto scanner = ReportingEverything();
  EXPECT_TRUE(Text(*scanner, "DE89 3704 0044 0532 0130 01").empty());
  EXPECT_TRUE(Text(*scanner, "DE88370400440532013000").empty());
  EXPECT_TRUE(Text(*scanner, "DE89370400440532013000X").empty());
  EXPECT_TRUE(Text(*scanner, "XDE89370400440532013000").empty());
  EXPECT_TRUE(Text(*scanner, "DE89 3704 0044 0532 0130").empty());
}

// --- Email and phone -------------------------------------------------------

TEST(EmailTest, KeepsTheFirstCharacterAndTheDomain) {
  auto findings = Json(*Scanner(), R"({"contact":{"email":"jane.doe@corp.io"}})");
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].detector, "dlp.email");
  EXPECT_EQ(findings[0].masked_value, "j*******@corp.io");
  EXPECT_EQ(findings[0].severity, Severity::kLow);
  EXPECT_EQ(findings[0].compliance, findings::kGdpr);
  ExpectNoLeak(findings, "jane.doe", 4);
}

TEST(EmailTest, AOneCharacterLocalPartIsHiddenToo) {
  auto findings = Json(*Scanner(), R"({"email":"a@corp.io"})");
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].masked_value, "*@corp.io");
}

TEST(EmailTest, IgnoresFileNamesVersionsAndLowersDocumentationDomains) {
  auto scanner = ReportingEverything();
  EXPECT_TRUE(Text(*scanner, "<img src=\"logo@2x.png\"> lodash@4.17.21").empty());
  auto documentation = Text(*scanner, "write to someone@example.com");
  ASSERT_EQ(documentation.size(), 1u);
  EXPECT_DOUBLE_EQ(documentation[0].confidence, 0.35);
  EXPECT_TRUE(Text(*Scanner(), "write to someone@example.com").empty());
}

TEST(PhoneTest, InternationalNumbersNeedNoContext) {
  auto findings = Text(*Scanner(), "Call +44 20 7946 0958 or +1 (415) 555-0132.");
  auto phones = Of(findings, "dlp.phone");
  ASSERT_EQ(phones.size(), 2u);
  EXPECT_EQ(phones[0].masked_value, "+**********58");
  EXPECT_EQ(phones[0].compliance, findings::kGdpr);
}

TEST(PhoneTest, NationalNumbersNeedANameThatSaysPhone) {
  auto scanner = Scanner();
  auto named = Json(*scanner, R"({"mobile_phone":"(415) 555-0132"})");
  ASSERT_EQ(named.size(), 1u);
  EXPECT_EQ(named[0].severity, Severity::kLow);
  EXPECT_EQ(named[0].masked_value, "********32");
  EXPECT_EQ(Of(Text(*scanner, "Tel: 020 7946 0958"), "dlp.phone").size(), 1u);
  EXPECT_TRUE(Text(*ReportingEverything(), "(415) 555-0132").empty());
  EXPECT_TRUE(Json(*ReportingEverything(), R"({"hotel":"020 7946 0958"})").empty());
}

TEST(PhoneTest, DatesAddressesAndTooLongRunsAreNotPhoneNumbers) {
  auto scanner = ReportingEverything();
  EXPECT_TRUE(Json(*scanner, R"({"phone":"2024-01-31"})").empty());
  EXPECT_TRUE(Json(*scanner, R"({"phone":"10.20.30.40"})").empty());
  EXPECT_TRUE(Json(*scanner, R"({"phone":"12345"})").empty());
  EXPECT_TRUE(Text(*scanner, "x+4420794609581234567").empty());
}

// --- Credentials -----------------------------------------------------------

TEST(AwsKeyTest, AnAccessKeyIdIsHighAndShowsOnlyItsPrefix) {
  auto findings = Json(*Scanner(), R"({"AccessKeyId":")" + kAwsKeyId + R"("})");
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].detector, "dlp.aws_access_key");
  EXPECT_EQ(findings[0].severity, Severity::kHigh);
  EXPECT_EQ(findings[0].masked_value, "AKIA****************");
  EXPECT_EQ(findings[0].compliance, 0u);
  ExpectNoLeak(findings, kAwsKeyId.substr(4));
}

TEST(AwsKeyTest, TheDocumentationExampleAndLongerTokensAreNotReported) {
  auto scanner = Scanner();
  EXPECT_TRUE(Text(*scanner, std::string("AKIA") + "IOSFODNN7EXAMPLE").empty());
  EXPECT_TRUE(Text(*scanner, kAwsKeyId + "X").empty());
}

TEST(AwsKeyTest, ASecretKeyIsCriticalUnderItsNameOnly) {
  auto scanner = Scanner();
  auto env = Text(*scanner, "aws_secret_access_key = " + kAwsSecret + "\n");
  ASSERT_EQ(env.size(), 1u);
  EXPECT_EQ(env[0].detector, "dlp.aws_secret_key");
  EXPECT_EQ(env[0].severity, Severity::kCritical);
  EXPECT_EQ(env[0].masked_value, std::string(40, '*'));
  auto json = Json(*scanner, R"({"Credentials":{"SecretAccessKey":")" + kAwsSecret + R"("}})");
  ASSERT_EQ(Of(json, "dlp.aws_secret_key").size(), 1u);
  EXPECT_EQ(Of(json, "dlp.generic_secret").size(), 0u);  // the specific detector wins
  EXPECT_TRUE(Text(*scanner, "value: " + kAwsSecret).empty());
}

TEST(GcpTest, AServiceAccountKeyFileIsOneCriticalFinding) {
  const std::string file = R"({"type": "service_account", "project_id": "demo", "private_key_id": "abc",)"
                           R"( "private_key": "-----BEGIN PRIVATE KEY-----\n)" +
                           kPemBody.substr(0, 64) + R"(\n)" + kPemBody.substr(65, 64) +
                           R"(\n-----END PRIVATE KEY-----\n", "client_email": "svc@demo.iam.gserviceaccount.com"})";
  auto findings = Json(*Scanner(), file);
  auto keys = Of(findings, "dlp.gcp_service_account_key");
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].severity, Severity::kCritical);
  EXPECT_EQ(keys[0].location, "response.body $.private_key");
  EXPECT_TRUE(Of(findings, "dlp.private_key").empty());
  ExpectNoLeak(findings, kPemBody.substr(0, 64));
}

TEST(GcpTest, AnApiKeyIsHigh) {
  auto findings = Text(*Scanner(), "https://maps.googleapis.com/maps/api/js?key=" + kGcpApiKey);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].detector, "dlp.gcp_api_key");
  EXPECT_EQ(findings[0].masked_value, "AIza" + std::string(35, '*'));
}

TEST(GithubTokenTest, AClassicTokenWithAValidChecksumIsCritical) {
  auto findings = Text(*Scanner(), "token " + kGithubToken);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].detector, "dlp.github_token");
  EXPECT_EQ(findings[0].severity, Severity::kCritical);
  EXPECT_EQ(findings[0].masked_value, "ghp_" + std::string(36, '*'));
  ExpectNoLeak(findings, kGithubToken.substr(4));
}

TEST(GithubTokenTest, AClassicTokenWithABrokenChecksumIsNotAToken) {
  std::string broken = kGithubToken;
  broken[10] = broken[10] == 'a' ? 'b' : 'a';
  EXPECT_TRUE(Of(Text(*ReportingEverything(), broken), "dlp.github_token").empty());
}

TEST(GithubTokenTest, FineGrainedTokensAreCritical) {
  const std::string token = std::string("github_pat_") + "11ABCDEFG0123456789abc_" +
                            "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9fG1hJ3kL5mN7pQ9rS";  // 22 _ 59
  auto findings = Text(*Scanner(), token);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].severity, Severity::kCritical);
  EXPECT_EQ(findings[0].masked_value.substr(0, 12), "github_pat_*");
}

TEST(SlackTest, BotTokensAndWebhooksAreFoundAndPlaceholdersAreNot) {
  auto scanner = Scanner();
  auto token = Text(*scanner, "SLACK=" + kSlackToken);
  ASSERT_EQ(Of(token, "dlp.slack_token").size(), 1u);
  EXPECT_EQ(Of(token, "dlp.slack_token")[0].masked_value.substr(0, 6), "xoxb-*");
  auto hook = Text(*scanner, "https://hooks.slack.com/services/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");
  ASSERT_EQ(Of(hook, "dlp.slack_webhook").size(), 1u);
  EXPECT_EQ(Of(hook, "dlp.slack_webhook")[0].severity, Severity::kMedium);
  ExpectNoLeak(hook, "aB3dE5fG7hJ9kL1mN3pQ5rS7");
  EXPECT_TRUE(Text(*ReportingEverything(), "xoxb-your-token-here").empty());
}

TEST(StripeTest, LiveSecretKeysAreCriticalPublishableAndTestKeysLow) {
  auto scanner = Scanner();
  auto live = Text(*scanner, "key: " + kStripeLive);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].severity, Severity::kCritical);
  EXPECT_EQ(live[0].masked_value.substr(0, 9), "sk_live_*");
  auto publishable = Text(*scanner, std::string("pk_") + "live_51Hx9Q2eZvKYlo2C8aB3dE5f");
  ASSERT_EQ(publishable.size(), 1u);
  EXPECT_EQ(publishable[0].severity, Severity::kLow);
  auto test_mode = Text(*scanner, std::string("sk_") + "test_51Hx9Q2eZvKYlo2C8aB3dE5f");
  ASSERT_EQ(test_mode.size(), 1u);
  EXPECT_EQ(test_mode[0].severity, Severity::kLow);
}

TEST(JwtTest, AJwtIsFullyMaskedWithItsAlgorithm) {
  auto findings = Json(*Scanner(), R"({"session":{"access_token":")" + kJwt + R"("}})");
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].detector, "dlp.jwt");
  EXPECT_EQ(findings[0].masked_value, "[JWT alg=HS256]");
  EXPECT_EQ(findings[0].severity, Severity::kMedium);
  ExpectNoLeak(findings, kJwt);
}

TEST(JwtTest, ThreeDottedBase64SegmentsThatAreNotJsonAreNotAJwt) {
  EXPECT_TRUE(Text(*ReportingEverything(), "eyJub3QganNvbg.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl").empty());
}

TEST(PrivateKeyTest, APemPrivateKeyIsCriticalAndFullyMasked) {
  auto findings = Text(*Scanner(), "config:\n" + kPem);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].detector, "dlp.private_key");
  EXPECT_EQ(findings[0].severity, Severity::kCritical);
  EXPECT_EQ(findings[0].masked_value, "[PEM RSA PRIVATE KEY]");
  ExpectNoLeak(findings, kPemBody);
}

TEST(PrivateKeyTest, EncryptedKeysAreHighAndPlaceholdersNothing) {
  auto encrypted = Text(*Scanner(), "-----BEGIN ENCRYPTED PRIVATE KEY-----\n" + kPemBody);
  ASSERT_EQ(encrypted.size(), 1u);
  EXPECT_EQ(encrypted[0].severity, Severity::kHigh);
  EXPECT_TRUE(Text(*ReportingEverything(), "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----").empty());
}

TEST(GenericSecretTest, AHighEntropyValueUnderASecretNameIsHigh) {
  auto scanner = Scanner();
  auto json = Json(*scanner, R"({"oauth":{"client_secret":"k8Jd92LqPz0vXw7RmN4s"}})");
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0].detector, "dlp.generic_secret");
  EXPECT_EQ(json[0].severity, Severity::kHigh);
  EXPECT_EQ(json[0].masked_value, std::string(20, '*'));
  EXPECT_EQ(json[0].location, "response.body $.oauth.client_secret");
  auto text = Text(*scanner, "export API_KEY='k8Jd92LqPz0vXw7RmN4s'");
  ASSERT_EQ(text.size(), 1u);
  EXPECT_EQ(text[0].severity, Severity::kHigh);
  ExpectNoLeak(text, "k8Jd92LqPz0vXw7RmN4s");
}

TEST(GenericSecretTest, TokensHandedOutByDesignRankBelowSecrets) {
  auto findings = Json(*Scanner(), R"({"refresh_token":"k8Jd92LqPz0vXw7RmN4s"})");
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].severity, Severity::kMedium);
}

TEST(GenericSecretTest, SecretsSentInRequestsAreUsuallyBeingUsedAndRankLower) {
  http::Message login;
  login.is_request = true;
  login.method = "POST";
  login.target = "/login";
  login.headers = {{"content-type", "application/x-www-form-urlencoded"}};
  login.body = "user=bob&password=k8Jd92LqPz0vXw7RmN4s";
  auto findings = Scanner()->Scan(login);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].location, "request.body password");
  EXPECT_EQ(findings[0].severity, Severity::kMedium);
  EXPECT_THAT(findings[0].reason, HasSubstr("in a request"));
}

TEST(GenericSecretTest, LowEntropyPlaceholdersDigestsAndUnnamedValuesAreNotSecrets) {
  auto scanner = ReportingEverything();
  EXPECT_TRUE(Json(*scanner, R"({"password":"hunter2"})").empty());
  EXPECT_TRUE(Json(*scanner, R"({"api_key":"${API_KEY}"})").empty());
  EXPECT_TRUE(Json(*scanner, R"({"secret":"SuperSecretPassword"})").empty());
  EXPECT_TRUE(Json(*scanner, R"({"csrf_token":"k8Jd92LqPz0vXw7RmN4s"})").empty());
  EXPECT_TRUE(Json(*scanner, R"({"sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"})").empty());
  EXPECT_TRUE(Json(*scanner, R"({"description":"k8Jd92LqPz0vXw7RmN4s"})").empty());
  EXPECT_TRUE(Text(*scanner, "the secret is out k8Jd92LqPz0vXw7RmN4s").empty());
}

// --- Bulk signal -----------------------------------------------------------

std::string CardList(const std::vector<std::string>& numbers, std::string_view key) {
  std::string json = "[";
  for (const std::string& n : numbers) {
    if (json.size() > 1) json += ",";
    json += R"({")" + std::string(key) + R"(":")" + n + R"("})";
  }
  return json + "]";
}

const std::vector<std::string> kFiveCards = {"4825968427742112", "4889651446020784", "4005938178055552",
                                             "4672704557859630", "4722227602602243"};

TEST(BulkCardsTest, FiveDistinctCardsInOneMessageAddOneCriticalFindingWithTheCount) {
  auto findings = Json(*Scanner(), CardList(kFiveCards, "card_number"));
  ASSERT_EQ(findings.size(), 6u);
  EXPECT_EQ(findings[0].detector, "dlp.bulk_card_numbers");
  EXPECT_EQ(findings[0].severity, Severity::kCritical);
  EXPECT_EQ(findings[0].masked_value, "[5 card numbers]");
  EXPECT_THAT(findings[0].reason, HasSubstr("5 distinct payment card numbers"));
  EXPECT_EQ(findings[0].compliance, findings::kPciDss);
  for (const std::string& n : kFiveCards) ExpectNoLeak(findings, n);
}

TEST(BulkCardsTest, FewerDistinctCardsOrCardsLoweredByContextDoNotCount) {
  auto scanner = Scanner();
  std::vector<std::string> four(kFiveCards.begin(), kFiveCards.begin() + 4);
  EXPECT_TRUE(Of(Json(*scanner, CardList(four, "card_number")), "dlp.bulk_card_numbers").empty());
  std::vector<std::string> repeated(5, kFiveCards[0]);
  EXPECT_TRUE(Of(Json(*scanner, CardList(repeated, "card_number")), "dlp.bulk_card_numbers").empty());
  EXPECT_TRUE(Of(Json(*scanner, CardList(kFiveCards, "order_id")), "dlp.bulk_card_numbers").empty());
}

TEST(BulkCardsTest, AnUnlabelledListCountsWhenItsNumbersAreAllCards) {
  std::string csv;
  for (const std::string& n : kFiveCards) csv += n + "\n";
  auto findings = Text(*Scanner(), csv);
  ASSERT_EQ(Of(findings, "dlp.bulk_card_numbers").size(), 1u);
  EXPECT_EQ(findings[0].severity, Severity::kHigh);  // no label: one step below critical
}

// Random 16-digit numbers starting with 4: about one in ten passes Luhn.
std::vector<std::string> RandomVisaShapedNumbers(size_t count) {
  std::vector<std::string> out;
  uint64_t state = 88172645463325252ull;
  for (size_t i = 0; i < count; ++i) {
    std::string n = "4";
    for (int d = 0; d < 15; ++d) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      n.push_back(static_cast<char>('0' + state % 10));
    }
    out.push_back(n);
  }
  return out;
}

TEST(BulkCardsTest, RandomIdsThatHappenToValidateAreNotABulkLeak) {
  auto findings = Json(*ReportingEverything(), CardList(RandomVisaShapedNumbers(200), "code"));
  EXPECT_GE(Of(findings, "dlp.credit_card").size(), 5u);  // chance validations exist...
  EXPECT_TRUE(Of(findings, "dlp.bulk_card_numbers").empty());  // ...but are no card dump
}

// The bulk finding's confidence is the mean of its cards' plus 0.1, to the
// hundredth, halves up. Three cards at 0.65 and three at 1.00 average
// 0.825: summed as doubles in some orders that came out 0.92.
TEST(BulkCardsTest, TheBulkConfidenceIsTheExactMeanPlusATenthWhateverTheOrder) {
  const std::vector<std::string> cards = {kFiveCards[0], kFiveCards[1], kFiveCards[2],
                                          kFiveCards[3], kFiveCards[4], "4539526018159083"};
  auto grouped = [](const std::string& n) {
    return n.substr(0, 4) + " " + n.substr(4, 4) + " " + n.substr(8, 4) + " " + n.substr(12);
  };
  for (bool reversed : {false, true}) {
    std::string json = "[";
    for (size_t k = 0; k < cards.size(); ++k) {
      const size_t i = reversed ? cards.size() - 1 - k : k;
      if (json.size() > 1) json += ",";
      // A grouped number under "number" scores 0.65, under "card_number" 1.00.
      json += std::string(R"({")") + (i % 2 == 0 ? "number" : "card_number") + R"(":")" + grouped(cards[i]) + R"("})";
    }
    json += "]";
    auto findings = Json(*Scanner(), json);
    std::multiset<double> confidences;
    for (const Finding& f : Of(findings, "dlp.credit_card")) confidences.insert(f.confidence);
    ASSERT_EQ(confidences, (std::multiset<double>{0.65, 0.65, 0.65, 1.0, 1.0, 1.0}));
    auto bulk = Of(findings, "dlp.bulk_card_numbers");
    ASSERT_EQ(bulk.size(), 1u);
    EXPECT_DOUBLE_EQ(bulk[0].confidence, 0.93) << (reversed ? "reversed" : "in order");
  }
}

TEST(BulkCardsTest, TheThresholdIsConfigurable) {
  DlpOptions options;
  options.bulk_card_threshold = 2;
  std::vector<std::string> two(kFiveCards.begin(), kFiveCards.begin() + 2);
  auto findings = Json(*Create(options), CardList(two, "pan"));
  ASSERT_EQ(Of(findings, "dlp.bulk_card_numbers").size(), 1u);
  EXPECT_THAT(findings[0].reason, HasSubstr("threshold 2"));
}

// --- Whole messages --------------------------------------------------------

TEST(MessageScanTest, LocationsNameThePartAndTheField) {
  http::Message request;
  request.is_request = true;
  request.method = "POST";
  request.target = "/v1/charge?card=4539526018159083&note=x";
  request.headers = {{"content-type", "application/x-www-form-urlencoded"},
                     {"x-forwarded-card", "5425-8246-2819-4820"},
                     {"cookie", "theme=dark; session=" + kJwt}};
  request.body = "name=Ann&cc_number=3714+378657+97547&email=ann%40corp.io";
  auto findings = Scanner()->Scan(request);

  std::vector<std::string> locations;
  for (const Finding& f : findings) locations.push_back(f.detector + " @ " + f.location);
  for (const Finding& f : findings) {
    // Query, form and header positions: only header values are scanned as sent.
    EXPECT_EQ(f.length == 0, f.location.rfind("request.header", 0) != 0) << f.location;
  }
  EXPECT_THAT(locations, testing::UnorderedElementsAre("dlp.credit_card @ request.query card",
                                                       "dlp.credit_card @ request.header x-forwarded-card",
                                                       "dlp.credit_card @ request.body cc_number",
                                                       "dlp.email @ request.body email"));
}

TEST(MessageScanTest, CredentialsWhereCredentialsTravelAreLowered) {
  http::Message request;
  request.is_request = true;
  request.target = "/";
  request.headers = {{"authorization", "Bearer " + kGithubToken}};
  auto in_header = ReportingEverything()->Scan(request);
  ASSERT_EQ(in_header.size(), 1u);
  EXPECT_EQ(in_header[0].location, "request.header authorization");
  EXPECT_EQ(in_header[0].offset, 7u);  // within the header value, after "Bearer "
  EXPECT_EQ(in_header[0].length, 40u);
  EXPECT_DOUBLE_EQ(in_header[0].confidence, 0.55);
  EXPECT_THAT(in_header[0].reason, HasSubstr("sent where credentials are expected"));

  http::Message response = Response("application/json", R"({"debug":")" + kGithubToken + R"("})");
  auto in_body = Scanner()->Scan(response);
  ASSERT_EQ(in_body.size(), 1u);
  EXPECT_EQ(in_body[0].severity, Severity::kCritical);
}

TEST(MessageScanTest, TheBodyIsReadAsItsContentTypeSays) {
  auto scanner = Scanner();
  auto json = scanner->Scan(Response("application/vnd.api+json", R"({"card":"4539526018159083"})"));
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0].location, "response.body $.card");
  auto sniffed = scanner->Scan(Response("", R"( [{"card":"4539526018159083"}])"));
  ASSERT_EQ(sniffed.size(), 1u);
  EXPECT_EQ(sniffed[0].location, "response.body $[0].card");
  EXPECT_TRUE(scanner->Scan(Response("image/png", "card 4539526018159083")).empty());
}

TEST(MessageScanTest, RequestPathsAreScannedDecoded) {
  http::Message request;
  request.is_request = true;
  request.target = "http://shop.test/cards/4539%205260%201815%209083/charge";
  auto findings = Scanner()->Scan(request);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].location, "request.path");
  EXPECT_EQ(findings[0].masked_value, "************9083");
}

TEST(MessageScanTest, FindingsOfAPartlyCapturedMessageSaySo) {
  http::Message response = Response("application/json", R"({"card":"4539526018159083"})");
  response.capture_gap = true;
  auto findings = Scanner()->Scan(response);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_THAT(findings[0].reason, HasSubstr("partly uncaptured"));
}

TEST(MessageScanTest, MostSevereFindingsComeFirstAndTheCountIsCapped) {
  DlpOptions options;
  options.max_findings_per_message = 2;
  auto findings = Create(options)->Scan(Response(
      "text/plain", "mail ann@corp.io then " + kPem + " and card: 4539 5260 1815 9083 and bob@corp.io"));
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(findings[0].detector, "dlp.private_key");
  EXPECT_EQ(findings[1].detector, "dlp.credit_card");
}

// A customer table where every record holds an email address and a phone
// number and every tenth a card number: thousands of detections, of which a
// message reports max_findings_per_message.
std::string DenseCustomers(int records) {
  std::string json = R"({"customers":[)";
  for (int i = 0; i < records; ++i) {
    if (i > 0) json += ",";
    const std::string n = std::to_string(1000 + i);
    json += R"({"id":)" + std::to_string(i) + R"(,"email":"user)" + n + R"(@corp.io","phone":"+1 415 555 )" + n + "\"";
    if (i % 10 == 0) json += R"(,"card_number":")" + kFiveCards[static_cast<size_t>(i / 10) % 5] + "\"";
    json += "}";
  }
  return json + "]}";
}

TEST(MessageScanTest, ACappedReportIsTheStartOfTheFullReport) {
  const std::string body = DenseCustomers(400);
  DlpOptions everything;
  everything.max_findings_per_message = 100000;
  const std::vector<Finding> full = Json(*Create(everything), body);
  ASSERT_EQ(full.size(), 1u + 400 + 400 + 40);  // bulk, emails, phones, cards
  for (size_t cap : {size_t{1}, size_t{25}, size_t{60}, size_t{500}}) {
    DlpOptions options;
    options.max_findings_per_message = cap;
    const std::vector<Finding> capped = Json(*Create(options), body);
    ASSERT_EQ(capped.size(), cap) << cap;
    for (size_t i = 0; i < capped.size(); ++i) {
      EXPECT_EQ(capped[i].detector, full[i].detector) << cap << " " << i;
      EXPECT_EQ(capped[i].severity, full[i].severity) << cap << " " << i;
      EXPECT_EQ(capped[i].confidence, full[i].confidence) << cap << " " << i;
      EXPECT_EQ(capped[i].masked_value, full[i].masked_value) << cap << " " << i;
      EXPECT_EQ(capped[i].reason, full[i].reason) << cap << " " << i;
      EXPECT_EQ(capped[i].location, full[i].location) << cap << " " << i;
      EXPECT_EQ(capped[i].offset, full[i].offset) << cap << " " << i;
    }
  }
  // The bulk finding counts every distinct card, whatever the cap.
  EXPECT_EQ(full[0].masked_value, "[5 card numbers]");
}

// Card numbers with nothing around them that says card (a checksum alone is
// low severity), among email addresses and phone numbers: the cards alone
// could fill a small report, yet once ranked they leave it room, and the
// addresses and numbers, ranked above them, take it, with the same
// locations as in the full report. The scanner tries the cards first, and
// indexes the body around them only; then it must read the rest and index
// it too. With a field named phone (a keyword) the index is built around
// matches, without one around detections: both are checked.
TEST(MessageScanTest, CardsThatRankLowLeaveTheReportToTheEmailsRankedAboveThem) {
  for (const std::string phone_key : {"phone", "contact_2"}) {
    std::string body = R"({"rows":[)";
    for (int i = 0; i < 30; ++i) {
      if (i > 0) body += ",";
      body += R"({"value":")" + kFiveCards[static_cast<size_t>(i) % 5] + R"(","contact":"user)" +
              std::to_string(i) + R"(@corp.io",")" + phone_key + R"(":"+1 415 555 )" + std::to_string(1000 + i) +
              R"("})";
    }
    body += "]}";
    DlpOptions everything;
    everything.max_findings_per_message = 100000;
    const std::vector<Finding> full = Json(*Create(everything), body);
    ASSERT_EQ(Of(full, "dlp.email").size(), 30u) << phone_key;
    ASSERT_EQ(Of(full, "dlp.phone").size(), 30u) << phone_key;
    ASSERT_EQ(Of(full, "dlp.credit_card").size(), 30u) << phone_key;
    for (const Finding& f : Of(full, "dlp.credit_card")) ASSERT_EQ(f.severity, Severity::kLow) << f.reason;
    for (size_t cap : {size_t{5}, size_t{20}, size_t{40}}) {
      DlpOptions options;
      options.max_findings_per_message = cap;
      const std::vector<Finding> capped = Json(*Create(options), body);
      ASSERT_EQ(capped.size(), cap) << phone_key << " " << cap;
      for (size_t i = 0; i < cap; ++i) {
        EXPECT_EQ(capped[i].detector, full[i].detector) << phone_key << " " << cap << " " << i;
        EXPECT_EQ(capped[i].location, full[i].location) << phone_key << " " << cap << " " << i;
        EXPECT_EQ(capped[i].offset, full[i].offset) << phone_key << " " << cap << " " << i;
        EXPECT_EQ(capped[i].reason, full[i].reason) << phone_key << " " << cap << " " << i;
      }
      EXPECT_TRUE(Of(capped, "dlp.credit_card").empty()) << phone_key << " " << cap << ": the cards rank last";
    }
  }
}

// An address in a secret's field is reported as the address, not also as a
// generic secret (the more specific detector wins the same bytes), however
// few findings the report has room for and whatever else fills it.
TEST(MessageScanTest, AnAddressInASecretFieldHidesTheSecretInACappedReportToo) {
  std::string body = R"({"client_secret":"k8Jd92LqPz0vXw7RmN4s@corp.io","users":[)";
  for (int i = 0; i < 6; ++i) {
    if (i > 0) body += ",";
    body += R"({"card_number":")" + kFiveCards[static_cast<size_t>(i) % 5] + R"(","phone":"415 555 )" +
            std::to_string(1000 + i) + R"("})";
  }
  body += "]}";
  DlpOptions everything;
  everything.max_findings_per_message = 100000;
  const std::vector<Finding> full = Json(*Create(everything), body);
  ASSERT_EQ(Of(full, "dlp.email").size(), 1u);
  EXPECT_TRUE(Of(full, "dlp.generic_secret").empty());
  for (size_t cap : {size_t{1}, size_t{3}, size_t{7}}) {
    DlpOptions options;
    options.max_findings_per_message = cap;
    const std::vector<Finding> capped = Json(*Create(options), body);
    ASSERT_EQ(capped.size(), cap) << cap;
    EXPECT_TRUE(Of(capped, "dlp.generic_secret").empty()) << cap;
    for (size_t i = 0; i < cap; ++i) EXPECT_EQ(capped[i].location, full[i].location) << cap << " " << i;
  }
}

TEST(MessageScanTest, EveryReportedFindingHasItsWords) {
  for (const Finding& f : Json(*Scanner(), DenseCustomers(300))) {
    EXPECT_FALSE(f.masked_value.empty()) << f.detector << " " << f.location;
    EXPECT_FALSE(f.reason.empty()) << f.detector << " " << f.location;
    EXPECT_EQ(f.reason.find("user1"), std::string::npos) << f.reason;
  }
}

TEST(MessageScanTest, AValueTwoRecognizersFindIsReportedOnceTheSameWayEachTime) {
  // "+1 415 555 1000" under "phone" is both an international number and a
  // number named as a phone; the first recognized (the named one, whose key
  // comes first) is kept, in a short body as in a long one.
  for (int records : {1, 40, 400}) {
    DlpOptions options;
    options.max_findings_per_message = 100000;
    const std::vector<Finding> phones = Of(Json(*Create(options), DenseCustomers(records)), "dlp.phone");
    ASSERT_EQ(phones.size(), static_cast<size_t>(records));
    for (const Finding& f : phones) EXPECT_THAT(f.reason, HasSubstr("named as a phone number")) << records;
  }
}

// --- Masking ---------------------------------------------------------------

TEST(MaskingTest, NoFindingFieldCarriesAnyRawValue) {
  const std::string body = R"({"customer":{"card_number":"4539 5260 1815 9083","ssn":"536-22-1234",)"
                           R"("iban":"GB29NWBK60161331926819","email":"jane.doe@corp.io","phone":"+44 20 7946 0958"},)"
                           R"("keys":{"aws":")" + kAwsKeyId + R"(","aws_secret_access_key":")" + kAwsSecret +
                           R"(","gcp":")" + kGcpApiKey + R"(","github":")" + kGithubToken + R"(","slack":")" +
                           kSlackToken + R"(","stripe":")" + kStripeLive + R"(","jwt":")" + kJwt +
                           R"(","client_secret":"k8Jd92LqPz0vXw7RmN4s"}})";
  auto findings = Json(*ReportingEverything(), body);
  std::vector<std::string> detectors;
  for (const Finding& f : findings) detectors.push_back(f.detector);
  EXPECT_THAT(detectors, testing::UnorderedElementsAre(
                             "dlp.credit_card", "dlp.us_ssn", "dlp.iban", "dlp.email", "dlp.phone",
                             "dlp.aws_access_key", "dlp.aws_secret_key", "dlp.gcp_api_key", "dlp.github_token",
                             "dlp.slack_token", "dlp.stripe_key", "dlp.jwt", "dlp.generic_secret"));
  ExpectNoLeak(findings, "4539526018159083");
  ExpectNoLeak(findings, "4539 5260 1815 9083");
  ExpectNoLeak(findings, "536-22-1234", 6);
  ExpectNoLeak(findings, "536221234", 6);
  ExpectNoLeak(findings, "NWBK60161331926819", 6);
  ExpectNoLeak(findings, "jane.doe", 4);
  ExpectNoLeak(findings, "2079460958", 6);
  ExpectNoLeak(findings, kAwsKeyId.substr(4));
  ExpectNoLeak(findings, kAwsSecret);
  ExpectNoLeak(findings, kGcpApiKey.substr(4));
  ExpectNoLeak(findings, kGithubToken.substr(4));
  ExpectNoLeak(findings, kSlackToken.substr(5));
  ExpectNoLeak(findings, kStripeLive.substr(8));
  ExpectNoLeak(findings, kJwt);
  ExpectNoLeak(findings, "k8Jd92LqPz0vXw7RmN4s");
}

// --- Options ---------------------------------------------------------------

TEST(OptionsTest, OnlyTheSelectedDetectorsRun) {
  DlpOptions options;
  options.detectors = {"us_ssn"};
  auto findings = Create(options)->ScanText("card: 4539526018159083 ssn: 536-22-1234", "response.body",
                                             ContentKind::kPlainText);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].detector, "dlp.us_ssn");
}

TEST(OptionsTest, AnUnknownDetectorNameIsAnError) {
  DlpOptions options;
  options.detectors = {"credit_card", "creditcard"};
  auto scanner = DlpScanner::Create(options);
  ASSERT_FALSE(scanner.ok());
  EXPECT_EQ(scanner.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(scanner.status().message()), HasSubstr("'creditcard'"));
}

TEST(OptionsTest, AClonedScannerFindsTheSame) {
  auto scanner = Scanner();
  auto clone = scanner->Clone();
  ASSERT_TRUE(clone.ok());
  const std::string body = R"({"card_number":"4539526018159083","ssn":"536-22-1234"})";
  auto a = Json(*scanner, body);
  auto b = Json(**clone, body);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].detector, b[i].detector);
    EXPECT_EQ(a[i].location, b[i].location);
  }
}

}  // namespace
}  // namespace rampart::dlp

// Rules of the data types that the labelled corpus (labelled_corpus_test.cc)
// showed the detectors missing or getting wrong, one test per rule.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/dlp/dlp_scanner.h"
#include "agent/dlp/validators.h"

namespace rampart::dlp {
namespace {

using findings::Finding;

DlpScanner* Scanner() {
  static std::unique_ptr<DlpScanner> scanner = [] {
    auto created = DlpScanner::Create({});
    EXPECT_TRUE(created.ok());
    return created.ok() ? std::move(*created) : nullptr;
  }();
  return scanner.get();
}

std::vector<std::string> Detectors(const std::vector<Finding>& findings) {
  std::vector<std::string> out;
  for (const Finding& f : findings) out.push_back(f.detector);
  return out;
}

std::vector<std::string> InJson(std::string_view body) {
  return Detectors(Scanner()->ScanText(body, "response.body", ContentKind::kJson));
}

std::vector<std::string> InText(std::string_view body) {
  return Detectors(Scanner()->ScanText(body, "response.body", ContentKind::kPlainText));
}

using testing::ElementsAre;
using testing::IsEmpty;

// --- Payment cards --------------------------------------------------------

TEST(CardRulesTest, MaestroAndMirNumbersAreCards) {
  EXPECT_EQ(CardBrandOf("6759314820193758"), CardBrand::kMaestro);
  EXPECT_EQ(CardBrandOf("2200124820193755"), CardBrand::kMir);
  EXPECT_THAT(InJson(R"({"card_number":"6759 3148 2019 3758"})"), ElementsAre("dlp.credit_card"));
  EXPECT_THAT(InJson(R"({"card_number":"2200124820193755"})"), ElementsAre("dlp.credit_card"));
}

TEST(CardRulesTest, TheTailOfALongerGroupedNumberIsNotACard) {
  // 19 digits printed 4-4-4-4-3 that fail Luhn; the last 15 happen to form a
  // Luhn-valid American Express number, which is not how Amex is printed.
  EXPECT_THAT(InJson(R"({"card_number":"6759 3706 7600 8761 057"})"), IsEmpty());
  // Nor its head: 19 digits printed 4-4-4-4-3 are one number even when the
  // first 16 would pass Luhn.
  EXPECT_THAT(InText("Card number: 5018 6055 4903 1511 248"), IsEmpty());
  // A list of two grouped cards is still two cards.
  EXPECT_THAT(InText("cards: 4539 5260 1815 9083 5425 8246 2819 4820"),
              ElementsAre("dlp.credit_card", "dlp.credit_card"));
}

// --- Phone numbers ----------------------------------------------------------

TEST(PhoneRulesTest, TheTrunkPrefixInParenthesesIsPartOfAnInternationalNumber) {
  EXPECT_THAT(InText("Call +44 (0)20 7946 0958 today"), ElementsAre("dlp.phone"));
  EXPECT_THAT(InJson(R"({"mobile":"+44 (0)7700 900123"})"), ElementsAre("dlp.phone"));
}

// --- Cloud and SaaS credentials --------------------------------------------

TEST(CredentialRulesTest, AwsKeyIdsUseTheBase32Alphabet) {
  const std::string valid = std::string("AKIA") + "Z7QW3RTY5UIO2PLM";
  EXPECT_THAT(InText("key " + valid), ElementsAre("dlp.aws_access_key"));
  for (char digit : {'0', '1', '8', '9'}) {
    std::string other = valid;
    other[10] = digit;
    EXPECT_THAT(InText("key " + other), IsEmpty()) << other;
  }
}

TEST(CredentialRulesTest, EveryGithubTokenKindCarriesTheChecksum) {
  const std::string token = std::string("gho_") + "Qw8RtZHjQMhuOzE95B9EgE0VrbBGIa1tptNM";
  EXPECT_THAT(InText("token " + token), ElementsAre("dlp.github_token"));
  std::string broken = token;
  broken[12] = broken[12] == 'a' ? 'b' : 'a';
  EXPECT_THAT(InText("token " + broken), IsEmpty());
}

TEST(CredentialRulesTest, KeysWrittenAsFillerAreTemplatesNotKeys) {
  EXPECT_TRUE(LooksLikeFiller("XXXXXXXXXXXXXXXXXXXXXXXX"));
  EXPECT_TRUE(LooksLikeFiller("SyXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"));
  EXPECT_FALSE(LooksLikeFiller("aB3dE5fG7hJ9kL1mN3pQ5rS7"));
  for (const std::string& placeholder :
       {std::string("sk_") + "live_" + std::string(24, 'x'), std::string("AIza") + std::string(35, 'X'),
        std::string("xoxb-") + "1234567890-1234567890123-" + std::string(24, 'x'),
        std::string("https://hooks.slack.com/services/") + "T00000000/B00000000/" + std::string(24, 'X')}) {
    EXPECT_THAT(InText("set it to " + placeholder), IsEmpty()) << placeholder;
  }
}

TEST(CredentialRulesTest, AServiceAccountKeyFileNeedsARealKeyWhereverItsMembersAre) {
  const std::string key_body =
      std::string(64, 'M') + "\\n" + "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj";
  // Members in alphabetical order: the key comes before the type.
  const std::string sorted =
      R"({"client_email":"svc@proj.iam.gserviceaccount.com","private_key":"-----BEGIN PRIVATE KEY-----\n)" + key_body +
      R"(\n-----END PRIVATE KEY-----\n","project_id":"proj","type":"service_account"})";
  EXPECT_THAT(InJson(sorted), testing::Contains("dlp.gcp_service_account_key"));
  const std::string redacted = R"({"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\nREDACTED\n)"
                               R"(-----END PRIVATE KEY-----\n","client_email":"svc@proj.iam.gserviceaccount.com"})";
  EXPECT_THAT(InJson(redacted), ElementsAre("dlp.email"));
}

// --- Email ------------------------------------------------------------------

TEST(EmailRulesTest, AnyDelegatedTopLevelDomainMakesAnAddress) {
  EXPECT_TRUE(EmailDomainValid("team.berlin"));
  EXPECT_TRUE(EmailDomainValid("hello.photography"));
  EXPECT_FALSE(EmailDomainValid("office.local"));
  EXPECT_FALSE(EmailDomainValid("2x.webp"));
  EXPECT_THAT(InJson(R"({"email":"kira@bistro.tokyo"})"), ElementsAre("dlp.email"));
}

// --- Generic secrets ----------------------------------------------------------

TEST(SecretRulesTest, PassphrasesAndSigningKeysAreNamedSecrets) {
  EXPECT_THAT(InJson(R"({"passphrase":"q66Lvjh6J6N6sulTkRanwp4115jo9LacU6eM3GhZxm9r"})"),
              ElementsAre("dlp.generic_secret"));
  EXPECT_THAT(InJson(R"({"signing_key":"OXs3DirdDdRSgWwX7e4w+zWQ5vX8elqtg"})"), ElementsAre("dlp.generic_secret"));
}

TEST(SecretRulesTest, AUuidIssuedAsAnApiKeyIsASecret) {
  EXPECT_TRUE(LooksRandom("cd613e30-d8f1-4adf-91b7-584a2265b1f5"));
  EXPECT_THAT(InJson(R"({"api_key":"cd613e30-d8f1-4adf-91b7-584a2265b1f5"})"), ElementsAre("dlp.generic_secret"));
  EXPECT_THAT(InJson(R"({"request_id":"cd613e30-d8f1-4adf-91b7-584a2265b1f5"})"), IsEmpty());
}

TEST(SecretRulesTest, ALongRandomHexValueMayRepeatADigitFourTimes) {
  EXPECT_TRUE(LooksRandom("c6dd4036cccca5833dddfcab52910e8af4945e19"));
  EXPECT_FALSE(LooksRandom("c6dd4036ccccca5833ddfcab52910e8af4945e19"));  // five alike
  EXPECT_FALSE(LooksRandom("aaaab1234567890c"));                          // short: four alike
}

TEST(SecretRulesTest, NamesAboutASecretDoNotNameTheSecret) {
  EXPECT_THAT(InJson(R"({"private_key_id":"a3f9c2e1b7d4a3f9c2e1b7d4a3f9c2e1b7d4a3f9"})"), IsEmpty());
  EXPECT_THAT(InJson(R"({"authDomain":"widget-app.firebaseapp.com"})"), IsEmpty());
  EXPECT_THAT(InJson(R"({"secret_name":"prod/db-9f8Kq2LmX7"})"), IsEmpty());
  EXPECT_THAT(InJson(R"({"client_secret":"k8Jd92LqPz0vXw7RmN4s"})"), ElementsAre("dlp.generic_secret"));
}

TEST(SecretRulesTest, PlaceholderWordsCountWithSeparators) {
  EXPECT_TRUE(IsPlaceholder("Please-Change-Me-2024"));
  EXPECT_TRUE(IsPlaceholder("your.api.key.here"));
  EXPECT_FALSE(IsPlaceholder("k8Jd92LqPz0vXw7RmN4s"));
}

TEST(SecretRulesTest, XmlSettingsNameTheValueInASiblingAttribute) {
  EXPECT_THAT(InText(R"(<add key="ApiSecret" value="1v7Lj4amftB-Uch6i_913vP10OuCUmd46UeLH6CYo7G"/>)"),
              ElementsAre("dlp.generic_secret"));
  EXPECT_THAT(InText(R"(<add key="Theme" value="1v7Lj4amftB-Uch6i_913vP10OuCUmd46UeLH6CYo7G"/>)"), IsEmpty());
}

}  // namespace
}  // namespace rampart::dlp

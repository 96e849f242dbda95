#include "agent/dlp/validators.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "agent/dlp/top_level_domains.h"

namespace rampart::dlp {
namespace {

// Changes one digit, keeping the length: the smallest edit a checksum must catch.
std::string WithDigitChanged(std::string s, size_t at) {
  s[at] = s[at] == '9' ? '0' : static_cast<char>(s[at] + 1);
  return s;
}

TEST(LuhnTest, AcceptsValidNumbersAndCatchesEverySingleDigitChange) {
  const std::string number = "4539526018159083";
  ASSERT_TRUE(LuhnValid(number));
  for (size_t i = 0; i < number.size(); ++i) EXPECT_FALSE(LuhnValid(WithDigitChanged(number, i))) << i;
  EXPECT_FALSE(LuhnValid(""));
  EXPECT_FALSE(LuhnValid("4539-5260"));
}

// The textbook definition, one digit at a time from the right.
bool LuhnByTheBook(std::string_view digits) {
  if (digits.empty()) return false;
  int sum = 0;
  for (size_t k = 0; k < digits.size(); ++k) {
    const char c = digits[digits.size() - 1 - k];
    if (c < '0' || c > '9') return false;
    int d = c - '0';
    if (k % 2 == 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 == 0;
}

TEST(LuhnTest, AgreesWithTheTextbookDefinitionOnEveryLengthAndOnNonDigits) {
  uint64_t state = 0x9E3779B97F4A7C15;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  // Mostly digits, sometimes a byte just outside '0'-'9' or far from it.
  const std::string alphabet = "0123456789012345678901234567890123456789/:a \xff";
  size_t valid = 0;
  for (int n = 0; n < 200000; ++n) {
    std::string s(next() % 21, '0');
    for (char& c : s) c = alphabet[next() % alphabet.size()];
    ASSERT_EQ(LuhnValid(s), LuhnByTheBook(s)) << s;
    valid += LuhnByTheBook(s) ? 1 : 0;
  }
  EXPECT_GT(valid, 1000u);  // the valid side was exercised too
}

struct BrandCase {
  const char* digits;
  CardBrand brand;
};
void PrintTo(const BrandCase& c, std::ostream* os) { *os << c.digits; }

class CardBrandTest : public testing::TestWithParam<BrandCase> {};

TEST_P(CardBrandTest, IinAndLengthIdentifyTheBrand) {
  ASSERT_TRUE(LuhnValid(GetParam().digits)) << GetParam().digits;
  std::optional<CardBrand> brand = CardBrandOf(GetParam().digits);
  ASSERT_TRUE(brand.has_value()) << GetParam().digits;
  EXPECT_EQ(*brand, GetParam().brand) << GetParam().digits;
}

INSTANTIATE_TEST_SUITE_P(EveryBrand, CardBrandTest,
                         testing::Values(BrandCase{"4539526018159083", CardBrand::kVisa},
                                         BrandCase{"4716301661317", CardBrand::kVisa},
                                         BrandCase{"4929860913909960303", CardBrand::kVisa},
                                         BrandCase{"5425824628194820", CardBrand::kMastercard},
                                         BrandCase{"2720199351819094", CardBrand::kMastercard},
                                         BrandCase{"371437865797547", CardBrand::kAmex},
                                         BrandCase{"6011323194875746", CardBrand::kDiscover},
                                         BrandCase{"6500911862527601896", CardBrand::kDiscover},
                                         BrandCase{"3530555979711476", CardBrand::kJcb},
                                         BrandCase{"30561049746501", CardBrand::kDinersClub},
                                         BrandCase{"36007529170345", CardBrand::kDinersClub},
                                         BrandCase{"6212236671276849", CardBrand::kUnionPay}));

TEST(CardBrandTest, RejectsLengthsAndRangesNoBrandIssues) {
  EXPECT_FALSE(CardBrandOf("453952601815908").has_value());   // Visa has no 15-digit numbers
  EXPECT_FALSE(CardBrandOf("37143786579754").has_value());    // Amex is exactly 15
  EXPECT_FALSE(CardBrandOf("5625824628194820").has_value());  // 56 is not Mastercard
  EXPECT_FALSE(CardBrandOf("2220199351819094").has_value());  // below 2221
  EXPECT_FALSE(CardBrandOf("2721199351819094").has_value());  // above 2720
  EXPECT_FALSE(CardBrandOf("3090555979711476").has_value());  // 309 is neither JCB nor Diners
  EXPECT_FALSE(CardBrandOf("1234567812345670").has_value());  // no network starts with 1
  EXPECT_FALSE(CardBrandOf("45395260181590831234").has_value());  // 20 digits
}

TEST(CardNumberTest, KnowsPublishedTestNumbersAndFillerNumbers) {
  EXPECT_TRUE(IsWellKnownTestCard("4111111111111111"));
  EXPECT_TRUE(IsWellKnownTestCard("4242424242424242"));
  EXPECT_TRUE(IsWellKnownTestCard("378282246310005"));
  EXPECT_FALSE(IsWellKnownTestCard("4539526018159083"));
  EXPECT_TRUE(IsDegenerateNumber("4444444444444448"));
  EXPECT_FALSE(IsDegenerateNumber("4539526018159083"));
}

TEST(UsSsnTest, AcceptsIssuableNumbers) {
  EXPECT_EQ(CheckUsSsn("536221234"), SsnCheck::kValid);
  EXPECT_EQ(CheckUsSsn("001010001"), SsnCheck::kValid);
  EXPECT_EQ(CheckUsSsn("899991111"), SsnCheck::kValid);
}

TEST(UsSsnTest, RejectsAreasGroupsAndSerialsNeverIssued) {
  EXPECT_EQ(CheckUsSsn("000221234"), SsnCheck::kInvalidArea);
  EXPECT_EQ(CheckUsSsn("666221234"), SsnCheck::kInvalidArea);
  EXPECT_EQ(CheckUsSsn("900221234"), SsnCheck::kInvalidArea);
  EXPECT_EQ(CheckUsSsn("999221234"), SsnCheck::kInvalidArea);
  EXPECT_EQ(CheckUsSsn("536001234"), SsnCheck::kInvalidGroup);
  EXPECT_EQ(CheckUsSsn("536220000"), SsnCheck::kInvalidSerial);
}

TEST(UsSsnTest, RejectsNumbersKnownNotToIdentifyAnyone) {
  EXPECT_EQ(CheckUsSsn("078051120"), SsnCheck::kKnownInvalid);
  EXPECT_EQ(CheckUsSsn("219099999"), SsnCheck::kKnownInvalid);
  EXPECT_EQ(CheckUsSsn("123456789"), SsnCheck::kKnownInvalid);
}

class IbanTest : public testing::TestWithParam<const char*> {};

// Published examples from national banks and the SWIFT registry.
INSTANTIATE_TEST_SUITE_P(Countries, IbanTest,
                         testing::Values("DE89370400440532013000", "GB29NWBK60161331926819",
                                         "FR1420041010050500013M02606", "NL91ABNA0417164300",
                                         "ES9121000418450200051332", "BE68539007547034", "CH9300762011623852957",
                                         "IT60X0542811101000000123456", "NO9386011117947",
                                         "PL61109010140000071219812874", "BR1800360305000010009795493C1",
                                         "SA0380000000608010167519"));

TEST_P(IbanTest, RealExamplesAreValid) { EXPECT_TRUE(IbanValid(GetParam())); }

TEST_P(IbanTest, AnySingleDigitChangeBreaksTheChecksum) {
  const std::string iban = GetParam();
  for (size_t i = 2; i < iban.size(); ++i) {
    if (iban[i] < '0' || iban[i] > '9') continue;
    EXPECT_FALSE(IbanValid(WithDigitChanged(iban, i))) << iban << " at " << i;
  }
}

TEST(IbanValidTest, RejectsWrongLengthUnknownCountryAndReservedCheckDigits) {
  EXPECT_FALSE(IbanValid("DE8937040044053201300"));    // 21 characters, Germany has 22
  EXPECT_FALSE(IbanValid("DE893704004405320130000"));  // 23
  EXPECT_FALSE(IbanValid("US89370400440532013000"));   // no IBAN in the US
  EXPECT_FALSE(IbanValid("de89370400440532013000"));   // compact form is upper case
  EXPECT_EQ(IbanLengthFor("NO"), 15u);
  EXPECT_EQ(IbanLengthFor("XX"), 0u);
}

TEST(EmailTest, AcceptsCommonAddressesAndRejectsLookalikes) {
  EXPECT_TRUE(EmailLocalPartValid("jane.doe+news"));
  EXPECT_FALSE(EmailLocalPartValid(".jane"));
  EXPECT_FALSE(EmailLocalPartValid("jane..doe"));
  EXPECT_TRUE(EmailDomainValid("mail.example.co.uk"));
  EXPECT_TRUE(EmailDomainValid("corp.io"));
  EXPECT_TRUE(EmailDomainValid("shop.company"));
  EXPECT_FALSE(EmailDomainValid("2x.png"));       // retina image name
  EXPECT_FALSE(EmailDomainValid("1.2.3"));        // package version
  EXPECT_FALSE(EmailDomainValid("localhost"));    // no dot
  EXPECT_FALSE(EmailDomainValid("-bad.com"));
  EXPECT_FALSE(EmailDomainValid("host.zz"));      // not a country code
}

TEST(EmailTest, RecognizesDocumentationDomains) {
  EXPECT_TRUE(IsDocumentationDomain("example.com"));
  EXPECT_TRUE(IsDocumentationDomain("mail.Example.org"));
  EXPECT_TRUE(IsDocumentationDomain("shop.test"));
  EXPECT_TRUE(IsDocumentationDomain("EXAMPLE.NET"));
  EXPECT_TRUE(IsDocumentationDomain("a.b.example"));
  EXPECT_TRUE(IsDocumentationDomain("host.invalid"));
  EXPECT_TRUE(IsDocumentationDomain("box.LocalHost"));
  EXPECT_FALSE(IsDocumentationDomain("examples.com"));
  EXPECT_FALSE(IsDocumentationDomain("myexample.com"));
  EXPECT_FALSE(IsDocumentationDomain("example.com.evil.io"));
  EXPECT_FALSE(IsDocumentationDomain("example.co"));
  EXPECT_FALSE(IsDocumentationDomain("example"));
  EXPECT_FALSE(IsDocumentationDomain("testing.io"));
}

TEST(TopLevelDomainTest, CountryCodesAreDelegatedTwoLetterCodesInAnyCase) {
  for (std::string_view code : {"io", "de", "uk", "za", "us", "eu", "su", "ac", "zw", "DE", "Io"}) {
    EXPECT_TRUE(IsCountryCodeTopLevelDomain(code)) << code;
  }
  for (std::string_view label : {"aa", "zz", "yu", "tp", "i0", "1o", "i-", "", "i", "com", "de "}) {
    EXPECT_FALSE(IsCountryCodeTopLevelDomain(label)) << label;
  }
  EXPECT_TRUE(IsGenericTopLevelDomain("com"));
  EXPECT_FALSE(IsGenericTopLevelDomain("io"));
}

TEST(GithubChecksumTest, AcceptsTokensWhoseLastSixCharactersEncodeTheCrc32) {
  EXPECT_TRUE(GithubChecksumValid(std::string("ghp_") + "u8qRtZHjQMhuOzE95B9EgE0VrbBGI00ayhb5"));
  EXPECT_TRUE(GithubChecksumValid(std::string("gho_") + "9QYNdaKy8isWydfhl3TvtnythpZPPP1Ok8e7"));
}

TEST(GithubChecksumTest, RejectsAnyChangeToTheRandomPartOrTheChecksum) {
  const std::string token = std::string("ghp_") + "u8qRtZHjQMhuOzE95B9EgE0VrbBGI00ayhb5";
  for (size_t i = 4; i < token.size(); ++i) {
    std::string changed = token;
    changed[i] = changed[i] == 'a' ? 'b' : 'a';
    EXPECT_FALSE(GithubChecksumValid(changed)) << i;
  }
  EXPECT_FALSE(GithubChecksumValid("ghp_short"));
}

TEST(JwtTest, ReadsTheAlgorithmOfATokenWhoseHeaderAndPayloadAreJson) {
  const std::string jwt =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
      "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
  EXPECT_EQ(JwtAlgorithm(jwt), "HS256");
}

TEST(JwtTest, RejectsTokensThatOnlyLookLikeJwts) {
  // Header without "alg": {"typ":"JWT"}
  EXPECT_FALSE(JwtAlgorithm("eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl").has_value());
  // Payload that is not JSON: "hello world!"
  EXPECT_FALSE(JwtAlgorithm("eyJhbGciOiJIUzI1NiJ9.aGVsbG8gd29ybGQh.c2lnbmF0dXJlc2lnbmF0dXJl").has_value());
  EXPECT_FALSE(JwtAlgorithm("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0").has_value());
}

TEST(JwtTest, NeverReturnsHeaderTextThatIsNotAnAlgorithmName) {
  // {"alg":"<script>"}
  EXPECT_EQ(JwtAlgorithm("eyJhbGciOiI8c2NyaXB0PiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl"), "?");
}

TEST(PemBodyTest, AcceptsABase64BodyWithRealOrEscapedLineBreaks) {
  const std::string line = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj";
  EXPECT_TRUE(PemBodyLooksReal("\n" + line + "\n" + line + "\n-----END PRIVATE KEY-----"));
  EXPECT_TRUE(PemBodyLooksReal("\\n" + line + "\\n" + line + "\\n-----END PRIVATE KEY-----"));
  EXPECT_TRUE(PemBodyLooksReal("\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123456789ABCDEF\n\n" + line));
}

TEST(PemBodyTest, RejectsPlaceholdersAndEmptyBodies) {
  EXPECT_FALSE(PemBodyLooksReal("\n...\n-----END PRIVATE KEY-----"));
  EXPECT_FALSE(PemBodyLooksReal("\n<your key here>\n-----END PRIVATE KEY-----"));
  EXPECT_FALSE(PemBodyLooksReal("\n-----END PRIVATE KEY-----"));
  EXPECT_FALSE(PemBodyLooksReal("\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"));
}

TEST(EntropyTest, MeasuresBitsPerCharacter) {
  EXPECT_DOUBLE_EQ(ShannonEntropy("aaaa"), 0.0);
  EXPECT_DOUBLE_EQ(ShannonEntropy("abab"), 1.0);
  EXPECT_DOUBLE_EQ(ShannonEntropy("abcdefgh"), 3.0);
}

TEST(LooksRandomTest, AcceptsGeneratedKeys) {
  EXPECT_TRUE(LooksRandom("oDzp7O8QuKEh6D0JCk39QmJWikyFE/xzzdAIDhXz"));
  EXPECT_TRUE(LooksRandom("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"));  // 40 hex
  EXPECT_TRUE(LooksRandom("k8Jd92LqPz0vXw7R"));
}

TEST(LooksRandomTest, RejectsWordsSequencesRunsAndShortHex) {
  EXPECT_FALSE(LooksRandom("correcthorsebatterystaple"));  // one class
  EXPECT_FALSE(LooksRandom("SuperSecretPassword"));        // letters only
  EXPECT_FALSE(LooksRandom("abcdefghijklmnop1"));          // a sequence
  EXPECT_FALSE(LooksRandom("aaaab1234567890c"));           // a run
  EXPECT_FALSE(LooksRandom("deadbeef1234"));               // hex shorter than 32
  EXPECT_FALSE(LooksRandom("this has spaces 123"));
  EXPECT_FALSE(LooksRandom("short1A"));
}

TEST(PlaceholderTest, RecognizesTemplatesAndMaskedValues) {
  EXPECT_TRUE(IsPlaceholder("${API_TOKEN}"));
  EXPECT_TRUE(IsPlaceholder("{{ secret }}"));
  EXPECT_TRUE(IsPlaceholder("<your-api-key>"));
  EXPECT_TRUE(IsPlaceholder("****************"));
  EXPECT_TRUE(IsPlaceholder("xxxxxxxxxxxxxxxx"));
  EXPECT_TRUE(IsPlaceholder("changeme123456"));
  EXPECT_TRUE(IsPlaceholder("null"));
  EXPECT_FALSE(IsPlaceholder("k8Jd92LqPz0vXw7R"));
}

}  // namespace
}  // namespace rampart::dlp

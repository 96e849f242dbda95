// The prefilter finds every candidate its patterns describe: the digit
// scanner yields the same detections as the Vectorscan expressions it
// replaces, and nothing depends on where the scanned buffer starts.
#include "agent/dlp/prefilter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "agent/dlp/digit_scanner.h"
#include "agent/dlp/document.h"
#include "agent/dlp/recognizers.h"
#include "agent/dlp/simd.h"
#include "tests/dlp/with_simd_level.h"

namespace rampart::dlp {
namespace {

std::vector<Detector> AllDetectors() {
  std::vector<Detector> all;
  for (size_t i = 0; i < kDetectorCount; ++i) all.push_back(static_cast<Detector>(i));
  return all;
}

using DetectionKey = std::tuple<Detector, uint32_t, uint32_t, std::string>;

std::set<DetectionKey> Detections(Prefilter& prefilter, std::string_view text) {
  std::vector<PrefilterMatch> matches;
  EXPECT_TRUE(prefilter.Scan(text, matches).ok());
  Document document = Document::PlainText(text);
  std::vector<Detection> detections;
  for (const PrefilterMatch& m : matches) Recognize(m, document, detections);
  std::set<DetectionKey> out;
  for (const Detection& d : detections) out.emplace(d.detector, d.begin, d.end, d.words->masked_value);
  return out;
}

// Texts dense in what the digit scanner looks for and in what breaks it:
// digit groups of every length, single and double separators, capitals
// before digits, "+" before digits, real cards, SSNs, IBANs and phone
// numbers, glued to letters or not, and '@' between every kind of byte.
std::string DigitHeavyText(std::mt19937_64& rng, size_t pieces) {
  static const char* kPieces[] = {"4539526018159083",
                                  "4539 5260 1815 9083",
                                  "4539-5260-1815-9083",
                                  "3714 378657 97547",
                                  "536-22-1234",
                                  "536 22 1234",
                                  "DE89370400440532013000",
                                  "DE89 3704 0044 0532 0130 00",
                                  "GB29NWBK60161331926819",
                                  "+44 20 7946 0958",
                                  "+1 (415) 555-0132",
                                  "+44 (0)20 7946 0958",
                                  "+33 6 12 34 56 78",
                                  "2024-01-31",
                                  " ",
                                  "-",
                                  "--",
                                  "  ",
                                  ".",
                                  "(",
                                  ")",
                                  "+",
                                  "x",
                                  "AB",
                                  "Z",
                                  "\"",
                                  ":",
                                  ",",
                                  "\n",
                                  "id=",
                                  "0",
                                  "7",
                                  "12",
                                  "123",
                                  "1234",
                                  "12345",
                                  "123456789",
                                  "6011323194875746",
                                  "5425824628194820",
                                  "30561049746501",
                                  "4222222222222",  // 13 digits, the shortest card
                                  "4111 1111 1111 1",
                                  "@",
                                  "a@b",
                                  "jane.doe+tag@example.org",
                                  "x@1",
                                  "@@",
                                  "_@",
                                  "%@Z",
                                  "b@-"};
  std::string text;
  for (size_t i = 0; i < pieces; ++i) {
    if (rng() % 3 == 0) {
      text += std::to_string(rng() % 100000);
    } else {
      text += kPieces[rng() % (sizeof(kPieces) / sizeof(kPieces[0]))];
    }
  }
  return text;
}

void ExpectTheDetectionsOfTheVectorscanExpressions() {
  auto scanner = Prefilter::Create(AllDetectors(), PrefilterEngine::kFast);
  auto reference = Prefilter::Create(AllDetectors(), PrefilterEngine::kExpressions);
  ASSERT_TRUE(scanner.ok() && reference.ok());
  std::mt19937_64 rng(20240515);
  size_t detections = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string text = DigitHeavyText(rng, 1 + rng() % 80);
    const auto expected = Detections(**reference, text);
    ASSERT_EQ(Detections(**scanner, text), expected) << text;
    detections += expected.size();
  }
  EXPECT_GT(detections, 1000u);  // the texts do hold what is looked for
}

TEST(DigitScannerTest, YieldsTheSameDetectionsAsTheVectorscanExpressions) {
  ExpectTheDetectionsOfTheVectorscanExpressions();
}

// Each block pass on its own: SSE2, which every x86-64 runs, and AVX2, taken
// where the CPU has it.
TEST(DigitScannerTest, TheSse2AndAvx2PassesYieldTheSameDetections) {
  for (SimdLevel level : {SimdLevel::kSse2, SimdLevel::kAvx2}) {
    WithSimdLevel with(level);
    if (!with.taken()) GTEST_SKIP() << "AVX2 not available (CPU, or a build without SSE2)";
    ExpectTheDetectionsOfTheVectorscanExpressions();
    for (size_t offset = 0; offset < 130; ++offset) {
      std::vector<PrefilterMatch> all, sse2;
      const std::string text = std::string(offset, 'a') + "4539 5260 1815 9083 +44 20 7946 0958 " +
                               std::string(200, '1') + " 536-22-1234 DE89370400440532013000 a@b.io 1@2";
      DigitPatterns every;
      every.card = every.ssn = every.iban = every.phone = every.email = true;
      ScanDigitPatterns(text, every, all);
      {
        WithSimdLevel baseline(SimdLevel::kSse2);
        ScanDigitPatterns(text, every, sse2);
      }
      ASSERT_EQ(all.size(), sse2.size()) << offset;
      for (size_t i = 0; i < all.size(); ++i) {
        EXPECT_EQ(all[i].pattern, sse2[i].pattern);
        EXPECT_EQ(all[i].from, sse2[i].from);
        EXPECT_EQ(all[i].to, sse2[i].to);
      }
    }
  }
}

TEST(DigitScannerTest, ReadsChainsLongerThanABlockAndAcrossBlockEnds) {
  auto scanner = Prefilter::Create(AllDetectors(), PrefilterEngine::kFast);
  auto reference = Prefilter::Create(AllDetectors(), PrefilterEngine::kExpressions);
  ASSERT_TRUE(scanner.ok() && reference.ok());
  for (size_t offset = 0; offset < 130; ++offset) {
    for (const char* item : {"4539 5260 1815 9083", "4539526018159083", "4222222222222", "536-22-1234",
                             "DE89370400440532013000", "+44 20 7946 0958", "jane@example.org"}) {
      // Glued to a chain longer than a block, and on its own.
      const std::string glued = std::string(offset, 'a') + item + " " + std::string(200, '1') + " " + item;
      ASSERT_EQ(Detections(**scanner, glued), Detections(**reference, glued)) << offset << " " << item;
      const std::string alone = std::string(offset, 'a') + " " + item + " x" + std::string(200, 'b');
      const auto expected = Detections(**reference, alone);
      ASSERT_FALSE(expected.empty()) << alone;
      ASSERT_EQ(Detections(**scanner, alone), expected) << offset << " " << item;
    }
  }
}

// The keyword lists run as one Vectorscan expression per word, their start
// taken from the word's length; they must match where their expressions
// (SourceOf) match, overlapping, glued and in any case.
TEST(PrefilterTest, KeywordWordsMatchWhereTheirExpressionMatches) {
  auto fast = Prefilter::Create(AllDetectors(), PrefilterEngine::kFast);
  auto reference = Prefilter::Create(AllDetectors(), PrefilterEngine::kExpressions);
  ASSERT_TRUE(fast.ok() && reference.ok());
  static const char* kPieces[] = {"phone", "PHONE", "Mobile", "msisdn", "whatsapp", "tel", "TEL", "fax", "cell",
                                  "sms", "secret", "Secret", "passw", "password", "passphrase", "pwd", "token",
                                  "credential", "auth", "OAuth", "api", "key", "KEY", "access", "private",
                                  "signing", "_", "-", ".", " ", "apiKey", "api_key", "access-key", "private.key",
                                  "signing key", "x", "\"", ":", "hotel", "cells", "telephone", "smsc", "faxes",
                                  "client_secret_token", "sspwd"};
  auto keyword_matches = [](Prefilter& prefilter, std::string_view text) {
    std::vector<PrefilterMatch> matches;
    EXPECT_TRUE(prefilter.Scan(text, matches).ok());
    std::vector<std::tuple<Pattern, uint32_t, uint32_t>> out;
    for (const PrefilterMatch& m : matches) {
      if (m.pattern == Pattern::kPhoneKeyword || m.pattern == Pattern::kSecretKeyword) {
        out.emplace_back(m.pattern, m.from, m.to);
      }
    }
    return out;
  };
  std::mt19937_64 rng(11);
  size_t matched = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    for (size_t k = 1 + rng() % 40; k > 0; --k) text += kPieces[rng() % (sizeof(kPieces) / sizeof(kPieces[0]))];
    const auto expected = keyword_matches(**reference, text);
    ASSERT_EQ(keyword_matches(**fast, text), expected) << text;
    matched += expected.size();
  }
  EXPECT_GT(matched, 10000u);  // the texts do hold the words
}

TEST(DigitScannerTest, ReportsOnlyTheEnabledPatterns) {
  std::vector<PrefilterMatch> out;
  DigitPatterns ssn_only;
  ssn_only.ssn = true;
  ScanDigitPatterns("card 4539526018159083 ssn 536-22-1234 +44 20 7946 0958 DE89370400440532013000 jane@example.org",
                    ssn_only, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].pattern, Pattern::kSsnSeparated);
}

// One candidate of every pattern, as the prefilter must find it.
struct Planted {
  Pattern pattern;
  std::string text;
};

std::vector<Planted> Candidates() {
  return {
      {Pattern::kCardDigits, "4539526018159083"},
      {Pattern::kSsnSeparated, "536-22-1234"},
      {Pattern::kSsnKeyword, "ssn"},
      {Pattern::kIban, "DE89370400440532013000"},
      {Pattern::kEmail, "jane.doe@uni-heidelberg.de"},
      {Pattern::kPhoneInternational, "+44 20 7946 0958"},
      {Pattern::kPhoneKeyword, "phone"},
      {Pattern::kAwsAccessKeyId, std::string("AKIA") + "Z7QW3RTY5UIO2PLM"},
      {Pattern::kAwsSecretKeyword, "aws_secret_access_key"},
      {Pattern::kGcpServiceAccount, R"("type": "service_account")"},
      {Pattern::kGcpApiKey, std::string("AIza") + "SyD3k8Jd92LqPz0vXw7RmN4sT6uV8wX0yZ1"},
      {Pattern::kGithubClassic, std::string("ghp_") + "u8qRtZHjQMhuOzE95B9EgE0VrbBGI00ayhb5"},
      {Pattern::kGithubFineGrained,
       std::string("github_pat_") +
           "11ABCDEFG0123456789abc_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9fG1hJ3kL5mN7pQ9rS"},
      {Pattern::kSlackToken, std::string("xoxb-") + "2837465019283-4918273645102-aB3dE5fG7hJ9kL1mN3pQ5rS7"},
      {Pattern::kSlackWebhook, "hooks.slack.com/services/"},
      {Pattern::kStripeKey, std::string("sk_") + "live_51Hx9Q2eZvKYlo2C8aB3dE5f"},
      {Pattern::kJwt, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl"},
      {Pattern::kPemPrivateKey, "-----BEGIN RSA PRIVATE KEY-----"},
      {Pattern::kSecretKeyword, "client_secret"},
  };
}

// Vectorscan 5.4's AVX-512 code dropped matches of some expressions (the
// full email expression the prefilter once used) depending on where the
// buffer started; the prefilter must not depend on it.
TEST(PrefilterTest, FindsEveryPlantedCandidateWhereverTheBufferStarts) {
  auto prefilter = Prefilter::Create(AllDetectors());
  ASSERT_TRUE(prefilter.ok());
  const std::vector<Planted> planted = Candidates();
  static const char* kFiller[] = {
      "{\"user\": {", "\"name\": \"Uma Petrov\", ", "the widget ", "x ", ", ", "\n", "}} ", "<p>hello</p> ", "id 12 "};
  std::mt19937_64 rng(7);
  std::vector<char> buffer(1 << 16);
  for (int i = 0; i < 4000; ++i) {
    std::string text;
    struct Where {
      Pattern pattern;
      size_t at, length;
    };
    std::vector<Where> where;
    const size_t items = 1 + rng() % 8;
    for (size_t k = 0; k < items; ++k) {
      for (size_t f = rng() % 30; f > 0; --f) text += kFiller[rng() % (sizeof(kFiller) / sizeof(kFiller[0]))];
      const Planted& p = planted[rng() % planted.size()];
      where.push_back({p.pattern, text.size(), p.text.size()});
      text += p.text + " ";
    }
    const size_t align = rng() % 64;
    std::memcpy(buffer.data() + align, text.data(), text.size());
    std::vector<PrefilterMatch> matches;
    ASSERT_TRUE((*prefilter)->Scan(std::string_view(buffer.data() + align, text.size()), matches).ok());
    for (const Where& w : where) {
      const bool found = std::any_of(matches.begin(), matches.end(), [&](const PrefilterMatch& m) {
        return m.pattern == w.pattern && m.from < w.at + w.length && m.to > w.at;
      });
      ASSERT_TRUE(found) << "pattern " << static_cast<int>(w.pattern) << " at " << w.at << ", buffer offset " << align
                         << ": " << text;
    }
  }
}

TEST(PrefilterTest, MatchesComeInEndOrder) {
  auto prefilter = Prefilter::Create(AllDetectors());
  ASSERT_TRUE(prefilter.ok());
  std::vector<PrefilterMatch> matches;
  ASSERT_TRUE((*prefilter)
                  ->Scan("ssn 536-22-1234 mail a@corp.io card 4539526018159083 phone +44 20 7946 0958 token", matches)
                  .ok());
  ASSERT_GE(matches.size(), 7u);
  EXPECT_TRUE(std::is_sorted(matches.begin(), matches.end(),
                             [](const PrefilterMatch& a, const PrefilterMatch& b) { return a.to < b.to; }));
}

TEST(PrefilterTest, WorksWithOnlyDigitPatternsEnabled) {
  auto prefilter = Prefilter::Create({Detector::kCardNumber, Detector::kIban});
  ASSERT_TRUE(prefilter.ok());
  std::vector<PrefilterMatch> matches;
  ASSERT_TRUE((*prefilter)->Scan("card 4539526018159083, iban DE89370400440532013000", matches).ok());
  std::vector<Pattern> patterns;
  for (const PrefilterMatch& m : matches) patterns.push_back(m.pattern);
  // The IBAN's digits are card-shaped too; its recognizer rejects them.
  EXPECT_THAT(patterns, testing::UnorderedElementsAre(Pattern::kCardDigits, Pattern::kCardDigits, Pattern::kIban));
  auto clone = (*prefilter)->Clone();
  ASSERT_TRUE(clone.ok());
  ASSERT_TRUE((*clone)->Scan("card 4539526018159083", matches).ok());
  EXPECT_EQ(matches.size(), 1u);
}

TEST(PrefilterTest, ExpressionsAreExposedForOtherEngines) {
  EXPECT_EQ(SourceOf(Pattern::kSsnSeparated).expression, R"(\d{3}[ \-]\d{2}[ \-]\d{4})");
  EXPECT_TRUE(SourceOf(Pattern::kSecretKeyword).caseless);
  EXPECT_FALSE(SourceOf(Pattern::kIban).caseless);
}

}  // namespace
}  // namespace rampart::dlp

#include "agent/dlp/recognizers.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/dlp/document.h"
#include "agent/dlp/prefilter.h"

namespace rampart::dlp {
namespace {

// Values assembled from pieces so that secret scanners reading this
// repository do not mistake them for leaked credentials.
const std::string kText =
    "card 4539 5260 1815 9083, ssn 536-22-1234, iban DE89 3704 0044 0532 0130 00, mail ann@corp.io, "
    "call +44 20 7946 0958, phone: (415) 555-0132, key " + std::string("AKIA") + "Z7QW3RTY5UIO2PLM, token " +
    std::string("ghp_") + "u8qRtZHjQMhuOzE95B9EgE0VrbBGI00ayhb5, client_secret=" + "Q3v9Lw2XbT8kYp4ZrN6sJd1F" +
    ", jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c and "
    "4825968427742112 4889651446020784";

std::vector<PrefilterMatch> MatchesOf(const Document& document) {
  std::vector<Detector> all;
  for (size_t i = 0; i < kDetectorCount; ++i) all.push_back(static_cast<Detector>(i));
  auto prefilter = Prefilter::Create(all);
  EXPECT_TRUE(prefilter.ok()) << prefilter.status();
  std::vector<PrefilterMatch> matches;
  if (prefilter.ok()) {
    EXPECT_TRUE((*prefilter)->Scan(document.text(), matches).ok());
  }
  return matches;
}

// Recognizing without words finds the same detections, and Describe then
// writes the words recognizing with them would have.
TEST(RecognizeTest, WordsWrittenLaterAreTheWordsWrittenAtOnce) {
  Document document = Document::PlainText(kText);
  std::vector<Detection> worded, bare;
  for (const PrefilterMatch& m : MatchesOf(document)) {
    Recognize(m, document, worded, Wording::kWrite);
    Recognize(m, document, bare, Wording::kSkip);
  }
  ASSERT_GE(worded.size(), 10u);
  ASSERT_EQ(bare.size(), worded.size());
  for (size_t i = 0; i < bare.size(); ++i) {
    const std::string name(InfoOf(worded[i].detector).policy_name);
    EXPECT_EQ(bare[i].detector, worded[i].detector) << i;
    EXPECT_EQ(bare[i].begin, worded[i].begin) << name;
    EXPECT_EQ(bare[i].end, worded[i].end) << name;
    EXPECT_EQ(bare[i].confidence, worded[i].confidence) << name;
    EXPECT_EQ(bare[i].ceiling, worded[i].ceiling) << name;
    EXPECT_EQ(bare[i].words, nullptr) << name;
    ASSERT_NE(worded[i].words, nullptr) << name;
    EXPECT_FALSE(worded[i].words->reason.empty()) << name;
    Describe(document, bare[i]);
    ASSERT_NE(bare[i].words, nullptr) << name;
    EXPECT_EQ(bare[i].words->masked_value, worded[i].words->masked_value) << name;
    EXPECT_EQ(bare[i].words->reason, worded[i].words->reason) << name;
  }
}

}  // namespace
}  // namespace rampart::dlp

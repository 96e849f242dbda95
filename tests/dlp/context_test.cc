#include "agent/dlp/context.h"

#include <gtest/gtest.h>

namespace rampart::dlp {
namespace {

using Strings = std::vector<std::string>;

TEST(WordsTest, SplitsNamesTheWayDevelopersWriteThem) {
  EXPECT_EQ(Words("cardNumber"), (Strings{"card", "number"}));
  EXPECT_EQ(Words("card_number"), (Strings{"card", "number"}));
  EXPECT_EQ(Words("x-api-key"), (Strings{"x", "api", "key"}));
  EXPECT_EQ(Words("HTTPHeader"), (Strings{"http", "header"}));
  EXPECT_EQ(Words("ssn4"), (Strings{"ssn", "4"}));
  EXPECT_EQ(Words("<td>Card no.</td>"), (Strings{"td", "card", "no", "td"}));
}

double Adjustment(Vocabulary v, std::string_view leaf, std::vector<std::string_view> outer = {},
                  std::string_view nearby = {}) {
  return EvaluateContext(v, ContextInput{leaf, std::move(outer), nearby}).adjustment;
}

TEST(ContextTest, AKeyNamingTheDataRaisesMostAndNearbyWordsRaiseLess) {
  EXPECT_DOUBLE_EQ(Adjustment(Vocabulary::kCard, "card_number"), 0.35);
  EXPECT_DOUBLE_EQ(Adjustment(Vocabulary::kCard, "number", {"card"}), 0.25);
  EXPECT_DOUBLE_EQ(Adjustment(Vocabulary::kCard, "", {}, "Credit card: "), 0.25);
  EXPECT_DOUBLE_EQ(Adjustment(Vocabulary::kCard, "ccNum"), 0.35);
  EXPECT_DOUBLE_EQ(Adjustment(Vocabulary::kCard, "pan"), 0.35);
}

TEST(ContextTest, IdentifierWordsLowerNumericDetectors) {
  EXPECT_DOUBLE_EQ(Adjustment(Vocabulary::kCard, "id"), -0.30);
  EXPECT_DOUBLE_EQ(Adjustment(Vocabulary::kCard, "orderId"), -0.30);
  EXPECT_DOUBLE_EQ(Adjustment(Vocabulary::kCard, "trackingNumber"), -0.30);
  EXPECT_DOUBLE_EQ(Adjustment(Vocabulary::kCard, "value", {}, "Invoice "), -0.15);
  EXPECT_DOUBLE_EQ(Adjustment(Vocabulary::kSsn, "uuid"), -0.30);
}

TEST(ContextTest, RaisingAndLoweringWordsBothCount) {
  EXPECT_NEAR(Adjustment(Vocabulary::kCard, "card_id"), 0.05, 1e-9);
}

TEST(ContextTest, ShortWordsMatchOnlyAsWholeWords) {
  EXPECT_DOUBLE_EQ(Adjustment(Vocabulary::kCard, "company"), 0.0);  // "pan" inside
  EXPECT_DOUBLE_EQ(Adjustment(Vocabulary::kCard, "valid"), 0.0);    // "id" inside
  EXPECT_DOUBLE_EQ(Adjustment(Vocabulary::kPhone, "hotel"), 0.0);   // "tel" inside
}

TEST(ContextTest, SecretNamesRaiseAndDigestNamesLower) {
  EXPECT_DOUBLE_EQ(Adjustment(Vocabulary::kSecret, "client_secret"), 0.35);
  EXPECT_DOUBLE_EQ(Adjustment(Vocabulary::kSecret, "api_key"), 0.35);  // "api" + "key"
  EXPECT_DOUBLE_EQ(Adjustment(Vocabulary::kSecret, "access_token"), 0.20);
  EXPECT_DOUBLE_EQ(Adjustment(Vocabulary::kSecret, "auth_token_secret"), 0.35);  // the strongest word wins
  EXPECT_LT(Adjustment(Vocabulary::kSecret, "csrf_token"), 0.0);
  EXPECT_LT(Adjustment(Vocabulary::kSecret, "sha256"), 0.0);
}

TEST(ContextTest, ExplanationNamesOnlyVocabularyWords) {
  ContextEffect effect = EvaluateContext(Vocabulary::kCard, ContextInput{"billingCardNumberXYZ", {}, "order #"});
  EXPECT_EQ(effect.explanation, "key word 'card' +0.35, nearby word 'order' -0.15");
}

}  // namespace
}  // namespace rampart::dlp

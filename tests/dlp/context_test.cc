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
  EXPECT_EQ(effect.Explanation(), "key word 'card' +0.35, nearby word 'order' -0.15");
}

// The cache answers as EvaluateContext does: for inputs seen before, for
// more distinct inputs than it has slots (evicting), for keys that differ
// only in where one ends and the next begins, and for nearby text, which it
// does not keep.
TEST(ContextCacheTest, AnswersAsEvaluateContextDoes) {
  struct Case {
    Vocabulary vocabulary;
    std::string leaf;
    std::vector<std::string> outer;
    std::string nearby;
  };
  std::vector<Case> cases = {
      {Vocabulary::kCard, "card_number", {"customers"}, ""},
      {Vocabulary::kCard, "order_id", {"customers"}, ""},
      {Vocabulary::kCard, "card", {"_numbercustomers"}, ""},
      {Vocabulary::kCard, "card_number", {"", "customers"}, ""},
      {Vocabulary::kPhone, "card_number", {"customers"}, ""},
      {Vocabulary::kPhone, "phone", {}, ""},
      {Vocabulary::kPhone, "", {}, "call me on"},
      {Vocabulary::kSecret, "client_secret", {"credentials", "config", "app"}, ""},
      {Vocabulary::kSecret, "csrf_token", {}, ""},
  };
  for (int i = 0; i < 600; ++i) {
    cases.push_back({Vocabulary::kIban, "field" + std::to_string(i), {i % 2 ? "bank" : "order"}, ""});
  }
  ContextCache cache;
  for (int pass = 0; pass < 3; ++pass) {
    for (const Case& c : cases) {
      std::vector<std::string_view> outer(c.outer.begin(), c.outer.end());
      const ContextInput input{c.leaf, outer, c.nearby};
      const ContextEffect expected = EvaluateContext(c.vocabulary, input);
      const ContextEffect cached = cache.Evaluate(c.vocabulary, input);
      EXPECT_DOUBLE_EQ(cached.adjustment, expected.adjustment) << c.leaf << " pass " << pass;
      EXPECT_EQ(cached.Explanation(), expected.Explanation()) << c.leaf << " pass " << pass;
    }
  }
}

}  // namespace
}  // namespace rampart::dlp

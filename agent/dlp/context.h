// Context scoring: the names and words around a value make a detector's
// reading more or less likely. A checksum says a number *can* be a card; the
// key "card_number" says it *is* one, the key "order_id" says it is not.
//
// Adjustments (the largest raise and the largest lowering both apply):
//
//   where the word is                        raises   lowers
//   leaf key (JSON member, form field,       +0.35    -0.30
//     header or cookie name)
//   enclosing JSON keys, or the text just    +0.25    -0.15
//     before the value (same field)
//
// The secret vocabulary has weaker words ("token", "auth", "bearer") that
// raise by +0.20 as a key and +0.15 nearby, because access tokens are handed
// out by design (login responses) while "secret" and "password" are not.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::dlp {

enum class Vocabulary : uint8_t {
  kNone,
  kCard,        // raise: card, credit, cc, pan...; lower: id, order, tracking...
  kSsn,         // raise: ssn, social (security), taxpayer, tin; lower: identifiers
  kIban,        // raise: iban, account, bank, bic, swift, sepa; lower: identifiers
  kPhone,       // raise: phone, tel, mobile, fax, msisdn...; lower: identifiers
  kEmail,       // raise: mail, contact
  kCredential,  // lower: example, sample, dummy, fake, placeholder, mock, demo
  kSecret,      // raise: secret, password, api key, token...; lower: hash, digest, csrf, id...
};

// How far before a value the nearby words are read.
inline constexpr size_t kNearbyBytes = 48;

struct ContextInput {
  std::string_view leaf_key;
  std::span<const std::string_view> outer_keys;  // nearest first
  std::string_view preceding_text;
};

struct ContextEffect {
  // The strongest vocabulary word that applied one way; `word` points into
  // the static word lists, never into message text.
  struct Signal {
    double amount = 0;
    std::string_view word;  // empty: none applied
    bool leaf = false;      // in the leaf key, or else nearby
  };

  double adjustment = 0;
  Signal raise, lower;

  // The vocabulary words that applied, never message text:
  // "key word 'card' +0.35, nearby word 'order' -0.15". Built on demand:
  // context is evaluated for every match, explained only for findings.
  std::string Explanation() const;
  // The same, appended to `out`.
  void AppendExplanation(std::string& out) const;
  // Whether Explanation() has anything to say.
  bool explained() const { return !raise.word.empty() || !lower.word.empty(); }
};

ContextEffect EvaluateContext(Vocabulary vocabulary, const ContextInput& input);

// EvaluateContext with a memory of the inputs that have no nearby text: in a
// structured body the same keys come back for every record ("email" under
// "customers"), and reading their words costs more than looking them up.
// Direct-mapped: kSlots inputs at most, a newer one takes an older one's
// slot. Not thread-safe.
class ContextCache {
 public:
  static constexpr size_t kSlots = 256;
  ContextCache();
  ContextEffect Evaluate(Vocabulary vocabulary, const ContextInput& input);

 private:
  struct Slot {
    bool used = false;
    Vocabulary vocabulary = Vocabulary::kNone;
    std::string keys;  // leaf and outer keys, each followed by '\0'
    ContextEffect effect;
  };
  std::vector<Slot> slots_;
};

// Lower-cased words of a name or text: "cardNumber" -> {card, number},
// "x-api-key" -> {x, api, key}, "HTTPHeader" -> {http, header}.
std::vector<std::string> Words(std::string_view text);

}  // namespace rampart::dlp

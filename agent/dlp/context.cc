#include "agent/dlp/context.h"

#include <algorithm>
#include <cstring>
#include <span>

namespace rampart::dlp {
namespace {

enum class Match : uint8_t { kExact, kContains };

struct Term {
  std::string_view word;
  Match match;
  bool weak = false;  // secret vocabulary only
};

// Short words match whole words only: "pan" must not fire inside "company".
constexpr Term kIdentifierWords[] = {
    {"id", Match::kExact},          {"ids", Match::kExact},         {"ts", Match::kExact},
    {"ref", Match::kExact},         {"sku", Match::kExact},         {"seq", Match::kExact},
    {"nonce", Match::kExact},       {"span", Match::kExact},        {"time", Match::kExact},
    {"date", Match::kExact},        {"uuid", Match::kContains},     {"guid", Match::kContains},
    {"order", Match::kContains},    {"tracking", Match::kContains}, {"invoice", Match::kContains},
    {"timestamp", Match::kContains}, {"epoch", Match::kContains},   {"reference", Match::kContains},
    {"sequence", Match::kContains}, {"version", Match::kContains},  {"hash", Match::kContains},
    {"trace", Match::kContains},    {"shipment", Match::kContains}, {"parcel", Match::kContains},
    {"isbn", Match::kContains},     {"barcode", Match::kContains},  {"serial", Match::kContains},
    {"ean", Match::kExact},         {"upc", Match::kExact},         {"gtin", Match::kContains},
};
constexpr Term kCardWords[] = {
    {"card", Match::kContains},  {"credit", Match::kContains}, {"debit", Match::kContains},
    {"visa", Match::kContains},  {"mastercard", Match::kContains}, {"amex", Match::kContains},
    {"payment", Match::kContains}, {"cc", Match::kExact},      {"ccn", Match::kExact},
    {"ccnum", Match::kExact},    {"pan", Match::kExact},
};
constexpr Term kSsnWords[] = {
    {"ssn", Match::kContains}, {"social", Match::kContains}, {"taxpayer", Match::kContains},
    {"tin", Match::kExact},    {"itin", Match::kExact},
};
constexpr Term kIbanWords[] = {
    {"iban", Match::kContains}, {"account", Match::kContains}, {"bank", Match::kContains},
    {"sepa", Match::kContains}, {"swift", Match::kContains},   {"beneficiary", Match::kContains},
    {"acct", Match::kContains}, {"bic", Match::kExact},
};
constexpr Term kPhoneWords[] = {
    {"phone", Match::kContains}, {"mobile", Match::kContains}, {"msisdn", Match::kContains},
    {"whatsapp", Match::kContains}, {"contact", Match::kContains}, {"tel", Match::kExact},
    {"cell", Match::kExact},     {"fax", Match::kExact},       {"sms", Match::kExact},
};
constexpr Term kEmailWords[] = {{"mail", Match::kContains}, {"contact", Match::kContains}};
constexpr Term kExampleWords[] = {
    {"example", Match::kContains}, {"sample", Match::kContains},      {"dummy", Match::kContains},
    {"fake", Match::kContains},    {"placeholder", Match::kContains}, {"mock", Match::kContains},
    {"demo", Match::kExact},
};
constexpr Term kSecretWords[] = {
    {"secret", Match::kContains},     {"password", Match::kContains},   {"passwd", Match::kContains},
    {"passphrase", Match::kContains}, {"credential", Match::kContains}, {"apikey", Match::kContains},
    {"privatekey", Match::kContains}, {"accesskey", Match::kContains},  {"signingkey", Match::kContains},
    {"pwd", Match::kExact},           {"token", Match::kContains, true}, {"auth", Match::kExact, true},
    {"authorization", Match::kExact, true}, {"bearer", Match::kExact, true},
};
constexpr Term kNotSecretWords[] = {
    {"hash", Match::kContains},        {"checksum", Match::kContains}, {"digest", Match::kContains},
    {"fingerprint", Match::kContains}, {"csrf", Match::kContains},     {"xsrf", Match::kContains},
    {"etag", Match::kContains},        {"uuid", Match::kContains},     {"nonce", Match::kExact},
    {"id", Match::kExact},             {"sha", Match::kExact},         {"md5", Match::kExact},
    {"sha1", Match::kExact},           {"sha256", Match::kExact},      {"example", Match::kContains},
    {"sample", Match::kContains},      {"dummy", Match::kContains},    {"placeholder", Match::kContains},
};

struct Lists {
  std::span<const Term> raise;
  std::span<const Term> lower;
};

Lists ListsFor(Vocabulary vocabulary) {
  switch (vocabulary) {
    case Vocabulary::kCard: return {kCardWords, kIdentifierWords};
    case Vocabulary::kSsn: return {kSsnWords, kIdentifierWords};
    case Vocabulary::kIban: return {kIbanWords, kIdentifierWords};
    case Vocabulary::kPhone: return {kPhoneWords, kIdentifierWords};
    case Vocabulary::kEmail: return {kEmailWords, {}};
    case Vocabulary::kCredential: return {{}, kExampleWords};
    case Vocabulary::kSecret: return {kSecretWords, kNotSecretWords};
    case Vocabulary::kNone: break;
  }
  return {};
}

bool TermMatches(const Term& term, std::string_view word) {
  return term.match == Match::kExact ? word == term.word : word.find(term.word) != std::string_view::npos;
}

double Amount(const Term& term, bool leaf, bool raising) {
  if (!raising) return leaf ? 0.30 : 0.15;
  if (term.weak) return leaf ? 0.20 : 0.15;
  return leaf ? 0.35 : 0.25;
}

using Signal = ContextEffect::Signal;

// Keeps the strongest term of `terms` matching `word`.
void Consider(std::span<const Term> terms, std::string_view word, bool leaf, bool raising, Signal& best) {
  for (const Term& term : terms) {
    if (!TermMatches(term, word)) continue;
    double amount = Amount(term, leaf, raising);
    if (amount > best.amount) best = {amount, term.word, leaf};
  }
}

// Appends to `out`, whose first `start` bytes are not this explanation's.
void Describe(const Signal& s, char sign, size_t start, std::string& out) {
  if (s.word.empty()) return;
  if (out.size() > start) out += ", ";
  // Amounts are whole hundredths: "+0.35".
  const int hundredths = static_cast<int>(s.amount * 100 + 0.5);
  const char amount[] = {sign, static_cast<char>('0' + hundredths / 100), '.',
                         static_cast<char>('0' + hundredths / 10 % 10), static_cast<char>('0' + hundredths % 10)};
  out.append(s.leaf ? "key" : "nearby").append(" word '").append(s.word).append("' ").append(amount, sizeof(amount));
}

bool IsUpperAscii(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLowerAscii(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigitAscii(char c) { return c >= '0' && c <= '9'; }

// Calls `visit` with each lower-cased word of `text` and, after each word but
// the first, with that word joined to the one before ("api" "key" ->
// "apikey"). Words are cut at 32 characters; no allocation, since this runs
// for every match.
template <typename Visit>
void ForEachWord(std::string_view text, Visit&& visit) {
  constexpr size_t kMax = 32;
  char previous[kMax], current[kMax], joined[2 * kMax];
  size_t previous_size = 0, current_size = 0;
  auto flush = [&] {
    if (current_size == 0) return;
    visit(std::string_view(current, current_size), false);
    if (previous_size > 0) {
      std::copy(previous, previous + previous_size, joined);
      std::copy(current, current + current_size, joined + previous_size);
      visit(std::string_view(joined, previous_size + current_size), true);
    }
    std::copy(current, current + current_size, previous);
    previous_size = current_size;
    current_size = 0;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool upper = IsUpperAscii(c), lower = IsLowerAscii(c), digit = IsDigitAscii(c);
    if (!upper && !lower && !digit) {
      flush();
      continue;
    }
    if (current_size > 0) {
      const char prev = text[i - 1];
      const bool camel = upper && IsLowerAscii(prev);
      const bool acronym_end = upper && IsUpperAscii(prev) && i + 1 < text.size() && IsLowerAscii(text[i + 1]);
      const bool digit_edge = digit != IsDigitAscii(prev);
      if (camel || acronym_end || digit_edge) flush();
    }
    if (current_size < kMax) current[current_size++] = upper ? static_cast<char>(c - 'A' + 'a') : c;
  }
  flush();
}

}  // namespace

std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> words;
  ForEachWord(text, [&](std::string_view word, bool joined) {
    if (!joined) words.emplace_back(word);
  });
  return words;
}

ContextEffect EvaluateContext(Vocabulary vocabulary, const ContextInput& input) {
  Lists lists = ListsFor(vocabulary);
  Signal raise, lower;
  auto consider_text = [&](std::string_view text, bool leaf) {
    ForEachWord(text, [&](std::string_view word, bool) {
      Consider(lists.raise, word, leaf, true, raise);
      Consider(lists.lower, word, leaf, false, lower);
    });
  };
  consider_text(input.leaf_key, true);
  for (std::string_view key : input.outer_keys) consider_text(key, false);
  consider_text(input.preceding_text, false);

  ContextEffect effect;
  effect.adjustment = raise.amount - lower.amount;
  effect.raise = raise;
  effect.lower = lower;
  return effect;
}

std::string ContextEffect::Explanation() const {
  std::string out;
  AppendExplanation(out);
  return out;
}

void ContextEffect::AppendExplanation(std::string& out) const {
  const size_t start = out.size();
  Describe(raise, '+', start, out);
  Describe(lower, '-', start, out);
}

ContextCache::ContextCache() : slots_(kSlots) {}

ContextEffect ContextCache::Evaluate(Vocabulary vocabulary, const ContextInput& input) {
  if (!input.preceding_text.empty()) return EvaluateContext(vocabulary, input);
  // Eight bytes at a time: this runs for every match of a structured body.
  uint64_t hash = 0x9E3779B97F4A7C15ull ^ static_cast<uint8_t>(vocabulary);
  size_t size = 0;
  auto add = [&](std::string_view key) {
    size_t i = 0;
    for (; i + 8 <= key.size(); i += 8) {
      uint64_t chunk;
      std::memcpy(&chunk, key.data() + i, 8);
      hash = (hash ^ chunk) * 0xFF51AFD7ED558CCDull;
      hash ^= hash >> 29;
    }
    uint64_t tail = key.size() - i;  // the length of the tail marks the key's end
    for (; i < key.size(); ++i) tail = tail << 8 | static_cast<unsigned char>(key[i]);
    hash = (hash ^ tail) * 0xFF51AFD7ED558CCDull;
    hash ^= hash >> 29;
    size += key.size() + 1;
  };
  add(input.leaf_key);
  for (std::string_view key : input.outer_keys) add(key);
  auto same_keys = [&](const std::string& keys) {
    if (keys.size() != size) return false;
    std::string_view rest = keys;
    auto next = [&](std::string_view key) {
      if (rest.size() <= key.size() || rest.substr(0, key.size()) != key || rest[key.size()] != '\0') return false;
      rest.remove_prefix(key.size() + 1);
      return true;
    };
    if (!next(input.leaf_key)) return false;
    for (std::string_view key : input.outer_keys) {
      if (!next(key)) return false;
    }
    return true;
  };
  Slot& slot = slots_[(hash * 0x9E3779B97F4A7C15ull) >> 56 & (kSlots - 1)];
  if (slot.used && slot.vocabulary == vocabulary && same_keys(slot.keys)) return slot.effect;
  slot.effect = EvaluateContext(vocabulary, input);
  slot.used = true;
  slot.vocabulary = vocabulary;
  slot.keys.clear();
  slot.keys.append(input.leaf_key).push_back('\0');
  for (std::string_view key : input.outer_keys) slot.keys.append(key).push_back('\0');
  return slot.effect;
}

}  // namespace rampart::dlp

#include "agent/dlp/recognizers.h"

#include <algorithm>
#include <cstdio>
#include <optional>

#include "agent/dlp/digit_scanner.h"
#include "agent/dlp/validators.h"

namespace rampart::dlp {
namespace {

using findings::Severity;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsAlpha(char c) { return IsUpper(c) || IsLower(c); }
bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
bool IsWordChar(char c) { return IsAlnum(c) || c == '_'; }
bool IsTokenChar(char c) { return IsAlnum(c) || c == '_' || c == '-'; }
bool IsSpace(char c) { return c == ' ' || c == '\t'; }

// The character at `i`, or '\0' outside the text.
char At(std::string_view t, int64_t i) {
  return i >= 0 && static_cast<uint64_t>(i) < t.size() ? t[static_cast<size_t>(i)] : '\0';
}

uint64_t Fingerprint(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string Stars(size_t n) { return std::string(std::min<size_t>(n, 64), '*'); }

std::string KeepPrefix(std::string_view token, size_t prefix) {
  return std::string(token.substr(0, prefix)) + Stars(token.size() - prefix);
}

std::string Format(const char* format, double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), format, value);
  return buffer;
}

size_t RunEnd(std::string_view t, size_t from, bool (*accept)(char), size_t max) {
  size_t i = from;
  while (i < t.size() && i - from < max && accept(t[i])) ++i;
  return i;
}

static_assert(sizeof(Detection) <= 56, "Detection is read many times per match: keep it small (recognizers.h)");

// Where recognizers append detections. Their words (masked value, reason)
// are written only when `words` is set: a body full of PII yields thousands
// of detections, and only the few that become findings need words.
struct Sink {
  std::vector<Detection>& detections;
  bool words;
  void push_back(Detection d) { detections.push_back(std::move(d)); }
};

// `masked` and `reason` are called for the words, only when wanted.
template <typename Masked, typename Reason>
Detection Make(bool words, Detector detector, size_t begin, size_t end, double confidence, Vocabulary vocabulary,
               const Masked& masked, const Reason& reason) {
  Detection d;
  d.detector = detector;
  d.begin = static_cast<uint32_t>(begin);
  d.end = static_cast<uint32_t>(end);
  d.confidence = confidence;
  d.ceiling = InfoOf(detector).ceiling;
  d.vocabulary = vocabulary;
  if (words) d.words = std::make_unique<DetectionWords>(DetectionWords{masked(), reason()});
  return d;
}

template <typename Masked, typename Reason>
Detection MakeCredential(bool words, Detector detector, size_t begin, size_t end, double confidence,
                         const Masked& masked, const Reason& reason) {
  Detection d = Make(words, detector, begin, end, confidence, Vocabulary::kCredential, masked, reason);
  d.credential = true;
  return d;
}

// --- Payment cards -------------------------------------------------------

struct Group {
  size_t begin, end;
  char separator_before;  // '\0' for the first group
};

size_t SizeOf(const Group& g) { return g.end - g.begin; }

bool CardGroupingValid(const std::vector<Group>& groups, size_t first, size_t last) {
  if (first == last) return true;
  if (last == first + 2 && SizeOf(groups[first]) == 4 && SizeOf(groups[first + 1]) == 6 &&
      (SizeOf(groups[last]) == 5 || SizeOf(groups[last]) == 4)) {
    return true;  // 4-6-5 (Amex), 4-6-4 (Diners)
  }
  for (size_t g = first; g < last; ++g) {
    if (SizeOf(groups[g]) != 4) return false;
  }
  return SizeOf(groups[last]) >= 1 && SizeOf(groups[last]) <= 4;
}

void RecognizeCards(std::string_view t, const PrefilterMatch& m, Sink& out) {
  const size_t b = m.from, e = m.to;
  // A run glued to a word or a decimal point is part of something else: an
  // identifier, a hash, a float.
  const char before = At(t, static_cast<int64_t>(b) - 1), after = At(t, e);
  if (IsWordChar(before) || IsWordChar(after)) return;
  if (before == '.' && IsDigit(At(t, static_cast<int64_t>(b) - 2))) return;
  if (after == '.' && IsDigit(At(t, e + 1))) return;

  // Reused: card-shaped runs are frequent (ids, EANs), cards are not.
  thread_local std::vector<Group> groups;
  groups.clear();
  for (size_t i = b; i < e;) {
    char separator = i == b ? '\0' : t[i - 1];
    size_t end = DigitRunEnd(t, i, e);
    groups.push_back({i, end, separator});
    i = end + 1;
  }
  // Groups before `unclaimed` belong to a card already found.
  size_t unclaimed = 0;
  for (size_t first = 0; first < groups.size();) {
    bool found = false;
    // A grouped number that starts right after another 4-digit group of the
    // run would be the tail of a longer printed number ("6759 3706 7600
    // 8761 057" holds no 15-digit card), not a card of its own.
    const bool continues_run = first > unclaimed && groups[first - 1].end - groups[first - 1].begin == 4 &&
                               groups[first].end - groups[first].begin == 4;
    // Set once a longer window from `first` is printed like a card (13-19
    // digits, grouped as cards are) but fails validation: the printed
    // number is that one ("5018 6055 4903 1511 248"), and its first groups
    // are not a card of their own.
    bool printed_number_failed = false;
    for (size_t last = std::min(groups.size() - 1, first + 5) + 1; last-- > first && !printed_number_failed;) {
      if (continues_run && last > first) continue;
      bool consistent = true;
      size_t digit_count = 0;
      for (size_t g = first; g <= last; ++g) {
        digit_count += groups[g].end - groups[g].begin;
        if (g > first + 1 && groups[g].separator_before != groups[first + 1].separator_before) consistent = false;
      }
      if (!consistent || digit_count < 13 || digit_count > 19 || !CardGroupingValid(groups, first, last)) continue;
      printed_number_failed = last > first;
      char buffer[19];
      size_t length = 0;
      for (size_t g = first; g <= last; ++g) {
        t.copy(buffer + length, SizeOf(groups[g]), groups[g].begin);
        length += SizeOf(groups[g]);
      }
      const std::string_view digits(buffer, length);
      // Luhn first: it rejects nine numbers in ten with a loop that predicts
      // well, where the brand rules branch on the random leading digits.
      if (!LuhnValid(digits)) continue;
      const std::optional<CardBrand> brand = CardBrandOf(digits);
      if (!brand) continue;
      const bool test_number = IsWellKnownTestCard(digits);
      if (IsDegenerateNumber(digits) && !test_number) continue;

      const bool grouped = last > first;
      double confidence = 0.5 + (grouped ? 0.15 : 0) - (test_number ? 0.35 : 0);
      auto reason = [&] {
        std::string reason = "Luhn-valid " + std::string(CardBrandName(*brand)) + " number, " +
                             std::to_string(digits.size()) + " digits";
        if (grouped) reason += ", grouped as printed on cards";
        if (test_number) reason += ", a well-known test number";
        return reason;
      };
      Detection d = Make(out.words, Detector::kCardNumber, groups[first].begin, groups[last].end, confidence,
                         Vocabulary::kCard, [&] { return findings::MaskValue(digits, 0, 4); }, reason);
      d.fingerprint = Fingerprint(digits);
      out.push_back(std::move(d));
      first = last + 1;
      unclaimed = first;
      found = true;
      break;
    }
    if (!found) ++first;
  }
}

// --- Keyword-introduced values ------------------------------------------

enum class ValueShape { kToken, kNumber };

struct NamedValue {
  size_t begin, end;
  size_t name_begin, name_end;  // empty when the name is a field's key
  std::string_view name;
};

bool IsNameChar(char c) { return IsAlnum(c) || c == '_' || c == '-' || c == '.'; }

bool IsValueChar(char c, ValueShape shape) {
  if (shape == ValueShape::kNumber) return IsDigit(c) || c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '+';
  unsigned char u = static_cast<unsigned char>(c);
  if (u <= ' ' || u == 0x7F) return false;
  return c != '"' && c != '\'' && c != '<' && c != '>' && c != ',' && c != ';' && c != '&' && c != '\\';
}

// The value a keyword match names: the field whose key holds the keyword, or
// in text the value after "name:" / "name=" (for numbers also "name 123").
std::optional<NamedValue> ValueNamedBy(const Document& doc, const PrefilterMatch& m, ValueShape shape) {
  const std::string_view t = doc.text();
  if (const Document::Field* field = doc.FieldNamedAt(m.from)) {
    return NamedValue{field->value_begin, field->value_end, 0, 0, doc.KeyOf(*field)};
  }
  size_t limit = t.size();
  if (const Document::Field* field = doc.FieldContaining(m.from)) limit = field->value_end;

  size_t name_begin = m.from;
  while (name_begin > 0 && m.from - name_begin < 64 && IsNameChar(t[name_begin - 1])) --name_begin;
  size_t i = m.to;
  while (i < limit && i - m.to < 64 && IsNameChar(t[i])) ++i;
  // Names in prose run to a few words: "Social Security Number:", "Phone no.:".
  for (int words = 0; words < 2 && i + 1 < limit && t[i] == ' ' && IsAlpha(t[i + 1]); ++words) {
    ++i;
    while (i < limit && (IsAlpha(t[i]) || t[i] == '.' || t[i] == '#')) ++i;
  }
  const size_t name_end = i;
  if (i < limit && (t[i] == '"' || t[i] == '\'')) ++i;
  for (int n = 0; n < 4 && i < limit && IsSpace(t[i]); ++n) ++i;
  // XML settings name the value in a sibling attribute:
  // <add key="ApiSecret" value="..."/>, <param name="password" value="..."/>.
  if (i > name_end && i < limit && t.substr(i, 5) == "value" && i + 5 < limit && t[i + 5] == '=') i += 5;
  if (i < limit && (t[i] == ':' || t[i] == '=')) {
    ++i;
    if (i < limit && (t[i] == '=' || t[i] == '>')) ++i;
  } else if (shape == ValueShape::kToken || i == name_end) {
    return std::nullopt;
  }
  for (int n = 0; n < 4 && i < limit && IsSpace(t[i]); ++n) ++i;
  char quote = 0;
  if (i < limit && (t[i] == '"' || t[i] == '\'')) quote = t[i++];
  const size_t begin = i;
  while (i < limit && i - begin < 512 && (quote ? t[i] != quote : IsValueChar(t[i], shape))) ++i;
  size_t end = i;
  while (end > begin && IsSpace(t[end - 1])) --end;
  if (end == begin) return std::nullopt;
  return NamedValue{begin, end, name_begin, name_end, t.substr(name_begin, name_end - name_begin)};
}

void SetName(Detection& d, const NamedValue& v) {
  d.name_begin = static_cast<uint32_t>(v.name_begin);
  d.name_end = static_cast<uint32_t>(v.name_end);
}

// True when the vocabulary raises more than it lowers for this name.
bool NameSupports(Vocabulary vocabulary, std::string_view name) {
  // Keyword matches name the same few fields again and again.
  thread_local ContextCache cache;
  return cache.Evaluate(vocabulary, ContextInput{name, {}, {}}).adjustment > 0;
}

// --- SSN -----------------------------------------------------------------

std::string MaskSsn(std::string_view digits, char separator) {
  std::string masked = "***" + std::string(1, separator) + "**" + std::string(1, separator);
  return masked + std::string(digits.substr(5));
}

void RecognizeSeparatedSsn(std::string_view t, const PrefilterMatch& m, Sink& out) {
  const size_t b = m.from, e = b + 11;
  if (e > t.size()) return;
  const char sep1 = t[b + 3], sep2 = t[b + 6];
  if (sep1 != sep2) return;
  const char before = At(t, static_cast<int64_t>(b) - 1), after = At(t, e);
  auto joins_number = [](char c) { return c == '-' || c == '.' || c == '/' || c == '+'; };
  if (IsWordChar(before) || IsWordChar(after)) return;
  if (joins_number(before) && (before == '+' || IsDigit(At(t, static_cast<int64_t>(b) - 2)))) return;
  if (joins_number(after) && IsDigit(At(t, e + 1))) return;
  std::string digits;
  digits.append(t.substr(b, 3)).append(t.substr(b + 4, 2)).append(t.substr(b + 7, 4));
  if (CheckUsSsn(digits) != SsnCheck::kValid) return;
  const bool dashes = sep1 == '-';
  out.push_back(Make(out.words, Detector::kUsSsn, b, e, dashes ? 0.55 : 0.4, Vocabulary::kSsn,
                     [&] { return MaskSsn(digits, sep1); },
                     [&] {
                       return dashes ? "valid SSN area, group and serial, written ddd-dd-dddd"
                                     : "valid SSN area, group and serial, written ddd dd dddd";
                     }));
}

void RecognizeBareSsn(const Document& doc, const PrefilterMatch& m, Sink& out) {
  std::optional<NamedValue> v = ValueNamedBy(doc, m, ValueShape::kNumber);
  if (!v || !NameSupports(Vocabulary::kSsn, v->name)) return;
  std::string_view value = doc.text().substr(v->begin, v->end - v->begin);
  // Separated forms are the other pattern's.
  if (value.size() != 9 || !std::all_of(value.begin(), value.end(), IsDigit)) return;
  if (IsDigit(At(doc.text(), v->end))) return;
  if (CheckUsSsn(value) != SsnCheck::kValid) return;
  Detection d = Make(out.words, Detector::kUsSsn, v->begin, v->end, 0.45, Vocabulary::kSsn,
                     [&] { return "*****" + std::string(value.substr(5)); },
                     [] { return "valid SSN area, group and serial, nine bare digits named as an SSN"; });
  SetName(d, *v);
  out.push_back(std::move(d));
}

// --- IBAN ----------------------------------------------------------------

void RecognizeIban(std::string_view t, const PrefilterMatch& m, Sink& out) {
  const size_t b = m.from;
  if (IsAlnum(At(t, static_cast<int64_t>(b) - 1))) return;
  const size_t expected = IbanLengthFor(t.substr(b, 2));
  if (expected == 0) return;
  std::string compact;
  size_t i = b;
  while (i < t.size() && compact.size() < expected) {
    const char c = t[i];
    if (IsUpper(c) || IsDigit(c)) {
      compact.push_back(c);
      ++i;
    } else if (c == ' ' && !compact.empty() && compact.size() % 4 == 0 && IsAlnum(At(t, i + 1))) {
      ++i;
    } else {
      break;
    }
  }
  if (compact.size() != expected || IsAlnum(At(t, i)) || !IbanValid(compact)) return;
  out.push_back(Make(out.words, Detector::kIban, b, i, 0.8, Vocabulary::kIban,
                     [&] { return findings::MaskValue(compact, 2, 4); },
                     [] { return "IBAN with the registered length for its country and a valid mod-97 checksum"; }));
}

// --- Email ---------------------------------------------------------------

bool IsDomainChar(char c) { return IsAlnum(c) || c == '.' || c == '-'; }

void RecognizeEmail(std::string_view t, const PrefilterMatch& m, Sink& out) {
  const size_t at = t.find('@', m.from);
  if (at == std::string_view::npos || at >= m.to) return;
  size_t local_begin = at;
  while (local_begin > 0 && at - local_begin < 64 && IsEmailLocalChar(t[local_begin - 1])) --local_begin;
  if (IsEmailLocalChar(At(t, static_cast<int64_t>(local_begin) - 1))) return;  // longer than 64
  size_t domain_end = RunEnd(t, at + 1, IsDomainChar, 253);
  while (domain_end > at + 1 && (t[domain_end - 1] == '.' || t[domain_end - 1] == '-')) --domain_end;
  const std::string_view local = t.substr(local_begin, at - local_begin);
  const std::string_view domain = t.substr(at + 1, domain_end - at - 1);
  if (At(t, domain_end) == '@' || !EmailLocalPartValid(local) || !EmailDomainValid(domain)) return;
  const bool documentation = IsDocumentationDomain(domain);
  auto masked = [&] {
    // A one-character local part would be the whole address: hide it too.
    std::string masked;
    masked.reserve(local.size() + 1 + domain.size());
    masked.push_back(local.size() == 1 ? '*' : local[0]);
    masked.append(local.size() - 1, '*').append(1, '@').append(domain);
    return masked;
  };
  out.push_back(Make(out.words, Detector::kEmail, local_begin, domain_end, documentation ? 0.35 : 0.75,
                     Vocabulary::kEmail, masked, [&] {
                       return documentation ? "email address at a documentation domain (RFC 2606)"
                                            : "email address with a valid domain and top-level domain";
                     }));
}

// --- Phone numbers -------------------------------------------------------

struct Phone {
  // A number has at most 15 digits (E.164); ParsePhone stops at the 16th.
  char digit_buffer[16];
  size_t digit_count = 0;
  bool international = false;
  std::string_view digits() const { return std::string_view(digit_buffer, digit_count); }
};

// Digits of a phone number written with spaces, dashes, dots and
// parentheses, or nothing when the shape says it is something else (a date,
// an IP address, a malformed run). No allocation: it runs for every
// phone-shaped match.
std::optional<Phone> ParsePhone(std::string_view v) {
  Phone phone;
  phone.international = !v.empty() && v.front() == '+';
  if (phone.international) v.remove_prefix(1);
  // Only the shape of the first groups matters (dates, IP addresses have
  // three or four), so five are kept with the total count.
  size_t groups[5];
  size_t group_count = 0;
  bool any_separator = false, space_separator = false, only_dots = true;
  size_t run = 0;
  int depth = 0;
  char previous = '\0';
  auto end_group = [&] {
    if (run == 0) return;
    if (group_count < 5) groups[group_count] = run;
    ++group_count;
    run = 0;
  };
  for (size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (IsDigit(c)) {
      if (phone.digit_count == sizeof(phone.digit_buffer)) return std::nullopt;  // too long for a number
      phone.digit_buffer[phone.digit_count++] = c;
      ++run;
    } else {
      end_group();
      if (c == '(') {
        // "+44 (0)20 ...": the trunk prefix is not dialled internationally.
        if (phone.international && v.substr(i, 3) == "(0)") {
          i += 2;
          previous = ')';
          continue;
        }
        if (depth++ > 0) return std::nullopt;
      } else if (c == ')') {
        if (--depth < 0) return std::nullopt;
      } else if (c == ' ' || c == '-' || c == '.') {
        if (previous == ' ' || previous == '-' || previous == '.') return std::nullopt;
        any_separator = true;
        space_separator |= c == ' ';
        only_dots &= c == '.';
      } else {
        return std::nullopt;
      }
    }
    previous = c;
  }
  end_group();
  if (depth != 0) return std::nullopt;
  const size_t n = phone.digit_count;
  if (phone.international ? (n < 8 || n > 15) : (n < 7 || n > 15)) return std::nullopt;
  if (phone.digit_buffer[0] == '0' && phone.international) return std::nullopt;
  if (IsDegenerateNumber(phone.digits())) return std::nullopt;
  const bool dotted_or_dashed = any_separator && !space_separator;
  if (dotted_or_dashed && group_count == 3 &&
      ((groups[0] == 4 && groups[1] == 2 && groups[2] == 2) || (groups[0] == 2 && groups[1] == 2 && groups[2] == 4))) {
    return std::nullopt;  // 2024-01-31, 31.01.2024
  }
  if (only_dots && group_count == 4 && std::all_of(groups, groups + 4, [](size_t g) { return g <= 3; })) {
    return std::nullopt;  // 10.20.30.40
  }
  return phone;
}

std::string MaskPhone(const Phone& phone) {
  return (phone.international ? "+" : "") + findings::MaskValue(phone.digits(), 0, 2);
}

void RecognizeInternationalPhone(std::string_view t, const PrefilterMatch& m, Sink& out) {
  const char before = At(t, static_cast<int64_t>(m.from) - 1);
  if (IsAlnum(before) || before == '+' || before == '%' || before == '=') return;
  size_t end = m.to;
  // Drop trailing separators, then whole trailing groups while the number is
  // too long to be one: the run may have swallowed an unrelated number.
  auto trim = [&] {
    while (end > m.from + 1 && !IsDigit(t[end - 1]) && t[end - 1] != ')') --end;
  };
  trim();
  std::optional<Phone> phone = ParsePhone(t.substr(m.from, end - m.from));
  while (!phone && end > m.from + 1) {
    size_t space = t.rfind(' ', end - 1);
    if (space == std::string_view::npos || space <= m.from) break;
    end = space;
    trim();
    phone = ParsePhone(t.substr(m.from, end - m.from));
  }
  if (!phone || IsAlnum(At(t, end))) return;
  out.push_back(Make(out.words, Detector::kPhoneNumber, m.from, end, 0.55, Vocabulary::kPhone,
                     [&] { return MaskPhone(*phone); },
                     [&] { return "international phone number, " + std::to_string(phone->digit_count) + " digits"; }));
}

void RecognizeNamedPhone(const Document& doc, const PrefilterMatch& m, Sink& out) {
  std::optional<NamedValue> v = ValueNamedBy(doc, m, ValueShape::kNumber);
  if (!v || !NameSupports(Vocabulary::kPhone, v->name)) return;
  std::string_view value = doc.text().substr(v->begin, v->end - v->begin);
  while (!value.empty() && !IsDigit(value.back())) value.remove_suffix(1);
  std::optional<Phone> phone = ParsePhone(value);
  if (!phone || IsAlnum(At(doc.text(), v->begin + value.size()))) return;
  Detection d = Make(out.words, Detector::kPhoneNumber, v->begin, v->begin + value.size(),
                     phone->international ? 0.55 : 0.45, Vocabulary::kPhone, [&] { return MaskPhone(*phone); }, [&] {
                       return "phone number, " + std::to_string(phone->digit_count) +
                              " digits, named as a phone number";
                     });
  SetName(d, *v);
  out.push_back(std::move(d));
}

// --- Cloud and SaaS credentials -----------------------------------------

bool TokenBoundaries(std::string_view t, size_t begin, size_t end) {
  return !IsTokenChar(At(t, static_cast<int64_t>(begin) - 1)) && !IsTokenChar(At(t, end));
}

void RecognizeAwsAccessKeyId(std::string_view t, const PrefilterMatch& m, Sink& out) {
  const size_t b = m.from, e = b + 20;
  if (e > t.size() || IsAlnum(At(t, static_cast<int64_t>(b) - 1)) || IsAlnum(At(t, e))) return;
  const std::string_view key = t.substr(b, 20);
  if (LooksLikeFiller(key.substr(4))) return;
  const bool example = key.substr(13) == "EXAMPLE";
  auto reason = [&] {
    std::string reason =
        key.substr(0, 4) == "AKIA" ? "AWS access key ID (long-term)" : "AWS access key ID (temporary, STS)";
    if (example) reason += ", the AWS documentation example";
    return reason;
  };
  out.push_back(MakeCredential(out.words, Detector::kAwsAccessKeyId, b, e, example ? 0.3 : 0.8,
                               [&] { return KeepPrefix(key, 4); }, reason));
}

void RecognizeAwsSecretKey(const Document& doc, const PrefilterMatch& m, Sink& out) {
  std::optional<NamedValue> v = ValueNamedBy(doc, m, ValueShape::kToken);
  if (!v) return;
  const std::string_view value = doc.text().substr(v->begin, v->end - v->begin);
  auto base64 = [](char c) { return IsAlnum(c) || c == '/' || c == '+'; };
  if (value.size() != 40 || !std::all_of(value.begin(), value.end(), base64)) return;
  bool lower = false, upper = false, digit = false;
  for (char c : value) {
    lower |= IsLower(c);
    upper |= IsUpper(c);
    digit |= IsDigit(c);
  }
  if (!(lower && upper && digit) || ShannonEntropy(value) < 4.0) return;
  const bool example = value.find("EXAMPLE") != std::string_view::npos;
  Detection d = MakeCredential(out.words, Detector::kAwsSecretKey, v->begin, v->end, example ? 0.35 : 0.85,
                               [] { return Stars(40); }, [&] {
                                 return example ? "AWS secret access key, the AWS documentation example"
                                                : "40-character AWS secret access key under its name";
                               });
  SetName(d, *v);
  out.push_back(std::move(d));
}

// A "-----BEGIN ... PRIVATE KEY-----" header followed by a key body, not a
// redacted or emptied one.
bool HoldsPemKey(std::string_view value) {
  const size_t header_end = value.find("PRIVATE KEY-----");
  return header_end != std::string_view::npos && PemBodyLooksReal(value.substr(header_end + 16));
}

void RecognizeGcpServiceAccount(const Document& doc, const PrefilterMatch& m, Sink& out) {
  const std::string_view t = doc.text();
  const size_t value_at = t.rfind("\"service_account\"", m.to) + 1;
  std::optional<std::pair<size_t, size_t>> key_span;
  if (const Document::Field* type = doc.FieldContaining(value_at); type != nullptr && doc.is_json()) {
    for (const Document::Field* sibling : doc.Siblings(*type)) {
      if (doc.KeyOf(*sibling) == "private_key" && HoldsPemKey(doc.ValueOf(*sibling))) {
        key_span = {{sibling->value_begin, sibling->value_end}};
      }
    }
  } else {
    // Not parsed as JSON (no JSON content type): look for the key member nearby.
    const size_t from = m.from > 8192 ? m.from - 8192 : 0;
    const std::string_view window = t.substr(from, 16384 + (m.to - m.from));
    size_t at = window.find("\"private_key\"");
    if (at != std::string_view::npos) {
      const size_t begin = window.find("-----BEGIN", at);
      const size_t end_marker = begin == std::string_view::npos ? begin : window.find("-----END", begin + 10);
      const size_t end =
          end_marker == std::string_view::npos ? end_marker : window.find("PRIVATE KEY-----", end_marker);
      if (begin != std::string_view::npos && begin - at < 64 && end != std::string_view::npos &&
          HoldsPemKey(window.substr(begin, end + 16 - begin))) {
        key_span = {{from + begin, from + end + 16}};
      }
    }
  }
  if (!key_span) return;
  out.push_back(MakeCredential(out.words, Detector::kGcpServiceAccountKey, key_span->first, key_span->second, 0.95,
                               [] { return "[GCP service account key]"; },
                               [] { return "Google Cloud service account key file with its private key"; }));
}

void RecognizeGcpApiKey(std::string_view t, const PrefilterMatch& m, Sink& out) {
  const size_t b = m.from, e = b + 39;
  if (e > t.size() || !TokenBoundaries(t, b, e) || LooksLikeFiller(t.substr(b + 4, 35))) return;
  out.push_back(MakeCredential(out.words, Detector::kGcpApiKey, b, e, 0.8, [&] { return KeepPrefix(t.substr(b, 39), 4); },
                               [] { return "Google API key"; }));
}

std::string_view GithubKind(std::string_view prefix) {
  if (prefix == "ghp_") return "GitHub personal access token (classic)";
  if (prefix == "gho_") return "GitHub OAuth access token";
  if (prefix == "ghu_") return "GitHub user-to-server token";
  if (prefix == "ghs_") return "GitHub server-to-server token";
  return "GitHub refresh token";
}

void RecognizeGithubClassic(std::string_view t, const PrefilterMatch& m, Sink& out) {
  const size_t b = m.from, e = b + 40;
  if (e > t.size() || !TokenBoundaries(t, b, e)) return;
  const std::string_view token = t.substr(b, 40);
  // GitHub put the checksum in every token kind of this format (ghp_, gho_,
  // ghu_, ghs_, ghr_), so a mismatch means it is not a token.
  if (!GithubChecksumValid(token)) return;
  out.push_back(MakeCredential(out.words, Detector::kGithubToken, b, e, 0.95, [&] { return KeepPrefix(token, 4); },
                               [&] { return std::string(GithubKind(token.substr(0, 4))) + ", CRC32 checksum valid"; }));
}

void RecognizeGithubFineGrained(std::string_view t, const PrefilterMatch& m, Sink& out) {
  const size_t b = m.from, e = b + 93;
  if (e > t.size() || !TokenBoundaries(t, b, e)) return;
  out.push_back(MakeCredential(out.words, Detector::kGithubToken, b, e, 0.9,
                               [&] { return KeepPrefix(t.substr(b, 93), 11); },
                               [] { return "GitHub fine-grained personal access token"; }));
}

void RecognizeSlackToken(std::string_view t, const PrefilterMatch& m, Sink& out) {
  const size_t b = m.from;
  if (IsTokenChar(At(t, static_cast<int64_t>(b) - 1))) return;
  const size_t e = RunEnd(t, b, IsTokenChar, 256);
  if (IsTokenChar(At(t, e))) return;
  const std::string_view token = t.substr(b, e - b);
  std::vector<std::string_view> segments;
  for (std::string_view rest = token;;) {
    size_t dash = rest.find('-');
    segments.push_back(rest.substr(0, dash));
    if (dash == std::string_view::npos) break;
    rest.remove_prefix(dash + 1);
  }
  if (segments.size() < 4) return;
  const std::string_view secret = segments.back();
  if (secret.size() < 20 || !std::all_of(secret.begin(), secret.end(), IsAlnum) || LooksLikeFiller(secret)) return;
  bool numeric_id = false;
  for (size_t i = 1; i + 1 < segments.size(); ++i) {
    if (segments[i].empty() || !std::all_of(segments[i].begin(), segments[i].end(), IsAlnum)) return;
    numeric_id |= segments[i].size() >= 6 && std::all_of(segments[i].begin(), segments[i].end(), IsDigit);
  }
  if (!numeric_id) return;
  const std::string_view kind = token.substr(0, 4);
  std::string reason = kind == "xoxb"   ? "Slack bot token"
                       : kind == "xoxp" ? "Slack user token"
                       : kind == "xoxa" ? "Slack workspace app token"
                                        : "Slack app-level token";
  out.push_back(MakeCredential(out.words, Detector::kSlackToken, b, e, 0.9, [&] { return KeepPrefix(token, 5); },
                               [&] { return reason; }));
}

void RecognizeSlackWebhook(std::string_view t, const PrefilterMatch& m, Sink& out) {
  auto path_char = [](char c) { return IsAlnum(c) || c == '/' || c == '_' || c == '-'; };
  const size_t e = RunEnd(t, m.to, path_char, 256);
  std::string_view path = t.substr(m.to, e - m.to);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  size_t slashes = static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
  const std::string_view secret = path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
  if (slashes < 2 || secret.size() < 20 || !std::all_of(secret.begin(), secret.end(), IsAlnum) ||
      LooksLikeFiller(secret)) {
    return;
  }
  size_t b = m.from;
  if (b >= 8 && t.substr(b - 8, 8) == "https://") b -= 8;
  const std::string_view prefix = t.substr(m.from, m.to - m.from);
  out.push_back(MakeCredential(out.words, Detector::kSlackWebhook, b, m.to + path.size(), 0.9,
                               [&] { return std::string(prefix) + Stars(path.size()); },
                               [] { return "Slack incoming webhook URL"; }));
}

void RecognizeStripeKey(std::string_view t, const PrefilterMatch& m, Sink& out) {
  const size_t b = m.from;
  if (IsWordChar(At(t, static_cast<int64_t>(b) - 1))) return;
  constexpr size_t prefix_size = 8;  // "sk_live_", "pk_test_"...
  const size_t e = RunEnd(t, b + prefix_size, IsAlnum, 256);
  const std::string_view random_part = t.substr(b + prefix_size, e - b - prefix_size);
  if (random_part.size() < 20 || IsWordChar(At(t, e)) || LooksLikeFiller(random_part)) return;
  const std::string_view token = t.substr(b, e - b);
  const bool live = token.substr(3, 4) == "live";
  const std::string_view kind = token.substr(0, 2);
  Detection d = MakeCredential(out.words, Detector::kStripeKey, b, e, 0.9,
                               [&] { return KeepPrefix(token, prefix_size); }, [&] {
                                 if (kind == "pk") {
                                   return std::string(live ? "Stripe live publishable key (public by design)"
                                                           : "Stripe test-mode publishable key");
                                 }
                                 return std::string("Stripe ") + (live ? "live" : "test-mode") +
                                        (kind == "sk" ? " secret key" : " restricted key");
                               });
  if (kind == "pk" || !live) d.ceiling = Severity::kLow;
  out.push_back(std::move(d));
}

// --- Tokens and keys -----------------------------------------------------

bool IsJwtChar(char c) { return IsTokenChar(c) || c == '.'; }

void RecognizeJwt(std::string_view t, const PrefilterMatch& m, Sink& out) {
  const size_t b = m.from;
  if (IsJwtChar(At(t, static_cast<int64_t>(b) - 1))) return;
  size_t run_end = RunEnd(t, b, IsJwtChar, 16384);
  std::string_view run = t.substr(b, run_end - b);
  const size_t first = run.find('.');
  const size_t second = run.find('.', first + 1);
  if (second == std::string_view::npos) return;
  if (const size_t third = run.find('.', second + 1); third != std::string_view::npos) {
    if (third + 1 != run.size()) return;  // five parts: a JWE, whose payload is encrypted
    run.remove_suffix(1);                 // the full stop of a sentence
    --run_end;
  }
  std::optional<std::string> alg = JwtAlgorithm(run);
  if (!alg) return;
  const bool unsigned_token = *alg == "none" || *alg == "None" || *alg == "NONE";
  if (!unsigned_token && run.size() - second - 1 < 16) return;
  out.push_back(MakeCredential(out.words, Detector::kJwt, b, run_end, 0.8, [&] { return "[JWT alg=" + *alg + "]"; },
                               [&] {
                                 return unsigned_token
                                            ? "unsigned JWT (alg none) whose header and payload decode to JSON"
                                            : "JWT whose header and payload decode to JSON";
                               }));
}

void RecognizePrivateKey(std::string_view t, const PrefilterMatch& m, Sink& out) {
  const std::string_view header = t.substr(m.from, m.to - m.from);
  const std::string_view label = header.substr(11, header.size() - 16);  // between "BEGIN " and "-----"
  const std::string_view body = t.substr(m.to);
  if (!PemBodyLooksReal(body)) return;
  size_t end = m.to;
  const size_t end_marker = body.substr(0, 65536).find("-----END");
  if (end_marker != std::string_view::npos) {
    size_t close = body.find("-----", end_marker + 8);
    end = m.to + (close == std::string_view::npos ? end_marker + 8 : close + 5);
  }
  const bool encrypted = label.find("ENCRYPTED") != std::string_view::npos ||
                         body.substr(0, 256).find("ENCRYPTED") != std::string_view::npos;
  out.push_back(MakeCredential(out.words, Detector::kPrivateKey, m.from, end, encrypted ? 0.75 : 0.95,
                               [&] { return "[PEM " + std::string(label) + "]"; }, [&] {
                                 return encrypted ? "PEM private key, encrypted with a passphrase" : "PEM private key";
                               }));
}

std::string_view StripAuthScheme(std::string_view value) {
  for (std::string_view scheme : {"Bearer ", "bearer ", "Basic ", "basic ", "Token ", "token ", "Bot "}) {
    if (value.substr(0, scheme.size()) == scheme) return value.substr(scheme.size());
  }
  return value;
}

// Names whose last word (the head of the compound) is about a secret
// rather than the secret: private_key_id, secret_name, authDomain,
// token_type, password_policy, api_key_url.
bool NamesSecretMetadata(std::string_view name) {
  const std::vector<std::string> words = Words(name);
  if (words.empty()) return false;
  static constexpr std::string_view kMetadata[] = {
      "id",     "ids",     "uuid",   "guid",   "name",    "type",       "kind",  "url",   "uri",    "endpoint",
      "domain", "host",    "path",   "file",   "version", "length",     "size",  "count", "hint",   "policy",
      "expiry", "expires", "at",     "date",   "time",    "expiration", "ttl",   "hash",  "digest", "fingerprint",
      "format", "header",  "field",  "label",  "arn",     "region",     "algorithm", "enabled", "required", "set"};
  return std::find(std::begin(kMetadata), std::end(kMetadata), words.back()) != std::end(kMetadata);
}

void RecognizeGenericSecret(const Document& doc, const PrefilterMatch& m, Sink& out) {
  std::optional<NamedValue> v = ValueNamedBy(doc, m, ValueShape::kToken);
  if (!v || !NameSupports(Vocabulary::kSecret, v->name) || NamesSecretMetadata(v->name)) return;
  std::string_view raw = doc.text().substr(v->begin, v->end - v->begin);
  const std::string_view value = StripAuthScheme(raw);
  const size_t begin = v->begin + (raw.size() - value.size());
  if (IsPlaceholder(value) || value.find("://") != std::string_view::npos || value.front() == '/' ||
      !LooksRandom(value)) {
    return;
  }
  const double entropy = ShannonEntropy(value);
  Detection d = MakeCredential(out.words, Detector::kGenericSecret, begin, v->end, entropy >= 4.5 ? 0.55 : 0.45,
                               [&] { return Stars(value.size()); }, [&] {
                                 return "high-entropy value (" + Format("%.1f", entropy) + " bits/char, " +
                                        std::to_string(value.size()) + " characters) under a secret-like name";
                               });
  d.vocabulary = Vocabulary::kSecret;
  SetName(d, *v);
  out.push_back(std::move(d));
}

void RecognizeInto(const PrefilterMatch& match, const Document& document, Sink& out) {
  const std::string_view t = document.text();
  switch (match.pattern) {
    case Pattern::kCardDigits: return RecognizeCards(t, match, out);
    case Pattern::kSsnSeparated: return RecognizeSeparatedSsn(t, match, out);
    case Pattern::kSsnKeyword: return RecognizeBareSsn(document, match, out);
    case Pattern::kIban: return RecognizeIban(t, match, out);
    case Pattern::kEmail: return RecognizeEmail(t, match, out);
    case Pattern::kPhoneInternational: return RecognizeInternationalPhone(t, match, out);
    case Pattern::kPhoneKeyword: return RecognizeNamedPhone(document, match, out);
    case Pattern::kAwsAccessKeyId: return RecognizeAwsAccessKeyId(t, match, out);
    case Pattern::kAwsSecretKeyword: return RecognizeAwsSecretKey(document, match, out);
    case Pattern::kGcpServiceAccount: return RecognizeGcpServiceAccount(document, match, out);
    case Pattern::kGcpPrivateKeyMember: return;  // read by the kGcpServiceAccount recognizer
    case Pattern::kGcpApiKey: return RecognizeGcpApiKey(t, match, out);
    case Pattern::kGithubClassic: return RecognizeGithubClassic(t, match, out);
    case Pattern::kGithubFineGrained: return RecognizeGithubFineGrained(t, match, out);
    case Pattern::kSlackToken: return RecognizeSlackToken(t, match, out);
    case Pattern::kSlackWebhook: return RecognizeSlackWebhook(t, match, out);
    case Pattern::kStripeKey: return RecognizeStripeKey(t, match, out);
    case Pattern::kJwt: return RecognizeJwt(t, match, out);
    case Pattern::kPemPrivateKey: return RecognizePrivateKey(t, match, out);
    case Pattern::kSecretKeyword: return RecognizeGenericSecret(document, match, out);
  }
}

}  // namespace

bool ReadsDocument(Pattern pattern) {
  // Every pattern named, no default: a new one must say which it is, as the
  // JSON index is built on this answer (DlpScanner::RecognizeMatches).
  switch (pattern) {
    case Pattern::kSsnKeyword:
    case Pattern::kPhoneKeyword:
    case Pattern::kAwsSecretKeyword:
    case Pattern::kGcpServiceAccount:
    case Pattern::kGcpPrivateKeyMember:  // the service-account recognizer reads its field
    case Pattern::kSecretKeyword: return true;
    case Pattern::kCardDigits:
    case Pattern::kSsnSeparated:
    case Pattern::kIban:
    case Pattern::kEmail:
    case Pattern::kPhoneInternational:
    case Pattern::kAwsAccessKeyId:
    case Pattern::kGcpApiKey:
    case Pattern::kGithubClassic:
    case Pattern::kGithubFineGrained:
    case Pattern::kSlackToken:
    case Pattern::kSlackWebhook:
    case Pattern::kStripeKey:
    case Pattern::kJwt:
    case Pattern::kPemPrivateKey: return false;
  }
  return true;  // not a pattern: index first, the safe answer
}

void Recognize(const PrefilterMatch& match, const Document& document, std::vector<Detection>& out, Wording wording) {
  Sink sink{out, wording == Wording::kWrite};
  const size_t first = out.size();
  RecognizeInto(match, document, sink);
  for (size_t i = first; i < out.size(); ++i) out[i].match = match;
}

void Describe(const Document& document, Detection& detection) {
  if (detection.words != nullptr) return;
  thread_local std::vector<Detection> again;
  again.clear();
  Recognize(detection.match, document, again, Wording::kWrite);
  for (Detection& d : again) {
    if (d.detector == detection.detector && d.begin == detection.begin && d.end == detection.end) {
      detection.words = std::move(d.words);
      return;
    }
  }
}

}  // namespace rampart::dlp

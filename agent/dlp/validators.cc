#include "agent/dlp/validators.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

#include "agent/dlp/top_level_domains.h"

namespace rampart::dlp {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsAlpha(char c) { return IsUpper(c) || IsLower(c); }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }
char Lower(char c) { return IsUpper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

int Prefix(std::string_view digits, size_t n) {
  int value = 0;
  for (size_t i = 0; i < n && i < digits.size(); ++i) value = value * 10 + (digits[i] - '0');
  return value;
}

bool InRange(int value, int low, int high) { return value >= low && value <= high; }

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool EndsWithIgnoringCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && EqualsIgnoringCase(s.substr(s.size() - suffix.size()), suffix);
}

struct IbanCountry {
  char code[3];
  uint8_t length;
};
// SWIFT IBAN registry lengths.
constexpr IbanCountry kIbanCountries[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24},
    {"DE", 22}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18},
    {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21},
    {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30},
    {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"LY", 25},
    {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18},
    {"NO", 15}, {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22},
    {"RU", 33}, {"SA", 24}, {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27},
    {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24},
    {"XK", 20},
};

uint32_t Crc32(std::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

int Base64Value(char c) {
  if (IsUpper(c)) return c - 'A';
  if (IsLower(c)) return c - 'a' + 26;
  if (IsDigit(c)) return c - '0' + 52;
  if (c == '-' || c == '+') return 62;
  if (c == '_' || c == '/') return 63;
  return -1;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

bool IsBase64Char(char c) { return IsAlnum(c) || c == '+' || c == '/' || c == '='; }

}  // namespace

std::string_view CardBrandName(CardBrand brand) {
  switch (brand) {
    case CardBrand::kVisa: return "Visa";
    case CardBrand::kMastercard: return "Mastercard";
    case CardBrand::kAmex: return "American Express";
    case CardBrand::kDiscover: return "Discover";
    case CardBrand::kJcb: return "JCB";
    case CardBrand::kDinersClub: return "Diners Club";
    case CardBrand::kUnionPay: return "UnionPay";
    case CardBrand::kMaestro: return "Maestro";
    case CardBrand::kMir: return "Mir";
  }
  return "card";
}

bool LuhnValid(std::string_view digits) {
  if (digits.empty()) return false;
  // Every second digit from the right doubled, digits of the product
  // summed: from a table, since a branch on random digits mispredicts (this
  // runs for every card-shaped number: EANs, ids). Two digits a step, plain
  // and doubled, and the digit check folded into one flag, so the loop has
  // no branch but its own.
  static constexpr int kDoubled[10] = {0, 2, 4, 6, 8, 1, 3, 5, 7, 9};
  const auto* p = reinterpret_cast<const unsigned char*>(digits.data());
  size_t i = digits.size();
  unsigned sum = 0;
  bool not_digit = false;  // a byte's value below '0' wraps (unsigned) to 10 or more too
  for (; i >= 2; i -= 2) {
    const unsigned plain = p[i - 1] - unsigned{'0'}, doubled = p[i - 2] - unsigned{'0'};
    not_digit |= (plain > 9) | (doubled > 9);
    sum += plain + kDoubled[doubled < 10 ? doubled : 0];
  }
  if (i == 1) {
    const unsigned plain = p[0] - unsigned{'0'};
    not_digit |= plain > 9;
    sum += plain;
  }
  return !not_digit && sum % 10 == 0;
}

std::optional<CardBrand> CardBrandOf(std::string_view digits) {
  const size_t n = digits.size();
  if (n < 13 || n > 19 || !std::all_of(digits.begin(), digits.end(), [](char c) { return IsDigit(c); })) {
    return std::nullopt;
  }
  // Runs once per card-shaped number (EANs, ids): the shorter prefixes
  // from the longest, not read again.
  const int p4 = Prefix(digits, 4), p3 = p4 / 10, p2 = p4 / 100, p1 = p4 / 1000;
  if (p1 == 4 && (n == 13 || n == 16 || n == 19)) return CardBrand::kVisa;
  if ((p2 == 34 || p2 == 37) && n == 15) return CardBrand::kAmex;
  if ((InRange(p2, 51, 55) || InRange(p4, 2221, 2720)) && n == 16) return CardBrand::kMastercard;
  if ((p4 == 6011 || InRange(p3, 644, 649) || p2 == 65) && n >= 16) return CardBrand::kDiscover;
  if (InRange(p4, 3528, 3589) && n >= 16) return CardBrand::kJcb;
  if ((InRange(p3, 300, 305) || p2 == 38 || p2 == 39) && n >= 14 && n <= 16) return CardBrand::kDinersClub;
  if (p2 == 36 && n >= 14) return CardBrand::kDinersClub;
  if (p2 == 62 && n >= 16) return CardBrand::kUnionPay;
  // Maestro's own ranges (others fall in Mastercard's); 12-15 digit Maestro
  // numbers exist but are rare and below the 13-digit floor of the scan.
  if ((p4 == 5018 || p4 == 5020 || p4 == 5038 || p4 == 5893 || p4 == 6304 || p4 == 6759 || InRange(p4, 6761, 6763)) &&
      n >= 16) {
    return CardBrand::kMaestro;
  }
  if (InRange(p4, 2200, 2204) && n >= 16) return CardBrand::kMir;
  return std::nullopt;
}

bool IsWellKnownTestCard(std::string_view digits) {
  static constexpr std::string_view kTestNumbers[] = {
      "4111111111111111", "4242424242424242", "4012888888881881", "4222222222222",    "4000056655665556",
      "4000000000000002", "4000000000000077", "4000000000000010", "4000000000003220", "4000002500003155",
      "4000000000009995", "4000000000000069", "4000000000000127", "5555555555554444", "5105105105105100",
      "5200828282828210", "2223003122003222", "5454545454545454", "378282246310005",  "371449635398431",
      "378734493671000",  "6011111111111117", "6011000990139424", "6205500000000000004", "3056930009020004",
      "36227206271667",   "30569309025904",   "38520000023237",   "3566002020360505", "3530111333300000",
      "6200000000000005",
  };
  // The second digit first: most numbers differ from every test number there.
  return std::any_of(std::begin(kTestNumbers), std::end(kTestNumbers), [&](std::string_view test) {
    return test.size() == digits.size() && test[1] == digits[1] && test == digits;
  });
}

bool IsDegenerateNumber(std::string_view digits) {
  uint32_t seen = 0;  // bit d: digit d occurs
  for (char c : digits) {
    if (IsDigit(c)) seen |= 1u << (c - '0');
    // A third distinct digit decides it; in a real number that comes within
    // the first few, and this runs for every phone number and card.
    // (Clearing the lowest set bit twice leaves none when at most two are
    // set; the baseline x86-64 target has no popcount instruction.)
    const uint32_t without_lowest = seen & (seen - 1);
    if ((without_lowest & (without_lowest - 1)) != 0) return false;
  }
  return true;  // at most two distinct digits
}

SsnCheck CheckUsSsn(std::string_view d) {
  if (d.size() != 9 || !std::all_of(d.begin(), d.end(), IsDigit)) return SsnCheck::kInvalidArea;
  const int area = Prefix(d, 3);
  const int group = Prefix(d.substr(3), 2);
  const int serial = Prefix(d.substr(5), 4);
  if (area == 0 || area == 666 || area >= 900) return SsnCheck::kInvalidArea;
  if (group == 0) return SsnCheck::kInvalidGroup;
  if (serial == 0) return SsnCheck::kInvalidSerial;
  if (d == "078051120" || d == "219099999" || d == "123456789") return SsnCheck::kKnownInvalid;
  return SsnCheck::kValid;
}

size_t IbanLengthFor(std::string_view country_code) {
  for (const auto& c : kIbanCountries) {
    if (country_code == c.code) return c.length;
  }
  return 0;
}

bool IbanValid(std::string_view iban) {
  if (iban.size() < 15 || iban.size() > 34) return false;
  if (!IsUpper(iban[0]) || !IsUpper(iban[1]) || !IsDigit(iban[2]) || !IsDigit(iban[3])) return false;
  if (IbanLengthFor(iban.substr(0, 2)) != iban.size()) return false;
  const int check = Prefix(iban.substr(2), 2);
  if (check < 2 || check > 98) return false;
  // Move the first four characters to the end, letters become 10..35, and
  // take the remainder digit by digit so no big integer is needed.
  int remainder = 0;
  for (size_t i = 0; i < iban.size(); ++i) {
    char c = iban[(i + 4) % iban.size()];
    if (IsDigit(c)) {
      remainder = (remainder * 10 + (c - '0')) % 97;
    } else if (IsUpper(c)) {
      remainder = (remainder * 100 + (c - 'A' + 10)) % 97;
    } else {
      return false;
    }
  }
  return remainder == 1;
}

bool EmailLocalPartValid(std::string_view local) {
  if (local.empty() || local.size() > 64) return false;
  if (local.front() == '.' || local.back() == '.') return false;
  if (local.find("..") != std::string_view::npos) return false;
  constexpr std::string_view kSpecials = "!#$%&'*+/=?^_`{|}~.-";
  return std::all_of(local.begin(), local.end(),
                     [&](char c) { return IsAlnum(c) || kSpecials.find(c) != std::string_view::npos; });
}

bool EmailDomainValid(std::string_view domain) {
  if (domain.empty() || domain.size() > 253) return false;
  size_t labels = 0;
  std::string_view tld;
  std::string_view rest = domain;
  while (true) {
    size_t dot = rest.find('.');
    std::string_view label = rest.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    if (!std::all_of(label.begin(), label.end(), [](char c) { return IsAlnum(c) || c == '-'; })) return false;
    ++labels;
    tld = label;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  if (labels < 2 || !std::all_of(tld.begin(), tld.end(), IsAlpha)) return false;
  return tld.size() == 2 ? IsCountryCodeTopLevelDomain(tld) : IsGenericTopLevelDomain(tld);
}

bool IsDocumentationDomain(std::string_view domain) {
  // Arrays of string_view: a braced list of literals would be measured with
  // strlen on every call, and this runs for every address.
  static constexpr std::string_view kReservedNames[] = {"example.com", "example.net", "example.org"};
  static constexpr std::string_view kReservedTlds[] = {".example", ".test", ".invalid", ".localhost"};
  for (std::string_view name : kReservedNames) {
    if (EqualsIgnoringCase(domain, name)) return true;
    if (domain.size() > name.size() && EndsWithIgnoringCase(domain, name) &&
        domain[domain.size() - name.size() - 1] == '.') {
      return true;
    }
  }
  for (std::string_view tld : kReservedTlds) {
    if (EndsWithIgnoringCase(domain, tld)) return true;
  }
  return false;
}

bool GithubChecksumValid(std::string_view token) {
  if (token.size() != 40 || token[3] != '_') return false;
  constexpr std::string_view kBase62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  uint32_t crc = Crc32(token.substr(4, 30));
  std::string encoded(6, '0');
  for (size_t i = 6; i-- > 0 && crc != 0;) {
    encoded[i] = kBase62[crc % 62];
    crc /= 62;
  }
  return token.substr(34) == encoded;
}

bool Base64UrlDecode(std::string_view in, std::string& out) {
  out.clear();
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return false;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    int v = Base64Value(c);
    if (v < 0) return false;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return true;
}

std::optional<std::string> JwtAlgorithm(std::string_view token) {
  size_t first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  size_t second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) return std::nullopt;
  std::string header, payload;
  if (!Base64UrlDecode(token.substr(0, first), header)) return std::nullopt;
  if (!Base64UrlDecode(token.substr(first + 1, second - first - 1), payload)) return std::nullopt;
  std::string_view h = TrimSpace(header), p = TrimSpace(payload);
  if (h.size() < 2 || h.front() != '{' || h.back() != '}') return std::nullopt;
  if (p.empty() || p.front() != '{') return std::nullopt;
  size_t key = h.find("\"alg\"");
  if (key == std::string_view::npos) return std::nullopt;
  size_t i = key + 5;
  while (i < h.size() && (h[i] == ' ' || h[i] == '\t')) ++i;
  if (i >= h.size() || h[i] != ':') return std::nullopt;
  ++i;
  while (i < h.size() && (h[i] == ' ' || h[i] == '\t')) ++i;
  if (i >= h.size() || h[i] != '"') return std::nullopt;
  size_t end = h.find('"', i + 1);
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view alg = h.substr(i + 1, end - i - 1);
  bool printable = !alg.empty() && alg.size() <= 16 && std::all_of(alg.begin(), alg.end(), [](char c) {
    return IsAlnum(c) || c == '+' || c == '-' || c == '_';
  });
  return printable ? std::string(alg) : std::string("?");
}

bool PemBodyLooksReal(std::string_view body) {
  body = body.substr(0, 1024);
  size_t base64_chars = 0;
  size_t i = 0;
  bool line_start = true;
  while (i < body.size() && base64_chars < 64) {
    char c = body[i];
    if (c == '\\' && i + 1 < body.size() && (body[i + 1] == 'n' || body[i + 1] == 'r')) {
      i += 2;
      line_start = true;
      continue;
    }
    if (c == '\n' || c == '\r') {
      ++i;
      line_start = true;
      continue;
    }
    if (c == ' ' || c == '\t') {
      ++i;
      continue;
    }
    if (line_start && base64_chars == 0) {
      // RFC 1421 headers of encrypted PEM ("Proc-Type: 4,ENCRYPTED").
      size_t eol = body.find_first_of("\\\n\r", i);
      std::string_view line = body.substr(i, eol == std::string_view::npos ? std::string_view::npos : eol - i);
      if (line.find(':') != std::string_view::npos) {
        i += line.size();
        continue;
      }
    }
    if (!IsBase64Char(c)) break;
    ++base64_chars;
    line_start = false;
    ++i;
  }
  return base64_chars >= 64;
}

double ShannonEntropy(std::string_view value) {
  if (value.empty()) return 0;
  std::array<uint32_t, 256> counts{};
  for (unsigned char c : value) ++counts[c];
  double entropy = 0;
  const double n = static_cast<double>(value.size());
  for (uint32_t count : counts) {
    if (count == 0) continue;
    double p = count / n;
    entropy -= p * std::log2(p);
  }
  return entropy;
}

bool LooksRandom(std::string_view value) {
  const size_t n = value.size();
  if (n < 12 || n > 256) return false;
  bool lower = false, upper = false, digit = false, symbol = false;
  for (unsigned char c : value) {
    if (c <= ' ' || c >= 0x7F) return false;
    if (IsLower(c)) lower = true;
    else if (IsUpper(c)) upper = true;
    else if (IsDigit(c)) digit = true;
    else symbol = true;
  }
  const int classes = lower + upper + digit + symbol;
  if (classes < 2) return false;
  // Dashes do not widen the alphabet of a UUID-shaped value: it is hex.
  const bool hex = std::all_of(value.begin(), value.end(), [](char c) {
    return IsDigit(c) || (Lower(c) >= 'a' && Lower(c) <= 'f') || c == '-';
  }) && value.front() != '-' && value.back() != '-' && value.find("--") == std::string_view::npos;
  if (hex && n < 32) return false;
  // Letters alone are words and camelCase identifiers far more often than keys.
  if (!hex && !digit && !symbol) return false;

  // Four alike in a row is rare in a short random value, but in 40 random
  // hex digits it happens about once in a hundred.
  const size_t max_run = n >= 32 ? 4 : 3;
  size_t run = 1, ascending = 0;
  for (size_t i = 1; i < n; ++i) {
    run = value[i] == value[i - 1] ? run + 1 : 1;
    if (run > max_run) return false;
    if (value[i] == value[i - 1] + 1) ++ascending;
  }
  if (ascending * 3 > n) return false;

  const double alphabet = hex ? 16 : (lower ? 26 : 0) + (upper ? 26 : 0) + (digit ? 10 : 0) + (symbol ? 32 : 0);
  const double ceiling = std::log2(std::min(static_cast<double>(n), alphabet));
  return ShannonEntropy(value) >= 0.8 * ceiling;
}

bool IsPlaceholder(std::string_view value) {
  std::string v = LowerCopy(TrimSpace(value));
  if (v.empty()) return true;
  if (std::all_of(v.begin(), v.end(), [&](char c) { return c == v[0] || c == '*' || c == 'x' || c == '.' || c == '#' || c == '-' || c == '_'; })) {
    return true;
  }
  for (std::string_view opener : {"${", "{{", "<", "%(", "$(", "[", "{"}) {
    if (v.compare(0, opener.size(), opener) == 0) return true;
  }
  for (std::string_view marker : {"changeme", "change_me", "redacted", "example", "placeholder", "your_", "your-",
                                  "yourkey", "xxxx", "****", "dummy", "sample", "replace", "insert"}) {
    if (v.find(marker) != std::string::npos) return true;
  }
  // The same words written with separators: "Please-Change-Me", "your.api.key".
  std::string compact;
  for (char c : v) {
    if (c != '-' && c != '_' && c != '.' && c != ' ') compact.push_back(c);
  }
  for (std::string_view marker : {"changeme", "yourkey", "yourapikey", "yoursecret", "yourtoken", "yourpassword"}) {
    if (compact.find(marker) != std::string::npos) return true;
  }
  for (std::string_view word : {"null", "none", "nil", "undefined", "true", "false", "secret", "password", "hidden",
                                "masked", "empty", "n/a", "token"}) {
    if (v == word) return true;
  }
  return false;
}

bool LooksLikeFiller(std::string_view random_part) {
  std::array<bool, 256> seen{};
  int distinct = 0;
  for (unsigned char c : random_part) {
    if (!seen[c]) ++distinct;
    seen[c] = true;
    if (distinct > 3) return false;
  }
  return true;
}

}  // namespace rampart::dlp

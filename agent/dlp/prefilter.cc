#include "agent/dlp/prefilter.h"

#include <hs/hs.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <iterator>
#include <limits>
#include <span>
#include <string>

#include "agent/common/strings.h"
#include "agent/dlp/digit_scanner.h"

namespace rampart::dlp {
namespace {

// Keyword lists: the words of the patterns whose expression is an
// alternation of plain words. The fast engine matches them as one
// Vectorscan expression per word without start-of-match tracking, a word's
// match starting its length before its end. Tracking the start of the
// alternation cost a fifth of Vectorscan's time on a body with a "phone" key
// in every record (BENCHMARKS.md). No word is a suffix of another in its
// list, so no two of a list's matches end at one offset, and the merged
// matches of the words are those of the expression, which
// tests/dlp/prefilter_test.cc checks on random texts.
constexpr std::string_view kPhoneWords[] = {"phone", "mobile", "msisdn", "whatsapp", "tel", "fax", "cell", "sms"};
constexpr std::string_view kSecretWords[] = {
    "secret",      "passw",        "passphrase",  "pwd",          "token",       "credential",   "auth",
    "apikey",      "api_key",      "api-key",     "api.key",      "api key",     "accesskey",    "access_key",
    "access-key",  "access.key",   "access key",  "privatekey",   "private_key", "private-key",  "private.key",
    "private key", "signingkey",   "signing_key", "signing-key",  "signing.key", "signing key",
};

constexpr char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Whether a word of `words` ends another, ignoring case.
constexpr bool AWordEndsAnother(std::span<const std::string_view> words) {
  for (size_t i = 0; i < words.size(); ++i) {
    for (size_t j = 0; j < words.size(); ++j) {
      const std::string_view a = words[i], b = words[j];
      if (i == j || a.size() > b.size()) continue;
      bool ends = true;
      for (size_t k = 0; k < a.size(); ++k) ends = ends && LowerAscii(a[k]) == LowerAscii(b[b.size() - a.size() + k]);
      if (ends) return true;
    }
  }
  return false;
}
static_assert(!AWordEndsAnother(kPhoneWords) && !AWordEndsAnother(kSecretWords));

struct PatternSpec {
  Pattern pattern;
  Detector detector;
  // What the pattern matches: the reference (PrefilterEngine::kExpressions)
  // and, but for keyword lists and digit patterns, what the fast engine runs.
  const char* expression;
  bool caseless;
  // Vectorscan reports where a match starts (HS_FLAG_SOM_LEFTMOST). Off for
  // the patterns where that tracking halves the scan rate; their start is
  // found by a bounded back-scan from the match end (StartBefore).
  bool start_of_match = true;
  // A keyword list: the expression's words, for the fast engine.
  std::span<const std::string_view> words = {};
};

// Keyword patterns find the *name* of a value; the recognizer then reads the
// value that the name introduces. They serve the detectors that need context
// to be precise at all: bare SSNs, national phone numbers, AWS secret keys
// and generic secrets.
constexpr std::array<PatternSpec, kPatternCount> kPatterns = {{
    {Pattern::kCardDigits, Detector::kCardNumber, R"(\d(?:[ \-]?\d){12,18})", false},
    {Pattern::kSsnSeparated, Detector::kUsSsn, R"(\d{3}[ \-]\d{2}[ \-]\d{4})", false},
    {Pattern::kSsnKeyword, Detector::kUsSsn, R"(ssn|social.?sec)", true},
    {Pattern::kIban, Detector::kIban, R"([A-Z]{2}\d{2} ?[A-Z0-9]{4})", false},
    // Only the '@' and a character either side: the recognizer reads the
    // address itself. The full address expression also ran into a
    // Vectorscan 5.4 AVX-512 defect that dropped matches depending on buffer
    // alignment (tests/dlp/prefilter_test.cc).
    {Pattern::kEmail, Detector::kEmail, R"([A-Za-z0-9._%+\-]@[A-Za-z0-9])", false},
    {Pattern::kPhoneInternational, Detector::kPhoneNumber, R"(\+[1-9][\d \-.()]{6,22})", false, false},
    {Pattern::kPhoneKeyword, Detector::kPhoneNumber, R"(phone|mobile|msisdn|whatsapp|tel|fax|cell|sms)", true, true,
     kPhoneWords},
    {Pattern::kAwsAccessKeyId, Detector::kAwsAccessKeyId, R"((?:AKIA|ASIA)[A-Z2-7]{16})", false},
    {Pattern::kAwsSecretKeyword, Detector::kAwsSecretKey, R"(aws.?secret|secret.?access.?key)", true},
    {Pattern::kGcpServiceAccount, Detector::kGcpServiceAccountKey, R"("type"\s*:\s*"service_account")", false},
    // Matched only so that the JSON index keeps the member, which the
    // service-account recognizer looks for among the type's siblings.
    {Pattern::kGcpPrivateKeyMember, Detector::kGcpServiceAccountKey, R"(private_key)", false},
    {Pattern::kGcpApiKey, Detector::kGcpApiKey, R"(AIza[0-9A-Za-z_\-]{35})", false},
    {Pattern::kGithubClassic, Detector::kGithubToken, R"(gh[pousr]_[A-Za-z0-9]{36})", false, false},
    {Pattern::kGithubFineGrained, Detector::kGithubToken, R"(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})", false},
    {Pattern::kSlackToken, Detector::kSlackToken, R"((?:xox[bpa]|xapp)-[0-9A-Za-z\-]{10,})", false},
    {Pattern::kSlackWebhook, Detector::kSlackWebhook, R"(hooks\.slack\.com/(?:services|workflows|triggers)/)", false},
    {Pattern::kStripeKey, Detector::kStripeKey, R"((?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{10,})", false},
    {Pattern::kJwt, Detector::kJwt, R"(ey[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{4,}\.)", false},
    {Pattern::kPemPrivateKey, Detector::kPrivateKey, R"(-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----)",
     false},
    {Pattern::kSecretKeyword, Detector::kGenericSecret,
     // Words of a name joined by a separator or none ("api_key", "apiKey");
     // "." for "any character" made prose scan at a third of the speed.
     R"(secret|passw|passphrase|pwd|token|(?:api|access|private|signing)[_\-. ]?key|credential|auth)", true, true,
     kSecretWords},
}};

// Where a match of a pattern compiled without start-of-match tracking begins.
uint32_t StartBefore(Pattern pattern, std::string_view text, uint32_t end) {
  if (pattern == Pattern::kGithubClassic) return end >= 40 ? end - 40 : 0;
  // kPhoneInternational: back over digits and separators to the '+'.
  uint32_t i = end;
  while (i > 0 && end - i < 24 && text[i - 1] != '+') --i;
  return i > 0 ? i - 1 : 0;
}

// A keyword list's word as a Vectorscan expression ('.' escaped).
std::string WordExpression(std::string_view word) {
  std::string expression;
  for (char c : word) {
    if (c == '.') expression += '\\';
    expression += c;
  }
  return expression;
}

// Vectorscan ids: a pattern's expression has the pattern's number; the
// fast engine's words come after them.
constexpr unsigned int kFirstWordId = kPatternCount;

// A word the fast engine matches on its own.
struct Word {
  Pattern pattern;
  uint32_t length;
};

struct Collector {
  std::string_view text;
  std::vector<PrefilterMatch>* out;
  const std::vector<Word>* words;  // by id - kFirstWordId
  // Index in *out of each pattern's latest match, to merge overlaps.
  std::array<size_t, kPatternCount> last;
};

int OnMatch(unsigned int id, unsigned long long from, unsigned long long to, unsigned int, void* context) {
  auto* collector = static_cast<Collector*>(context);
  if (id >= kFirstWordId) {
    const Word& word = (*collector->words)[id - kFirstWordId];
    id = static_cast<unsigned int>(word.pattern);
    from = to - word.length;
  } else if (!kPatterns[id].start_of_match) {
    from = StartBefore(static_cast<Pattern>(id), collector->text, static_cast<uint32_t>(to));
  }
  auto& out = *collector->out;
  size_t& last = collector->last[id];
  if (last != std::numeric_limits<size_t>::max() && from < out[last].to) {
    if (to > out[last].to) out[last].to = static_cast<uint32_t>(to);
    if (from < out[last].from) out[last].from = static_cast<uint32_t>(from);
    return 0;
  }
  last = out.size();
  out.push_back({static_cast<Pattern>(id), static_cast<uint32_t>(from), static_cast<uint32_t>(to)});
  return 0;
}

// The patterns the digit scanner matches (digit_scanner.h).
bool IsDigitPattern(Pattern pattern) {
  return pattern == Pattern::kCardDigits || pattern == Pattern::kSsnSeparated || pattern == Pattern::kIban ||
         pattern == Pattern::kPhoneInternational || pattern == Pattern::kEmail;
}

// `out` and `more` are each close to end order; the result is in end order.
void MergeByEnd(std::vector<PrefilterMatch>& out, std::vector<PrefilterMatch>& more,
                std::vector<PrefilterMatch>& merged) {
  if (more.empty()) return;
  auto by_end = [](const PrefilterMatch& a, const PrefilterMatch& b) { return a.to < b.to; };
  if (!std::is_sorted(out.begin(), out.end(), by_end)) std::stable_sort(out.begin(), out.end(), by_end);
  if (!std::is_sorted(more.begin(), more.end(), by_end)) std::stable_sort(more.begin(), more.end(), by_end);
  merged.clear();
  std::merge(out.begin(), out.end(), more.begin(), more.end(), std::back_inserter(merged), by_end);
  out.swap(merged);
}

}  // namespace

struct Prefilter::Database {
  hs_database_t* db = nullptr;  // null when every enabled pattern is a digit pattern
  DigitPatterns digits;
  std::vector<Word> words;  // the fast engine's words, by id - kFirstWordId
  ~Database() { hs_free_database(db); }
};

Detector DetectorOf(Pattern pattern) { return kPatterns[static_cast<size_t>(pattern)].detector; }

PatternSource SourceOf(Pattern pattern) {
  const PatternSpec& spec = kPatterns[static_cast<size_t>(pattern)];
  return {spec.expression, spec.caseless};
}

absl::StatusOr<std::unique_ptr<Prefilter>> Prefilter::Create(const std::vector<Detector>& enabled,
                                                             PrefilterEngine engine) {
  auto database = std::make_shared<Database>();
  std::vector<std::string> sources;
  std::vector<unsigned int> flags;
  std::vector<unsigned int> ids;
  for (const PatternSpec& spec : kPatterns) {
    bool on = false;
    for (Detector d : enabled) on = on || d == spec.detector;
    if (!on) continue;
    if (engine == PrefilterEngine::kFast && !spec.words.empty()) {
      for (std::string_view word : spec.words) {
        sources.push_back(WordExpression(word));
        flags.push_back(spec.caseless ? HS_FLAG_CASELESS : 0u);
        ids.push_back(kFirstWordId + static_cast<unsigned int>(database->words.size()));
        database->words.push_back({spec.pattern, static_cast<uint32_t>(word.size())});
      }
      continue;
    }
    if (engine == PrefilterEngine::kFast && IsDigitPattern(spec.pattern)) {
      DigitPatterns& digits = database->digits;
      digits.card |= spec.pattern == Pattern::kCardDigits;
      digits.ssn |= spec.pattern == Pattern::kSsnSeparated;
      digits.iban |= spec.pattern == Pattern::kIban;
      digits.phone |= spec.pattern == Pattern::kPhoneInternational;
      digits.email |= spec.pattern == Pattern::kEmail;
      continue;
    }
    sources.push_back(spec.expression);
    flags.push_back((spec.start_of_match ? HS_FLAG_SOM_LEFTMOST : 0u) | (spec.caseless ? HS_FLAG_CASELESS : 0u));
    ids.push_back(static_cast<unsigned int>(spec.pattern));
  }
  std::vector<const char*> expressions;
  for (const std::string& source : sources) expressions.push_back(source.c_str());
  if (expressions.empty() && !database->digits.any()) {
    return absl::InvalidArgumentError("DLP prefilter: no detector enabled");
  }
  if (expressions.empty()) return std::unique_ptr<Prefilter>(new Prefilter(std::move(database), nullptr));

  hs_compile_error_t* error = nullptr;
  if (hs_compile_multi(expressions.data(), flags.data(), ids.data(), static_cast<unsigned int>(expressions.size()),
                       HS_MODE_BLOCK, nullptr, &database->db, &error) != HS_SUCCESS) {
    std::string message = error != nullptr && error->message != nullptr ? error->message : "unknown error";
    int which = error != nullptr ? error->expression : -1;
    hs_free_compile_error(error);
    return absl::InternalError(
        StrCat("DLP prefilter: compile pattern ", which >= 0 ? std::string(expressions[which]) : "set", ": ", message));
  }
  hs_scratch_t* scratch = nullptr;
  if (hs_alloc_scratch(database->db, &scratch) != HS_SUCCESS) {
    return absl::ResourceExhaustedError("DLP prefilter: allocate scratch space");
  }
  return std::unique_ptr<Prefilter>(new Prefilter(std::move(database), scratch));
}

Prefilter::Prefilter(std::shared_ptr<const Database> database, hs_scratch* scratch)
    : database_(std::move(database)), scratch_(scratch) {}

Prefilter::~Prefilter() { hs_free_scratch(scratch_); }

absl::StatusOr<std::unique_ptr<Prefilter>> Prefilter::Clone() const {
  hs_scratch_t* scratch = nullptr;
  if (scratch_ != nullptr && hs_clone_scratch(scratch_, &scratch) != HS_SUCCESS) {
    return absl::ResourceExhaustedError("DLP prefilter: clone scratch space");
  }
  return std::unique_ptr<Prefilter>(new Prefilter(database_, scratch));
}

absl::Status Prefilter::Scan(std::string_view text, std::vector<PrefilterMatch>& out) {
  out.clear();
  if (text.size() > std::numeric_limits<unsigned int>::max()) {
    return absl::InvalidArgumentError(StrCat("DLP prefilter: text of ", text.size(), " bytes exceeds 4 GiB"));
  }
  if (database_->db != nullptr) {
    Collector collector{text, &out, &database_->words, {}};
    collector.last.fill(std::numeric_limits<size_t>::max());
    hs_error_t rc = hs_scan(database_->db, text.data(), static_cast<unsigned int>(text.size()), 0, scratch_, OnMatch,
                            &collector);
    if (rc != HS_SUCCESS) return absl::InternalError(StrCat("DLP prefilter: hs_scan failed with code ", rc));
  }
  if (database_->digits.any()) {
    digit_matches_.clear();
    ScanDigitPatterns(text, database_->digits, digit_matches_);
    MergeByEnd(out, digit_matches_, merged_);
  }
  return absl::OkStatus();
}

}  // namespace rampart::dlp

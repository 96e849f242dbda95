#include "agent/dlp/prefilter.h"

#include <hs/hs.h>

#include <array>
#include <limits>
#include <string>

#include "agent/common/strings.h"

namespace rampart::dlp {
namespace {

struct PatternSpec {
  Pattern pattern;
  Detector detector;
  const char* expression;
  bool caseless;
  // Vectorscan reports where a match starts (HS_FLAG_SOM_LEFTMOST). Off for
  // the patterns where that tracking halves the scan rate; their start is
  // found by a bounded back-scan from the match end (StartBefore).
  bool start_of_match = true;
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
    {Pattern::kEmail, Detector::kEmail, R"([A-Za-z0-9._%+\-]@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24})",
     false},
    {Pattern::kPhoneInternational, Detector::kPhoneNumber, R"(\+[1-9][\d \-.()]{6,22})", false, false},
    {Pattern::kPhoneKeyword, Detector::kPhoneNumber, R"(phone|mobile|msisdn|whatsapp|tel|fax|cell|sms)", true},
    {Pattern::kAwsAccessKeyId, Detector::kAwsAccessKeyId, R"((?:AKIA|ASIA)[A-Z0-9]{16})", false},
    {Pattern::kAwsSecretKeyword, Detector::kAwsSecretKey, R"(aws.?secret|secret.?access.?key)", true},
    {Pattern::kGcpServiceAccount, Detector::kGcpServiceAccountKey, R"("type"\s*:\s*"service_account")", false},
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
     R"(secret|passw|pwd|token|api.?key|access.?key|private.?key|credential|auth)", true},
}};

// Where a match of a pattern compiled without start-of-match tracking begins.
uint32_t StartBefore(Pattern pattern, std::string_view text, uint32_t end) {
  if (pattern == Pattern::kGithubClassic) return end >= 40 ? end - 40 : 0;
  // kPhoneInternational: back over digits and separators to the '+'.
  uint32_t i = end;
  while (i > 0 && end - i < 24 && text[i - 1] != '+') --i;
  return i > 0 ? i - 1 : 0;
}

struct Collector {
  std::string_view text;
  std::vector<PrefilterMatch>* out;
  // Index in *out of each pattern's latest match, to merge overlaps.
  std::array<size_t, kPatternCount> last;
};

int OnMatch(unsigned int id, unsigned long long from, unsigned long long to, unsigned int, void* context) {
  auto* collector = static_cast<Collector*>(context);
  if (!kPatterns[id].start_of_match) {
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

}  // namespace

struct Prefilter::Database {
  hs_database_t* db = nullptr;
  ~Database() { hs_free_database(db); }
};

Detector DetectorOf(Pattern pattern) { return kPatterns[static_cast<size_t>(pattern)].detector; }

absl::StatusOr<std::unique_ptr<Prefilter>> Prefilter::Create(const std::vector<Detector>& enabled) {
  std::vector<const char*> expressions;
  std::vector<unsigned int> flags;
  std::vector<unsigned int> ids;
  for (const PatternSpec& spec : kPatterns) {
    bool on = false;
    for (Detector d : enabled) on = on || d == spec.detector;
    if (!on) continue;
    expressions.push_back(spec.expression);
    flags.push_back((spec.start_of_match ? HS_FLAG_SOM_LEFTMOST : 0u) | (spec.caseless ? HS_FLAG_CASELESS : 0u));
    ids.push_back(static_cast<unsigned int>(spec.pattern));
  }
  if (expressions.empty()) return absl::InvalidArgumentError("DLP prefilter: no detector enabled");

  auto database = std::make_shared<Database>();
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
  if (hs_clone_scratch(scratch_, &scratch) != HS_SUCCESS) {
    return absl::ResourceExhaustedError("DLP prefilter: clone scratch space");
  }
  return std::unique_ptr<Prefilter>(new Prefilter(database_, scratch));
}

absl::Status Prefilter::Scan(std::string_view text, std::vector<PrefilterMatch>& out) {
  out.clear();
  if (text.size() > std::numeric_limits<unsigned int>::max()) {
    return absl::InvalidArgumentError(StrCat("DLP prefilter: text of ", text.size(), " bytes exceeds 4 GiB"));
  }
  Collector collector{text, &out, {}};
  collector.last.fill(std::numeric_limits<size_t>::max());
  hs_error_t rc = hs_scan(database_->db, text.data(), static_cast<unsigned int>(text.size()), 0, scratch_, OnMatch,
                          &collector);
  if (rc != HS_SUCCESS) return absl::InternalError(StrCat("DLP prefilter: hs_scan failed with code ", rc));
  return absl::OkStatus();
}

}  // namespace rampart::dlp

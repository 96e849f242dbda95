#include "agent/dlp/dlp_scanner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "agent/common/strings.h"
#include "agent/dlp/context.h"
#include "agent/dlp/document.h"
#include "agent/dlp/prefilter.h"
#include "agent/dlp/recognizers.h"

namespace rampart::dlp {
namespace {

using findings::Finding;
using findings::Severity;

// Where credentials travel by design; a token found there is being used, not leaked.
enum class Carrier { kNone, kHeaders, kCookies };

// What Finding::offset counts from.
enum class Offsets {
  kUnknown,     // the scanned text is a decoded rewrite (forms, queries, cookies, path)
  kText,        // the scanned text is the part itself (JSON and text bodies)
  kFieldValue,  // from the start of the header value
};

constexpr size_t kSeverityLevels = static_cast<size_t>(Severity::kCritical) + 1;

constexpr double kCredentialCarrierLowering = 0.40;
constexpr double kRequestSecretLowering = 0.20;
// Cards that count towards the bulk signal: those context or grouping
// supports, and unsupported ones (0.5) only in a message where most
// card-shaped numbers validate. Random numbers pass Luhn and the IIN rules a
// few percent of the time, so a large table of ids yields a handful of
// "cards"; a dump of real cards validates throughout.
constexpr double kBulkSupportedConfidence = 0.6;
constexpr double kBulkUnsupportedConfidence = 0.5;
constexpr double kBulkMostlyCardsShare = 0.5;

bool IsCredentialHeader(std::string_view name) {
  for (std::string_view h : {"authorization", "proxy-authorization", "x-api-key", "api-key", "x-auth-token",
                             "x-access-token", "x-amz-security-token", "x-goog-api-key", "x-csrf-token"}) {
    if (name == h) return true;
  }
  return false;
}

// More specific detectors win where two findings cover the same bytes: a
// Stripe key is not also a generic secret, the PEM key inside a GCP key file
// is reported as the key file.
int Specificity(Detector detector) {
  switch (detector) {
    case Detector::kGcpServiceAccountKey: return 6;
    case Detector::kPrivateKey: return 5;
    case Detector::kAwsAccessKeyId:
    case Detector::kAwsSecretKey:
    case Detector::kGcpApiKey:
    case Detector::kGithubToken:
    case Detector::kSlackToken:
    case Detector::kSlackWebhook:
    case Detector::kStripeKey: return 4;
    case Detector::kJwt: return 3;
    case Detector::kCardNumber:
    case Detector::kUsSsn:
    case Detector::kIban: return 2;
    case Detector::kEmail:
    case Detector::kPhoneNumber: return 1;
    case Detector::kGenericSecret:
    case Detector::kBulkCardNumbers: return 0;
  }
  return 0;
}
constexpr int kSpecificityLevels = 7;

// Sets of patterns, a bit each.
uint32_t PatternBit(Pattern pattern) { return 1u << static_cast<unsigned>(pattern); }
constexpr uint32_t kAllPatterns = ~0u;

}  // namespace

// ResolveOverlaps's working memory, kept by the scanner: a body full of PII
// needs hundreds of kilobytes of it, allocated and freed on every scan
// otherwise.
struct OverlapBuffers {
  struct Key {
    uint32_t begin, end, index;
    Detector detector;
    uint8_t level;  // Specificity(detector)
  };
  // An accepted span and the running maximum of the ends so far.
  struct Span {
    uint32_t begin, max_end;
  };
  std::vector<Key> emitted, keys;
  std::vector<Span> accepted[kSpecificityLevels];
  std::vector<bool> keep;
};

namespace {

// Drops duplicates (several keywords naming one value) and detections that
// overlap a more specific one. Works on compact keys: a body full of PII has
// thousands of detections.
void ResolveOverlaps(std::vector<Detection>& detections, std::vector<uint32_t>& origins, OverlapBuffers& buffers) {
  // Most specific level first; within a level by begin, longer first, then
  // in the order recognizers emitted them (the first of duplicates stays).
  using Key = OverlapBuffers::Key;
  auto before = [](const Key& a, const Key& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    if (a.end != b.end) return a.end > b.end;
    return a.index < b.index;
  };
  // A stable distribution by level; recognizers emit in match order, close
  // to text order, so a level's keys are usually sorted already. The
  // detections themselves are read once, into keys in their order.
  size_t level_begin[kSpecificityLevels + 1] = {};
  std::vector<Key>& emitted = buffers.emitted;
  emitted.resize(detections.size());
  for (uint32_t i = 0; i < detections.size(); ++i) {
    const Detection& d = detections[i];
    const auto level = static_cast<uint8_t>(Specificity(d.detector));
    emitted[i] = {d.begin, d.end, i, d.detector, level};
    ++level_begin[kSpecificityLevels - 1 - level + 1];
  }
  for (int l = 1; l <= kSpecificityLevels; ++l) level_begin[l] += level_begin[l - 1];
  std::vector<Key>& keys = buffers.keys;
  keys.resize(detections.size());
  {
    size_t next[kSpecificityLevels];
    std::copy(level_begin, level_begin + kSpecificityLevels, next);
    for (const Key& key : emitted) keys[next[kSpecificityLevels - 1 - key.level]++] = key;
  }
  for (int l = 0; l < kSpecificityLevels; ++l) {
    auto first = keys.begin() + static_cast<std::ptrdiff_t>(level_begin[l]);
    auto last = keys.begin() + static_cast<std::ptrdiff_t>(level_begin[l + 1]);
    if (!std::is_sorted(first, last, before)) std::sort(first, last, before);
  }
  // Per level: accepted spans in begin order (each level is accepted in one
  // sorted sweep) with the running maximum of their ends, so "does any span
  // of a more specific level overlap [b, e)" is one binary search per level.
  using Span = OverlapBuffers::Span;
  std::vector<Span>* accepted = buffers.accepted;
  for (int l = 0; l < kSpecificityLevels; ++l) accepted[l].clear();
  std::vector<bool>& keep = buffers.keep;
  keep.assign(detections.size(), false);
  // The keys with the current level, begin and end accepted so far.
  size_t same_span_from = 0;
  for (size_t k = 0; k < keys.size(); ++k) {
    const Key& d = keys[k];
    const int level = d.level;
    if (k == 0 || keys[k - 1].level != level || keys[k - 1].begin != d.begin ||
        keys[k - 1].end != d.end) {
      same_span_from = k;
    }
    bool covered = false;
    for (size_t j = same_span_from; j < k && !covered; ++j) covered = keys[j].detector == d.detector;
    for (int higher = level + 1; higher < kSpecificityLevels && !covered; ++higher) {
      const auto& spans = accepted[higher];
      auto it = std::lower_bound(spans.begin(), spans.end(), d.end,
                                 [](const Span& s, uint32_t end) { return s.begin < end; });
      covered = it != spans.begin() && std::prev(it)->max_end > d.begin;
    }
    if (covered) continue;
    auto& spans = accepted[level];
    spans.push_back({d.begin, std::max(d.end, spans.empty() ? 0u : spans.back().max_end)});
    keep[d.index] = true;
  }
  // Compact in place, in the order recognizers emitted them.
  size_t out = 0;
  for (size_t i = 0; i < detections.size(); ++i) {
    if (!keep[i]) continue;
    if (out != i) {
      detections[out] = std::move(detections[i]);
      origins[out] = origins[i];
    }
    ++out;
  }
  detections.resize(out);
  origins.resize(out);
}

std::string FormatAdjustment(const char* what, double amount) {
  char buffer[96];
  std::snprintf(buffer, sizeof(buffer), "%s -%.2f", what, amount);
  return buffer;
}

std::string Lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

enum class BodyKind { kSkip, kText, kJson, kForm };

BodyKind BodyKindOf(const http::Message& message) {
  const std::string* header = message.FindHeader("content-type");
  const std::string type = header != nullptr ? Lowered(*header) : std::string();
  for (std::string_view binary : {"image/", "audio/", "video/", "font/", "application/zip", "application/gzip",
                                  "application/x-gzip", "application/wasm"}) {
    if (type.compare(0, binary.size(), binary) == 0) return BodyKind::kSkip;
  }
  if (type.find("json") != std::string::npos) return BodyKind::kJson;
  if (type.find("x-www-form-urlencoded") != std::string::npos) return BodyKind::kForm;
  if (type.empty()) {
    size_t first = message.body.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && (message.body[first] == '{' || message.body[first] == '[')) {
      return BodyKind::kJson;
    }
  }
  return BodyKind::kText;
}

}  // namespace

struct DlpScanner::Part {
  std::string location;  // "request.header", "response.body"
  bool is_request = false;
  Carrier carrier = Carrier::kNone;
  Offsets offsets = Offsets::kUnknown;
};

// Working memory reused from scan to scan.
struct DlpScanner::Scratch {
  std::vector<Document::Span> spans;  // RecognizeMatches: what the JSON index must cover
  // RecognizeWhere: what a pass found, their origins, the merge.
  std::vector<Detection> found, merged;
  std::vector<uint32_t> found_origins, merged_origins;
  OverlapBuffers overlaps;
  std::vector<uint64_t> ranks;  // KeepReportable
};

struct DlpScanner::Candidate {
  uint32_t detection = 0;  // index in detections_
  const Document::Field* field = nullptr;
  ContextEffect effect;
  double confidence = 0;
  Severity severity = Severity::kInfo;
  bool lowered_as_carried = false;
  bool lowered_as_request = false;
};

namespace {

// Finish's order as one number, smaller first: severity, then confidence
// (whole hundredths), then the order findings were added in.
uint64_t RankOf(Severity severity, double confidence, uint64_t sequence) {
  const uint64_t severity_rank = kSeverityLevels - 1 - static_cast<uint64_t>(severity);
  // Confidences are whole hundredths in [0, 1] (Score rounds them).
  const uint64_t confidence_rank = 100 - static_cast<uint64_t>(confidence * 100 + 0.5);
  return severity_rank << 48 | confidence_rank << 40 | sequence;
}

// The mean of `count` confidences summed in whole hundredths, plus 0.1, in
// whole hundredths, halves rounded up: exact, where doubles summed in
// another order could round a half the other way.
int64_t MeanPlusTenthInHundredths(int64_t hundredths, size_t count) {
  const auto n = static_cast<int64_t>(count);
  return (2 * (hundredths + 10 * n) + n) / (2 * n);
}

}  // namespace

struct DlpScanner::MessageState {
  std::vector<Finding> findings;
  // Each validated card's fingerprint and confidence, repeats included:
  // Finish keeps each card's highest. Appending is cheaper than a map in a
  // body of thousands of cards.
  std::vector<std::pair<uint64_t, double>> cards;
  size_t card_shaped_runs = 0;                 // digit runs the card pattern matched
  size_t card_detections = 0;                  // validated cards, any confidence
  bool capture_gap = false;
};

absl::StatusOr<std::unique_ptr<DlpScanner>> DlpScanner::Create(const DlpOptions& options) {
  std::vector<Detector> enabled;
  if (options.detectors.empty()) {
    for (size_t i = 0; i < kDetectorCount; ++i) enabled.push_back(static_cast<Detector>(i));
  } else {
    for (const std::string& name : options.detectors) {
      std::optional<Detector> detector = DetectorNamed(name);
      if (!detector) return absl::InvalidArgumentError(StrCat("unknown DLP detector '", name, "'"));
      enabled.push_back(*detector);
    }
  }
  const bool card_enabled = std::find(enabled.begin(), enabled.end(), Detector::kCardNumber) != enabled.end();
  absl::StatusOr<std::unique_ptr<Prefilter>> prefilter = Prefilter::Create(enabled);
  if (!prefilter.ok()) return prefilter.status();
  return std::unique_ptr<DlpScanner>(new DlpScanner(options, std::move(*prefilter), card_enabled));
}

DlpScanner::DlpScanner(const DlpOptions& options, std::unique_ptr<Prefilter> prefilter, bool card_enabled)
    : options_(options),
      prefilter_(std::move(prefilter)),
      card_enabled_(card_enabled),
      scratch_(std::make_unique<Scratch>()) {
  static_assert(kPatternCount <= 32, "pattern sets have a bit per pattern");
  for (size_t p = 0; p < kPatternCount; ++p) {
    const auto pattern = static_cast<Pattern>(p);
    if (ReadsDocument(pattern)) reads_document_patterns_ |= PatternBit(pattern);
    const Detector detector = DetectorOf(pattern);
    // Recognizers yield their pattern's detector, at most at its ceiling.
    if (InfoOf(detector).ceiling > Severity::kLow) continue;
    low_ceiling_patterns_ |= PatternBit(pattern);
    low_ceiling_specificity_ = std::max(low_ceiling_specificity_, Specificity(detector));
  }
}

DlpScanner::~DlpScanner() = default;

absl::StatusOr<std::unique_ptr<DlpScanner>> DlpScanner::Clone() const {
  absl::StatusOr<std::unique_ptr<Prefilter>> prefilter = prefilter_->Clone();
  if (!prefilter.ok()) return prefilter.status();
  return std::unique_ptr<DlpScanner>(new DlpScanner(options_, std::move(*prefilter), card_enabled_));
}

Document DlpScanner::JsonDocument(std::string_view text) {
  if (spare_json_ == nullptr) return Document::Json(text);
  Document document = Document::Json(text, std::move(*spare_json_));
  spare_json_.reset();
  return document;
}

void DlpScanner::Recycle(Document&& json) { spare_json_ = std::make_unique<Document>(std::move(json)); }

void DlpScanner::ScanDocument(Document& document, const Part& part, MessageState& state) {
  if (document.text().empty()) return;
  if (!prefilter_->Scan(document.text(), matches_).ok()) {
    ++scan_errors_;
    return;
  }
  if (matches_.empty()) return;
  const Deferral deferral = RecognizeMatches(document, state);
  ResolveOverlaps(detections_, origins_, scratch_->overlaps);
  size_t more_severe_than[kSeverityLevels] = {};  // findings and candidates so far
  for (const Finding& f : state.findings) {
    for (size_t level = 0; level < static_cast<size_t>(f.severity); ++level) ++more_severe_than[level];
  }
  candidates_.clear();
  ScoreInCeilingOrder(0, document, part, state, more_severe_than);
  // The low-ceiling matches were left out on the chance that the rest
  // leaves them no room in the report. If it does not, they are recognized
  // now: they can only hide detections less specific than themselves, of
  // which the rest has none (RecognizeMatches), so the rest's detections
  // stay as resolved, in front, and the new ones are resolved against them.
  if (deferral.low_ceiling &&
      more_severe_than[static_cast<size_t>(Severity::kLow)] < options_.max_findings_per_message) {
    const auto first = static_cast<uint32_t>(detections_.size());
    RecognizeLeftOut(document, deferral);
    ResolveOverlaps(detections_, origins_, scratch_->overlaps);
    ScoreInCeilingOrder(first, document, part, state, more_severe_than);
  }
  // Back in match order, as one pass would have found them.
  std::sort(candidates_.begin(), candidates_.end(), [&](const Candidate& a, const Candidate& b) {
    const uint32_t x = origins_[a.detection], y = origins_[b.detection];
    return x != y ? x < y : a.detection < b.detection;
  });
  // Findings are written only for the candidates that can still be
  // reported: a body full of PII yields thousands of detections, and a
  // message reports max_findings_per_message.
  KeepReportable(state);
  state.findings.reserve(state.findings.size() + candidates_.size());
  for (const Candidate& c : candidates_) state.findings.push_back(Write(c, document, part, state));
}

void DlpScanner::ScoreInCeilingOrder(uint32_t first, const Document& document, const Part& part,
                                     MessageState& state, size_t* more_severe_than) {
  // Scored by ceiling, highest first, so that a detection that cannot be
  // reported (at least max_findings_per_message findings are already more
  // severe than it can ever be) is not scored at all; cards always are, the
  // bulk signal counts them. Scoring order does not change the result:
  // candidates are put back in match order.
  size_t ceiling_begin[kSeverityLevels + 1] = {};  // counting sort, highest ceiling first
  for (uint32_t i = first; i < detections_.size(); ++i) {
    ++ceiling_begin[kSeverityLevels - static_cast<size_t>(detections_[i].ceiling)];
  }
  for (size_t c = 1; c <= kSeverityLevels; ++c) ceiling_begin[c] += ceiling_begin[c - 1];
  order_.resize(detections_.size() - first);
  for (uint32_t i = first; i < detections_.size(); ++i) {
    order_[ceiling_begin[kSeverityLevels - 1 - static_cast<size_t>(detections_[i].ceiling)]++] = i;
  }
  for (uint32_t i : order_) {
    const Detection& d = detections_[i];
    if (d.detector != Detector::kCardNumber &&
        more_severe_than[static_cast<size_t>(d.ceiling)] >= options_.max_findings_per_message) {
      continue;
    }
    std::optional<Candidate> candidate = Score(i, document, part, state);
    if (!candidate) continue;
    candidates_.push_back(*candidate);
    for (size_t level = 0; level < static_cast<size_t>(candidate->severity); ++level) ++more_severe_than[level];
  }
}

DlpScanner::Deferral DlpScanner::RecognizeMatches(Document& document, MessageState& state) {
  // A JSON document is indexed only where something looks fields up. The
  // keyword recognizers read fields, so with any keyword match the index
  // covers the matches before those recognizers run. Every other
  // recognizer reads only the text around its match: without a keyword
  // match they all run first and the index covers only what they found,
  // which scoring and locations look up. Card-shaped ids and EANs that all
  // fail the checksum then leave nothing to index, and indexing walks the
  // body.
  //
  // Emails and phone numbers (the low-ceiling patterns) are left out, of
  // recognition and of the index, when the rest may fill the report with
  // findings above low on its own: in a body full of cards they cannot be
  // reported, and reading them was most of its scan. Leaving them out
  // changes nothing the rest reads: the index keeps every field a kept
  // match or detection touches, and every enclosing object and array, so
  // the rest's fields, keys and paths are the same with them or without.
  uint32_t present = 0;
  for (const PrefilterMatch& m : matches_) {
    present |= PatternBit(m.pattern);
    if (m.pattern == Pattern::kCardDigits) ++state.card_shaped_runs;
  }
  const bool json = document.is_json();
  Deferral deferral;
  deferral.index_spans_matches = json && (present & reads_document_patterns_) != 0;
  detections_.clear();
  origins_.clear();
  // A pass over the matches of `patterns`, skipped when none is present.
  auto recognize = [&](uint32_t patterns, bool merge) {
    if ((present & patterns) != 0) RecognizeWhere(patterns, document, merge);
  };
  auto may_fill = [&] {
    size_t above_low = 0;
    for (const Finding& f : state.findings) above_low += f.severity > Severity::kLow ? 1 : 0;
    for (const Detection& d : detections_) {
      // A detection they could hide (a generic secret over an address):
      // the rest's overlaps then depend on them.
      if (Specificity(d.detector) < low_ceiling_specificity_) return false;
      above_low += d.ceiling > Severity::kLow ? 1 : 0;
    }
    return above_low >= options_.max_findings_per_message;
  };
  // What needs no index first: the rest's text-only patterns. They decide.
  recognize(~low_ceiling_patterns_ & ~reads_document_patterns_, /*merge=*/false);
  deferral.low_ceiling = (present & low_ceiling_patterns_) != 0 && may_fill();
  if (deferral.index_spans_matches) {
    SpansOfMatches(deferral.low_ceiling ? ~low_ceiling_patterns_ : kAllPatterns);
    IndexAround(document);
  }
  recognize(~low_ceiling_patterns_ & reads_document_patterns_, /*merge=*/true);
  if (deferral.low_ceiling && !may_fill()) {
    // The keyword recognizers found one they could hide: read them now.
    deferral.low_ceiling = false;
    if (deferral.index_spans_matches) {
      SpansOfMatches(kAllPatterns);
      Reindex(document);
    }
  }
  if (!deferral.low_ceiling) recognize(low_ceiling_patterns_, /*merge=*/true);
  if (json && !deferral.index_spans_matches) {
    SpansOfDetections();
    IndexAround(document);
  }
  return deferral;
}

void DlpScanner::RecognizeLeftOut(Document& document, const Deferral& deferral) {
  const bool json = document.is_json();
  if (json && deferral.index_spans_matches) {
    // Their keyword (a field named phone) reads the index: cover them first.
    SpansOfMatches(kAllPatterns);
    Reindex(document);
  }
  RecognizeWhere(low_ceiling_patterns_, document, /*merge=*/false);
  if (json && !deferral.index_spans_matches) {
    SpansOfDetections();
    Reindex(document);
  }
  // The same fields in the new index, for the candidates scored already.
  if (json) {
    for (Candidate& c : candidates_) c.field = document.FieldContaining(detections_[c.detection].begin);
  }
}

void DlpScanner::SpansOfMatches(uint32_t patterns) {
  std::vector<Document::Span>& spans = scratch_->spans;
  spans.clear();
  for (const PrefilterMatch& m : matches_) {
    if ((PatternBit(m.pattern) & patterns) != 0) spans.push_back({m.from, m.to});
  }
}

void DlpScanner::SpansOfDetections() {
  std::vector<Document::Span>& spans = scratch_->spans;
  spans.clear();
  for (const Detection& d : detections_) spans.push_back({d.begin, d.end});
}

void DlpScanner::IndexAround(Document& document) {
  std::vector<Document::Span>& spans = scratch_->spans;
  auto by_begin = [](const Document::Span& a, const Document::Span& b) { return a.begin < b.begin; };
  if (!std::is_sorted(spans.begin(), spans.end(), by_begin)) std::sort(spans.begin(), spans.end(), by_begin);
  document.IndexTouching(spans);
}

void DlpScanner::Reindex(Document& document) {
  // A document is indexed once; a new one over the same text, on the spare
  // index memory, takes its place.
  const std::string_view text = document.text();
  Document previous = std::move(document);
  document = JsonDocument(text);
  Recycle(std::move(previous));
  IndexAround(document);
}

void DlpScanner::RecognizeWhere(uint32_t patterns, const Document& document, bool merge) {
  std::vector<Detection>& found = merge ? scratch_->found : detections_;
  std::vector<uint32_t>& found_origins = merge ? scratch_->found_origins : origins_;
  if (merge) {
    found.clear();
    found_origins.clear();
  }
  for (uint32_t i = 0; i < matches_.size(); ++i) {
    const PrefilterMatch& m = matches_[i];
    if ((PatternBit(m.pattern) & patterns) == 0) continue;
    Recognize(m, document, found, Wording::kSkip);
    found_origins.resize(found.size(), i);
  }
  if (!merge || found.empty()) return;
  // Both in match order, from different matches: merged by origin, they are
  // what one pass over the matches yields.
  std::vector<Detection>& merged = scratch_->merged;
  std::vector<uint32_t>& merged_origins = scratch_->merged_origins;
  merged.clear();
  merged_origins.clear();
  merged.reserve(detections_.size() + found.size());
  merged_origins.reserve(detections_.size() + found.size());
  size_t a = 0, b = 0;
  while (a < detections_.size() || b < found.size()) {
    const bool take_a = b == found.size() || (a < detections_.size() && origins_[a] < found_origins[b]);
    merged.push_back(std::move(take_a ? detections_[a] : found[b]));
    merged_origins.push_back(take_a ? origins_[a++] : found_origins[b++]);
  }
  detections_.swap(merged);
  origins_.swap(merged_origins);
}

void DlpScanner::KeepReportable(MessageState& state) {
  const size_t limit = options_.max_findings_per_message;
  if (state.findings.size() + candidates_.size() <= limit) return;
  if (limit == 0) {
    candidates_.clear();
    return;
  }
  // Finish keeps the first `limit` in rank order of every finding the
  // message adds; one outside the first `limit` of those known so far stays
  // outside whatever comes later, since later findings only add ranks.
  std::vector<uint64_t>& ranks = scratch_->ranks;
  ranks.clear();
  uint64_t sequence = 0;
  for (const Finding& f : state.findings) ranks.push_back(RankOf(f.severity, f.confidence, sequence++));
  for (const Candidate& c : candidates_) ranks.push_back(RankOf(c.severity, c.confidence, sequence++));
  std::nth_element(ranks.begin(), ranks.begin() + static_cast<std::ptrdiff_t>(limit - 1), ranks.end());
  const uint64_t last_kept = ranks[limit - 1];
  sequence = state.findings.size();
  size_t out = 0;
  for (const Candidate& c : candidates_) {
    if (RankOf(c.severity, c.confidence, sequence++) <= last_kept) candidates_[out++] = c;
  }
  candidates_.resize(out);
}

std::optional<DlpScanner::Candidate> DlpScanner::Score(uint32_t index, const Document& document, const Part& part,
                                                       MessageState& state) {
  const Detection& d = detections_[index];
  const std::string_view text = document.text();
  const Document::Field* field = document.FieldContaining(d.begin);

  ContextInput input;
  size_t window_end = d.begin;
  if (d.name_end > d.name_begin) {
    input.leaf_key = text.substr(d.name_begin, d.name_end - d.name_begin);
    window_end = d.name_begin;
  } else if (field != nullptr) {
    input.leaf_key = document.KeyOf(*field);
  }
  std::string_view outer_keys[3];
  if (field != nullptr) {
    input.outer_keys = std::span<const std::string_view>(outer_keys, document.OuterKeys(*field, outer_keys));
    // An array element takes its array's name as its own.
    if (input.leaf_key.empty() && field->key_end == field->key_begin && !input.outer_keys.empty()) {
      input.leaf_key = input.outer_keys.front();
      input.outer_keys = input.outer_keys.subspan(1);
    }
  }
  const size_t field_begin = field != nullptr ? field->value_begin : 0;
  const size_t window_begin = std::max(field_begin, window_end > kNearbyBytes ? window_end - kNearbyBytes : 0);
  if (window_end > window_begin) input.preceding_text = text.substr(window_begin, window_end - window_begin);
  const ContextEffect effect = context_cache_.Evaluate(d.vocabulary, input);

  const bool carrier = part.carrier == Carrier::kCookies ||
                       (part.carrier == Carrier::kHeaders && part.is_request && field != nullptr &&
                        IsCredentialHeader(document.KeyOf(*field)));
  const bool lower_as_carried = d.credential && carrier;
  const bool lower_as_request = d.detector == Detector::kGenericSecret && part.is_request;
  double confidence = d.confidence + effect.adjustment;
  if (lower_as_carried) confidence -= kCredentialCarrierLowering;
  if (lower_as_request) confidence -= kRequestSecretLowering;
  confidence = std::clamp(std::round(confidence * 100) / 100, 0.0, 1.0);

  if (d.detector == Detector::kCardNumber) {
    ++state.card_detections;
    state.cards.emplace_back(d.fingerprint, confidence);
  }
  if (confidence < options_.report_min_confidence) return std::nullopt;
  Candidate candidate;
  candidate.detection = index;
  candidate.field = field;
  candidate.effect = effect;
  candidate.confidence = confidence;
  candidate.severity = SeverityFor(d.ceiling, confidence);
  candidate.lowered_as_carried = lower_as_carried;
  candidate.lowered_as_request = lower_as_request;
  return candidate;
}

Finding DlpScanner::Write(const Candidate& candidate, const Document& document, const Part& part,
                          const MessageState& state) {
  Detection& d = detections_[candidate.detection];
  Describe(document, d);
  const Document::Field* field = candidate.field;
  // Describe always finds it again (same match, same document); no words
  // would leave the finding without a reason rather than fail the scan.
  DetectionWords words = d.words != nullptr ? std::move(*d.words) : DetectionWords{};
  std::string reason = std::move(words.reason);
  if (candidate.effect.explained()) {
    // One growth for the whole explanation.
    reason.reserve(reason.size() + 96);
    reason.append("; context: ");
    candidate.effect.AppendExplanation(reason);
  }
  if (candidate.lowered_as_carried) {
    reason.append("; ").append(FormatAdjustment("sent where credentials are expected", kCredentialCarrierLowering));
  }
  if (candidate.lowered_as_request) {
    reason.append("; ").append(
        FormatAdjustment("in a request, where secrets are usually being used", kRequestSecretLowering));
  }
  if (state.capture_gap) reason += "; message partly uncaptured";

  const DetectorInfo& info = InfoOf(d.detector);
  Finding finding;
  finding.detector = std::string(info.finding_name);
  finding.confidence = candidate.confidence;
  finding.severity = candidate.severity;
  finding.masked_value = std::move(words.masked_value);
  finding.reason = std::move(reason);
  if (field != nullptr) {
    finding.location.reserve(part.location.size() + 64);
    finding.location = part.location;
    finding.location += ' ';
    document.AppendPathOf(*field, finding.location);
    if (finding.location.size() == part.location.size() + 1) finding.location.pop_back();  // no path
  } else {
    finding.location = part.location;
  }
  finding.compliance = info.compliance;
  if (part.offsets == Offsets::kText) {
    finding.offset = d.begin;
    finding.length = d.end - d.begin;
  } else if (part.offsets == Offsets::kFieldValue && field != nullptr) {
    finding.offset = d.begin - field->value_begin;
    finding.length = std::min(d.end, field->value_end) - d.begin;
  }
  return finding;
}

std::vector<Finding> DlpScanner::Finish(MessageState& state, std::string_view side) const {
  // Most severe first, document order within a severity; only the findings
  // kept are moved.
  std::vector<uint32_t> order(state.findings.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const Finding& fa = state.findings[a];
    const Finding& fb = state.findings[b];
    if (fa.severity != fb.severity) return fa.severity > fb.severity;
    return fa.confidence > fb.confidence;
  });

  const bool mostly_cards = state.card_shaped_runs > 0 &&
                            static_cast<double>(state.card_detections) >=
                                kBulkMostlyCardsShare * static_cast<double>(state.card_shaped_runs);
  // Each distinct card once, at its highest confidence (last of its
  // fingerprint once sorted). Confidences are whole hundredths: summed as
  // integers, the mean does not depend on the order.
  std::sort(state.cards.begin(), state.cards.end());
  size_t bulk_cards = 0;
  int64_t bulk_hundredths = 0;
  for (size_t i = 0; i < state.cards.size(); ++i) {
    if (i + 1 < state.cards.size() && state.cards[i + 1].first == state.cards[i].first) continue;
    const double confidence = state.cards[i].second;
    if (confidence >= kBulkSupportedConfidence || (mostly_cards && confidence >= kBulkUnsupportedConfidence)) {
      ++bulk_cards;
      bulk_hundredths += std::llround(confidence * 100);
    }
  }
  const bool bulk = card_enabled_ && options_.bulk_card_threshold > 0 && bulk_cards >= options_.bulk_card_threshold;

  std::vector<Finding> out;
  const size_t limit = options_.max_findings_per_message;
  out.reserve(std::min(limit, order.size() + 1));
  if (bulk && limit > 0) {
    const DetectorInfo& info = InfoOf(Detector::kBulkCardNumbers);
    Finding finding;
    finding.detector = std::string(info.finding_name);
    finding.confidence =
        std::min(0.95, static_cast<double>(MeanPlusTenthInHundredths(bulk_hundredths, bulk_cards)) / 100);
    finding.severity = SeverityFor(info.ceiling, finding.confidence);
    finding.masked_value = StrCat("[", bulk_cards, " card numbers]");
    finding.reason = StrCat(bulk_cards, " distinct payment card numbers in one message (threshold ",
                            options_.bulk_card_threshold, ")");
    finding.location = std::string(side);
    finding.compliance = info.compliance;
    out.push_back(std::move(finding));
  }
  for (uint32_t i : order) {
    if (out.size() >= limit) break;
    out.push_back(std::move(state.findings[i]));
  }
  return out;
}

std::vector<Finding> DlpScanner::Scan(const http::Message& message) {
  MessageState state;
  state.capture_gap = message.capture_gap;
  const std::string side = message.is_request ? "request" : "response";

  std::vector<const http::Header*> headers;
  for (const http::Header& h : message.headers) {
    if (message.is_request && h.name == "cookie") {
      Document cookies = Document::Pairs(h.value, ';', false);
      ScanDocument(cookies, Part{"request.cookie", true, Carrier::kCookies}, state);
    } else if (!message.is_request && h.name == "set-cookie") {
      Document cookie = Document::Pairs(std::string_view(h.value).substr(0, h.value.find(';')), ';', false);
      ScanDocument(cookie, Part{"response.set-cookie", false, Carrier::kCookies}, state);
    } else {
      headers.push_back(&h);
    }
  }
  Document header_doc = Document::Headers(headers);
  ScanDocument(header_doc, Part{side + ".header", message.is_request, Carrier::kHeaders, Offsets::kFieldValue}, state);

  if (message.is_request && !message.target.empty()) {
    std::string_view target = message.target;
    target = target.substr(0, target.find('#'));
    for (std::string_view scheme : {"http://", "https://"}) {
      if (target.compare(0, scheme.size(), scheme) == 0) {
        size_t slash = target.find('/', scheme.size());
        target = slash == std::string_view::npos ? std::string_view() : target.substr(slash);
      }
    }
    const size_t question = target.find('?');
    Document path = Document::PercentDecoded(target.substr(0, question));
    ScanDocument(path, Part{"request.path", true, Carrier::kNone}, state);
    if (question != std::string_view::npos) {
      Document query = Document::Pairs(target.substr(question + 1), '&', true);
      ScanDocument(query, Part{"request.query", true, Carrier::kNone}, state);
    }
  }

  if (!message.body.empty()) {
    Part part{side + ".body", message.is_request, Carrier::kNone, Offsets::kText};
    switch (BodyKindOf(message)) {
      case BodyKind::kSkip: break;
      case BodyKind::kJson: {
        Document body = JsonDocument(message.body);
        ScanDocument(body, part, state);
        Recycle(std::move(body));
        break;
      }
      case BodyKind::kForm: {
        part.offsets = Offsets::kUnknown;
        Document body = Document::Pairs(message.body, '&', true);
        ScanDocument(body, part, state);
        break;
      }
      case BodyKind::kText: {
        Document body = Document::PlainText(message.body);
        ScanDocument(body, part, state);
        break;
      }
    }
  }
  return Finish(state, side);
}

std::vector<Finding> DlpScanner::ScanText(std::string_view text, std::string_view location, ContentKind kind) {
  MessageState state;
  const Part part{std::string(location), false, Carrier::kNone,
                  kind == ContentKind::kFormUrlEncoded ? Offsets::kUnknown : Offsets::kText};
  Document document = kind == ContentKind::kJson             ? JsonDocument(text)
                      : kind == ContentKind::kFormUrlEncoded ? Document::Pairs(text, '&', true)
                                                             : Document::PlainText(text);
  ScanDocument(document, part, state);
  if (kind == ContentKind::kJson) Recycle(std::move(document));
  return Finish(state, location.substr(0, location.find('.')));
}

}  // namespace rampart::dlp

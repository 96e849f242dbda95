// Data-loss prevention on decrypted HTTP messages: finds payment cards, SSNs,
// IBANs, email addresses, phone numbers, cloud and SaaS credentials, JWTs,
// private keys and generic secrets in headers, the request target and the
// body, and reports them as findings with masked values only.
//
// How a message is read: one Vectorscan pass per part (headers, cookies,
// path, query, body) finds candidates; validators (checksums, registries,
// structure) keep the real ones; context (the JSON key, form field, header
// name and nearby words) raises or lowers confidence; severity follows from
// detector and confidence (detectors.h, context.h, docs/dlp.md).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/dlp/context.h"
#include "agent/dlp/detectors.h"
#include "agent/findings/finding.h"
#include "agent/http/message.h"

namespace rampart::dlp {

class Document;
class Prefilter;
struct Detection;
struct PrefilterMatch;

struct DlpOptions {
  // Distinct card numbers in one message that add one dlp.bulk_card_numbers
  // finding. Counted: cards that context or grouping supports (confidence
  // >= 0.6), and cards without support (0.5) when at least half of the
  // message's card-shaped numbers validate, as in a dump of real cards
  // (random ids validate a few percent of the time). 0 turns it off.
  size_t bulk_card_threshold = 5;
  // Findings with less confidence are not reported (cards below it still
  // count for the bulk signal's share). 0 reports every validated match.
  double report_min_confidence = 0.5;
  // Policy names of the detectors to run (InfoOf(d).policy_name:
  // "credit_card", "us_ssn", "iban", ...); empty runs them all. The bulk
  // signal runs with credit_card.
  std::vector<std::string> detectors;
  // Findings reported per message at most, most severe first; the bulk
  // finding carries the full card count.
  size_t max_findings_per_message = 200;
};

// How ScanText reads a text.
enum class ContentKind { kPlainText, kJson, kFormUrlEncoded };

class DlpScanner {
 public:
  // Compiles the Vectorscan database of the enabled detectors (once, tens of
  // milliseconds). Fails on an unknown detector name.
  static absl::StatusOr<std::unique_ptr<DlpScanner>> Create(const DlpOptions& options = {});
  ~DlpScanner();
  DlpScanner(const DlpScanner&) = delete;
  DlpScanner& operator=(const DlpScanner&) = delete;

  // Thread-compatible, not thread-safe: a scanner owns one Vectorscan scratch
  // space and reusable buffers, so it scans one message at a time. Another
  // thread uses a Clone, which shares the compiled database.
  absl::StatusOr<std::unique_ptr<DlpScanner>> Clone() const;

  // Findings in one message, most severe first. Locations name the part and
  // the field: "response.body $.customer.card", "request.header
  // authorization", "request.query q", "request.cookie session",
  // "request.path". Linear in the message size.
  std::vector<findings::Finding> Scan(const http::Message& message);

  // Findings in one text read as `kind`, located under `location` (e.g.
  // "response.body"), with the context rules of a response.
  std::vector<findings::Finding> ScanText(std::string_view text, std::string_view location, ContentKind kind);

  // Prefilter scans that failed (Vectorscan errors); such a part yields no
  // findings. Expected to stay 0.
  uint64_t scan_errors() const { return scan_errors_; }

 private:
  struct Part;
  struct MessageState;
  struct Candidate;
  struct Scratch;

  DlpScanner(const DlpOptions& options, std::unique_ptr<Prefilter> prefilter, bool card_enabled);
  void ScanDocument(Document& document, const Part& part, MessageState& state);
  // Which matches RecognizeMatches left unread, and how the JSON index was
  // built, so that ScanDocument can read them after all.
  struct Deferral {
    bool low_ceiling = false;  // the low-ceiling matches were left out
    bool index_spans_matches = false;  // a JSON index around matches (else around detections)
  };
  // matches_ into detections_ (and origins_), in match order, with the JSON
  // document indexed where the recognizers and scoring need it. Leaves out
  // the matches of low-ceiling patterns when the rest may fill the report
  // with findings above them on its own; ScanDocument scores the rest first
  // and reads them (RecognizeLeftOut) only if not.
  Deferral RecognizeMatches(Document& document, MessageState& state);
  // Recognizes the matches whose pattern bit is set in `patterns`: appended
  // to detections_, or with `merge` put where one pass in match order would
  // have put them.
  void RecognizeWhere(uint32_t patterns, const Document& document, bool merge);
  // The low-ceiling matches RecognizeMatches left out: recognized and
  // appended, with a JSON document indexed again to cover them (candidates_
  // are pointed at the new index's fields).
  void RecognizeLeftOut(Document& document, const Deferral& deferral);
  // scratch_->spans: those of the matches of `patterns`, or of detections_.
  void SpansOfMatches(uint32_t patterns);
  void SpansOfDetections();
  // A JSON document's index, covering scratch_->spans (in any order).
  void IndexAround(Document& document);
  // The same for a JSON document indexed already: a new document over its
  // text takes its place.
  void Reindex(Document& document);
  // Scores detections_[first...] most promising first, adding candidates
  // and counting them into more_severe_than.
  void ScoreInCeilingOrder(uint32_t first, const Document& document, const Part& part, MessageState& state,
                           size_t* more_severe_than);
  // A JSON document over `text` that reuses spare_json_'s memory; Recycle
  // gives the memory back.
  Document JsonDocument(std::string_view text);
  void Recycle(Document&& json);
  // Context and confidence for a detection: a candidate finding, or nothing
  // below the reporting threshold. Records cards for the bulk signal either
  // way. No strings are built here: this runs for every detection that
  // could still be reported, thousands in a body full of PII.
  std::optional<Candidate> Score(uint32_t detection, const Document& document, const Part& part,
                                 MessageState& state);
  // Drops the candidates that cannot be among the findings a message
  // reports (max_findings_per_message), whatever else it holds.
  void KeepReportable(MessageState& state);
  // The finding a candidate becomes: reason, masked value, location.
  findings::Finding Write(const Candidate& candidate, const Document& document, const Part& part,
                          const MessageState& state);
  std::vector<findings::Finding> Finish(MessageState& state, std::string_view side) const;

  DlpOptions options_;
  std::unique_ptr<Prefilter> prefilter_;
  bool card_enabled_;
  uint64_t scan_errors_ = 0;
  // Reused across calls so a scan allocates little.
  std::vector<PrefilterMatch> matches_;
  std::vector<Detection> detections_;
  // The index in matches_ each detection came from: candidates are reported
  // in this order, whichever order they were recognized in.
  std::vector<uint32_t> origins_;
  // Bit p: Pattern p yields only detections of at most low severity (emails,
  // phone numbers), which a body full of cards cannot report.
  uint32_t low_ceiling_patterns_ = 0;
  // Bit p: ReadsDocument(Pattern p).
  uint32_t reads_document_patterns_ = 0;
  // The most specific of their detectors (Specificity in dlp_scanner.cc):
  // they can only hide detections below it.
  int low_ceiling_specificity_ = 0;
  std::vector<Candidate> candidates_;
  std::vector<uint32_t> order_;
  ContextCache context_cache_;
  std::unique_ptr<Document> spare_json_;  // the last JSON body's index memory
  std::unique_ptr<Scratch> scratch_;
};

}  // namespace rampart::dlp

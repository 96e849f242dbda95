// From a prefilter match to validated detections: each recognizer extracts
// the exact token around the match (word boundaries, separators, the value
// a keyword names), runs the detector's validators and says how confident
// the validation alone makes it. Context is applied afterwards (context.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/dlp/context.h"
#include "agent/dlp/detectors.h"
#include "agent/dlp/document.h"
#include "agent/dlp/prefilter.h"
#include "agent/findings/finding.h"

namespace rampart::dlp {

// What a detection says in a finding: the value masked, and what the
// validation established. A reason is never empty once written.
struct DetectionWords {
  std::string masked_value;
  std::string reason;
};

// Laid out small (56 bytes): a body full of PII yields thousands, each read
// several times (overlaps, scoring order), more than the caches hold.
struct Detection {
  Detector detector;
  findings::Severity ceiling = findings::Severity::kInfo;
  Vocabulary vocabulary = Vocabulary::kNone;
  // A credential: lowered where credentials are expected (request
  // Authorization headers, cookies).
  bool credential = false;
  uint32_t begin = 0, end = 0;  // span in the document text
  // For keyword-introduced values in plain text ("client_secret=..."): the
  // name, which then counts as the key for context. Empty otherwise.
  uint32_t name_begin = 0, name_end = 0;
  // The prefilter match it came from, to recognize it again with words.
  PrefilterMatch match{};
  double confidence = 0;  // from validation alone
  // Cards: a hash of the digits, to count distinct numbers without keeping them.
  uint64_t fingerprint = 0;
  // The words, null until asked for (Wording::kWrite, Describe).
  std::unique_ptr<DetectionWords> words;
};

// Whether Recognize writes masked values and reasons. A body full of PII
// yields thousands of detections; a message reports a few hundred findings.
enum class Wording { kSkip, kWrite };

// Whether the recognizer of `pattern` reads the document's fields (the value
// a keyword names, a key file's members), not only the text around the
// match. The others can run before the JSON document is indexed.
bool ReadsDocument(Pattern pattern);

// Appends what `match` turns out to be, possibly nothing. The JSON document
// must be indexed past match.to when ReadsDocument(match.pattern).
void Recognize(const PrefilterMatch& match, const Document& document, std::vector<Detection>& out,
               Wording wording = Wording::kWrite);

// Writes the words of a detection Recognize appended without them, by
// recognizing its match again (recognizers depend only on the match and the
// document, so the same match yields the same detection). Does nothing when
// it has them.
void Describe(const Document& document, Detection& detection);

}  // namespace rampart::dlp

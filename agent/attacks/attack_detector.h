// Attack payload detection on HTTP requests: the entry point of this folder.
//
// A request is split into the values a client controls (input_extractor.h),
// each decoded up to a fixpoint (decode.h), and each value is judged on its
// own by the SQL injection, XSS, path traversal and command injection
// detectors, in every decoded form. Size limits are checked on the request as
// a whole. Findings hold masked values only: a detector's signature (a token
// fingerprint, a tag or command name from its own vocabulary) and the value's
// length, never the value.
//
// Thread-safe: Inspect is const and keeps no state between calls.
#pragma once

#include <string_view>
#include <vector>

#include "agent/attacks/input_extractor.h"
#include "agent/attacks/oversize.h"
#include "agent/findings/finding.h"
#include "agent/http/message.h"

namespace rampart::attacks {

struct AttackOptions {
  SizeLimits limits;
  ExtractionLimits extraction;
  double min_score = 0.5;    // payload findings below this confidence are dropped
  size_t max_findings = 32;  // per request, strongest first; size findings always kept
  bool sqli = true;
  bool xss = true;
  bool path_traversal = true;
  bool command_injection = true;
};

class AttackDetector {
 public:
  explicit AttackDetector(const AttackOptions& options);

  // Findings for one request, strongest first. Costs a few linear passes
  // per input value.
  std::vector<findings::Finding> Inspect(const http::Message& request) const;

  // Findings for one value that already had its transport decoding (a query
  // value after URL decoding), labelled with `location`. For corpora and
  // callers that extract values themselves.
  std::vector<findings::Finding> InspectValue(std::string_view value, std::string_view location) const;

 private:
  void InspectInput(const Input& input, std::vector<findings::Finding>& out) const;

  AttackOptions options_;
};

}  // namespace rampart::attacks

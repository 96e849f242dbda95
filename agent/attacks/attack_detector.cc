#include "agent/attacks/attack_detector.h"

#include <algorithm>
#include <iterator>
#include <string>

#include "agent/attacks/command_injection.h"
#include "agent/attacks/path_traversal.h"
#include "agent/attacks/sqli.h"
#include "agent/attacks/xss.h"

namespace rampart::attacks {
namespace {

struct Check {
  const char* detector;
  Verdict (*detect)(std::string_view);
  bool enabled;
  bool on_path;      // runs on the whole decoded path
  bool on_segments;  // runs on single path segments
};

Verdict Sqli(std::string_view input) { return DetectSqli(input); }

// Each extra layer of encoding around a detected payload adds a little:
// benign values are rarely encoded twice.
constexpr double kPerExtraLayer = 0.05;

findings::Severity SeverityFor(double score) {
  return score >= 0.85 ? findings::Severity::kHigh : findings::Severity::kMedium;
}

}  // namespace

AttackDetector::AttackDetector(const AttackOptions& options) : options_(options) {}

void AttackDetector::InspectInput(const Input& input, std::vector<findings::Finding>& out) const {
  const Check checks[] = {
      {"attack.sqli", &Sqli, options_.sqli, false, true},
      {"attack.xss", &DetectXss, options_.xss, false, true},
      {"attack.path_traversal", &DetectPathTraversal, options_.path_traversal, true, false},
      {"attack.command_injection", &DetectCommandInjection, options_.command_injection, false, true},
  };
  const std::vector<std::string>& forms = input.decoded.forms;
  for (const Check& check : checks) {
    if (!check.enabled) continue;
    if (input.source == InputSource::kPath && !check.on_path) continue;
    if (input.source == InputSource::kPathSegment && !check.on_segments) continue;
    Verdict best;
    size_t best_form = 0;
    for (size_t i = 0; i < forms.size(); ++i) {
      Verdict verdict = check.detect(forms[i]);
      if (verdict.score > best.score) {
        best = std::move(verdict);
        best_form = i;
      }
    }
    if (best.score <= 0) continue;
    double score = best.score;
    if (best_form > 0) score = std::min(1.0, score + kPerExtraLayer * static_cast<double>(best_form));
    if (score < options_.min_score) continue;

    findings::Finding finding;
    finding.detector = check.detector;
    finding.confidence = score;
    finding.severity = SeverityFor(score);
    finding.location = input.location;
    finding.masked_value = best.signature + ", " + std::to_string(forms[best_form].size()) + " bytes";
    finding.reason = best.reason + " in the " + std::string(InputSourceName(input.source));
    if (best_form > 0) {
      finding.reason += ", under " + std::to_string(best_form) + " extra layer" + (best_form > 1 ? "s" : "") +
                        " of encoding (" + EncodingLayerNames(input.decoded.layers) + ")";
    }
    out.push_back(std::move(finding));
  }
}

std::vector<findings::Finding> AttackDetector::Inspect(const http::Message& request) const {
  std::vector<findings::Finding> sizes = CheckSizes(request, options_.limits);
  std::vector<findings::Finding> payloads;
  for (const Input& input : ExtractInputs(request, options_.extraction)) InspectInput(input, payloads);
  std::stable_sort(payloads.begin(), payloads.end(),
                   [](const findings::Finding& a, const findings::Finding& b) { return a.confidence > b.confidence; });
  if (payloads.size() > options_.max_findings) payloads.resize(options_.max_findings);
  sizes.insert(sizes.end(), std::make_move_iterator(payloads.begin()), std::make_move_iterator(payloads.end()));
  return sizes;
}

std::vector<findings::Finding> AttackDetector::InspectValue(std::string_view value, std::string_view location) const {
  Input input;
  input.source = InputSource::kQueryValue;
  input.location = std::string(location);
  input.decoded = DecodeRepeatedly(value.substr(0, options_.extraction.max_value_bytes),
                                   options_.extraction.max_decode_rounds);
  std::vector<findings::Finding> out;
  InspectInput(input, out);
  return out;
}

}  // namespace rampart::attacks

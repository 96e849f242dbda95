// The DLP scanner over arbitrary text read as JSON, a form or plain text:
// validators and the context reader see attacker-controlled bytes. A report
// capped at a few findings must be the start of the uncapped report: the
// scanner leaves out, unread, what a capped report has no room for
// (docs/dlp.md, "How a message is read"), and that must change nothing.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "agent/dlp/dlp_scanner.h"

namespace {

rampart::dlp::DlpScanner* MakeScanner(size_t max_findings) {
  rampart::dlp::DlpOptions options;
  options.max_findings_per_message = max_findings;
  auto created = rampart::dlp::DlpScanner::Create(options);
  if (!created.ok()) std::abort();
  return created->release();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static rampart::dlp::DlpScanner* scanner = MakeScanner(1000000);
  static constexpr size_t kCaps[] = {1, 2, 5};
  static rampart::dlp::DlpScanner* capped[] = {MakeScanner(kCaps[0]), MakeScanner(kCaps[1]), MakeScanner(kCaps[2])};
  if (size == 0) return 0;
  const auto kind = static_cast<rampart::dlp::ContentKind>(data[0] % 3);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto found = scanner->ScanText(text, "body", kind);
  const size_t cap_index = (data[0] / 3) % 3;
  const auto start = capped[cap_index]->ScanText(text, "body", kind);
  const size_t cap = kCaps[cap_index];
  if (start.size() != std::min(cap, found.size())) {
    std::fprintf(stderr, "capped at %zu: %zu findings of %zu\n", cap, start.size(), found.size());
    std::abort();
  }
  for (size_t i = 0; i < start.size(); ++i) {
    const auto& a = start[i];
    const auto& b = found[i];
    if (a.detector != b.detector || a.severity != b.severity || a.confidence != b.confidence ||
        a.location != b.location || a.offset != b.offset || a.masked_value != b.masked_value || a.reason != b.reason) {
      std::fprintf(stderr, "capped at %zu, finding %zu: %s at %s, uncapped %s at %s\n", cap, i, a.detector.c_str(),
                   a.location.c_str(), b.detector.c_str(), b.location.c_str());
      std::abort();
    }
  }
  for (const auto& f : found) {
    // A finding never carries the scanned text whole.
    // Labels such as "[PEM RSA PRIVATE KEY]" stand for a value; they are not it.
    if (f.masked_value.size() > 8 && f.masked_value[0] != '[' && text.find(f.masked_value) != std::string_view::npos &&
        f.masked_value.find('*') == std::string::npos) {
      std::fprintf(stderr, "unmasked value in %s: %s\n", f.detector.c_str(), f.masked_value.c_str());
      std::abort();
    }
  }
  return 0;
}

// The DLP scanner over arbitrary text read as JSON, a form or plain text:
// validators and the context reader see attacker-controlled bytes.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "agent/dlp/dlp_scanner.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static rampart::dlp::DlpScanner* scanner = [] {
    auto created = rampart::dlp::DlpScanner::Create();
    if (!created.ok()) std::abort();
    return created->release();
  }();
  if (size == 0) return 0;
  const auto kind = static_cast<rampart::dlp::ContentKind>(data[0] % 3);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto found = scanner->ScanText(text, "body", kind);
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

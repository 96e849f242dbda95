// Size limits on requests. Oversized URLs, header sets and bodies are how
// clients probe parser limits, smuggle past inspection caps, or exhaust
// memory; each limit breached is one finding (detector "attack.oversize").
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "agent/findings/finding.h"
#include "agent/http/message.h"

namespace rampart::attacks {

struct SizeLimits {
  size_t max_url_bytes = 8 * 1024;            // the request target, path and query
  size_t max_header_count = 100;
  size_t max_header_line_bytes = 8 * 1024;    // "name: value" of one header
  size_t max_header_bytes = 32 * 1024;        // all header lines together
  uint64_t max_body_bytes = 10 * 1024 * 1024; // on the wire, before content decoding, and after it
};

// One finding per breached limit; the masked value is the measured size,
// never content. A body that the parser truncated counts at its wire size.
std::vector<findings::Finding> CheckSizes(const http::Message& request, const SizeLimits& limits);

}  // namespace rampart::attacks

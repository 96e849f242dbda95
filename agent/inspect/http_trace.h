// `rampartctl policy trace --http FILE`: the node's detector families over
// the HTTP messages of one file, each finding with the verdict the node's
// policy gives it, decided as InspectionPipeline decides it (the family's
// verdict, or the detector's own for that finding; block when the verdict
// blocks and the severity reaches its minimum). The file is read as what a
// local server saw: its requests as read, its response as written.
// Nothing is blocked or recorded; the caller passes a setup built for the
// trace, so no replay or learning state is shared with live traffic.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/findings/finding.h"
#include "agent/inspect/pipeline.h"

namespace rampart::inspect {

struct TracedHttpFinding {
  findings::Finding finding;  // masked, as detectors report
  std::string family;         // Detector::family(): "dlp", "attacks", "jwt", ...
  FamilyVerdict verdict;      // what policy says for this finding
  bool blocks = false;        // the node would block the peer
  bool in_request = true;
};

struct HttpTraceResult {
  uint64_t messages = 0;  // HTTP messages parsed
  std::vector<TracedHttpFinding> findings;
};

// `content`: an HTTP/1.x or HTTP/2 request (or several), a response, or one
// request followed by its response.
HttpTraceResult TraceHttpExchange(InspectionSetup& setup, std::string_view content);

// Where the response begins when `content` holds a request followed by its
// response (the request's framing by Content-Length or chunked coding);
// npos when it does not.
size_t ResponseStart(std::string_view content);

}  // namespace rampart::inspect

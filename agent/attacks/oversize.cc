#include "agent/attacks/oversize.h"

#include <algorithm>
#include <string>

namespace rampart::attacks {
namespace {

findings::Finding Oversize(std::string location, uint64_t size, uint64_t limit, std::string_view what,
                           std::string_view unit) {
  findings::Finding finding;
  finding.detector = "attack.oversize";
  finding.severity = findings::Severity::kMedium;
  finding.confidence = 1.0;
  finding.masked_value = std::to_string(size) + " " + std::string(unit);
  finding.reason = std::string(what) + " of " + std::to_string(size) + " " + std::string(unit) +
                   " exceeds the limit of " + std::to_string(limit);
  finding.location = std::move(location);
  return finding;
}

bool IsPlainHeaderName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == ':';
  });
}

}  // namespace

std::vector<findings::Finding> CheckSizes(const http::Message& request, const SizeLimits& limits) {
  std::vector<findings::Finding> out;
  if (request.target.size() > limits.max_url_bytes) {
    out.push_back(Oversize("request.target", request.target.size(), limits.max_url_bytes, "URL", "bytes"));
  }
  if (request.headers.size() > limits.max_header_count) {
    out.push_back(
        Oversize("request.headers", request.headers.size(), limits.max_header_count, "header count", "headers"));
  }
  uint64_t header_bytes = 0;
  size_t index = 0;
  for (const http::Header& header : request.headers) {
    const uint64_t line = header.name.size() + 2 + header.value.size();  // "name: value"
    header_bytes += line + 2;                                            // CRLF
    if (line > limits.max_header_line_bytes) {
      const std::string name = IsPlainHeaderName(header.name) ? header.name : "#" + std::to_string(index);
      out.push_back(
          Oversize("request.header " + name, line, limits.max_header_line_bytes, "header line", "bytes"));
    }
    ++index;
  }
  if (header_bytes > limits.max_header_bytes) {
    out.push_back(Oversize("request.headers", header_bytes, limits.max_header_bytes, "headers", "bytes"));
  }
  const uint64_t body = std::max<uint64_t>(request.body.size(), request.body_wire_bytes);
  if (body > limits.max_body_bytes) {
    out.push_back(Oversize("request.body", body, limits.max_body_bytes, "body", "bytes"));
  }
  return out;
}

}  // namespace rampart::attacks

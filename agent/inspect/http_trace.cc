#include "agent/inspect/http_trace.h"

#include <cctype>
#include <chrono>
#include <optional>

#include "agent/http/connection_parser.h"

namespace rampart::inspect {
namespace {

// The parser's flows as InspectionPipeline maps a server's connection onto
// them: what it read (requests) is flow 1, what it wrote (responses) flow 0.
constexpr int kRequestFlow = 1;
constexpr int kResponseFlow = 0;

class Collector final : public http::MessageSink {
 public:
  void OnMessage(const http::Message& message) override { messages.push_back(message); }
  std::vector<http::Message> messages;
};

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// The end of a chunked body starting at `pos`, trailers included; npos when
// the content ends first or a chunk size is not hex.
size_t ChunkedEnd(std::string_view c, size_t pos) {
  while (true) {
    const size_t line_end = c.find('\n', pos);
    if (line_end == std::string_view::npos) return std::string_view::npos;
    uint64_t size = 0;
    size_t digits = 0;
    for (size_t i = pos; i < line_end && std::isxdigit(static_cast<unsigned char>(c[i])) && digits < 15; ++i, ++digits) {
      size = size * 16 + static_cast<uint64_t>(std::isdigit(static_cast<unsigned char>(c[i]))
                                                   ? c[i] - '0'
                                                   : std::tolower(static_cast<unsigned char>(c[i])) - 'a' + 10);
    }
    if (digits == 0) return std::string_view::npos;
    pos = line_end + 1;
    if (size == 0) break;
    if (size > c.size() - pos) return std::string_view::npos;
    pos += size;
    if (c.substr(pos, 2) == "\r\n") {
      pos += 2;
    } else if (c.substr(pos, 1) == "\n") {
      pos += 1;
    }
  }
  while (true) {  // trailer fields, up to an empty line
    const size_t line_end = c.find('\n', pos);
    if (line_end == std::string_view::npos) return std::string_view::npos;
    const std::string_view line = c.substr(pos, line_end - pos);
    pos = line_end + 1;
    if (line.empty() || line == "\r") return pos;
  }
}

}  // namespace

size_t ResponseStart(std::string_view c) {
  constexpr auto npos = std::string_view::npos;
  if (c.starts_with("HTTP/") || c.starts_with("PRI * HTTP/2")) return npos;
  const size_t crlf = c.find("\r\n\r\n"), lf = c.find("\n\n");
  if (crlf == npos && lf == npos) return npos;
  const size_t head_end = crlf != npos && (lf == npos || crlf < lf) ? crlf + 4 : lf + 2;
  std::string_view head = c.substr(0, head_end);
  bool chunked = false;
  std::optional<uint64_t> length;
  for (size_t pos = head.find('\n'); pos != npos && pos + 1 < head.size();) {
    const size_t next = head.find('\n', pos + 1);
    const std::string_view line = head.substr(pos + 1, (next == npos ? head.size() : next) - pos - 1);
    pos = next;
    const size_t colon = line.find(':');
    if (colon == npos) continue;
    const std::string name = Lower(Trim(line.substr(0, colon)));
    const std::string value = Lower(Trim(line.substr(colon + 1)));
    if (name == "transfer-encoding" && value.find("chunked") != std::string::npos) chunked = true;
    if (name == "content-length") {
      uint64_t n = 0;
      bool digits = !value.empty() && value.size() <= 18;
      for (char ch : value) digits = digits && std::isdigit(static_cast<unsigned char>(ch));
      if (!digits) return npos;
      for (char ch : value) n = n * 10 + static_cast<uint64_t>(ch - '0');
      length = n;
    }
  }
  size_t end = head_end;
  if (chunked) {
    end = ChunkedEnd(c, head_end);
  } else if (length) {
    end = *length <= c.size() - head_end ? head_end + *length : npos;
  }
  if (end == npos) return npos;
  while (end < c.size() && (c[end] == '\r' || c[end] == '\n')) ++end;
  return c.substr(end).starts_with("HTTP/") ? end : npos;
}

HttpTraceResult TraceHttpExchange(InspectionSetup& setup, std::string_view content) {
  Collector collector;
  http::ConnectionParser parser(collector, setup.parser_limits);
  const size_t response = ResponseStart(content);
  auto bytes = [](std::string_view s) { return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()); };
  if (content.starts_with("HTTP/")) {
    parser.OnData(kResponseFlow, 0, bytes(content));
  } else if (response == std::string_view::npos) {
    parser.OnData(kRequestFlow, 0, bytes(content));
  } else {
    parser.OnData(kRequestFlow, 0, bytes(content.substr(0, response)));
    parser.OnData(kResponseFlow, 0, bytes(content.substr(response)));
  }
  parser.OnEnd();

  HttpTraceResult out;
  out.messages = collector.messages.size();
  const capture::ConnectionInfo connection;  // no process, no 5-tuple: nothing to block
  MessageContext context{.connection = connection,
                         .server_side = true,
                         .remote_address = "",
                         .now = std::chrono::system_clock::now()};
  for (const http::Message& message : collector.messages) {
    std::vector<findings::Finding> all;
    for (const auto& detector : setup.detectors) {
      std::vector<findings::Finding> found;
      detector->Inspect(message, context, found);
      auto family_it = setup.verdicts.find(std::string(detector->family()));
      const FamilyVerdict family = family_it == setup.verdicts.end() ? FamilyVerdict{} : family_it->second;
      for (findings::Finding& f : found) {
        TracedHttpFinding traced;
        traced.verdict = detector->VerdictFor(f, family);
        traced.blocks = traced.verdict.block && f.severity >= traced.verdict.min_severity;
        traced.family = std::string(detector->family());
        traced.in_request = message.is_request;
        all.push_back(f);
        traced.finding = std::move(f);
        out.findings.push_back(std::move(traced));
      }
    }
    for (const auto& detector : setup.detectors) detector->AfterInspection(message, context, all);
  }
  return out;
}

}  // namespace rampart::inspect

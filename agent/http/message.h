// One parsed HTTP exchange half (request or response), the unit that the
// detectors inspect. HTTP/1.1 and HTTP/2 parsers both produce it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::http {

struct Header {
  std::string name;  // lower-cased
  std::string value;
};

struct Message {
  bool is_request = true;
  int protocol = 1;        // 1: HTTP/1.x, 2: HTTP/2
  uint32_t stream_id = 0;  // HTTP/2 stream; 0 for HTTP/1.x
  // Request line (or :method / :path / :authority; HTTP/1.x: the Host
  // header). On a response: the request it answers (HTTP/1.x: paired in
  // order; HTTP/2: same stream), or empty when that request is unknown
  // (capture began after it, or bytes were lost and pairing would be a guess).
  std::string method;
  std::string target;  // path and query as sent
  std::string authority;
  // Response status line (or :status)
  int status = 0;
  // In the order received; trailer fields (chunked or HTTP/2 trailers)
  // follow the header fields. HTTP/2 pseudo-header fields other than those
  // above (":scheme", ":protocol") are kept here; HTTP/2 cookie fields are
  // joined into one "cookie" header.
  std::vector<Header> headers;
  // The body after transfer decoding (chunked) and content decoding (gzip),
  // at most the parser's body cap.
  std::string body;
  // Bytes on the wire, before decoding (HTTP/1.x: chunk framing included;
  // HTTP/2: DATA payload without padding). A message delivered as soon as
  // its body reached the cap counts what had been read by then.
  uint64_t body_wire_bytes = 0;
  bool body_truncated = false;   // cap reached: `body` is a prefix
  // Some bytes of this message were never captured (the per-call cap or a
  // full ring buffer), or its end never came (connection over, stream
  // evicted, malformed framing): every finding it produces is marked truncated.
  bool capture_gap = false;

  // Empties the message for the next one on the same connection, keeping
  // the strings' and vectors' memory: a parser reuses one Message per
  // direction or stream.
  void Reset(bool request, int http_protocol, uint32_t stream) {
    is_request = request;
    protocol = http_protocol;
    stream_id = stream;
    method.clear();
    target.clear();
    authority.clear();
    status = 0;
    headers.clear();
    body.clear();
    body_wire_bytes = 0;
    body_truncated = false;
    capture_gap = false;
  }

  // First header named `name` (lower case), or nullptr.
  const std::string* FindHeader(std::string_view name) const {
    for (const auto& h : headers) {
      if (h.name == name) return &h.value;
    }
    return nullptr;
  }
};

// Receives parsed messages, in order per direction.
class MessageSink {
 public:
  virtual ~MessageSink() = default;
  virtual void OnMessage(const Message& message) = 0;
};

}  // namespace rampart::http

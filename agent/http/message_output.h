// The last step for every parsed message, shared by the HTTP/1 and HTTP/2
// parsers: undo its content codings within the caps, count it, hand it to
// the sink. Internal to agent/http.
#pragma once

#include <string>
#include <vector>

#include "agent/http/connection_parser.h"
#include "agent/http/content_coding.h"
#include "agent/http/message.h"

namespace rampart::http::internal {

class MessageOutput {
 public:
  MessageOutput(MessageSink& sink, const ParserLimits& limits, ParserStats& stats)
      : sink_(sink), limits_(limits), stats_(stats) {}

  // `raw_body` is the body after transfer decoding (de-chunked), at most
  // max_body_bytes; `raw_truncated` says bytes beyond were dropped. Sets
  // message.body (decoded when its codings allow: a body that fails to
  // decode, or uses a coding not supported, is delivered as sent, so a peer
  // that ignores Content-Encoding cannot hide a payload behind a false one),
  // delivers, and leaves `raw_body` empty.
  void Deliver(Message& message, std::string& raw_body, bool raw_truncated);

 private:
  MessageSink& sink_;
  const ParserLimits& limits_;
  ParserStats& stats_;
  std::vector<ContentCoding> codings_;
};

}  // namespace rampart::http::internal

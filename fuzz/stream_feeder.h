// Turns a fuzzer input into the calls the capture side makes on a
// connection parser: each control byte picks a flow, a gap or data, and a
// length, so the fuzzer explores arbitrary splits and losses as well as
// arbitrary bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "agent/http/connection_parser.h"

namespace rampart::fuzz {

inline void FeedStreams(http::ConnectionParser& parser, const uint8_t* data, size_t size, uint64_t start_offset0 = 0) {
  uint64_t offset[2] = {start_offset0, 0};
  size_t i = 0;
  while (i < size) {
    const uint8_t control = data[i++];
    const int flow = control & 1;
    const size_t length = (control >> 2) + 1;
    if ((control & 2) && (control >> 6) == 3) {  // a rare gap
      parser.OnGap(flow, offset[flow], length);
      offset[flow] += length;
      continue;
    }
    const size_t n = length < size - i ? length : size - i;
    parser.OnData(flow, offset[flow], std::span<const uint8_t>(data + i, n));
    offset[flow] += n;
    i += n;
  }
  parser.OnEnd();
}

class DiscardingSink final : public http::MessageSink {
 public:
  void OnMessage(const http::Message& message) override { bytes += message.body.size() + message.headers.size(); }
  size_t bytes = 0;
};

}  // namespace rampart::fuzz

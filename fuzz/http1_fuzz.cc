// HTTP/1 over arbitrary splits and gaps: must never crash, hang or read out
// of bounds, whatever the captured bytes are.
#include "fuzz/stream_feeder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rampart::fuzz::DiscardingSink sink;
  rampart::http::ParserLimits limits;
  limits.max_body_bytes = 4096;  // small caps reach the cap paths often
  limits.max_header_bytes = 2048;
  limits.max_decompressed_bytes = 8192;
  rampart::http::ConnectionParser parser(sink, limits);
  // Start both flows as HTTP/1 so the fuzzer spends its time past the sniffing.
  static const char kRequest[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  parser.OnData(0, 0, {reinterpret_cast<const uint8_t*>(kRequest), sizeof(kRequest) - 1});
  rampart::fuzz::FeedStreams(parser, data, size, sizeof(kRequest) - 1);
  return 0;
}

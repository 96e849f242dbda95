// HTTP/2 frames and HPACK after a valid client preface, over arbitrary
// splits and gaps.
#include "fuzz/stream_feeder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rampart::fuzz::DiscardingSink sink;
  rampart::http::ParserLimits limits;
  limits.max_body_bytes = 4096;
  limits.max_h2_streams = 8;
  limits.max_h2_buffered_bytes = 16384;
  rampart::http::ConnectionParser parser(sink, limits);
  static const char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  parser.OnData(0, 0, {reinterpret_cast<const uint8_t*>(kPreface), sizeof(kPreface) - 1});
  rampart::fuzz::FeedStreams(parser, data, size, sizeof(kPreface) - 1);
  return 0;
}

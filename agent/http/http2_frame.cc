#include "agent/http/http2_frame.h"

#include <algorithm>
#include <cstring>

namespace rampart::http::internal {

bool FrameFollowsRules(const FrameHeader& h) {
  switch (h.type) {
    case kData:
    case kHeaders:
    case kContinuation:
    case kPushPromise:
      return h.stream_id != 0;
    case kPriority:
      return h.stream_id != 0 && h.length == 5;
    case kRstStream:
      return h.stream_id != 0 && h.length == 4;
    case kSettings:
      return h.stream_id == 0 && h.length % 6 == 0 && (!(h.flags & kAck) || h.length == 0);
    case kPing:
      return h.stream_id == 0 && h.length == 8;
    case kGoaway:
      return h.stream_id == 0 && h.length >= 8;
    case kWindowUpdate:
      return h.length == 4;
    default:
      return true;  // unknown types are ignored (RFC 9113 5.5)
  }
}

bool IsPlausibleFrameHeader(const uint8_t* p) {
  const FrameHeader h = ParseFrameHeader(p);
  if (p[5] & 0x80) return false;  // reserved bit
  if (h.length > kDefaultMaxFrameSize || h.type > kContinuation) return false;
  static constexpr uint8_t kAllowedFlags[] = {
      kEndStream | kPadded,                             // DATA
      kEndStream | kEndHeaders | kPadded | kPriorityFlag,  // HEADERS
      0,                                                // PRIORITY
      0,                                                // RST_STREAM
      kAck,                                             // SETTINGS
      kEndHeaders | kPadded,                            // PUSH_PROMISE
      kAck,                                             // PING
      0,                                                // GOAWAY
      0,                                                // WINDOW_UPDATE
      kEndHeaders,                                      // CONTINUATION
  };
  if (h.flags & ~kAllowedFlags[h.type]) return false;
  return FrameFollowsRules(h);
}

bool IsServerPrefaceFrame(const FrameHeader& h) {
  return h.type == kSettings && h.stream_id == 0 && !(h.flags & kAck) && h.length % 6 == 0;
}

FirstBytes ClassifyFirstBytes(std::span<const uint8_t> bytes) {
  const size_t n = std::min(bytes.size(), kClientPreface.size());
  if (memcmp(bytes.data(), kClientPreface.data(), n) == 0) {
    return n == kClientPreface.size() ? FirstBytes::kClientPreface : FirstBytes::kNeedMore;
  }
  // Within the default maximum frame size the first length byte is 0 and
  // the second at most 0x40.
  if (bytes[0] != 0 || (bytes.size() > 1 && bytes[1] > 0x40)) return FirstBytes::kOther;
  if (bytes.size() < kFrameHeaderSize) return FirstBytes::kNeedMore;
  if (!IsPlausibleFrameHeader(bytes.data())) return FirstBytes::kOther;
  return IsServerPrefaceFrame(ParseFrameHeader(bytes.data())) ? FirstBytes::kServerPreface : FirstBytes::kFrame;
}

}  // namespace rampart::http::internal

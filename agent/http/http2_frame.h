// HTTP/2 framing constants (RFC 9113 4.1, 6) and the checks used to tell
// HTTP/2 bytes from anything else. Internal to agent/http.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace rampart::http::internal {

inline constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
inline constexpr size_t kFrameHeaderSize = 9;
// The default SETTINGS_MAX_FRAME_SIZE; frames picked up midway are only
// believed to be frames within it.
inline constexpr uint32_t kDefaultMaxFrameSize = 16384;

enum FrameType : uint8_t {
  kData = 0x0,
  kHeaders = 0x1,
  kPriority = 0x2,
  kRstStream = 0x3,
  kSettings = 0x4,
  kPushPromise = 0x5,
  kPing = 0x6,
  kGoaway = 0x7,
  kWindowUpdate = 0x8,
  kContinuation = 0x9,
};

enum FrameFlag : uint8_t {
  kEndStream = 0x1,
  kAck = 0x1,
  kEndHeaders = 0x4,
  kPadded = 0x8,
  kPriorityFlag = 0x20,
};

inline constexpr uint16_t kSettingsHeaderTableSize = 0x1;

struct FrameHeader {
  uint32_t length = 0;
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t stream_id = 0;
};

inline FrameHeader ParseFrameHeader(const uint8_t* p) {
  FrameHeader h;
  h.length = (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
  h.type = p[3];
  h.flags = p[4];
  h.stream_id = ((uint32_t{p[5]} << 24) | (uint32_t{p[6]} << 16) | (uint32_t{p[7]} << 8) | p[8]) & 0x7fffffffu;
  return h;
}

// The rules of RFC 9113 section 6 that do not depend on connection state:
// stream 0 or not, fixed payload sizes. A frame that breaks one is a
// connection error.
bool FrameFollowsRules(const FrameHeader& h);

// Whether 9 bytes read from an unknown position are believable as a frame
// header: a known type, only that type's flags, the reserved bit clear, a
// length within the default maximum, and FrameFollowsRules.
bool IsPlausibleFrameHeader(const uint8_t* p);

// The server's connection preface: a SETTINGS frame, not an ACK, on stream 0.
bool IsServerPrefaceFrame(const FrameHeader& h);

enum class FirstBytes : uint8_t {
  kNeedMore,       // too few bytes to tell
  kClientPreface,  // "PRI * HTTP/2.0..."
  kServerPreface,  // a SETTINGS frame header
  kFrame,          // another plausible frame header
  kOther,          // not HTTP/2 framing (maybe HTTP/1, maybe nothing)
};

// Classifies the first bytes of a direction.
FirstBytes ClassifyFirstBytes(std::span<const uint8_t> bytes);

}  // namespace rampart::http::internal

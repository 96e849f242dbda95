// Small text decoding pieces shared by the parsers of untrusted input
// (attack decoding, JSON walkers, DLP form decoding, JWT JSON): header-only,
// so the detector libraries need no link dependency for them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rampart::text {

// The value of one hex digit, or -1.
inline int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// `digits` hex digits of `in` at `pos`; false (value unspecified) when any
// is missing or not hex.
inline bool ReadHex(std::string_view in, size_t pos, size_t digits, uint32_t& value) {
  if (pos + digits > in.size()) return false;
  value = 0;
  for (size_t i = 0; i < digits; ++i) {
    const int v = HexValue(in[pos + i]);
    if (v < 0) return false;
    value = value * 16 + static_cast<uint32_t>(v);
  }
  return true;
}

// UTF-8 of one code point; surrogates and values above U+10FFFF, which
// UTF-8 cannot carry, become U+FFFD.
inline void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace rampart::text

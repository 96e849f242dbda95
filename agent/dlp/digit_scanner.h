// The prefilter patterns anchored on digits, matched by hand instead of by
// Vectorscan. Their expressions have no literal to anchor on, so Vectorscan
// runs them as automata over every byte (0.6-1.2 GB/s together on API
// bodies); here one SIMD search jumps from digit run to digit run and only
// the runs are read, sixteen bytes at a time. The block pass uses AVX2 where
// the CPU has it, SSE2 otherwise (simd.h).
//
// What is found matches what the recognizers accept from the expressions in
// prefilter.cc:
//   kCardDigits          \d(?:[ \-]?\d){12,18}      a whole run of digits with
//                                                   single separators, 13+ digits
//   kSsnSeparated        \d{3}[ \-]\d{2}[ \-]\d{4}  at the start of a 3-digit group
//   kIban                [A-Z]{2}\d{2} ?[A-Z0-9]{4}
//   kPhoneInternational  \+[1-9][\d \-.()]{6,22}
// and one pattern anchored on a byte rather than on digits, found in the
// same pass:
//   kEmail               [A-Za-z0-9._%+\-]@[A-Za-z0-9]
// In Vectorscan every address was a match callback and the pattern cost a
// body full of addresses a fifth of its prefilter time; here it is one
// compare per 32 bytes and a two-byte check per '@'.
// Matches of the expressions that start inside a digit group are not
// reported: the recognizers reject them (a number glued to a digit), and
// tests/dlp/prefilter_test.cc checks that the detections are the same.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <vector>

#include "agent/dlp/prefilter.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace rampart::dlp {

struct DigitPatterns {
  bool card = false;
  bool ssn = false;
  bool iban = false;
  bool phone = false;
  bool email = false;
  bool any() const { return card || ssn || iban || phone || email; }
};

// A byte of an email address's local part as the email expression and its
// recognizer read it: [A-Za-z0-9._%+\-]. The scanner marks a candidate by
// it and the recognizer reads the address back by it, so they must agree.
inline bool IsEmailLocalChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= '0' && u <= '9') || (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || c == '.' || c == '_' ||
         c == '%' || c == '+' || c == '-';
}

// Where the run of digits in `text` from `from` ends, at most `limit`; read
// sixteen bytes at a time, since runs end at unpredictable places and a
// byte loop mispredicts at each end. Inline: the scanner and the card
// recognizer call it for every digit group.
inline size_t DigitRunEnd(std::string_view text, size_t from, size_t limit) {
  limit = std::min(limit, text.size());
  size_t i = from;
#if defined(__SSE2__)
  while (i < limit && i + 16 <= text.size()) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i));
    // Bytes in '0'..'9': (byte - ('0' + 0x80)) below -128 + 10, signed.
    const __m128i digit = _mm_cmplt_epi8(_mm_sub_epi8(v, _mm_set1_epi8(static_cast<char>('0' + 0x80))),
                                         _mm_set1_epi8(static_cast<char>(0x80 + 10)));
    const unsigned other = ~static_cast<unsigned>(_mm_movemask_epi8(digit)) & 0xFFFFu;
    if (other != 0) return std::min(limit, i + static_cast<size_t>(__builtin_ctz(other)));
    i += 16;
  }
#endif
  while (i < limit && static_cast<unsigned char>(text[i] - '0') < 10) ++i;
  return i;
}

// Appends the matches of the enabled patterns in `text`, ordered by start,
// overlapping matches of one pattern merged into one.
void ScanDigitPatterns(std::string_view text, const DigitPatterns& enabled, std::vector<PrefilterMatch>& out);

}  // namespace rampart::dlp

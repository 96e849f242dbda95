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
// Matches of the expressions that start inside a digit group are not
// reported: the recognizers reject them (a number glued to a digit), and
// tests/dlp/prefilter_test.cc checks that the detections are the same.
#pragma once

#include <string_view>
#include <vector>

#include "agent/dlp/prefilter.h"

namespace rampart::dlp {

struct DigitPatterns {
  bool card = false;
  bool ssn = false;
  bool iban = false;
  bool phone = false;
  bool any() const { return card || ssn || iban || phone; }
};

// Appends the matches of the enabled patterns in `text`, ordered by start,
// overlapping matches of one pattern merged into one.
void ScanDigitPatterns(std::string_view text, const DigitPatterns& enabled, std::vector<PrefilterMatch>& out);

}  // namespace rampart::dlp

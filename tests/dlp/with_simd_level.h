// Runs a test's scans at one SIMD level (agent/dlp/simd.h), restoring the
// level in use afterwards: the SSE2 and AVX2 block passes are each checked
// against the same references, whichever the CPU would choose.
#pragma once

#include "agent/dlp/simd.h"

namespace rampart::dlp {

class WithSimdLevel {
 public:
  explicit WithSimdLevel(SimdLevel level) : saved_(ActiveSimdLevel()) { taken_ = SetSimdLevel(level) == level; }
  ~WithSimdLevel() { SetSimdLevel(saved_); }
  WithSimdLevel(const WithSimdLevel&) = delete;
  WithSimdLevel& operator=(const WithSimdLevel&) = delete;

  // False when the level asked for is not available: the CPU does not run
  // it, or the build has no SSE2 (portable fallbacks only).
  bool taken() const { return taken_; }

 private:
  SimdLevel saved_;
  bool taken_ = false;
};

}  // namespace rampart::dlp

// HyperLogLog (Flajolet et al. 2007) for counting distinct object ids per
// identity and endpoint in bounded memory. Callers add 64-bit hashes
// (hashing.h), never the ids themselves.
//
// Small sets are counted exactly: up to 2^p / 8 distinct values the sketch
// keeps a sorted list of 32-bit hash prefixes (at most half the memory of the
// registers), so the common client that touches a handful of ids costs a few
// bytes and is counted without error. Past that it switches to 2^p one-byte
// registers, with the usual standard error of 1.04 / sqrt(2^p): 3.25% at
// precision 10, 1.63% at 12 (tests/apis/hyperloglog_test.cc measures it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rampart::apis {

class HyperLogLog {
 public:
  static constexpr int kMinPrecision = 4;
  static constexpr int kMaxPrecision = 16;

  // `precision` is clamped to [kMinPrecision, kMaxPrecision].
  explicit HyperLogLog(int precision = 10);

  // Adds one value by its hash. Amortized O(1) in register mode; O(log n)
  // search plus a move of at most 2^p / 2 bytes in the exact mode.
  void Add(uint64_t hash);

  // The estimated number of distinct hashes added. Exact (up to 32-bit hash
  // collisions) while small; recomputed in O(2^p) only after a register grew.
  uint64_t Estimate() const;

  // Forgets everything and releases the registers.
  void Clear();

  int precision() const { return precision_; }
  bool exact() const { return registers_.empty(); }
  // Heap bytes held: at most 2^p, whatever was added.
  size_t MemoryBytes() const;

 private:
  void ToRegisters();
  void SetRegister(uint32_t index, uint8_t rank);

  int precision_;
  std::vector<uint32_t> exact_;     // sorted 32-bit hash prefixes, while exact()
  std::vector<uint8_t> registers_;  // 2^p ranks once past the exact limit
  mutable uint64_t cached_estimate_ = 0;
  mutable bool stale_ = false;
};

}  // namespace rampart::apis

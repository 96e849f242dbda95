#include "agent/apis/hyperloglog.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace rampart::apis {

HyperLogLog::HyperLogLog(int precision) : precision_(std::clamp(precision, kMinPrecision, kMaxPrecision)) {}

void HyperLogLog::Add(uint64_t hash) {
  if (!registers_.empty()) {
    const uint32_t index = static_cast<uint32_t>(hash >> (64 - precision_));
    // The guard bit bounds the rank at 64 - p + 1 when the rest is all zero.
    const uint64_t rest = (hash << precision_) | (uint64_t{1} << (precision_ - 1));
    SetRegister(index, static_cast<uint8_t>(std::countl_zero(rest) + 1));
    return;
  }
  const uint32_t prefix = static_cast<uint32_t>(hash >> 32);
  auto it = std::lower_bound(exact_.begin(), exact_.end(), prefix);
  if (it != exact_.end() && *it == prefix) return;
  exact_.insert(it, prefix);
  if (exact_.size() > (size_t{1} << precision_) / 8) ToRegisters();
}

void HyperLogLog::ToRegisters() {
  registers_.assign(size_t{1} << precision_, 0);
  // A 32-bit prefix holds the index and 32 - p bits of the rest: ranks past
  // 32 - p (probability 2^-(32-p) per value) are cut to 32 - p + 1.
  for (uint32_t prefix : exact_) {
    const uint32_t index = prefix >> (32 - precision_);
    const uint32_t rest = (prefix << precision_) | (uint32_t{1} << (precision_ - 1));
    SetRegister(index, static_cast<uint8_t>(std::countl_zero(rest) + 1));
  }
  exact_.clear();
  exact_.shrink_to_fit();
  stale_ = true;
}

void HyperLogLog::SetRegister(uint32_t index, uint8_t rank) {
  if (rank > registers_[index]) {
    registers_[index] = rank;
    stale_ = true;
  }
}

uint64_t HyperLogLog::Estimate() const {
  if (registers_.empty()) return exact_.size();
  if (!stale_) return cached_estimate_;
  const double m = static_cast<double>(registers_.size());
  double sum = 0;
  size_t zeros = 0;
  for (uint8_t r : registers_) {
    sum += std::ldexp(1.0, -r);
    if (r == 0) ++zeros;
  }
  const double alpha = 0.7213 / (1.0 + 1.079 / m);
  double estimate = alpha * m * m / sum;
  // Small range: linear counting over the empty registers is more accurate.
  // No large-range correction: with 64-bit hashes collisions do not matter.
  if (estimate <= 2.5 * m && zeros > 0) estimate = m * std::log(m / static_cast<double>(zeros));
  cached_estimate_ = static_cast<uint64_t>(std::llround(estimate));
  stale_ = false;
  return cached_estimate_;
}

void HyperLogLog::Clear() {
  exact_.clear();
  exact_.shrink_to_fit();
  registers_.clear();
  registers_.shrink_to_fit();
  stale_ = false;
  cached_estimate_ = 0;
}

size_t HyperLogLog::MemoryBytes() const { return exact_.capacity() * sizeof(uint32_t) + registers_.capacity(); }

}  // namespace rampart::apis

#include "agent/sync/reconnect_backoff.h"

#include <algorithm>

namespace rampart::sync {

ReconnectBackoff::ReconnectBackoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed)
    : initial_(initial), max_(std::max(initial, max)), current_(initial), rng_(seed) {}

std::chrono::milliseconds ReconnectBackoff::Draw() {
  std::uniform_int_distribution<long> jitter(current_.count() / 2, current_.count());
  return std::chrono::milliseconds(jitter(rng_));
}

std::chrono::milliseconds ReconnectBackoff::Next() {
  const auto wait = Draw();
  current_ = std::min(current_ * 2, max_);
  return wait;
}

}  // namespace rampart::sync

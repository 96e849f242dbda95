// How long an agent waits before it reconnects to the control plane: jittered
// exponential backoff. The wait is drawn uniformly from [current/2, current],
// then current doubles, up to a cap; a stream that stayed up resets it. The
// jitter keeps a fleet that lost its control plane at the same moment from
// reconnecting in step when it comes back (the thundering herd a fixed
// schedule would make); the lower bound of half keeps the wait growing.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace rampart::sync {

class ReconnectBackoff {
 public:
  ReconnectBackoff(std::chrono::milliseconds initial, std::chrono::milliseconds max,
                   uint64_t seed = std::random_device{}());

  // The wait before the next attempt; the one after will be drawn from twice
  // the range (up to max).
  std::chrono::milliseconds Next();
  // A wait from the current range that does not grow it: for a retry that is
  // not this connection's failure (the event stream waiting for the sync
  // stream's channel).
  std::chrono::milliseconds Draw();
  // A healthy stream: the next wait is drawn from the initial range again.
  void Reset() { current_ = initial_; }
  // The top of the range the next wait is drawn from.
  std::chrono::milliseconds current() const { return current_; }

 private:
  const std::chrono::milliseconds initial_;
  const std::chrono::milliseconds max_;
  std::chrono::milliseconds current_;
  std::mt19937_64 rng_;
};

}  // namespace rampart::sync

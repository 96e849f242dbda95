// Paces policy pushes across the whole fleet, so that one apply does not make
// every stream write at the same instant: `burst` writes at once, then one
// every 1/per_second (the generic cell rate algorithm, used as a scheduler:
// nobody is refused, each caller is given its turn). Thread-safe; turns are
// handed out in call order.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>

namespace rampart::cp {

// 4,000 pushes a second after a burst of 400: 1,000 agents all have a change
// within 150 ms of its publication, 10,000 within 2.4 s, and the server never
// writes more than 400 bundles in the same instant.
inline constexpr double kDefaultPushesPerSecond = 4000;

class PushPacer {
 public:
  using Clock = std::chrono::steady_clock;

  // per_second <= 0: no pacing. burst 0 counts as 1.
  PushPacer(double per_second, size_t burst);

  // Reserves the next turn for a caller arriving at `now` and returns when it
  // is: `now` itself while the burst lasts.
  Clock::time_point Reserve(Clock::time_point now);
  // Reserve(Clock::now()), then sleeps until that turn.
  void Wait();

 private:
  const Clock::duration interval_;   // between turns at the steady rate
  const Clock::duration tolerance_;  // how far ahead of the rate a burst may run
  std::mutex mu_;
  Clock::time_point next_{};  // the turn the rate alone would give the next caller
};

}  // namespace rampart::cp

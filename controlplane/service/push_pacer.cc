#include "controlplane/service/push_pacer.h"

#include <algorithm>
#include <thread>

namespace rampart::cp {
namespace {

PushPacer::Clock::duration IntervalOf(double per_second) {
  if (per_second <= 0) return PushPacer::Clock::duration::zero();
  return std::chrono::duration_cast<PushPacer::Clock::duration>(std::chrono::duration<double>(1.0 / per_second));
}

}  // namespace

PushPacer::PushPacer(double per_second, size_t burst)
    : interval_(IntervalOf(per_second)), tolerance_(interval_ * static_cast<long>(std::max<size_t>(burst, 1) - 1)) {}

PushPacer::Clock::time_point PushPacer::Reserve(Clock::time_point now) {
  if (interval_ == Clock::duration::zero()) return now;
  std::lock_guard lock(mu_);
  const Clock::time_point turn = std::max(now, next_ - tolerance_);
  next_ = std::max(next_, now) + interval_;
  return turn;
}

void PushPacer::Wait() {
  const Clock::time_point turn = Reserve(Clock::now());
  std::this_thread::sleep_until(turn);
}

}  // namespace rampart::cp

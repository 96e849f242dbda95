// How the kernel schedules the capture reader: the one thread that drains the
// capture ring buffer and runs inspection and blocking on what it reads
// (docs/capture.md, "Reader scheduling"). Under CPU load a reader at normal
// priority waits for a CPU, and the detection-to-block latency (goal: p99 at
// most 5 ms, BENCHMARKS.md) grows with the wait. Two raised modes remove the
// wait:
// - high (the default): SCHED_OTHER at nice -20. The fair scheduler still
//   places the thread, on an idle CPU when there is one, and a nice -20
//   task's wakeup preempts the nice 0 task on a busy one.
// - realtime: SCHED_FIFO 1, the lowest real-time priority. As short a wait,
//   but a real-time thread wakes on the CPU it last ran on and preempts
//   whatever runs there, an idle CPU beside it or not: on a host whose
//   captured server is busy, that is the server (BENCHMARKS.md, TLS capture).
// A raised thread that has a lot to do would take its CPU from everything
// else, so the reader keeps to a CPU budget (ReaderBudget) and steps down to
// normal scheduling while it is over it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace rampart::capture {

enum class ReaderScheduling { kHigh, kRealtime, kNormal };
std::string_view ReaderSchedulingName(ReaderScheduling scheduling);  // "high", "realtime", "normal"
absl::StatusOr<ReaderScheduling> ParseReaderScheduling(std::string_view text);

// What a raised (high or real-time) reader may use. The window bounds the
// share of one CPU (200 ms in 1 s: 20%; the reader needs about 3% at hundreds
// of requests per second, BENCHMARKS.md), the drain bound how long it holds a
// CPU at once without sleeping (10 ms: a few scheduler time slices; a 1 MiB
// body's DLP scan takes about 1 ms), so other tasks on that CPU wait at most
// that long.
struct ReaderBudgetLimits {
  std::chrono::nanoseconds window = std::chrono::seconds(1);
  std::chrono::nanoseconds window_cpu = std::chrono::milliseconds(200);
  std::chrono::nanoseconds drain_cpu = std::chrono::milliseconds(10);
};

// The budget's bookkeeping, without clocks or syscalls: the caller passes the
// monotonic time and the thread's CPU time (CLOCK_THREAD_CPUTIME_ID) and
// applies the step it returns. The reader's life is a loop of drains (the
// records one ring-buffer poll hands over, then the sleep until the next
// poll). Windows are consecutive, `window` long, starting at construction.
//
// - Raised, the reader steps down (kDemote) as soon as one drain has used
//   more than `drain_cpu`, or the window so far more than `window_cpu`;
//   during a drain too, not only after it, so neither bound is overrun by
//   more than the time between two records.
// - Normal, it returns to the raised mode (kPromote) at the end of a window
//   it spent wholly at normal scheduling within both bounds: at least one
//   whole window after it stepped down, and never while its load lasts.
class ReaderBudget {
 public:
  using Nanos = std::chrono::nanoseconds;
  enum class Step { kStay, kDemote, kPromote };

  // Starts raised, at `now` with the thread's CPU time `cpu`.
  ReaderBudget(ReaderBudgetLimits limits, Nanos now, Nanos cpu);

  // Before each record of a drain. `cpu` reads the thread's CPU time; it is
  // called only once the time since the drain began (an upper bound of the
  // CPU it used) could exceed what is left of a bound, so most records cost
  // one monotonic clock read.
  Step InDrain(Nanos now, const std::function<Nanos()>& cpu);
  // After each drain (the poll returned and its records were handled).
  Step AfterDrain(Nanos now, Nanos cpu);

  bool raised() const { return raised_; }
  uint64_t demotions() const { return demotions_; }
  // Why the last step down: "one drain used 12.3 ms of CPU (limit 10 ms)".
  const std::string& reason() const { return reason_; }

 private:
  // Why a drain's CPU, or the window's with it, is over its bound; empty
  // when within both.
  std::string OverBudget(Nanos drain, Nanos window) const;
  Step Demote(std::string reason);
  Nanos WindowLeft() const;  // CPU time the window and the drain still allow

  ReaderBudgetLimits limits_;
  bool raised_ = true;
  uint64_t demotions_ = 0;
  std::string reason_;
  Nanos window_start_;
  Nanos window_used_{0};      // CPU of the drains that ended in this window
  Nanos window_max_drain_{0};
  bool window_all_normal_ = false;  // the whole window at normal scheduling so far
  Nanos cpu_mark_;                  // the thread's CPU time when the last drain ended
  bool in_drain_ = false;
  Nanos drain_start_{0};  // monotonic time of the drain's first record
  Nanos check_at_{0};     // time since drain_start_ after which InDrain reads the CPU clock
};

// Applies ReaderScheduling and the budget to the thread that calls Start(),
// and reports where it stands to any thread.
class ReaderScheduler {
 public:
  struct Status {
    ReaderScheduling scheduling = ReaderScheduling::kNormal;
    std::string reason;  // why normal; empty while raised as asked
    uint64_t demotions = 0;
  };
  // Sets the calling thread's scheduling: kHigh SCHED_OTHER at nice -20,
  // kRealtime SCHED_FIFO 1, kNormal SCHED_OTHER at nice 0. Returns 0 or an
  // errno. Tests inject their own.
  using SetPolicy = std::function<int(ReaderScheduling)>;
  static int SetCurrentThreadPolicy(ReaderScheduling scheduling);

  explicit ReaderScheduler(ReaderScheduling wanted, ReaderBudgetLimits limits = {},
                           SetPolicy set_policy = &ReaderScheduler::SetCurrentThreadPolicy);

  // On the reader thread, before it reads: names it (kThreadName) and raises
  // it as asked. A refusal (no CAP_SYS_NICE, a seccomp filter, systemd's
  // RestrictRealtime, RLIMIT_RTPRIO or RLIMIT_NICE in a container) logs one
  // warning and leaves the reader at normal scheduling for good; it never
  // fails the capture.
  void Start();
  // Hot path, before each record: one monotonic clock read while raised.
  void BeforeRecord();
  void AfterDrain();

  Status status() const;

  static constexpr char kThreadName[] = "rp-capture";  // /proc/PID/task/TID/comm
  static constexpr int kHighNice = -20;                // kHigh's nice value

 private:
  void Apply(ReaderBudget::Step step);
  std::string Refusal(int err) const;  // why the raised mode was refused, with what it needs
  void SetReason(std::string reason);

  const ReaderScheduling wanted_;
  const ReaderBudgetLimits limits_;
  SetPolicy set_policy_;
  std::unique_ptr<ReaderBudget> budget_;  // only while the budget applies (raised as asked)
  std::atomic<bool> raised_{false};
  std::atomic<uint64_t> demotions_{0};
  mutable std::mutex mu_;
  std::string reason_;  // guarded by mu_
};

}  // namespace rampart::capture

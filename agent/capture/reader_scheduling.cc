#include "agent/capture/reader_scheduling.h"

#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "agent/common/errors.h"
#include "agent/common/logging.h"
#include "agent/common/strings.h"

namespace rampart::capture {

std::string_view ReaderSchedulingName(ReaderScheduling scheduling) {
  switch (scheduling) {
    case ReaderScheduling::kHigh: return "high";
    case ReaderScheduling::kRealtime: return "realtime";
    case ReaderScheduling::kNormal: return "normal";
  }
  return "normal";
}

absl::StatusOr<ReaderScheduling> ParseReaderScheduling(std::string_view text) {
  for (ReaderScheduling s : {ReaderScheduling::kHigh, ReaderScheduling::kRealtime, ReaderScheduling::kNormal}) {
    if (ReaderSchedulingName(s) == text) return s;
  }
  return absl::InvalidArgumentError(
      rampart::StrCat("bad reader scheduling \"", text, "\" (expected high, realtime or normal)"));
}

namespace {

std::string Millis(std::chrono::nanoseconds t) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f ms", static_cast<double>(t.count()) / 1e6);
  return text;
}

}  // namespace

ReaderBudget::ReaderBudget(ReaderBudgetLimits limits, Nanos now, Nanos cpu)
    : limits_(limits), window_start_(now), cpu_mark_(cpu) {}

ReaderBudget::Nanos ReaderBudget::WindowLeft() const {
  return std::max(Nanos(0), limits_.window_cpu - window_used_);
}

std::string ReaderBudget::OverBudget(Nanos drain, Nanos window) const {
  if (drain > limits_.drain_cpu) {
    return rampart::StrCat("one drain used ", Millis(drain), " of CPU (limit ", Millis(limits_.drain_cpu), ")");
  }
  if (window > limits_.window_cpu) {
    return rampart::StrCat(Millis(window), " of CPU within ", Millis(limits_.window), " (limit ",
                           Millis(limits_.window_cpu), ")");
  }
  return "";
}

ReaderBudget::Step ReaderBudget::Demote(std::string reason) {
  raised_ = false;
  ++demotions_;
  reason_ = std::move(reason);
  return Step::kDemote;
}

ReaderBudget::Step ReaderBudget::InDrain(Nanos now, const std::function<Nanos()>& cpu) {
  if (!raised_) return Step::kStay;
  if (!in_drain_) {
    in_drain_ = true;
    drain_start_ = now;
    check_at_ = std::min(limits_.drain_cpu, WindowLeft());
  }
  // The drain cannot have used more CPU than the time since it began: no
  // need to read the (slower) CPU clock before that time could reach a bound.
  if (now - drain_start_ <= check_at_) return Step::kStay;
  const Nanos used = cpu() - cpu_mark_;
  if (std::string over = OverBudget(used, window_used_ + used); !over.empty()) return Demote(std::move(over));
  check_at_ = (now - drain_start_) + std::min(limits_.drain_cpu - used, WindowLeft() - used);
  return Step::kStay;
}

ReaderBudget::Step ReaderBudget::AfterDrain(Nanos now, Nanos cpu) {
  const Nanos drain = cpu - cpu_mark_;
  cpu_mark_ = cpu;
  in_drain_ = false;
  window_used_ += drain;
  window_max_drain_ = std::max(window_max_drain_, drain);
  Step step = Step::kStay;
  if (raised_) {
    if (std::string over = OverBudget(drain, window_used_); !over.empty()) step = Demote(std::move(over));
  }
  if (now - window_start_ >= limits_.window) {
    if (!raised_ && window_all_normal_ && window_used_ <= limits_.window_cpu &&
        window_max_drain_ <= limits_.drain_cpu) {
      raised_ = true;
      step = Step::kPromote;
    }
    window_start_ = now;
    window_used_ = Nanos(0);
    window_max_drain_ = Nanos(0);
    window_all_normal_ = !raised_;
  }
  return step;
}

namespace {

std::chrono::nanoseconds ReadClock(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}
std::chrono::nanoseconds Now() { return ReadClock(CLOCK_MONOTONIC); }
std::chrono::nanoseconds ThreadCpu() { return ReadClock(CLOCK_THREAD_CPUTIME_ID); }

}  // namespace

namespace {

// struct sched_attr as of Linux 3.14 (SCHED_ATTR_SIZE_VER0), the fields this
// file sets; the kernel's uapi header would clash with glibc's <sched.h>.
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime, sched_deadline, sched_period;  // SCHED_DEADLINE only
};
static_assert(sizeof(SchedAttr) == 48);
constexpr uint64_t kSchedFlagResetOnFork = 0x01;

}  // namespace

int ReaderScheduler::SetCurrentThreadPolicy(ReaderScheduling scheduling) {
  // sched_setattr sets the policy and the nice value in one call, so the
  // unit's seccomp filter lets one call through (glibc 2.36 has no wrapper).
  // It acts on one thread, the caller's. SCHED_RESET_ON_FORK: a child of
  // this thread starts at normal.
  SchedAttr attr{};
  attr.size = sizeof(attr);
  attr.sched_flags = kSchedFlagResetOnFork;
  switch (scheduling) {
    case ReaderScheduling::kRealtime:
      attr.sched_policy = SCHED_FIFO;
      attr.sched_priority = 1;
      break;
    case ReaderScheduling::kHigh:
      attr.sched_policy = SCHED_OTHER;
      attr.sched_nice = kHighNice;
      break;
    case ReaderScheduling::kNormal:
      attr.sched_policy = SCHED_OTHER;
      break;
  }
  return syscall(SYS_sched_setattr, 0, &attr, 0) == 0 ? 0 : errno;
}

ReaderScheduler::ReaderScheduler(ReaderScheduling wanted, ReaderBudgetLimits limits, SetPolicy set_policy)
    : wanted_(wanted), limits_(limits), set_policy_(std::move(set_policy)) {
  SetReason(wanted == ReaderScheduling::kNormal ? "--capture-reader-scheduling=normal" : "not started");
}

std::string ReaderScheduler::Refusal(int err) const {
  const bool realtime = wanted_ == ReaderScheduling::kRealtime;
  return rampart::StrCat(std::string(ErrnoError(err, realtime ? "SCHED_FIFO refused" : "nice -20 refused").message()),
                         " (needs CAP_SYS_NICE and a seccomp filter that allows sched_setattr",
                         realtime ? "; systemd: RestrictRealtime=no)" : ")");
}

void ReaderScheduler::SetReason(std::string reason) {
  std::lock_guard lock(mu_);
  reason_ = std::move(reason);
}

void ReaderScheduler::Start() {
  pthread_setname_np(pthread_self(), kThreadName);
  if (wanted_ == ReaderScheduling::kNormal) return;
  if (int err = set_policy_(wanted_); err != 0) {
    SetReason(Refusal(err));
    Logger("capture")->warn("the capture reader runs with normal scheduling: {}; under CPU load, inspection and "
                            "blocking wait for a CPU",
                            status().reason);
    return;
  }
  budget_ = std::make_unique<ReaderBudget>(limits_, Now(), ThreadCpu());
  raised_ = true;
  SetReason("");
}

void ReaderScheduler::BeforeRecord() {
  if (!budget_ || !budget_->raised()) return;
  Apply(budget_->InDrain(Now(), &ThreadCpu));
}

void ReaderScheduler::AfterDrain() {
  if (!budget_) return;
  Apply(budget_->AfterDrain(Now(), ThreadCpu()));
}

void ReaderScheduler::Apply(ReaderBudget::Step step) {
  if (step == ReaderBudget::Step::kDemote) {
    if (int err = set_policy_(ReaderScheduling::kNormal); err != 0) {
      // Lowering one's own priority needs no privilege; only a seccomp
      // filter that refuses the call altogether could, and then raising
      // would have been refused too.
      Logger("capture")->error("{}", std::string(ErrnoError(err, "capture reader: back to SCHED_OTHER").message()));
    }
    raised_ = false;
    const uint64_t n = ++demotions_;
    SetReason("over its CPU budget: " + budget_->reason());
    // The first step down is news; later ones are counted in the status.
    auto log = Logger("capture");
    log->log(n == 1 ? spdlog::level::info : spdlog::level::debug,
             "the capture reader steps down to normal scheduling, over its CPU budget: {} (step {})",
             budget_->reason(), n);
  } else if (step == ReaderBudget::Step::kPromote) {
    if (int err = set_policy_(wanted_); err != 0) {
      budget_.reset();
      SetReason(rampart::StrCat("on return from normal: ", Refusal(err)));
      Logger("capture")->warn("the capture reader stays at normal scheduling: {}", status().reason);
      return;
    }
    raised_ = true;
    SetReason("");
  }
}

ReaderScheduler::Status ReaderScheduler::status() const {
  std::lock_guard lock(mu_);
  return Status{.scheduling = raised_ ? wanted_ : ReaderScheduling::kNormal,
                .reason = reason_,
                .demotions = demotions_};
}

}  // namespace rampart::capture

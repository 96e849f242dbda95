// The capture reader's CPU budget: raised (high or real-time) while it uses
// little, normal as soon as one drain or one window uses too much, raised
// again after a whole window under budget. Clocks are injected: each test says what time
// it is and how much CPU the thread has used.
#include "agent/capture/reader_scheduling.h"

#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rampart::capture {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using Step = ReaderBudget::Step;
using Nanos = std::chrono::nanoseconds;

// 1 s windows, 200 ms of CPU per window, 10 ms per drain: the defaults.
constexpr ReaderBudgetLimits kLimits{};

// A reader's life on injected clocks: drains separated by sleeps.
struct Reader {
  ReaderBudget budget{kLimits, Nanos(0), Nanos(0)};
  Nanos now{0};
  Nanos cpu{0};
  int cpu_reads = 0;
  std::vector<Step> steps;  // every step other than kStay, in order

  void Note(Step s) {
    if (s != Step::kStay) steps.push_back(s);
  }
  // One drain of `records` records, each using `each` of CPU and, beside it,
  // `waiting` of wall time off the CPU (a lock, a higher-priority thread);
  // then the poll's sleep. Returns the step AfterDrain took.
  Step Drain(int records, Nanos each, Nanos waiting = Nanos(0), Nanos sleep = 2ms) {
    for (int i = 0; i < records; ++i) {
      Note(budget.InDrain(now, [&] {
        ++cpu_reads;
        return cpu;
      }));
      now += each + waiting;
      cpu += each;
    }
    const Step s = budget.AfterDrain(now, cpu);
    Note(s);
    now += sleep;
    return s;
  }
  // Drains that use `share` of a CPU for `duration`: one drain per 2.5 ms.
  void Load(double share, Nanos duration) {
    const Nanos busy = Nanos(static_cast<int64_t>(2.5e6 * share));
    for (Nanos end = now + duration; now < end;) Drain(1, busy, Nanos(0), 2500us - busy);
  }
};

TEST(ReaderBudget, StaysRaisedAtTheLoadOfHundredsOfRequestsPerSecond) {
  Reader r;
  // 430 drains a second of 60 µs each: 2.6% of a CPU, as BENCHMARKS.md measured.
  for (int i = 0; i < 430 * 5; ++i) EXPECT_EQ(r.Drain(1, 60us, Nanos(0), 2265us), Step::kStay);
  EXPECT_TRUE(r.budget.raised());
  EXPECT_EQ(r.budget.demotions(), 0u);
  EXPECT_EQ(r.cpu_reads, 0) << "short drains never need the CPU clock";
}

TEST(ReaderBudget, StepsDownAfterADrainThatUsedMoreThanTenMilliseconds) {
  Reader r;
  EXPECT_EQ(r.budget.AfterDrain(r.now + 12ms, r.cpu + 12ms), Step::kDemote);
  EXPECT_FALSE(r.budget.raised());
  EXPECT_EQ(r.budget.demotions(), 1u);
  EXPECT_THAT(r.budget.reason(), HasSubstr("one drain used 12.0 ms of CPU (limit 10.0 ms)"));
}

TEST(ReaderBudget, StepsDownDuringALongDrainNotOnlyAfterIt) {
  Reader r;
  // 200 records of 100 µs: 20 ms. The step comes at the record after 10 ms.
  r.Drain(200, 100us);
  ASSERT_EQ(r.steps, std::vector<Step>{Step::kDemote});
  EXPECT_FALSE(r.budget.raised());
  EXPECT_THAT(r.budget.reason(), HasSubstr("one drain used 10.1 ms"));
  EXPECT_LE(r.cpu_reads, 2) << "the CPU clock is read once the wall clock says the limit may be near";
}

TEST(ReaderBudget, TimeOffTheCpuDuringADrainDoesNotCount) {
  Reader r;
  // 100 records of 50 µs of CPU, each waiting 500 µs for a lock: 55 ms of wall
  // time, 5 ms of CPU.
  EXPECT_EQ(r.Drain(100, 50us, 500us), Step::kStay);
  EXPECT_TRUE(r.steps.empty());
  EXPECT_TRUE(r.budget.raised());
  // The CPU clock is read when what is left of the limit could have been
  // used, not at every record: a handful of reads, not 100.
  EXPECT_GT(r.cpu_reads, 0);
  EXPECT_LE(r.cpu_reads, 10);
}

TEST(ReaderBudget, StepsDownWhenAWindowAddsUpToMoreThanTwentyPercentOfACpu) {
  Reader r;
  // Drains of 2.5 ms, each within the drain limit: the 81st takes the window
  // over 200 ms.
  for (int i = 1; i <= 80; ++i) ASSERT_EQ(r.Drain(1, 2500us), Step::kStay) << "drain " << i;
  EXPECT_EQ(r.Drain(1, 2500us), Step::kDemote);
  EXPECT_THAT(r.budget.reason(), HasSubstr("202.5 ms of CPU within 1000.0 ms (limit 200.0 ms)"));
}

TEST(ReaderBudget, IsRaisedAgainAfterAWholeWindowUnderBudgetAtNormal) {
  Reader r;
  r.Load(0.5, 600ms);  // half a CPU: steps down within the first window
  ASSERT_EQ(r.steps, std::vector<Step>{Step::kDemote});
  r.Load(0.02, 400ms);  // the load is gone; the first window ends, partly spent raised
  EXPECT_EQ(r.steps.size(), 1u) << "a window that began raised does not bring it back";
  r.Load(0.02, 1100ms);  // a whole window at normal, under budget
  EXPECT_EQ(r.steps, (std::vector<Step>{Step::kDemote, Step::kPromote}));
  EXPECT_TRUE(r.budget.raised());
  EXPECT_EQ(r.budget.demotions(), 1u);
}

TEST(ReaderBudget, StaysNormalWhileTheLoadLasts) {
  Reader r;
  r.Load(0.3, 5s);  // 30% of a CPU, five windows
  EXPECT_EQ(r.steps, std::vector<Step>{Step::kDemote});
  EXPECT_FALSE(r.budget.raised());
}

TEST(ReaderBudget, ALongDrainAtNormalDelaysTheReturn) {
  Reader r;
  r.Drain(1, 20ms);  // steps down
  r.Load(0.02, 2s);  // the window it stepped down in ends, then a whole one under budget: back
  ASSERT_EQ(r.steps, (std::vector<Step>{Step::kDemote, Step::kPromote}));
  r.Drain(1, 20ms);  // down again
  r.Load(0.02, 1200ms);  // a window begins at normal
  r.Drain(1, 15ms);     // one drain over the limit in that window: not back yet
  r.Load(0.02, 900ms);
  EXPECT_EQ(r.steps, (std::vector<Step>{Step::kDemote, Step::kPromote, Step::kDemote}));
  r.Load(0.02, 2s);
  EXPECT_EQ(r.steps.back(), Step::kPromote);
  EXPECT_EQ(r.budget.demotions(), 2u);
}

TEST(ReaderScheduling, ParsesHighRealtimeAndNormalOnly) {
  EXPECT_EQ(*ParseReaderScheduling("high"), ReaderScheduling::kHigh);
  EXPECT_EQ(*ParseReaderScheduling("realtime"), ReaderScheduling::kRealtime);
  EXPECT_EQ(*ParseReaderScheduling("normal"), ReaderScheduling::kNormal);
  auto bad = ParseReaderScheduling("fifo");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(std::string(bad.status().message()),
            "bad reader scheduling \"fifo\" (expected high, realtime or normal)");
}

// ReaderScheduler on a thread of its own, with the policy calls recorded.
using enum ReaderScheduling;
struct Policies {
  std::vector<ReaderScheduling> calls;
  int refuse_with = 0;  // the errno to answer a raise with
  ReaderScheduler::SetPolicy Setter() {
    return [this](ReaderScheduling s) {
      calls.push_back(s);
      return s != kNormal ? refuse_with : 0;
    };
  }
};

void OnReaderThread(const std::function<void()>& body) { std::thread(body).join(); }

Nanos ThreadCpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + Nanos(ts.tv_nsec);
}

TEST(ReaderScheduler, RaisedAsAskedWhenTheKernelGrantsIt) {
  for (ReaderScheduling wanted : {kHigh, kRealtime}) {
    SCOPED_TRACE(std::string(ReaderSchedulingName(wanted)));
    Policies p;
    ReaderScheduler s(wanted, kLimits, p.Setter());
    OnReaderThread([&] { s.Start(); });
    EXPECT_EQ(p.calls, std::vector{wanted});
    EXPECT_EQ(s.status().scheduling, wanted);
    EXPECT_EQ(s.status().reason, "");
  }
}

TEST(ReaderScheduler, NormalWithTheReasonWhenSchedFifoIsRefusedAndNeverAsksAgain) {
  Policies p;
  p.refuse_with = EPERM;
  ReaderScheduler s(kRealtime, kLimits, p.Setter());
  OnReaderThread([&] {
    s.Start();
    for (int i = 0; i < 100; ++i) {
      s.BeforeRecord();
      s.AfterDrain();
    }
  });
  EXPECT_EQ(p.calls, std::vector{kRealtime});
  EXPECT_EQ(s.status().scheduling, kNormal);
  EXPECT_THAT(s.status().reason, HasSubstr("SCHED_FIFO refused: EPERM"));
  EXPECT_THAT(s.status().reason, HasSubstr("CAP_SYS_NICE"));
  EXPECT_THAT(s.status().reason, HasSubstr("RestrictRealtime=no"));
}

TEST(ReaderScheduler, NormalWithTheReasonWhenNiceMinus20IsRefused) {
  Policies p;
  p.refuse_with = EPERM;
  ReaderScheduler s(kHigh, kLimits, p.Setter());
  OnReaderThread([&] { s.Start(); });
  EXPECT_EQ(p.calls, std::vector{kHigh});
  EXPECT_EQ(s.status().scheduling, kNormal);
  EXPECT_THAT(s.status().reason, HasSubstr("nice -20 refused: EPERM"));
  EXPECT_THAT(s.status().reason, HasSubstr("CAP_SYS_NICE"));
}

TEST(ReaderScheduler, NormalByChoiceNeverAsksToBeRaised) {
  Policies p;
  ReaderScheduler s(kNormal, kLimits, p.Setter());
  OnReaderThread([&] {
    s.Start();
    s.BeforeRecord();
    s.AfterDrain();
  });
  EXPECT_TRUE(p.calls.empty());
  EXPECT_EQ(s.status().scheduling, kNormal);
  EXPECT_EQ(s.status().reason, "--capture-reader-scheduling=normal");
}

TEST(ReaderScheduler, StepsTheThreadDownWhenADrainGoesOverBudget) {
  for (ReaderScheduling wanted : {kHigh, kRealtime}) {
    SCOPED_TRACE(std::string(ReaderSchedulingName(wanted)));
    Policies p;
    // A 1 ms drain limit, and a drain that spins for 3 ms of this thread's CPU.
    ReaderScheduler s(wanted, {.drain_cpu = 1ms}, p.Setter());
    OnReaderThread([&] {
      s.Start();
      s.BeforeRecord();
      for (const Nanos start = ThreadCpu(); ThreadCpu() - start < 3ms;) {
      }
      s.BeforeRecord();
      s.AfterDrain();
    });
    EXPECT_EQ(p.calls, (std::vector{wanted, kNormal}));
    EXPECT_EQ(s.status().scheduling, kNormal);
    EXPECT_EQ(s.status().demotions, 1u);
    EXPECT_THAT(s.status().reason, HasSubstr("over its CPU budget: one drain used"));
  }
}

// The real call, on a thread of its own: nice -20 and back to 0, that thread
// only (the tests run as root, with CAP_SYS_NICE).
TEST(ReaderScheduler, SetCurrentThreadPolicySetsTheCallingThreadsNiceValue) {
  const int before = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  OnReaderThread([] {
    ASSERT_EQ(ReaderScheduler::SetCurrentThreadPolicy(kHigh), 0);
    EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())), ReaderScheduler::kHighNice);
    EXPECT_EQ(sched_getscheduler(gettid()) & ~SCHED_RESET_ON_FORK, SCHED_OTHER);
    ASSERT_EQ(ReaderScheduler::SetCurrentThreadPolicy(kNormal), 0);
    EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())), 0);
  });
  EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())), before);
}

}  // namespace
}  // namespace rampart::capture

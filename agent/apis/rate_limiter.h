// L7 rate limits per identity, split into reads (GET, HEAD) and writes
// (every other method), each "N per second, minute, hour or day".
//
// Counting is exact, in fixed windows aligned to the Unix epoch (a minute
// window is a wall-clock minute; a day is a UTC day): in each window the
// first N requests of an identity pass and request N+1 is refused, so a
// limit takes effect at exactly the configured count. The price of fixed
// windows is the boundary: a client can send N at the end of one window and
// N at the start of the next, 2N within one period. A sliding log would
// close that but costs N timestamps per identity; a sliding-window estimate
// would not be exact. Memory: one counter per limit per tracked identity,
// at most `max_identities` identities (least recently seen forgotten first,
// counted; a forgotten identity starts its window afresh).
//
// Not thread-safe: ApiAnalyticsDetector serializes calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "agent/apis/bounded_lru.h"

namespace rampart::apis {

struct RateLimit {
  uint64_t count = 0;
  std::chrono::seconds period{1};
  bool operator==(const RateLimit&) const = default;
};

// "100/second", "100/minute", "5000/hour", "100000/day" (also "/s", "/m",
// "/h", "/d"). The count is a whole number from 1 to 10^9.
absl::StatusOr<RateLimit> ParseRateLimit(std::string_view text);
std::string FormatRateLimit(const RateLimit& limit);  // "100/minute"

enum class RequestClass : uint8_t { kRead = 0, kWrite = 1 };
RequestClass ClassOf(std::string_view method);  // GET and HEAD read; the rest write

struct RateLimits {
  std::optional<RateLimit> reads;
  std::optional<RateLimit> writes;
};

struct RateDecision {
  bool allowed = true;
  // The first refusal of this identity and class in this window (one finding
  // per window is enough when monitoring).
  bool first_refusal = false;
  RateLimit limit;                           // the limit that applied
  uint64_t count = 0;                        // requests in the window so far, this one included
  std::chrono::milliseconds window_left{0};  // until the window ends
};

struct RateLimiterStats {
  size_t identities = 0;
  uint64_t evicted = 0;  // identities forgotten to stay within max_identities
  uint64_t refused = 0;
};

class L7RateLimiter {
 public:
  L7RateLimiter(RateLimits limits, size_t max_identities);

  // Counts one request of `identity` (a hash; the caller may mix in the
  // service) and says whether it is within the limit of its class.
  RateDecision Admit(uint64_t identity, RequestClass request_class, std::chrono::system_clock::time_point now);

  RateLimiterStats stats() const;
  const RateLimits& limits() const { return limits_; }

 private:
  struct Window {
    int64_t index = -1;  // now / period
    uint64_t count = 0;
    bool refused = false;
  };
  struct State {
    Window windows[2];  // by RequestClass
  };

  RateLimits limits_;
  BoundedLru<uint64_t, State> identities_;
  uint64_t refused_ = 0;
};

}  // namespace rampart::apis

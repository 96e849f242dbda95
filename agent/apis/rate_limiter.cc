#include "agent/apis/rate_limiter.h"

#include <charconv>

#include "agent/common/strings.h"

namespace rampart::apis {

absl::StatusOr<RateLimit> ParseRateLimit(std::string_view text) {
  const auto fail = [&](std::string_view why) {
    return absl::InvalidArgumentError(rampart::StrCat("bad rate \"", text, "\": ", why,
                                                      " (expected COUNT/UNIT, e.g. 100/minute; units second, "
                                                      "minute, hour, day)"));
  };
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return fail("no \"/\"");
  const std::string_view count_text = text.substr(0, slash);
  const std::string_view unit = text.substr(slash + 1);
  uint64_t count = 0;
  const auto [end, ec] = std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
  if (count_text.empty() || ec != std::errc() || end != count_text.data() + count_text.size()) {
    return fail("the count is not a whole number");
  }
  if (count == 0 || count > 1'000'000'000) return fail("the count must be 1 to 1000000000");
  RateLimit limit;
  limit.count = count;
  if (unit == "second" || unit == "s") {
    limit.period = std::chrono::seconds(1);
  } else if (unit == "minute" || unit == "m") {
    limit.period = std::chrono::seconds(60);
  } else if (unit == "hour" || unit == "h") {
    limit.period = std::chrono::seconds(3600);
  } else if (unit == "day" || unit == "d") {
    limit.period = std::chrono::seconds(86400);
  } else {
    return fail(rampart::StrCat("unknown unit \"", unit, "\""));
  }
  return limit;
}

std::string FormatRateLimit(const RateLimit& limit) {
  const int64_t s = limit.period.count();
  const char* unit = s == 1 ? "second" : s == 60 ? "minute" : s == 3600 ? "hour" : s == 86400 ? "day" : nullptr;
  if (unit == nullptr) return rampart::StrCat(limit.count, "/", s, "s");
  return rampart::StrCat(limit.count, "/", unit);
}

RequestClass ClassOf(std::string_view method) {
  return method == "GET" || method == "HEAD" ? RequestClass::kRead : RequestClass::kWrite;
}

L7RateLimiter::L7RateLimiter(RateLimits limits, size_t max_identities) : limits_(limits), identities_(max_identities) {}

RateDecision L7RateLimiter::Admit(uint64_t identity, RequestClass request_class,
                                  std::chrono::system_clock::time_point now) {
  RateDecision decision;
  const std::optional<RateLimit>& limit = request_class == RequestClass::kRead ? limits_.reads : limits_.writes;
  if (!limit.has_value()) return decision;
  decision.limit = *limit;
  const auto since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const auto period = std::chrono::duration_cast<std::chrono::milliseconds>(limit->period);
  const int64_t index = since_epoch.count() / period.count();
  Window& window = identities_.FindOrCreate(identity).windows[static_cast<int>(request_class)];
  // A clock stepped back stays in the window it was in; never rewinds counts.
  if (index > window.index) window = Window{.index = index, .count = 0, .refused = false};
  ++window.count;
  decision.count = window.count;
  decision.window_left = std::chrono::milliseconds((window.index + 1) * period.count() - since_epoch.count());
  if (decision.window_left.count() <= 0) decision.window_left = period;
  if (window.count <= limit->count) return decision;
  decision.allowed = false;
  decision.first_refusal = !window.refused;
  window.refused = true;
  ++refused_;
  return decision;
}

RateLimiterStats L7RateLimiter::stats() const {
  return RateLimiterStats{.identities = identities_.size(), .evicted = identities_.evicted(), .refused = refused_};
}

}  // namespace rampart::apis

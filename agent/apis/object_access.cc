#include "agent/apis/object_access.h"

#include <algorithm>
#include <cmath>

namespace rampart::apis {

ObjectAccessTracker::ObjectAccessTracker(ObjectAccessOptions options)
    : options_(options), entries_(options.max_tracked) {}

ObjectAccessVerdict ObjectAccessTracker::Record(uint64_t pair, uint64_t object,
                                                std::chrono::system_clock::time_point now) {
  bool created = false;
  Entry& e = entries_.FindOrCreate(pair, &created);
  if (created) {
    e.ids = HyperLogLog(options_.hll_precision);
    e.window_start = now;
  }
  if (now >= e.window_start + options_.window) {
    if (!e.flagged) {
      const double distinct = static_cast<double>(e.ids.Estimate());
      e.baseline = e.windows == 0 ? distinct : options_.ewma_alpha * distinct + (1 - options_.ewma_alpha) * e.baseline;
      ++e.windows;
    }
    e.ids.Clear();
    e.flagged = false;
    e.window_start = now;
  }
  e.ids.Add(object);
  ObjectAccessVerdict v;
  v.distinct = e.ids.Estimate();
  v.baseline = e.baseline;
  v.threshold = std::max<uint64_t>(options_.min_distinct,
                                   static_cast<uint64_t>(std::ceil(options_.baseline_factor * e.baseline)));
  if (v.distinct > v.threshold) {
    v.flagged = true;
    v.first_in_window = !e.flagged;
    if (!e.flagged) ++flagged_windows_;
    e.flagged = true;
  }
  return v;
}

ObjectAccessStats ObjectAccessTracker::stats() const {
  ObjectAccessStats s;
  s.tracked = entries_.size();
  s.evicted = entries_.evicted();
  s.flagged_windows = flagged_windows_;
  entries_.ForEach([&](uint64_t, const Entry& e) { s.sketch_bytes += e.ids.MemoryBytes(); });
  return s;
}

}  // namespace rampart::apis

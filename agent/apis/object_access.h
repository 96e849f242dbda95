// BOLA and enumeration: one identity touching many distinct object ids on one
// templated endpoint. Per (identity, endpoint) the tracker counts distinct ids
// in fixed windows with a HyperLogLog (hyperloglog.h: exact up to 2^p / 8
// ids, then 2^p bytes), and flags a window whose count passes
//   max(min_distinct, baseline_factor x baseline)
// where the baseline is an EWMA of the identity's earlier windows on that
// endpoint (windows that were flagged are left out, so a scraper cannot
// teach it). A client fetching its own record again and again touches one
// id; a client that pages through a few dozen is well below min_distinct.
//
// Memory: at most `max_tracked` (identity, endpoint) pairs, least recently
// seen forgotten first (counted); each at most 2^p bytes of registers.
// Not thread-safe: ApiAnalyticsDetector serializes calls.
#pragma once

#include <chrono>
#include <cstdint>

#include "agent/apis/bounded_lru.h"
#include "agent/apis/hyperloglog.h"

namespace rampart::apis {

struct ObjectAccessOptions {
  std::chrono::seconds window{300};
  uint64_t min_distinct = 100;
  double baseline_factor = 5.0;
  double ewma_alpha = 0.3;  // weight of the newest window in the baseline
  int hll_precision = 10;   // 10..12
  size_t max_tracked = 20000;
};

struct ObjectAccessVerdict {
  bool flagged = false;          // this window is over the threshold
  bool first_in_window = false;  // ... and this request put it over
  uint64_t distinct = 0;         // estimated distinct ids in the window
  uint64_t threshold = 0;
  double baseline = 0;  // 0 while the pair has no finished window
};

struct ObjectAccessStats {
  size_t tracked = 0;
  uint64_t evicted = 0;
  uint64_t flagged_windows = 0;
  size_t sketch_bytes = 0;  // heap bytes of all sketches
};

class ObjectAccessTracker {
 public:
  explicit ObjectAccessTracker(ObjectAccessOptions options);

  // One request of `pair` (a hash of identity and endpoint) for the object
  // whose id hashes to `object`.
  ObjectAccessVerdict Record(uint64_t pair, uint64_t object, std::chrono::system_clock::time_point now);

  ObjectAccessStats stats() const;
  const ObjectAccessOptions& options() const { return options_; }

 private:
  struct Entry {
    std::chrono::system_clock::time_point window_start{};
    HyperLogLog ids{10};
    double baseline = 0;
    uint32_t windows = 0;  // finished, unflagged windows folded into the baseline
    bool flagged = false;  // the current window
  };

  ObjectAccessOptions options_;
  BoundedLru<uint64_t, Entry> entries_;
  uint64_t flagged_windows_ = 0;
};

}  // namespace rampart::apis

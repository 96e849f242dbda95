// Bulk extraction: responses that carry far more records, or far more bytes,
// than the identity usually gets from that endpoint.
//
// Records are counted in JSON bodies (CountRecords): the length of a
// top-level array, or of the array under a top-level "data", "items" or
// "results" key. Per (identity, endpoint) and per endpoint, an EWMA of the
// record count and of the size is kept; the first `warmup` samples are a
// plain mean (the EWMA's weight is max(alpha, 1/n)). A response is flagged
// when a warmed-up baseline exists and
//   records > max(min_records, factor x mean records)   or
//   bytes   > max(min_bytes,   factor x mean bytes).
// The identity's baseline is used once warm; until then the endpoint's (all
// identities), so a new identity that dumps a table on its first request is
// compared with what everyone else gets. Flagged responses are not folded
// into the baselines, so repeated extraction does not become normal.
//
// Memory: at most `max_tracked` identity x endpoint baselines and as many
// endpoint baselines, least recently seen forgotten first (counted). 40 bytes
// of state each. Not thread-safe: ApiAnalyticsDetector serializes calls.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "agent/apis/bounded_lru.h"

namespace rampart::apis {

// Records in a JSON body, or nullopt when it is not an array or an object
// with an array under "data", "items" or "results" (first found). A body cut
// short (the parser's cap) counts the elements it starts. One pass, no
// allocation, any nesting depth.
std::optional<uint64_t> CountRecords(std::string_view body);

struct BulkOptions {
  uint32_t warmup = 20;
  double factor = 10.0;
  uint64_t min_records = 100;
  uint64_t min_bytes = 1 << 20;
  double alpha = 0.1;
  size_t max_tracked = 50000;
};

struct BulkVerdict {
  bool flagged = false;
  bool by_records = false;
  bool by_bytes = false;
  bool endpoint_baseline = false;  // compared with the endpoint's baseline (identity still warming up)
  double baseline_records = 0;
  double baseline_bytes = 0;
  uint64_t threshold_records = 0;
  uint64_t threshold_bytes = 0;
};

struct BulkStats {
  size_t tracked = 0;
  uint64_t evicted = 0;
  uint64_t flagged = 0;
};

class BulkExtractionDetector {
 public:
  explicit BulkExtractionDetector(BulkOptions options);

  // One response: `pair` hashes identity and endpoint, `endpoint` the
  // endpoint alone.
  BulkVerdict Observe(uint64_t pair, uint64_t endpoint, std::optional<uint64_t> records, uint64_t bytes);

  BulkStats stats() const;
  const BulkOptions& options() const { return options_; }

 private:
  struct Baseline {
    double records = 0;
    double bytes = 0;
    uint32_t record_samples = 0;
    uint32_t byte_samples = 0;
  };
  static void Fold(Baseline& b, std::optional<uint64_t> records, uint64_t bytes, double alpha);

  BulkOptions options_;
  BoundedLru<uint64_t, Baseline> pairs_;
  BoundedLru<uint64_t, Baseline> endpoints_;
  uint64_t flagged_ = 0;
};

}  // namespace rampart::apis

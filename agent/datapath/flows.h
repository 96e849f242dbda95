// Rates of the token-bucket flows and sources (rampart_buckets), from two
// reads of their counters a sampling interval apart.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "rampart/abi.h"

namespace rampart::datapath {

struct FlowSample {
  rp_bucket_key key{};
  double packets_per_second = 0;
  double bytes_per_second = 0;
  double dropped_per_second = 0;
  uint64_t passed_packets = 0;
  uint64_t dropped_packets = 0;
};

// Reads the bucket map, waits `interval`, reads it again; returns the buckets
// by packet rate (passed + dropped), highest first, at most `limit`.
// `tracked` receives the number of buckets in the map.
absl::StatusOr<std::vector<FlowSample>> TopFlows(int buckets_fd, std::chrono::milliseconds interval, size_t limit,
                                                 size_t* tracked);

}  // namespace rampart::datapath

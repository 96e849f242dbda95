// The dynamic blocklist (rampart_block): sources and flows dropped at both
// ingress and egress until their expiry. Detections and operators fill it.
// Thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/datapath/policy_writer.h"
#include "rampart/abi.h"

namespace rampart::datapath {

using Address = std::array<uint8_t, 16>;  // IPv4-mapped for IPv4

// "10.0.0.1" or "2001:db8::1" -> mapped address; an error names the text.
absl::StatusOr<Address> ParseAddress(const std::string& text);
std::string FormatAddress(const Address& address);

// A flow as seen on ingress: src is the remote peer.
struct FlowTuple {
  Address src{};
  Address dst{};
  uint8_t proto = 0;
  uint16_t sport = 0;
  uint16_t dport = 0;
};

struct BlockEntry {
  rp_block_kind kind = RP_BLOCK_SOURCE;
  FlowTuple flow;  // only flow.src for a source
  std::chrono::milliseconds remaining{0};  // 0: never expires
  uint32_t reason = 0;
};

// CLOCK_MONOTONIC in nanoseconds, the clock of bpf_ktime_get_ns().
uint64_t MonotonicNanos();

class Blocklist {
 public:
  Blocklist(int map_fd, PolicyWriter& state) : fd_(map_fd), state_(state) {}

  // ttl 0: until removed. Re-blocking refreshes the expiry.
  absl::Status BlockSource(const Address& source, std::chrono::milliseconds ttl, uint32_t reason);
  absl::Status BlockFlow(const FlowTuple& flow, std::chrono::milliseconds ttl, uint32_t reason);
  // Returns whether an entry was removed.
  absl::StatusOr<bool> UnblockSource(const Address& source);
  absl::StatusOr<std::vector<BlockEntry>> List();
  // Deletes expired entries; returns how many.
  absl::StatusOr<size_t> Sweep();

 private:
  absl::Status Insert(const rp_block_key& key, std::chrono::milliseconds ttl, uint32_t reason);
  absl::StatusOr<std::vector<std::pair<rp_block_key, rp_block_value>>> Entries() const;
  absl::Status UpdateEntryFlag(bool any);

  const int fd_;
  PolicyWriter& state_;
  std::mutex mu_;
};

}  // namespace rampart::datapath

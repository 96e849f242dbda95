// Verdicts: which findings block, and what a block writes into the datapath.
// A block drops the connection (its flow) and, when the captured process is
// the server, every new connection from the client (its source address).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "agent/datapath/blocklist.h"
#include "agent/findings/finding.h"
#include "rampart/abi.h"

namespace rampart::inspect {

struct FamilyVerdict {
  bool block = false;  // false: monitor
  findings::Severity min_severity = findings::Severity::kHigh;
  std::chrono::seconds ttl{600};
  rp_block_reason reason = RP_BLOCK_BY_OPERATOR;
};

// What the enforcer writes to; the agent passes its datapath blocklist.
class BlockTarget {
 public:
  virtual ~BlockTarget() = default;
  virtual absl::Status BlockSource(const datapath::Address& source, std::chrono::milliseconds ttl,
                                   uint32_t reason) = 0;
  virtual absl::Status BlockFlow(const datapath::FlowTuple& flow, std::chrono::milliseconds ttl, uint32_t reason) = 0;
};

class DatapathBlockTarget final : public BlockTarget {
 public:
  explicit DatapathBlockTarget(datapath::Blocklist& blocklist) : blocklist_(blocklist) {}
  absl::Status BlockSource(const datapath::Address& source, std::chrono::milliseconds ttl, uint32_t reason) override {
    return blocklist_.BlockSource(source, ttl, reason);
  }
  absl::Status BlockFlow(const datapath::FlowTuple& flow, std::chrono::milliseconds ttl, uint32_t reason) override {
    return blocklist_.BlockFlow(flow, ttl, reason);
  }

 private:
  datapath::Blocklist& blocklist_;
};

// Parses "info".."critical"; an error names the text.
absl::StatusOr<findings::Severity> ParseSeverity(const std::string& text);

}  // namespace rampart::inspect

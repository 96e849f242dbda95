// Publishes a compiled policy into the datapath maps atomically: everything is
// written to the inactive generation, then one write to rampart_state flips
// it. A packet reads the generation once, so it sees the old policy or the new
// one, never a mix. A failure before the flip leaves the active policy as it
// was. Also owns the other fields of rampart_state (drop sampling, blocklist
// size), since they share its one entry. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>

#include "absl/status/statusor.h"
#include "agent/policy/compiler.h"

namespace rampart::datapath {

struct PolicyMapFds {
  int ingress_hosts = -1;  // full-length prefixes, exact match
  int egress_hosts = -1;
  int ingress_prefixes = -1;  // shorter prefixes of families in RP_LOOKUP_LENSETS mode
  int egress_prefixes = -1;
  int lensets = -1;           // each (generation, direction, family)'s lookup mode and lengths
  int ingress_lpm = -1;       // shorter prefixes of families in RP_LOOKUP_TRIE mode
  int egress_lpm = -1;
  int rulesets = -1;
  int gen_config = -1;
  int state = -1;
  int confined = -1;
  int rule_counters = -1;
};

class PolicyWriter {
 public:
  static absl::StatusOr<std::unique_ptr<PolicyWriter>> Create(const PolicyMapFds& fds);
  ~PolicyWriter();

  // Cost: one RCU grace period (so no program still reads the generation
  // about to be rewritten), then one syscall per map entry.
  absl::Status Publish(const policy::CompiledPolicy& policy);

  absl::StatusOr<uint32_t> ActiveGeneration() const;
  // The version of the policy in force (0 when none was ever published).
  absl::StatusOr<uint64_t> ActiveVersion() const;

  // Read-modify-write of the single rampart_state entry.
  absl::Status UpdateState(const std::function<void(rp_state&)>& change);
  absl::StatusOr<rp_state> State() const;

 private:
  PolicyWriter(const PolicyMapFds& fds, int grace_outer_fd, int grace_inner_fd)
      : fds_(fds), grace_outer_fd_(grace_outer_fd), grace_inner_fd_(grace_inner_fd) {}
  absl::Status WaitForRunningPrograms() const;
  absl::Status ClearGeneration(uint32_t gen) const;

  const PolicyMapFds fds_;
  // An ARRAY_OF_MAPS whose update makes the kernel wait for an RCU grace
  // period (maybe_wait_bpf_programs() in kernel/bpf/syscall.c).
  const int grace_outer_fd_;
  const int grace_inner_fd_;
  std::mutex mu_;  // one publish or state change at a time
};

}  // namespace rampart::datapath

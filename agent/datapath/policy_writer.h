// Publishes a compiled policy into the ingress maps atomically: everything is
// written to the inactive generation, then one write to rampart_state flips
// it. A packet reads the generation once, so it sees the old policy or the new
// one, never a mix. A failure before the flip leaves the active policy as it
// was.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "agent/policy/compiler.h"

namespace rampart::datapath {

struct PolicyMapFds {
  int lpm = -1;
  int rulesets = -1;
  int gen_config = -1;
  int state = -1;
  int rule_counters = -1;
};

class PolicyWriter {
 public:
  static absl::StatusOr<PolicyWriter> Create(const PolicyMapFds& fds);
  PolicyWriter(PolicyWriter&&) noexcept;
  PolicyWriter& operator=(PolicyWriter&&) noexcept;
  ~PolicyWriter();

  // Cost: one RCU grace period (so no program still reads the generation
  // about to be rewritten), then one syscall per map entry.
  absl::Status Publish(const policy::CompiledPolicy& policy);

  absl::StatusOr<uint32_t> ActiveGeneration() const;
  // The version of the policy in force (0 when none was ever published).
  absl::StatusOr<uint64_t> ActiveVersion() const;

 private:
  PolicyWriter(const PolicyMapFds& fds, int grace_outer_fd, int grace_inner_fd)
      : fds_(fds), grace_outer_fd_(grace_outer_fd), grace_inner_fd_(grace_inner_fd) {}
  absl::Status WaitForRunningPrograms() const;
  absl::Status ClearGeneration(uint32_t gen) const;

  PolicyMapFds fds_;
  // An ARRAY_OF_MAPS whose update makes the kernel wait for an RCU grace
  // period (maybe_wait_bpf_programs() in kernel/bpf/syscall.c).
  int grace_outer_fd_ = -1;
  int grace_inner_fd_ = -1;
};

}  // namespace rampart::datapath

// The agent's view of its kernel datapath: loads the programs (adopting pinned
// state), publishes compiled policies, attaches to the policy's interfaces and
// reads the counters. Not thread-safe; the agent serialises calls.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/datapath/ingress_program.h"
#include "agent/datapath/policy_writer.h"
#include "agent/datapath/xdp_link.h"
#include "agent/policy/compiler.h"
#include "rampart/v1/agent_api.pb.h"

namespace rampart::datapath {

struct DatapathOptions {
  std::string pin_dir = "/sys/fs/bpf/rampart";
  IngressHook hook = IngressHook::kAuto;
};

class Datapath {
 public:
  static absl::StatusOr<std::unique_ptr<Datapath>> Open(const DatapathOptions& options);

  // All or nothing: attaches to new interfaces first (undoing them on failure),
  // then publishes the policy in one flip, then detaches interfaces the policy
  // no longer names. A failure leaves the previous policy in force.
  absl::Status Apply(const policy::CompiledPolicy& policy);

  // Packet counters by reason, and per rule of the active policy.
  absl::StatusOr<v1::Counters> ReadCounters() const;
  std::vector<XdpAttachment> Attachments() const;
  absl::StatusOr<uint64_t> ActiveVersion() const { return writer_.ActiveVersion(); }
  const IngressProgram& program() const { return *program_; }

 private:
  Datapath(DatapathOptions options, std::unique_ptr<IngressProgram> program, PolicyWriter writer)
      : options_(std::move(options)), program_(std::move(program)), writer_(std::move(writer)) {}

  DatapathOptions options_;
  std::unique_ptr<IngressProgram> program_;
  PolicyWriter writer_;
  std::vector<policy::RuleName> active_rules_;
};

// Stable names of enum rp_reason, as shown by rampartctl and metrics.
std::string ReasonName(uint32_t reason);

}  // namespace rampart::datapath

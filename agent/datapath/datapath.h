// The agent's view of its kernel datapath: loads the programs (adopting pinned
// state), publishes compiled policies, attaches to the policy's interfaces,
// keeps the blocklist and reads counters, buckets and drop events.
// Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/datapath/attach.h"
#include "agent/datapath/blocklist.h"
#include "agent/datapath/datapath_object.h"
#include "agent/datapath/policy_writer.h"
#include "agent/policy/compiler.h"
#include "rampart/v1/agent_api.pb.h"

namespace rampart::datapath {

struct DatapathOptions {
  std::string pin_dir = "/sys/fs/bpf/rampart";
  IngressHook hook = IngressHook::kAuto;
  MapSizes sizes;
  uint32_t drop_sample_rate = 1;  // one drop event per N drops; 0: none
};

class Datapath {
 public:
  static absl::StatusOr<std::unique_ptr<Datapath>> Open(const DatapathOptions& options);

  // All or nothing: attaches to new interfaces first (undoing them on failure),
  // then publishes the policy in one flip, then detaches interfaces the policy
  // no longer names. A failure leaves the previous policy in force.
  absl::Status Apply(const policy::CompiledPolicy& policy);

  // Packet counters by direction and reason, per rule of the active policy,
  // and the helper failures the programs counted.
  absl::StatusOr<v1::Counters> ReadCounters() const;
  std::vector<Attachment> Attachments() const;
  absl::StatusOr<uint64_t> ActiveVersion() const { return writer_->ActiveVersion(); }
  absl::Status SetDropSampleRate(uint32_t rate);
  const DatapathObject& object() const { return *object_; }
  PolicyWriter& writer() { return *writer_; }
  Blocklist& blocklist() { return *blocklist_; }
  // "policy/name" of a rate limit id as the kernel reports it (version included).
  std::string RateLimitName(uint32_t limit_id) const;

 private:
  Datapath(DatapathOptions options, std::unique_ptr<DatapathObject> object, std::unique_ptr<PolicyWriter> writer)
      : options_(std::move(options)),
        object_(std::move(object)),
        writer_(std::move(writer)),
        blocklist_(std::make_unique<Blocklist>(object_->block_fd(), *writer_)) {}

  const DatapathOptions options_;
  std::unique_ptr<DatapathObject> object_;
  std::unique_ptr<PolicyWriter> writer_;
  std::unique_ptr<Blocklist> blocklist_;
  mutable std::mutex mu_;  // guards the fields below and serialises Apply
  std::vector<policy::RuleName> ingress_rules_, egress_rules_;
  std::vector<std::string> rate_limit_names_;
  uint64_t active_version_ = 0;
};

// Stable names of enum rp_reason and enum rp_error, as shown by rampartctl
// and metrics.
std::string ReasonName(uint32_t reason);
std::string ErrorName(uint32_t error);
bool IsDropReason(uint32_t reason);

}  // namespace rampart::datapath

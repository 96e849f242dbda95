// How rampartd comes by its control-plane identity at start: joined earlier
// (node.pem in the state directory), or joining now with `--join TOKEN`. A
// restarted agent must not burn a second token, and must say clearly when its
// stored identity is unusable (expired, another CA, another node's name).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "agent/enroll/join.h"

namespace rampart::enroll {

struct Bootstrapped {
  IdentityFiles files;
  std::string address;  // where the control plane listens: the flag, else the token's
  bool joined_now = false;
  std::string spiffe_id;
};

// `options.token` may be empty when the node joined before. Uses the stored
// identity when there is one (checked by LoadNodeIdentity, and it must name
// options.node_name); joins otherwise. InvalidArgument when there is neither
// a stored identity nor a token, or no address anywhere.
absl::StatusOr<Bootstrapped> EnsureJoined(const JoinOptions& options);

}  // namespace rampart::enroll

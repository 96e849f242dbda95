// The last bundle the agent applied, kept on disk so a restarted agent
// enforces it even while the control plane is unreachable.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "rampart/v1/policy.pb.h"

namespace rampart::agent {

class LastKnownGood {
 public:
  explicit LastKnownGood(std::string state_dir) : path_(state_dir + "/last-known-good.pb") {}

  // nullopt when no bundle was ever saved; an error when the file is unreadable.
  absl::StatusOr<std::optional<v1::PolicyBundle>> Load() const;
  absl::Status Save(const v1::PolicyBundle& bundle) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace rampart::agent

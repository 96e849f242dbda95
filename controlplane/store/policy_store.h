// Where the control plane keeps versioned policy sets. Every implementation
// passes the PolicyStoreContract suite (tests/controlplane/file_store_test.cc).
// Implementations are thread-safe; Append is atomic (read newest, write next).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rampart/v1/admin.pb.h"

namespace rampart::cp {

class PolicyStore {
 public:
  virtual ~PolicyStore() = default;
  // The newest version; version 0 and no policies when nothing was applied.
  virtual absl::StatusOr<v1::PolicyVersion> Current() = 0;
  // Stores `policies` as the next version and returns it (version, time set).
  virtual absl::StatusOr<v1::PolicyVersion> Append(const std::vector<v1::Policy>& policies,
                                                   const std::string& author, const std::string& message) = 0;
};

}  // namespace rampart::cp

// A PolicyStore in a directory: one file per version (policy-v00000001.pb),
// written atomically. Enough for one control plane; SQLite replaces it.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "controlplane/store/policy_store.h"

namespace rampart::cp {

class FileStore final : public PolicyStore {
 public:
  // Creates the directory (0700) when missing.
  static absl::StatusOr<std::unique_ptr<FileStore>> Open(const std::string& dir);

  absl::StatusOr<v1::PolicyVersion> Current() override;
  absl::StatusOr<v1::PolicyVersion> Append(const std::vector<v1::Policy>& policies, const std::string& author,
                                           const std::string& message) override;

 private:
  explicit FileStore(std::string dir) : dir_(std::move(dir)) {}
  std::string VersionPath(uint64_t version) const;
  absl::StatusOr<v1::PolicyVersion> CurrentLocked();

  const std::string dir_;
  std::mutex mu_;
};

}  // namespace rampart::cp

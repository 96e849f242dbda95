#include "agent/daemon/last_known_good.h"

#include <filesystem>

#include "agent/common/strings.h"
#include "agent/common/files.h"

namespace rampart::agent {

absl::StatusOr<std::optional<v1::PolicyBundle>> LastKnownGood::Load() const {
  if (!std::filesystem::exists(path_)) return std::nullopt;
  auto content = ReadFile(path_);
  if (!content.ok()) return content.status();
  v1::PolicyBundle bundle;
  if (!bundle.ParseFromString(*content)) return absl::DataLossError(rampart::StrCat(path_, ": not a policy bundle"));
  return bundle;
}

absl::Status LastKnownGood::Save(const v1::PolicyBundle& bundle) const {
  return WriteFileAtomic(path_, bundle.SerializeAsString(), 0600);
}

}  // namespace rampart::agent

#include "controlplane/store/store.h"

#include "agent/common/strings.h"

namespace rampart::cp {

absl::StatusOr<v1::JoinTokenRecord> MarkJoinTokenUsed(const v1::JoinTokenRecord& before, const std::string& node,
                                                      int64_t now_unix_ms) {
  if (before.used()) {
    return absl::FailedPreconditionError(
        rampart::StrCat("join token ", before.id(), " was already used by node ", before.used_by_node()));
  }
  if (now_unix_ms >= before.expires_unix_ms()) {
    return absl::FailedPreconditionError(rampart::StrCat("join token ", before.id(), " expired"));
  }
  v1::JoinTokenRecord used = before;
  used.set_used(true);
  used.set_used_unix_ms(now_unix_ms);
  used.set_used_by_node(node);
  return used;
}

}  // namespace rampart::cp

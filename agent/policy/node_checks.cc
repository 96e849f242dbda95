#include "agent/policy/node_checks.h"

#include <net/if.h>

#include "agent/common/strings.h"

namespace rampart::policy {

bool InterfaceExistsOnHost(const std::string& name) { return if_nametoindex(name.c_str()) != 0; }

absl::Status ValidateForNode(const v1::PolicyBundle& bundle, const InterfaceExists& exists) {
  for (const v1::Policy& policy : bundle.policies()) {
    const std::string where = policy.source().empty() ? rampart::StrCat("policy ", policy.metadata().name())
                                                      : policy.source();
    for (int i = 0; i < policy.spec().interfaces_size(); ++i) {
      const std::string& name = policy.spec().interfaces(i);
      if (!exists(name)) {
        return absl::FailedPreconditionError(rampart::StrCat(where, ": spec.interfaces[", i, "]: interface \"", name,
                                                          "\" does not exist on this node"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace rampart::policy

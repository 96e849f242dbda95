// Checks a bundle against the node it is about to be enforced on: things the
// control plane cannot know, such as which interfaces exist here.
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "rampart/v1/policy.pb.h"

namespace rampart::policy {

// Returns whether an interface of that name exists on this node.
using InterfaceExists = std::function<bool(const std::string& name)>;

// The node's interfaces, through if_nametoindex in the agent's network namespace.
bool InterfaceExistsOnHost(const std::string& name);

// Error: "SOURCE: spec.interfaces[1]: interface \"eth9\" does not exist on this node".
absl::Status ValidateForNode(const v1::PolicyBundle& bundle, const InterfaceExists& exists);

}  // namespace rampart::policy

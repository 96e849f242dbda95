// Human-readable rendering of the agent's status for `rampartctl status`.
#pragma once

#include <string>

#include "rampart/v1/agent_api.pb.h"

namespace rampart::cli {

std::string RenderStatus(const v1::AgentStatus& status);

// JSON with every field present (zeros included) and proto field names.
std::string RenderJson(const google::protobuf::Message& message);

}  // namespace rampart::cli

// rampartctl policy show | policy trace: the policy in force on this node,
// and what it does with one packet or one HTTP exchange.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "rampart/v1/agent_api.grpc.pb.h"

namespace rampart::cli {

// The flags of `policy trace` (--from, --to, --proto, ...); --unit is shared
// with capture and declared by main.
void AddPolicyTraceFlags(boost::program_options::options_description& flags);

// `words` starts with "policy". Exit codes as docs/cli.md says: trace exits
// 0 when the packet is allowed or nothing is found, 3 when it is dropped or
// a finding would block, 4 when findings would only be monitored.
int PolicyCommand(v1::AgentApi::Stub& stub, const std::string& socket, const std::vector<std::string>& words,
                  const boost::program_options::variables_map& vars, bool json);

}  // namespace rampart::cli

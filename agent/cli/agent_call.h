// What rampartctl's commands share: their exit codes, and the one line a
// failed call to the agent becomes.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

namespace rampart::cli {

// docs/cli.md "Exit codes".
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;     // the agent is unreachable, or refused or failed the request
inline constexpr int kExitUsage = 2;      // bad usage: flags, addresses, unreadable files
inline constexpr int kExitDropped = 3;    // policy trace: the packet is dropped, or a finding would block
inline constexpr int kExitMonitored = 4;  // policy trace --http: findings, none of which would block

// Why the agent's socket cannot be reached, from connecting to it directly:
// "no such socket (is rampartd running?)", "permission denied (...)"; ""
// when a connection succeeds.
std::string UnreachableReason(const std::string& socket);

// Prints one line on stderr and returns the exit code for a failed call:
// "rampartctl: cannot reach the agent at SOCKET: REASON" when it is not
// there, the agent's own message otherwise; kExitUsage for a request the
// agent called invalid, kExitFailed for anything else.
int ReportFailure(const std::string& socket, const grpc::Status& status);

}  // namespace rampart::cli

#include "agent/cli/agent_call.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <iostream>

namespace rampart::cli {

std::string UnreachableReason(const std::string& socket_path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(address.sun_path)) return "the socket path is too long";
  std::memcpy(address.sun_path, socket_path.data(), socket_path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("socket: ") + strerror(errno);
  const int connected = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  const int err = errno;
  ::close(fd);
  if (connected == 0) return "";
  switch (err) {
    case ENOENT: return "no such socket (is rampartd running? see --socket)";
    case EACCES:
    case EPERM: return "permission denied (the socket is root-only: run rampartctl as root)";
    case ECONNREFUSED: return "connection refused (rampartd is not running; a stale socket is left)";
  }
  return strerror(err);
}

int ReportFailure(const std::string& socket, const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    std::string reason = UnreachableReason(socket);
    if (reason.empty()) reason = status.error_message();
    std::cerr << "rampartctl: cannot reach the agent at " << socket << ": " << reason << "\n";
    return kExitFailed;
  }
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    std::cerr << "rampartctl: the agent at " << socket << " did not answer in time\n";
    return kExitFailed;
  }
  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    std::cerr << "rampartctl: the agent at " << socket
              << " does not implement this command (is it an older rampartd?)\n";
    return kExitFailed;
  }
  std::cerr << "rampartctl: " << status.error_message() << "\n";
  return status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? kExitUsage : kExitFailed;
}

}  // namespace rampart::cli

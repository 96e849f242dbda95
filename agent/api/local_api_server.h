// The agent's local API (proto/rampart/v1/agent_api.proto) on a unix socket
// that only root can open: the socket's directory is 0700 and the socket 0600.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "rampart/v1/agent_api.pb.h"

namespace grpc {
class Server;
}

namespace rampart::api {

inline constexpr char kDefaultAgentSocket[] = "/run/rampart/agent.sock";

// Everything the API serves comes from these providers, called on gRPC threads.
struct AgentApiProviders {
  std::function<v1::AgentStatus()> status;
};

class LocalApiServer {
 public:
  static absl::StatusOr<std::unique_ptr<LocalApiServer>> Start(const std::string& socket_path,
                                                               AgentApiProviders providers);
  ~LocalApiServer();

 private:
  class Service;
  LocalApiServer() = default;
  std::string socket_path_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace rampart::api

// The agent's local API (proto/rampart/v1/agent_api.proto) on a unix socket
// that only root can open: the socket's directory is 0700 and the socket 0600.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rampart/v1/agent_api.pb.h"

namespace grpc {
class Server;
}

namespace rampart::api {

inline constexpr char kDefaultAgentSocket[] = "/run/rampart/agent.sock";
// The largest file `rampartctl policy trace --http` sends.
inline constexpr int kMaxTraceFileBytes = 8 << 20;

// What the API serves, implemented by the agent; called on gRPC threads.
class AgentApiBackend {
 public:
  virtual ~AgentApiBackend() = default;
  virtual v1::AgentStatus Status() = 0;
  // The subscriber runs on the event reader's thread and must not block.
  virtual int SubscribeDrops(std::function<void(const v1::DropEvent&)> subscriber) = 0;
  virtual void UnsubscribeDrops(int token) = 0;
  virtual absl::StatusOr<v1::ListFlowsReply> ListFlows(const v1::ListFlowsRequest& request) = 0;
  virtual absl::Status Block(const v1::BlockRequest& request) = 0;
  virtual absl::StatusOr<bool> Unblock(const v1::UnblockRequest& request) = 0;
  virtual absl::StatusOr<v1::ListBlocksReply> ListBlocks() = 0;
  // Captured chunks matching the request; the subscriber must not block.
  virtual absl::StatusOr<int> SubscribeCapture(const v1::WatchCaptureRequest& request,
                                               std::function<void(const v1::CaptureEvent&)> subscriber) = 0;
  virtual void UnsubscribeCapture(int token) = 0;
  // Findings matching the request: the recent ones (oldest first), and new
  // ones to the subscriber, which must not block.
  virtual std::vector<v1::Finding> RecentFindings(const v1::WatchFindingsRequest& request) = 0;
  virtual absl::StatusOr<int> SubscribeFindings(const v1::WatchFindingsRequest& request,
                                                std::function<void(const v1::Finding&)> subscriber) = 0;
  virtual void UnsubscribeFindings(int token) = 0;
  // The policy in force, and traces over it: one packet through the
  // datapath's decision, one HTTP exchange through the node's detectors.
  // Bad requests are InvalidArgument (rampartctl exits 2 on them).
  virtual absl::StatusOr<v1::AppliedPolicy> GetPolicy() = 0;
  virtual absl::StatusOr<v1::PacketTrace> TracePacket(const v1::TracePacketRequest& request) = 0;
  virtual absl::StatusOr<v1::HttpTrace> TraceHttp(const v1::TraceHttpRequest& request) = 0;
  // The API inventory (rampartctl apis); FailedPrecondition when API
  // analytics never ran on this node.
  virtual absl::StatusOr<v1::ApiInventoryReply> ListApis(const v1::ListApisRequest& request) = 0;
};

class LocalApiServer {
 public:
  static absl::StatusOr<std::unique_ptr<LocalApiServer>> Start(const std::string& socket_path,
                                                               AgentApiBackend& backend);
  ~LocalApiServer();

 private:
  class Service;
  LocalApiServer() = default;
  std::string socket_path_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace rampart::api

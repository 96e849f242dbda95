// AgentSync (proto/rampart/v1/sync.proto) on the control plane's side. The
// node's identity is its client certificate's common name; the hello must
// carry the same name. Each stream is sent the bundle the current version
// holds for its node whenever that content changes; answers are matched to
// pushes by nonce. Content a node refused is not sent to it again until it
// changes (Fleet::Decide). Writes are paced fleet-wide (PushPacer).
//
// Threads: none per stream. Streams run on gRPC's callback API (its own small
// thread pool), and the service adds two threads whatever the fleet size: one
// notices new versions and queues every stream for a decision, the other
// decides (one bundle per distinct label set per version) and starts the
// writes in the pacer's order. A connected agent costs its connection and call
// in gRPC (~125 KiB in all, BENCHMARKS.md "Fleet propagation") and about a
// kilobyte here.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "controlplane/service/fleet.h"
#include "controlplane/service/push_pacer.h"
#include "rampart/v1/sync.grpc.pb.h"

namespace spdlog {
class logger;
}

namespace rampart::cp {

// The node name a stream authenticated as: the common name of its verified
// client certificate; "" when there is none.
std::string PeerIdentity(const grpc::ServerContextBase& context);

struct SyncOptions {
  double pushes_per_second = kDefaultPushesPerSecond;  // fleet-wide; <= 0: unpaced
  size_t push_burst = static_cast<size_t>(kDefaultPushesPerSecond / 10);
  // Where the node name comes from; "" refuses the stream (UNAUTHENTICATED).
  // Called once per stream, on a gRPC thread: it must not block for long.
  // Tests on plaintext loopback stand in their own.
  std::function<std::string(const grpc::ServerContextBase&)> identity = PeerIdentity;
};

class SyncService final : public v1::AgentSync::CallbackService {
 public:
  explicit SyncService(Fleet& fleet, SyncOptions options = {});
  // The server serving this service must be shut down first.
  ~SyncService() override;
  SyncService(const SyncService&) = delete;
  SyncService& operator=(const SyncService&) = delete;

  grpc::ServerBidiReactor<v1::AgentMessage, v1::ControlMessage>* Sync(grpc::CallbackServerContext* context) override;

  // Ends every stream `node` has open here with PERMISSION_DENIED "node
  // deleted" (after `rampart-cp node delete`, so the node loses its stream now
  // rather than at the maximum connection age). Only streams that said hello
  // are found; the caller also makes sure a new stream is refused (the node
  // authenticator reads the store). Any thread; returns how many it ended.
  size_t Disconnect(const std::string& node);
  // The nodes with a stream open here (after hello), each once.
  std::vector<std::string> ConnectedNodes() const;

 private:
  class Stream;  // one agent's stream (sync_service.cc)
  struct ScheduledPush {
    std::shared_ptr<Stream> stream;
    PushPacer::Clock::time_point turn;
  };

  // Streams that said hello, to be queued when the version changes.
  void Register(const std::shared_ptr<Stream>& stream);
  void Unregister(const Stream* stream);
  // Queues `stream` for a decision against the current version.
  void QueueDecision(const std::shared_ptr<Stream>& stream);
  void WatchVersions();  // thread: new version -> every stream queued
  void Schedule();       // thread: decisions, then writes at their turns

  Fleet& fleet_;
  const SyncOptions options_;
  PushPacer pacer_;
  const std::shared_ptr<spdlog::logger> log_;
  std::atomic<uint64_t> latest_version_;  // the newest version WatchVersions saw

  mutable std::mutex streams_mu_;
  std::unordered_map<const Stream*, std::weak_ptr<Stream>> streams_;

  std::mutex schedule_mu_;
  std::condition_variable schedule_changed_;
  std::deque<std::shared_ptr<Stream>> to_decide_;
  std::deque<ScheduledPush> to_send_;  // in turn order: the pacer hands turns out in call order
  bool stopping_ = false;

  std::thread watcher_, scheduler_;
};

}  // namespace rampart::cp

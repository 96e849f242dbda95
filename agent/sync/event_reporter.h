// The agent's side of FleetEvents.Report (proto/rampart/v1/events.proto):
// findings and drop summaries go to the control plane on a stream of their
// own, next to the sync stream on the same channel, so an event backlog never
// holds back a policy push.
//
// Delivery is at least once. Each event gets the next sequence number of this
// run (run_id is random per process) and stays queued until the control plane
// acks it; after a reconnect everything unacked is sent again and the control
// plane drops what it already stored. The queue is bounded: when it is full
// the oldest event is dropped and counted, and the count travels with every
// report, so the loss shows on the control plane (`rampart-cp events --stats`).
// At most `max_in_flight` events are sent and not yet acked, so a slow control
// plane holds the backlog here, where it is bounded, and not in gRPC's buffers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "rampart/v1/events.pb.h"

namespace grpc {
class Channel;
class ClientContext;
}  // namespace grpc

namespace rampart::sync {

struct EventReporterOptions {
  size_t max_queued = 10000;
  size_t max_per_report = 100;
  size_t max_in_flight = 1000;
};

class EventReporter {
 public:
  // The channel to report on: the control plane the sync stream is connected
  // to now (ControlPlaneClient::CurrentChannel); nullptr when there is none.
  using ChannelSource = std::function<std::shared_ptr<grpc::Channel>()>;

  explicit EventReporter(ChannelSource channel, EventReporterOptions options = {});
  ~EventReporter();
  EventReporter(const EventReporter&) = delete;
  EventReporter& operator=(const EventReporter&) = delete;

  void Start();
  void Stop();

  // Queue an event; never blocks on the network.
  void Report(const v1::Finding& finding);
  void Report(const v1::DropSummary& drops);
  void Report(const v1::ApiInventoryReply& inventory);

  struct Counts {
    uint64_t queued = 0;   // waiting for an ack now
    uint64_t acked = 0;    // highest sequence the control plane stored
    uint64_t dropped = 0;  // lost to the bounded queue
    bool connected = false;
  };
  Counts counts() const;

 private:
  void Enqueue(v1::AgentEvent event);
  void Run();
  // One stream, until it breaks. Returns why it ended.
  std::string RunStream(const std::shared_ptr<grpc::Channel>& channel);

  const ChannelSource channel_;
  const EventReporterOptions options_;
  const std::string run_id_;

  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::deque<v1::AgentEvent> queue_;  // unacked, contiguous sequence numbers
  uint64_t next_seq_ = 1;
  uint64_t acked_ = 0;
  uint64_t dropped_ = 0;
  bool connected_ = false;
  bool stream_broken_ = false;
  bool stopping_ = false;
  grpc::ClientContext* active_context_ = nullptr;
  std::thread thread_;
};

}  // namespace rampart::sync

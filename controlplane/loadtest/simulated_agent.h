// One simulated agent: its own channel (so its own TCP connection and TLS
// identity) and one AgentSync.Sync stream on gRPC's callback API, so that
// thousands of them share gRPC's few threads. It says hello, acknowledges every
// push at once and records when each version arrived. It applies nothing.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "controlplane/loadtest/fleet_pki.h"
#include "rampart/v1/sync.grpc.pb.h"

namespace rampart::cp::load {

using Clock = std::chrono::steady_clock;

// What the driver hears from its agents. Called on gRPC's threads; must not block.
struct AgentEvents {
  std::function<void()> hello_sent;             // the hello left: the connection is up
  std::function<void(uint64_t version)> pushed;  // a push arrived (recorded before this is called)
  std::function<void()> ended;                  // the stream is over
};

class SimulatedAgent final : public grpc::ClientBidiReactor<v1::AgentMessage, v1::ControlMessage> {
 public:
  // `events` must outlive the agent.
  SimulatedAgent(const AgentIdentity& identity, const std::string& ca_pem, const std::string& target,
                 const std::map<std::string, std::string>& labels, const AgentEvents& events);
  ~SimulatedAgent() override;  // cancels the stream and waits for it to end

  // When `version` arrived, or nullopt.
  std::optional<Clock::time_point> ArrivalOf(uint64_t version) const;
  // How the stream ended; OK while it runs.
  grpc::Status status() const;

  void OnWriteDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  void Write(v1::AgentMessage message);  // queued behind the write in flight

  const std::string node_;
  const AgentEvents& events_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AgentSync::Stub> stub_;
  grpc::ClientContext context_;
  v1::ControlMessage incoming_;

  mutable std::mutex mu_;
  std::condition_variable done_changed_;
  std::deque<v1::AgentMessage> outgoing_;  // front: the write in flight
  bool hello_sent_ = false;
  bool write_failed_ = false;  // no write can succeed any more
  bool done_ = false;
  grpc::Status status_;
  std::map<uint64_t, Clock::time_point> arrivals_;
};

}  // namespace rampart::cp::load

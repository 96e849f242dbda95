// The agent's side of the sync stream (proto/rampart/v1/sync.proto): connects
// over mutual TLS, says hello with the node's name, labels and applied
// version, applies each pushed bundle through a handler and answers ACK or
// NACK. Runs on its own thread.
//
// Several control-plane replicas may be given. The client talks to one at a
// time; when its stream ends it tries the next address at once, and only after
// a whole round of addresses failed does it wait, with jittered exponential
// backoff. So losing the replica it is connected to costs one reconnect to the
// next (docs/operations.md "High availability").
//
// One channel per address serves every reconnect to it. Their TLS identity and
// root come from one gRPC file watcher, which re-reads the files every
// cert_refresh_interval: after the renewer replaces node.pem, the next
// connection (the control plane closes each one after its maximum age)
// presents the new certificate, with no restart.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rampart/v1/agent_api.pb.h"
#include "rampart/v1/sync.pb.h"

namespace grpc {
class Channel;
class ClientContext;
namespace experimental {
class CertificateProviderInterface;
}
}  // namespace grpc

namespace rampart::sync {

struct ControlPlaneOptions {
  std::vector<std::string> addresses;  // host:port of each replica, tried in this order
  std::string ca_file;                 // CA that signed the control plane's certificate
  std::string cert_file;               // this node's client certificate
  std::string key_file;
  std::string server_name;  // name to verify in the server certificate; empty: the host of each address
  // How often the certificate files are re-read. cert_file and key_file may
  // be the same file (agent/enroll/join.h: node.pem).
  std::chrono::seconds cert_refresh_interval{60};
  std::string node_name;
  std::map<std::string, std::string> labels;
  // How long one connection attempt (TCP, TLS, HTTP/2) may take. A peer that
  // accepts and then never answers (a hung replica, a lost SYN) would
  // otherwise hold the stream for gRPC's 20 s minimum connect timeout.
  std::chrono::milliseconds connect_timeout{5000};
};

class ControlPlaneClient {
 public:
  // Applies a bundle; returns its errors, empty when it was applied (ACK).
  using BundleHandler = std::function<std::vector<v1::PolicyError>(const v1::PolicyBundle&)>;
  // The version in force, for the hello.
  using AppliedVersion = std::function<uint64_t()>;

  ControlPlaneClient(ControlPlaneOptions options, BundleHandler handler, AppliedVersion applied);
  ~ControlPlaneClient();

  void Start();
  void Stop();
  // The address in use (or being tried), its state and the last error.
  v1::ControlPlaneStatus Status() const;
  // The channel to the replica the sync stream is connected to now; nullptr
  // while not connected. Other streams (events) use it to follow the sync
  // stream from replica to replica. Any thread.
  std::shared_ptr<grpc::Channel> CurrentChannel() const;

 private:
  void Run();
  // One connection to addresses[index], until it fails. Returns the reason it ended.
  std::string RunStream(size_t index);
  // The channel to addresses[index], made on first use once the certificate
  // files are readable. Only the Run thread calls it.
  std::shared_ptr<grpc::Channel> Channel(size_t index, std::string& error);
  void SetState(v1::ConnectionState state, const std::string& error);

  const ControlPlaneOptions options_;
  const BundleHandler handler_;
  const AppliedVersion applied_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  grpc::ClientContext* active_context_ = nullptr;
  v1::ControlPlaneStatus status_;
  std::shared_ptr<grpc::Channel> connected_;  // the channel of a connected stream, else null
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> certificates_;  // Run thread only
  std::vector<std::shared_ptr<grpc::Channel>> channels_;  // by address index; Run thread only
  std::thread thread_;
};

}  // namespace rampart::sync

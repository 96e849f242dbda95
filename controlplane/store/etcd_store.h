// The control plane's store in etcd (v3 gRPC API), for several rampart-cp
// replicas sharing one etcd cluster. Layout, atomicity and failover:
// docs/store.md.
//
// Every write that depends on what is stored is one etcd Txn guarded by the
// mod_revision of the key it read: Append (policy/current), ConsumeJoinToken
// (the token), PutJoinToken (absence). Of several replicas racing, exactly one
// Txn applies; the others see the guard fail. A Txn resent after a timeout
// recognises its own earlier write instead of reporting a conflict.
//
// Every RPC has a deadline (EtcdOptions::timeout). A call that fails with
// UNAVAILABLE or DEADLINE_EXCEEDED moves on to the next endpoint, and keeps
// cycling through them for up to `timeout`, so losing one etcd member or a
// leader election does not fail a write. Errors name the endpoint and the
// operation ("etcd 10.0.0.5:2379: append policy version: ...").
//
// One background thread per store watches policy/current so that
// WaitForVersionAfter wakes when any replica appends; while the watch is down
// (reconnecting to another member) waiters poll with Range instead. The
// destructor cancels the watch; a read in flight can hold it up to `timeout`.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "controlplane/store/store.h"

namespace grpc {
class ClientContext;
class Status;
}  // namespace grpc

namespace rampart::cp {

struct EtcdOptions {
  std::vector<std::string> endpoints;  // HOST:PORT of each etcd member's client URL
  std::string prefix = "/rampart/";    // every key lives under it; several fleets can share an etcd
  // TLS: none of these set means plaintext. ca_file alone authenticates etcd;
  // cert_file and key_file together add a client certificate (mutual TLS).
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // Deadline of every RPC, and how long a call keeps trying other endpoints.
  std::chrono::milliseconds timeout{5000};
};

class EtcdStore final : public Store {
 public:
  // How often waiters read policy/current themselves while the watch is down
  // (one read per interval, shared by every waiter).
  static constexpr std::chrono::milliseconds kFallbackPoll{250};

  // Connects and reads policy/current once, so a wrong endpoint, prefix or
  // certificate fails here rather than on first use.
  static absl::StatusOr<std::unique_ptr<EtcdStore>> Open(const EtcdOptions& options);
  ~EtcdStore() override;

  EtcdStore(const EtcdStore&) = delete;
  EtcdStore& operator=(const EtcdStore&) = delete;

  absl::StatusOr<v1::PolicyVersion> Current() override;
  absl::StatusOr<v1::PolicyVersion> Get(uint64_t version) override;
  absl::StatusOr<std::vector<v1::PolicyVersion>> History(size_t limit) override;
  absl::StatusOr<v1::PolicyVersion> Append(const std::vector<v1::Policy>& policies, const std::string& author,
                                           const std::string& message, uint64_t expected_version) override;
  absl::StatusOr<uint64_t> WaitForVersionAfter(uint64_t seen, std::chrono::milliseconds timeout) override;

  absl::Status PutJoinToken(const v1::JoinTokenRecord& token) override;
  absl::StatusOr<v1::JoinTokenRecord> ConsumeJoinToken(const std::string& id, const std::string& node,
                                                       int64_t now_unix_ms) override;
  absl::StatusOr<v1::JoinTokenRecord> GetJoinToken(const std::string& id) override;
  absl::StatusOr<std::vector<v1::JoinTokenRecord>> JoinTokens() override;

  absl::Status PutNode(const v1::NodeRecord& node) override;
  absl::StatusOr<v1::NodeRecord> GetNode(const std::string& name) override;
  absl::StatusOr<std::vector<v1::NodeRecord>> Nodes() override;

  // The first call grants an etcd lease of `ttl` (etcd may raise it to its
  // minimum) and puts the record attached to it; later calls renew the lease.
  absl::Status KeepReplicaAlive(const v1::ReplicaRecord& replica, std::chrono::seconds ttl) override;
  absl::StatusOr<std::vector<v1::ReplicaRecord>> LiveReplicas() override;

 private:
  struct Endpoint;  // one member: its address, channel and stubs
  struct ReplicaLease {
    int64_t id = 0;
    std::chrono::seconds ttl{0};
    std::string stored_record;  // what the replica key holds, once put
  };
  using Rpc = std::function<grpc::Status(Endpoint&, grpc::ClientContext&)>;

  EtcdStore(EtcdOptions options, std::vector<std::unique_ptr<Endpoint>> endpoints);

  // Runs `rpc` on the preferred endpoint, failing over as described above.
  absl::Status Call(std::string_view operation, const Rpc& rpc);
  // The newest version number and policy/current's mod_revision (0, 0 when
  // nothing was applied), plus the store revision of the read.
  struct CurrentKey {
    uint64_t version = 0;
    int64_t mod_revision = 0;
    int64_t store_revision = 0;
  };
  absl::StatusOr<CurrentKey> ReadCurrentKey(std::string_view operation);
  void Publish(uint64_t version);  // newest_ = max(newest_, version), wakes waiters
  void WatchCurrent();             // the watcher thread's body

  std::string Key(std::string_view suffix) const { return options_.prefix + std::string(suffix); }
  std::string VersionKey(uint64_t version) const;
  std::string HistoryKey(uint64_t version) const;

  const EtcdOptions options_;
  const std::vector<std::unique_ptr<Endpoint>> endpoints_;
  std::atomic<size_t> preferred_{0};  // the endpoint that answered last

  std::mutex mu_;
  std::condition_variable changed_;  // newest_, watch_live_ or stopping_ changed
  uint64_t newest_ = 0;              // newest version seen by the watcher or a write
  bool watch_live_ = false;          // a watch on policy/current is established
  // While it is not, waiters read policy/current themselves, one at a time.
  std::chrono::steady_clock::time_point last_fallback_poll_;
  absl::Status fallback_error_;
  bool stopping_ = false;
  std::shared_ptr<grpc::ClientContext> watch_context_;  // to cancel the watch on shutdown
  std::thread watcher_;

  std::mutex leases_mu_;  // held across KeepReplicaAlive's RPCs: one heartbeat at a time
  std::map<std::string, ReplicaLease> leases_;
};

}  // namespace rampart::cp

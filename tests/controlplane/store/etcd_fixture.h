// Real etcd servers for tests: one member, or a cluster of several, listening
// on 127.0.0.1 with free client and peer ports, their data in a private
// mkdtemp directory (under /dev/shm when there is one, so fsync costs little).
// The destructor kills every member by PID and removes the directory, also when
// a test fails; a member also dies with the thread that started it
// (PR_SET_PDEATHSIG), so a crashed test binary leaves no etcd behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rampart::cp {

// "127.0.0.1:PORT" where nothing listens (a port just bound and released).
std::string ClosedLoopbackEndpoint();

class EtcdCluster {
 public:
  // Starts `members` etcd processes as one cluster and waits until every one
  // answers a linearizable read (so a leader is elected). Errors carry the tail
  // of the failing member's log.
  static absl::StatusOr<std::unique_ptr<EtcdCluster>> Start(int members = 1);
  ~EtcdCluster();

  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  int size() const { return static_cast<int>(members_.size()); }
  // "127.0.0.1:PORT" of member `index`'s client URL.
  const std::string& ClientEndpoint(int index) const { return members_.at(index).client_endpoint; }
  std::vector<std::string> ClientEndpoints() const;
  // SIGKILLs member `index` by its PID and reaps it, as a crashed machine would.
  absl::Status Kill(int index);
  // The index of the member that is raft leader now (from each member's
  // /metrics, etcd_server_is_leader), waiting up to `timeout` for an election.
  absl::StatusOr<int> Leader(std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

 private:
  struct Member {
    std::string name;
    std::string client_endpoint;
    std::string peer_url;
    std::string data_dir;
    std::string log_path;
    pid_t pid = -1;
  };

  EtcdCluster() = default;
  absl::Status Launch(Member& member, const std::string& initial_cluster, const std::string& cluster_token);
  absl::Status WaitHealthy(Member& member, std::chrono::steady_clock::time_point deadline);
  void StopAll();

  std::string dir_;
  std::vector<Member> members_;
};

}  // namespace rampart::cp

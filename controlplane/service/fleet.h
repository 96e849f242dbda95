// The control plane's view of its fleet: the policy version in force, which
// nodes are connected, and what each one applied or refused. Sync sessions
// wait on it for new versions and ask it whether a bundle must be sent.
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "rampart/v1/admin.pb.h"
#include "rampart/v1/sync.pb.h"

namespace rampart::cp {

// The policies of `version` whose nodeSelector matches `labels` (every
// selector key present with the same value; an empty selector matches all).
v1::PolicyBundle BundleForNode(const v1::PolicyVersion& version, const std::map<std::string, std::string>& labels);

struct FleetOptions {
  // A published version reaches the nodes once no newer one was published for
  // this long, so a burst of applies goes out once, as its newest version.
  // 0: at once.
  std::chrono::milliseconds debounce{100};
  // ... but never later than this after the first version of the burst, so a
  // steady stream of applies still goes out.
  std::chrono::milliseconds max_debounce{1000};
};

// What a sync session does with the bundle the current version holds for its node.
enum class PushDecision {
  kSend,         // the node needs it
  kAlreadySent,  // this stream already carried this content
  kRefused,      // the node refused this content; it is not sent again until it changes
};

class Fleet {
 public:
  explicit Fleet(v1::PolicyVersion current, FleetOptions options = {});
  ~Fleet();
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  // --- the version in force ---

  // Hands a newly stored version to the fleet; it becomes Current() after the
  // debounce. A version not newer than the newest one published is ignored (a
  // replica hears of its own applies twice: from the apply and from the store).
  void Publish(v1::PolicyVersion version);
  v1::PolicyVersion Current() const;
  // Blocks until the version differs from `seen`, or `timeout` passes.
  // Returns the current version.
  uint64_t WaitForVersionAfter(uint64_t seen, std::chrono::milliseconds timeout) const;
  // How many times Publish changed Current(): once per burst.
  uint64_t Publications() const;

  // --- nodes ---
  // A node's record outlives its streams: what it refused is remembered across
  // reconnects (for the life of this process).

  // A stream from `node` said hello. Returns the session id that Disconnected
  // takes, so a stream replaced by a newer one cannot mark the node gone.
  uint64_t Connected(const std::string& node, const std::map<std::string, std::string>& labels, uint64_t applied,
                     const std::string& agent_version);
  void Disconnected(const std::string& node, uint64_t session);

  // Records that the current version holds content `digest` (ContentDigest of
  // the node's bundle) for `node`, and decides whether a
  // stream that last carried `last_sent_digest` ("" for none) must send it.
  // Refused content is not sent again, on this stream or any later one, until
  // the node's content changes, an ACK clears the refusal, or the node
  // reconnects with another agent version (which may accept what the old one
  // refused).
  PushDecision Decide(const std::string& node, const std::string& digest, const std::string& last_sent_digest);
  void Sent(const std::string& node, uint64_t version);
  // The node applied `version`, whose content for it is `digest`. Clears the
  // last refusal and its error.
  void Acked(const std::string& node, uint64_t version, const std::string& digest);
  // The node refused `version` (content `digest`) with these errors.
  void Nacked(const std::string& node, uint64_t version, const std::string& digest,
              const std::vector<v1::PolicyError>& errors);

  // Every node seen, by name, with its status against the current version.
  v1::ListNodesReply Nodes() const;

 private:
  struct Node {
    v1::NodeState state;
    uint64_t session = 0;
    std::string target_digest;      // what the current version holds for it ("" until decided)
    std::string acked_digest;       // what it last acknowledged
    std::string refused_digest;     // what it last refused, until an ACK
    std::string refused_by_agent;   // the agent version that refused it
  };

  void PublishLoop();
  v1::NodeSyncStatus StatusLocked(const Node& node) const;

  const FleetOptions options_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;  // Current() changed
  v1::PolicyVersion current_;
  uint64_t publications_ = 0;
  std::map<std::string, Node> nodes_;
  uint64_t next_session_ = 0;

  // The debounce: the newest published version waiting for the burst to end.
  std::condition_variable pending_changed_;
  std::optional<v1::PolicyVersion> pending_;
  std::chrono::steady_clock::time_point burst_started_, due_;
  bool stopping_ = false;
  std::thread publisher_;  // runs PublishLoop when options_.debounce > 0
};

}  // namespace rampart::cp

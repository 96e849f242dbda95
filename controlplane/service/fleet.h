// The control plane's view of its fleet: the policy version in force, which
// nodes are connected, and what each one applied or refused. Sessions wait on
// it for new versions. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>

#include "rampart/v1/admin.pb.h"

namespace rampart::cp {

// The policies of `version` whose nodeSelector matches `labels` (every
// selector key present with the same value; an empty selector matches all).
v1::PolicyBundle BundleForNode(const v1::PolicyVersion& version, const std::map<std::string, std::string>& labels);

class Fleet {
 public:
  explicit Fleet(v1::PolicyVersion current) : current_(std::move(current)) {}

  void Publish(v1::PolicyVersion version);
  v1::PolicyVersion Current() const;
  // Blocks until the version differs from `seen`, or `timeout` passes.
  // Returns the current version.
  uint64_t WaitForVersionAfter(uint64_t seen, std::chrono::milliseconds timeout) const;

  void Connected(const std::string& node, const std::map<std::string, std::string>& labels, uint64_t applied);
  void Disconnected(const std::string& node);
  void Sent(const std::string& node, uint64_t version);
  void Acked(const std::string& node, uint64_t version);
  void Nacked(const std::string& node, uint64_t version, const std::string& error);
  v1::ListNodesReply Nodes() const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  v1::PolicyVersion current_;
  std::map<std::string, v1::NodeState> nodes_;
};

}  // namespace rampart::cp

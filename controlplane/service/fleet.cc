#include "controlplane/service/fleet.h"

namespace rampart::cp {

v1::PolicyBundle BundleForNode(const v1::PolicyVersion& version, const std::map<std::string, std::string>& labels) {
  v1::PolicyBundle bundle;
  bundle.set_version(version.version());
  for (const v1::Policy& policy : version.policies()) {
    bool selected = true;
    for (const auto& [key, value] : policy.spec().node_selector()) {
      auto it = labels.find(key);
      if (it == labels.end() || it->second != value) {
        selected = false;
        break;
      }
    }
    if (selected) *bundle.add_policies() = policy;
  }
  return bundle;
}

void Fleet::Publish(v1::PolicyVersion version) {
  {
    std::lock_guard lock(mu_);
    current_ = std::move(version);
  }
  changed_.notify_all();
}

v1::PolicyVersion Fleet::Current() const {
  std::lock_guard lock(mu_);
  return current_;
}

uint64_t Fleet::WaitForVersionAfter(uint64_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  changed_.wait_for(lock, timeout, [&] { return current_.version() != seen; });
  return current_.version();
}

void Fleet::Connected(const std::string& node, const std::map<std::string, std::string>& labels, uint64_t applied) {
  std::lock_guard lock(mu_);
  v1::NodeState& state = nodes_[node];
  state.set_name(node);
  state.mutable_labels()->clear();
  for (const auto& [k, v] : labels) (*state.mutable_labels())[k] = v;
  state.set_connected(true);
  state.set_applied_version(applied);
}

void Fleet::Disconnected(const std::string& node) {
  std::lock_guard lock(mu_);
  nodes_[node].set_connected(false);
}

void Fleet::Sent(const std::string& node, uint64_t version) {
  std::lock_guard lock(mu_);
  nodes_[node].set_sent_version(version);
}

void Fleet::Acked(const std::string& node, uint64_t version) {
  std::lock_guard lock(mu_);
  v1::NodeState& state = nodes_[node];
  state.set_applied_version(version);
  state.clear_last_error();
}

void Fleet::Nacked(const std::string& node, uint64_t version, const std::string& error) {
  std::lock_guard lock(mu_);
  nodes_[node].set_last_error("version " + std::to_string(version) + ": " + error);
}

v1::ListNodesReply Fleet::Nodes() const {
  std::lock_guard lock(mu_);
  v1::ListNodesReply reply;
  for (const auto& [name, state] : nodes_) *reply.add_nodes() = state;
  return reply;
}

}  // namespace rampart::cp

#include "controlplane/service/fleet.h"

#include <algorithm>

#include "agent/common/strings.h"

namespace rampart::cp {
namespace {

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "version 6: MESSAGE; MESSAGE", on one line whatever the agent sent.
std::string RefusalLine(uint64_t version, const std::vector<v1::PolicyError>& errors) {
  std::string line = StrCat("version ", version, ": ");
  if (errors.empty()) line += "refused without a reason";
  for (size_t i = 0; i < errors.size(); ++i) {
    if (i > 0) line += "; ";
    const std::string& message = errors[i].message();
    // The agent's messages name the file, which names the policy; add the
    // policy only when the message does not already mention it.
    if (!errors[i].policy().empty() && message.find(errors[i].policy()) == std::string::npos) {
      line += errors[i].policy() + ": ";
    }
    line += message.empty() ? "no reason given" : message;
  }
  std::replace_if(line.begin(), line.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return line;
}

}  // namespace

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

Fleet::Fleet(v1::PolicyVersion current, FleetOptions options) : options_(options), current_(std::move(current)) {
  if (options_.debounce.count() > 0) publisher_ = std::thread([this] { PublishLoop(); });
}

Fleet::~Fleet() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  pending_changed_.notify_all();
  if (publisher_.joinable()) publisher_.join();
}

void Fleet::Publish(v1::PolicyVersion version) {
  std::lock_guard lock(mu_);
  const uint64_t newest = pending_ ? pending_->version() : current_.version();
  if (version.version() <= newest) return;
  if (!publisher_.joinable()) {
    current_ = std::move(version);
    ++publications_;
    changed_.notify_all();
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (!pending_) burst_started_ = now;
  pending_ = std::move(version);
  due_ = std::min(now + options_.debounce, burst_started_ + std::max(options_.max_debounce, options_.debounce));
  pending_changed_.notify_all();
}

void Fleet::PublishLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (!pending_) {
      pending_changed_.wait(lock, [&] { return stopping_ || pending_.has_value(); });
      continue;
    }
    // A newer Publish moves due_ later; the loop then waits again.
    pending_changed_.wait_until(lock, due_, [&] { return stopping_; });
    if (stopping_ || std::chrono::steady_clock::now() < due_) continue;
    current_ = std::move(*pending_);
    pending_.reset();
    ++publications_;
    changed_.notify_all();
  }
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

uint64_t Fleet::Publications() const {
  std::lock_guard lock(mu_);
  return publications_;
}

uint64_t Fleet::Connected(const std::string& node, const std::map<std::string, std::string>& labels, uint64_t applied,
                          const std::string& agent_version) {
  std::lock_guard lock(mu_);
  Node& n = nodes_[node];
  n.session = ++next_session_;
  v1::NodeState& state = n.state;
  state.set_name(node);
  state.mutable_labels()->clear();
  for (const auto& [k, v] : labels) (*state.mutable_labels())[k] = v;
  state.set_connected(true);
  // A node that comes back with another version than it acknowledged (a
  // rebuilt machine, a lost state dir) no longer runs what it acknowledged.
  if (applied != state.applied_version()) n.acked_digest.clear();
  state.set_applied_version(applied);
  if (!n.refused_digest.empty() && n.refused_by_agent != agent_version) n.refused_digest.clear();
  state.set_agent_version(agent_version);
  state.set_last_change_unix_ms(NowUnixMs());
  return n.session;
}

void Fleet::Disconnected(const std::string& node, uint64_t session) {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(node);
  if (it == nodes_.end() || it->second.session != session) return;
  it->second.state.set_connected(false);
  it->second.state.set_last_change_unix_ms(NowUnixMs());
}

PushDecision Fleet::Decide(const std::string& node, const std::string& digest, const std::string& last_sent_digest) {
  std::lock_guard lock(mu_);
  Node& n = nodes_[node];
  n.state.set_name(node);
  n.target_digest = digest;
  if (!n.refused_digest.empty() && n.refused_digest == digest) return PushDecision::kRefused;
  if (digest == last_sent_digest) return PushDecision::kAlreadySent;
  return PushDecision::kSend;
}

void Fleet::Sent(const std::string& node, uint64_t version) {
  std::lock_guard lock(mu_);
  nodes_[node].state.set_sent_version(version);
}

void Fleet::Acked(const std::string& node, uint64_t version, const std::string& digest) {
  std::lock_guard lock(mu_);
  Node& n = nodes_[node];
  n.state.set_name(node);
  n.state.set_applied_version(version);
  n.acked_digest = digest;
  n.refused_digest.clear();
  n.state.set_refused_version(0);
  n.state.clear_last_error();
  n.state.clear_errors();
  n.state.set_last_change_unix_ms(NowUnixMs());
}

void Fleet::Nacked(const std::string& node, uint64_t version, const std::string& digest,
                   const std::vector<v1::PolicyError>& errors) {
  std::lock_guard lock(mu_);
  Node& n = nodes_[node];
  n.state.set_name(node);
  n.refused_digest = digest;
  n.refused_by_agent = n.state.agent_version();
  n.state.set_refused_version(version);
  n.state.set_last_error(RefusalLine(version, errors));
  n.state.clear_errors();
  for (const v1::PolicyError& e : errors) *n.state.add_errors() = e;
  n.state.set_last_change_unix_ms(NowUnixMs());
}

v1::NodeSyncStatus Fleet::StatusLocked(const Node& node) const {
  if (!node.state.connected()) return v1::NODE_SYNC_STATUS_DISCONNECTED;
  if (node.target_digest.empty()) {
    return current_.version() == 0 ? v1::NODE_SYNC_STATUS_IN_SYNC : v1::NODE_SYNC_STATUS_PENDING;
  }
  if (node.target_digest == node.refused_digest) return v1::NODE_SYNC_STATUS_REFUSED;
  if (node.target_digest == node.acked_digest) return v1::NODE_SYNC_STATUS_IN_SYNC;
  return v1::NODE_SYNC_STATUS_PENDING;
}

v1::ListNodesReply Fleet::Nodes() const {
  std::lock_guard lock(mu_);
  v1::ListNodesReply reply;
  reply.set_current_version(current_.version());
  for (const auto& [name, node] : nodes_) {
    v1::NodeState& state = *reply.add_nodes();
    state = node.state;
    state.set_status(StatusLocked(node));
  }
  return reply;
}

}  // namespace rampart::cp

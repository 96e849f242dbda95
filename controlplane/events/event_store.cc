#include "controlplane/events/event_store.h"

#include <algorithm>

namespace rampart::cp {
namespace {

int SeverityRank(const std::string& severity) {
  static const char* const kOrder[] = {"info", "low", "medium", "high", "critical"};
  for (int i = 0; i < 5; ++i) {
    if (severity == kOrder[i]) return i;
  }
  return 0;
}

int64_t UnixMs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

bool MatchesWatch(const v1::WatchEventsRequest& filter, const v1::FleetEvent& event) {
  if (!filter.node().empty() && event.node() != filter.node()) return false;
  switch (filter.kind()) {
    case v1::WatchEventsRequest::KIND_FINDING:
      if (!event.has_finding()) return false;
      break;
    case v1::WatchEventsRequest::KIND_DROPS:
      if (!event.has_drops()) return false;
      break;
    default:
      break;
  }
  if (event.has_finding()) {
    const auto& finding = event.finding();
    if (finding.detector().compare(0, filter.detector().size(), filter.detector()) != 0) return false;
    if (!filter.min_severity().empty() && SeverityRank(finding.severity()) < SeverityRank(filter.min_severity())) {
      return false;
    }
  } else if (!filter.detector().empty() || !filter.min_severity().empty()) {
    return false;  // a finding filter asks for findings
  }
  return true;
}

EventStore::EventStore(EventRetention retention, Clock clock, FleetInventory* inventory)
    : retention_(retention), clock_(std::move(clock)), inventory_(inventory) {}

EventStore::Stored EventStore::Add(const std::string& node, const v1::EventReport& report) {
  const auto now = clock_();
  Stored stored;
  std::vector<v1::FleetEvent> added;
  {
    std::lock_guard lock(mu_);
    Run& run = runs_[node];
    if (run.run_id != report.run_id()) run = Run{report.run_id(), 0};  // a restarted agent
    v1::NodeEventStats& stats = nodes_[node];
    stats.set_node(node);
    stats.set_agent_dropped(report.dropped());
    for (const v1::AgentEvent& event : report.events()) {
      if (event.seq() <= run.highest_seq) {
        stats.set_duplicates(stats.duplicates() + 1);
        continue;
      }
      run.highest_seq = event.seq();
      if (event.has_api_inventory()) {
        if (inventory_ != nullptr) inventory_->Update(node, event.api_inventory(), now);
        continue;
      }
      v1::FleetEvent out;
      out.set_id(next_id_++);
      out.set_node(node);
      out.set_received_unix_ms(UnixMs(now));
      if (event.has_finding()) *out.mutable_finding() = event.finding();
      if (event.has_drops()) *out.mutable_drops() = event.drops();
      events_.push_back(out);
      added.push_back(std::move(out));
    }
    stats.set_received(stats.received() + added.size());
    if (!added.empty()) stats.set_last_unix_ms(UnixMs(now));
    Expire(now);
    stored.acked_seq = run.highest_seq;
    stored.added = added.size();
    // Under mu_, so every subscriber sees events in id order.
    std::lock_guard subscribers_lock(subscribers_mu_);
    for (const auto& event : added) {
      for (auto& [token, subscriber] : subscribers_) subscriber(event);
    }
  }
  return stored;
}

void EventStore::Expire(std::chrono::system_clock::time_point now) {
  const int64_t oldest = UnixMs(now - retention_.max_age);
  while (!events_.empty() && (events_.size() > retention_.max_events || events_.front().received_unix_ms() < oldest)) {
    events_.pop_front();
    ++expired_;
  }
}

std::vector<v1::FleetEvent> EventStore::Recent(const v1::WatchEventsRequest& filter, size_t limit) const {
  std::vector<v1::FleetEvent> out;
  std::lock_guard lock(mu_);
  const int64_t oldest = UnixMs(clock_() - retention_.max_age);
  for (auto it = events_.rbegin(); it != events_.rend() && out.size() < limit; ++it) {
    if (it->received_unix_ms() < oldest) break;  // expired, not yet removed
    if (MatchesWatch(filter, *it)) out.push_back(*it);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

int EventStore::Subscribe(std::function<void(const v1::FleetEvent&)> subscriber) {
  std::lock_guard lock(subscribers_mu_);
  subscribers_[next_token_] = std::move(subscriber);
  return next_token_++;
}

void EventStore::Unsubscribe(int token) {
  std::lock_guard lock(subscribers_mu_);
  subscribers_.erase(token);
}

v1::EventStats EventStore::Stats() const {
  v1::EventStats stats;
  std::lock_guard lock(mu_);
  stats.set_stored(events_.size());
  stats.set_capacity(retention_.max_events);
  stats.set_expired(expired_);
  for (const auto& [node, s] : nodes_) *stats.add_nodes() = s;
  return stats;
}

}  // namespace rampart::cp

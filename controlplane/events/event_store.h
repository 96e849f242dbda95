// The control plane's memory of fleet events (findings and drop summaries):
// bounded by count and by age, deduplicated per node and agent run, with live
// subscribers for `rampart-cp events --follow`.
//
// Events stay in this replica's memory only. They never go to the policy store
// (etcd holds policy, not a firehose), and a replica that restarts starts
// empty: each agent's findings also stay in its own log (findings.jsonl), and
// a SIEM that needs history follows the stream. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "controlplane/events/fleet_inventory.h"
#include "rampart/v1/events.pb.h"

namespace rampart::cp {

struct EventRetention {
  size_t max_events = 100000;
  std::chrono::seconds max_age{24 * 3600};
};

class EventStore {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  // API inventories go to `inventory` (may be null: they are dropped), not
  // to the event log: each replaces the node's previous one.
  explicit EventStore(EventRetention retention = {}, Clock clock = std::chrono::system_clock::now,
                      FleetInventory* inventory = nullptr);

  // Stores the events of `report` from `node` that were not stored before
  // (sequence numbers above the highest stored for that node's run) and
  // returns the highest sequence now stored for the run. An agent sends in
  // sequence order and resends from its last ack, so a gap is only ever the
  // events its bounded queue dropped, which the report counts (`dropped`).
  struct Stored {
    uint64_t acked_seq = 0;
    size_t added = 0;
  };
  Stored Add(const std::string& node, const v1::EventReport& report);

  // The newest `limit` stored events that match, oldest first.
  std::vector<v1::FleetEvent> Recent(const v1::WatchEventsRequest& filter, size_t limit) const;
  // Subscribers run on the thread that called Add, in id order, under the
  // store's lock: they must only queue, and never call the store. Returns a
  // token for Unsubscribe.
  int Subscribe(std::function<void(const v1::FleetEvent&)> subscriber);
  void Unsubscribe(int token);

  v1::EventStats Stats() const;

 private:
  struct Run {
    std::string run_id;
    uint64_t highest_seq = 0;
  };
  void Expire(std::chrono::system_clock::time_point now);  // under mu_

  const EventRetention retention_;
  const Clock clock_;
  FleetInventory* const inventory_;
  mutable std::mutex mu_;
  uint64_t next_id_ = 1;
  uint64_t expired_ = 0;
  std::deque<v1::FleetEvent> events_;
  std::map<std::string, Run> runs_;  // by node
  std::map<std::string, v1::NodeEventStats> nodes_;
  std::mutex subscribers_mu_;
  int next_token_ = 1;
  std::map<int, std::function<void(const v1::FleetEvent&)>> subscribers_;
};

// Whether `event` passes the filter of a watch (kind, node, detector prefix,
// minimum severity).
bool MatchesWatch(const v1::WatchEventsRequest& filter, const v1::FleetEvent& event);

}  // namespace rampart::cp

// The fleet's API inventory: the newest inventory each node reported
// (FleetEvents.Report, api_inventory events), merged on demand into one view
// per service. A node's report replaces its previous one, so a service or an
// endpoint stays in the view as long as some node still reports it; a node
// deleted from the fleet is forgotten. Bounded by the number of nodes, each
// report by the agent's own inventory caps. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "rampart/v1/events.pb.h"

namespace rampart::cp {

class FleetInventory {
 public:
  static constexpr size_t kMaxNodes = 20000;

  // Returns false when the node is new and kMaxNodes are already reporting.
  bool Update(const std::string& node, const v1::ApiInventoryReply& inventory,
              std::chrono::system_clock::time_point received);
  void Forget(const std::string& node);

  v1::FleetApis Merged(const v1::ListFleetApisRequest& request) const;

 private:
  struct Report {
    v1::ApiInventoryReply inventory;
    int64_t received_unix_ms = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, Report> reports_;  // by node
};

}  // namespace rampart::cp

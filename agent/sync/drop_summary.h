// Turns the datapath's drop counters and sampled drop events into periodic
// summaries for the control plane (v1::DropSummary): exact packet counts per
// drop reason from the counters' deltas, and the sources the sampled events
// named most. A window with no drops yields nothing, so a quiet node
// sends nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "rampart/v1/agent_api.pb.h"
#include "rampart/v1/events.pb.h"

namespace rampart::sync {

class DropSummaryBuilder {
 public:
  static constexpr size_t kTopSources = 10;
  // Sources tracked per window: a spoofed flood cannot grow this without bound.
  static constexpr size_t kMaxTrackedSources = 4096;

  // A sampled drop event (any thread).
  void OnDropEvent(const std::string& source, const std::string& reason);

  // Ends the window at `now` with the counters read now. The first call only
  // sets the baseline. Counters that went down (the datapath was reloaded)
  // count from zero.
  std::optional<v1::DropSummary> CloseWindow(const v1::Counters& counters, std::chrono::system_clock::time_point now);

 private:
  std::mutex mu_;
  bool has_baseline_ = false;
  std::chrono::system_clock::time_point window_start_;
  std::map<std::pair<std::string, std::string>, uint64_t> reasons_;  // (direction, reason) -> packets
  std::map<std::pair<std::string, std::string>, uint64_t> sources_;  // (source, reason) -> events this window
};

}  // namespace rampart::sync

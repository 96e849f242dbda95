#include "agent/sync/drop_summary.h"

#include <algorithm>
#include <tuple>
#include <vector>

namespace rampart::sync {
namespace {

int64_t UnixMs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

uint64_t Delta(uint64_t now, uint64_t before) { return now >= before ? now - before : now; }

}  // namespace

void DropSummaryBuilder::OnDropEvent(const std::string& source, const std::string& reason) {
  std::lock_guard lock(mu_);
  auto key = std::make_pair(source, reason);
  auto it = sources_.find(key);
  if (it != sources_.end()) {
    ++it->second;
  } else if (sources_.size() < kMaxTrackedSources) {
    sources_.emplace(std::move(key), 1);
  }
}

std::optional<v1::DropSummary> DropSummaryBuilder::CloseWindow(const v1::Counters& counters,
                                                               std::chrono::system_clock::time_point now) {
  std::lock_guard lock(mu_);
  v1::DropSummary summary;
  summary.set_start_unix_ms(UnixMs(window_start_));
  summary.set_end_unix_ms(UnixMs(now));
  uint64_t dropped = 0;
  decltype(reasons_) reasons;
  for (const auto& r : counters.by_reason()) {
    if (r.reason().rfind("drop_", 0) != 0) continue;
    auto key = std::make_pair(r.direction(), r.reason());
    reasons[key] = r.packets();
    const uint64_t delta = Delta(r.packets(), reasons_.count(key) ? reasons_[key] : 0);
    if (delta == 0) continue;
    auto* out = summary.add_by_reason();
    out->set_direction(r.direction());
    out->set_reason(r.reason());
    out->set_packets(delta);
    dropped += delta;
  }
  std::vector<std::pair<std::pair<std::string, std::string>, uint64_t>> sources(sources_.begin(), sources_.end());
  std::sort(sources.begin(), sources.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (sources.size() > kTopSources) sources.resize(kTopSources);
  for (const auto& [key, events] : sources) {
    auto* out = summary.add_top_sources();
    out->set_source(key.first);
    out->set_reason(key.second);
    out->set_events(events);
  }
  summary.set_dropped_packets(dropped);

  const bool first = !has_baseline_;
  has_baseline_ = true;
  window_start_ = now;
  reasons_ = std::move(reasons);
  sources_.clear();
  if (first || dropped == 0) return std::nullopt;
  return summary;
}

}  // namespace rampart::sync

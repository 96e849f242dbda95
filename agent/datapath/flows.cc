#include "agent/datapath/flows.h"

#include <bpf/bpf.h>
#include <errno.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <thread>

#include "agent/common/errors.h"

namespace rampart::datapath {
namespace {

struct KeyLess {
  bool operator()(const rp_bucket_key& a, const rp_bucket_key& b) const { return std::memcmp(&a, &b, sizeof(a)) < 0; }
};

absl::StatusOr<std::map<rp_bucket_key, rp_bucket, KeyLess>> Snapshot(int fd) {
  std::map<rp_bucket_key, rp_bucket, KeyLess> out;
  rp_bucket_key key{}, next{};
  void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    rp_bucket value{};
    if (bpf_map_lookup_elem(fd, &next, &value) == 0) out[next] = value;
    key = next;
    prev = &key;
  }
  if (errno != ENOENT) return ErrnoError(errno, "iterate map rampart_buckets");
  return out;
}

}  // namespace

absl::StatusOr<std::vector<FlowSample>> TopFlows(int buckets_fd, std::chrono::milliseconds interval, size_t limit,
                                                 size_t* tracked) {
  auto before = Snapshot(buckets_fd);
  if (!before.ok()) return before.status();
  std::this_thread::sleep_for(interval);
  auto after = Snapshot(buckets_fd);
  if (!after.ok()) return after.status();
  if (tracked) *tracked = after->size();
  const double seconds = std::chrono::duration<double>(interval).count();
  std::vector<FlowSample> samples;
  for (const auto& [key, now] : *after) {
    rp_bucket then{};
    if (auto it = before->find(key); it != before->end() && it->second.base_ns == now.base_ns) then = it->second;
    FlowSample s;
    s.key = key;
    s.packets_per_second = static_cast<double>(now.passed_packets - then.passed_packets) / seconds;
    s.bytes_per_second = static_cast<double>(now.passed_bytes - then.passed_bytes) / seconds;
    s.dropped_per_second = static_cast<double>(now.dropped_packets - then.dropped_packets) / seconds;
    s.passed_packets = now.passed_packets;
    s.dropped_packets = now.dropped_packets;
    samples.push_back(s);
  }
  std::sort(samples.begin(), samples.end(), [](const FlowSample& a, const FlowSample& b) {
    return a.packets_per_second + a.dropped_per_second > b.packets_per_second + b.dropped_per_second;
  });
  if (samples.size() > limit) samples.resize(limit);
  return samples;
}

}  // namespace rampart::datapath

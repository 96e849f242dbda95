#include "agent/datapath/blocklist.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <time.h>

#include <algorithm>
#include <cstring>

#include "agent/common/errors.h"
#include "agent/common/strings.h"
#include "agent/policy/types.h"

namespace rampart::datapath {

absl::StatusOr<Address> ParseAddress(const std::string& text) {
  auto prefix = policy::IpPrefix::Parse(text);
  if (!prefix.ok()) return absl::InvalidArgumentError(rampart::StrCat("bad address \"", text, "\""));
  if (prefix->mapped_len != 128) {
    return absl::InvalidArgumentError(rampart::StrCat("bad address \"", text, "\": a single address, not a prefix"));
  }
  return prefix->addr;
}

std::string FormatAddress(const Address& address) {
  policy::IpPrefix prefix;
  prefix.addr = address;
  prefix.mapped_len = 128;
  prefix.ipv4 = address[10] == 0xff && address[11] == 0xff &&
                std::all_of(address.begin(), address.begin() + 10, [](uint8_t b) { return b == 0; });
  std::string text = prefix.ToString();
  return text.substr(0, text.rfind('/'));
}

uint64_t MonotonicNanos() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

absl::Status Blocklist::UpdateEntryFlag(bool any) {
  return state_.UpdateState([any](rp_state& state) { state.block_entries = any ? 1 : 0; });
}

absl::Status Blocklist::Insert(const rp_block_key& key, std::chrono::milliseconds ttl, uint32_t reason) {
  std::lock_guard lock(mu_);
  // The flag goes up before the entry exists, so the programs never skip a
  // present entry.
  RAMPART_RETURN_IF_ERROR(UpdateEntryFlag(true));
  rp_block_value value{};
  value.expires_ns = ttl.count() > 0 ? MonotonicNanos() + static_cast<uint64_t>(ttl.count()) * 1'000'000ull : 0;
  value.reason = reason;
  if (bpf_map_update_elem(fd_, &key, &value, BPF_ANY) != 0) {
    return ErrnoError(errno, "write map rampart_block (is it full? see --block-entries)");
  }
  return absl::OkStatus();
}

absl::Status Blocklist::BlockSource(const Address& source, std::chrono::milliseconds ttl, uint32_t reason) {
  rp_block_key key{};
  key.kind = RP_BLOCK_SOURCE;
  std::memcpy(key.src, source.data(), 16);
  return Insert(key, ttl, reason);
}

absl::Status Blocklist::BlockFlow(const FlowTuple& flow, std::chrono::milliseconds ttl, uint32_t reason) {
  rp_block_key key{};
  key.kind = RP_BLOCK_FLOW;
  key.proto = flow.proto;
  key.sport = flow.sport;
  key.dport = flow.dport;
  std::memcpy(key.src, flow.src.data(), 16);
  std::memcpy(key.dst, flow.dst.data(), 16);
  return Insert(key, ttl, reason);
}

absl::StatusOr<bool> Blocklist::UnblockSource(const Address& source) {
  std::lock_guard lock(mu_);
  rp_block_key key{};
  key.kind = RP_BLOCK_SOURCE;
  std::memcpy(key.src, source.data(), 16);
  if (bpf_map_delete_elem(fd_, &key) != 0) {
    if (errno == ENOENT) return false;
    return ErrnoError(errno, "delete from map rampart_block");
  }
  return true;
}

absl::StatusOr<std::vector<std::pair<rp_block_key, rp_block_value>>> Blocklist::Entries() const {
  std::vector<std::pair<rp_block_key, rp_block_value>> out;
  rp_block_key key{}, next{};
  void* prev = nullptr;
  while (bpf_map_get_next_key(fd_, prev, &next) == 0) {
    rp_block_value value{};
    if (bpf_map_lookup_elem(fd_, &next, &value) == 0) out.emplace_back(next, value);
    key = next;
    prev = &key;
  }
  if (errno != ENOENT) return ErrnoError(errno, "iterate map rampart_block");
  return out;
}

absl::StatusOr<std::vector<BlockEntry>> Blocklist::List() {
  std::lock_guard lock(mu_);
  auto entries = Entries();
  if (!entries.ok()) return entries.status();
  const uint64_t now = MonotonicNanos();
  std::vector<BlockEntry> out;
  for (const auto& [key, value] : *entries) {
    if (value.expires_ns != 0 && value.expires_ns <= now) continue;
    BlockEntry entry;
    entry.kind = static_cast<rp_block_kind>(key.kind);
    std::memcpy(entry.flow.src.data(), key.src, 16);
    std::memcpy(entry.flow.dst.data(), key.dst, 16);
    entry.flow.proto = key.proto;
    entry.flow.sport = key.sport;
    entry.flow.dport = key.dport;
    entry.remaining = std::chrono::milliseconds(value.expires_ns ? (value.expires_ns - now) / 1'000'000 : 0);
    entry.reason = value.reason;
    out.push_back(entry);
  }
  return out;
}

absl::StatusOr<size_t> Blocklist::Sweep() {
  // The walk runs without the lock: it takes milliseconds at thousands of
  // entries, and a verdict's block write must not wait for it.
  auto entries = Entries();
  if (!entries.ok()) return entries.status();
  const uint64_t now = MonotonicNanos();
  std::lock_guard lock(mu_);
  size_t removed = 0;
  for (const auto& [key, seen] : *entries) {
    if (seen.expires_ns == 0 || seen.expires_ns > now) continue;
    // Written again since the walk (a new block of the same peer): keep it.
    rp_block_value value{};
    if (bpf_map_lookup_elem(fd_, &key, &value) != 0 || value.expires_ns == 0 || value.expires_ns > now) continue;
    if (bpf_map_delete_elem(fd_, &key) == 0) ++removed;
  }
  // Inserts raise the flag under the lock, so an empty map seen here stays
  // empty until the flag is lowered.
  rp_block_key first{};
  if (bpf_map_get_next_key(fd_, nullptr, &first) != 0 && errno == ENOENT) {
    RAMPART_RETURN_IF_ERROR(UpdateEntryFlag(false));
  }
  return removed;
}

}  // namespace rampart::datapath

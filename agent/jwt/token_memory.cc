#include "agent/jwt/token_memory.h"

#include <cstring>
#include <functional>

namespace rampart::jwt {

size_t TokenMemory::DigestHash::operator()(const TokenDigest& digest) const {
  size_t hash;
  std::memcpy(&hash, digest.data(), sizeof(hash));  // already uniform
  return hash;
}

TokenMemory::TokenMemory(size_t max_tokens, std::chrono::nanoseconds replay_window)
    : max_tokens_(max_tokens), window_ns_(replay_window.count()) {}

bool TokenMemory::Stale(const Entry& entry, int64_t now) const {
  return window_ns_ > 0 && now - entry.last_seen > window_ns_;
}

void TokenMemory::DropStale(int64_t now) {
  while (!lru_.empty() && Stale(lru_.back(), now)) {
    index_.erase(lru_.back().token);
    lru_.pop_back();
  }
}

size_t TokenMemory::RecordSource(Entry& entry, uint64_t source, int64_t now) {
  size_t others = 0;
  size_t kept = 0;
  bool known = false;
  for (size_t i = 0; i < entry.source_count; ++i) {
    SourceSighting sighting = entry.sources[i];
    if (now - sighting.last_seen > window_ns_) continue;  // out of the window: forgotten
    if (sighting.source == source) {
      sighting.last_seen = now;
      known = true;
    } else {
      ++others;
    }
    entry.sources[kept++] = sighting;
  }
  entry.source_count = static_cast<uint8_t>(kept);
  if (known) return 0;
  if (entry.source_count == kMaxSourcesPerToken) {
    size_t oldest = 0;
    for (size_t i = 1; i < entry.source_count; ++i) {
      if (entry.sources[i].last_seen < entry.sources[oldest].last_seen) oldest = i;
    }
    entry.sources[oldest] = SourceSighting{source, now};
  } else {
    entry.sources[entry.source_count++] = SourceSighting{source, now};
  }
  return others;
}

TokenMemory::Sighting TokenMemory::Observe(const TokenDigest& token, std::string_view source,
                                           std::chrono::system_clock::time_point now) {
  Sighting sighting;
  if (max_tokens_ == 0) return sighting;
  const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  std::lock_guard<std::mutex> lock(mutex_);

  Lru::iterator entry;
  if (auto found = index_.find(token); found != index_.end()) {
    entry = found->second;
    lru_.splice(lru_.begin(), lru_, entry);
  } else {
    if (lru_.size() >= max_tokens_) {
      DropStale(now_ns);
      if (lru_.size() >= max_tokens_) {
        if (window_ns_ > 0) ++evicted_within_window_;  // not stale, so still in the window
        index_.erase(lru_.back().token);
        lru_.pop_back();
      }
    }
    Entry fresh;
    fresh.token = token;
    lru_.push_front(std::move(fresh));
    entry = lru_.begin();
    index_.emplace(token, entry);
  }
  entry->last_seen = now_ns;
  if (window_ns_ > 0 && !source.empty()) {
    sighting.other_sources = RecordSource(*entry, std::hash<std::string_view>{}(source), now_ns);
  }
  sighting.verdict = entry->verdict;
  DropStale(now_ns);
  return sighting;
}

void TokenMemory::RememberVerdict(const TokenDigest& token, const SignatureVerdict& verdict) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto found = index_.find(token); found != index_.end()) found->second->verdict = verdict;
}

size_t TokenMemory::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return lru_.size();
}

uint64_t TokenMemory::evicted_within_window() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return evicted_within_window_;
}

}  // namespace rampart::jwt

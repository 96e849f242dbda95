// What the inspector remembers about tokens it has seen, keyed by their
// SHA-256: the sources each came from, to spot a token replayed from a
// second address, and its signature verdict, so a token sent with every
// request of a session costs one signature check.
//
// Memory is bounded by `max_tokens` entries (about 250 bytes each; see
// docs/jwt.md). Entries are kept in least-recently-seen order:
//  - a token not seen for longer than the replay window is dropped, as it
//    can no longer be part of a replay (checked on every Observe, from the
//    oldest end, so the cost is amortized O(1));
//  - a new token arriving when `max_tokens` are held evicts the token seen
//    longest ago. When that token was still within the window, a replay of
//    it may go unseen; evicted_within_window() counts those, so an
//    operator can tell a too-small bound from quiet traffic.
// Per token, at most kMaxSourcesPerToken sources are kept; another one
// replaces the source seen longest ago.
//
// Thread-safe: one mutex around each call.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "agent/jwt/signature_check.h"
#include "agent/jwt/token_digest.h"

namespace rampart::jwt {

class TokenMemory {
 public:
  static constexpr size_t kMaxSourcesPerToken = 4;

  // `replay_window` zero: no replay detection, and entries leave only when
  // the bound is reached. `max_tokens` zero: nothing is remembered.
  TokenMemory(size_t max_tokens, std::chrono::nanoseconds replay_window);

  struct Sighting {
    // Other sources that sent this token within the window, counted only
    // when `source` is new to the token: non-zero means a replay. A source
    // already known for the token is not a new replay, so a session used
    // from two addresses is reported once per address that joins it.
    size_t other_sources = 0;
    std::optional<SignatureVerdict> verdict;  // remembered by RememberVerdict
  };

  // Records that `source` sent `token` at `now`. An empty `source` (the
  // caller does not know it) records nothing about sources.
  Sighting Observe(const TokenDigest& token, std::string_view source, std::chrono::system_clock::time_point now);

  // Keeps `verdict` with the token, when the token is still remembered.
  void RememberVerdict(const TokenDigest& token, const SignatureVerdict& verdict);

  size_t size() const;
  uint64_t evicted_within_window() const;

 private:
  struct SourceSighting {
    uint64_t source = 0;    // hash of the address: addresses are not kept
    int64_t last_seen = 0;  // ns since the epoch
  };
  struct Entry {
    TokenDigest token{};
    int64_t last_seen = 0;
    uint8_t source_count = 0;
    SourceSighting sources[kMaxSourcesPerToken] = {};
    std::optional<SignatureVerdict> verdict;
  };
  struct DigestHash {
    size_t operator()(const TokenDigest& digest) const;
  };
  using Lru = std::list<Entry>;  // most recently seen first

  bool Stale(const Entry& entry, int64_t now) const;
  void DropStale(int64_t now);
  size_t RecordSource(Entry& entry, uint64_t source, int64_t now);

  const size_t max_tokens_;
  const int64_t window_ns_;
  mutable std::mutex mutex_;
  Lru lru_;
  std::unordered_map<TokenDigest, Lru::iterator, DigestHash> index_;
  uint64_t evicted_within_window_ = 0;
};

}  // namespace rampart::jwt

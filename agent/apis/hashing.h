// Keyed 64-bit hashing for the analytics tables: identities, endpoints and
// object ids are kept as hashes, never as the text they came from. MurmurHash2
// 64A (public domain) with a seed: fast, well mixed in every bit (the
// HyperLogLog needs that), and keyed with a per-process random seed so a
// client cannot choose ids that collide on purpose.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace rampart::apis {

inline uint64_t Hash64(std::string_view data, uint64_t seed) {
  constexpr uint64_t m = 0xc6a4a7935bd1e995ULL;
  constexpr int r = 47;
  uint64_t h = seed ^ (data.size() * m);
  const char* p = data.data();
  size_t n = data.size();
  while (n >= 8) {
    uint64_t k;
    std::memcpy(&k, p, 8);
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t tail = 0;
    std::memcpy(&tail, p, n);
    h ^= tail;
    h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

// Combines two hashes (order matters).
inline uint64_t HashCombine(uint64_t a, uint64_t b) {
  uint64_t x = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
  // splitmix64 finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// A seed from the OS's random source, for tables that outlive one request.
uint64_t RandomSeed();

}  // namespace rampart::apis

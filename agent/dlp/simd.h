// Which vector instructions the DLP block passes (the digit scanner, the
// JSON structure skip) use. Both read 64-byte blocks into bit masks; with
// AVX2 a block is two loads and two compares per byte class instead of four,
// and the quote prefix is one carry-less multiply, which roughly halves
// their cost. The binary stays baseline x86-64 (SSE2): AVX2 code is compiled
// per function and chosen at run time.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && defined(__SSE2__)
#define RAMPART_DLP_HAVE_AVX2 1
// On a function: compiled for AVX2, POPCNT and PCLMUL. Called only when
// ActiveSimdLevel() is kAvx2.
#define RAMPART_DLP_AVX2 __attribute__((target("avx2,popcnt,pclmul")))
#include <immintrin.h>

#include <cstdint>
#endif

namespace rampart::dlp {

enum class SimdLevel { kSse2, kAvx2 };

// The level in use: the best the CPU runs, unless lowered by SetSimdLevel.
SimdLevel ActiveSimdLevel();

// Tests compare the two levels on the same texts. A level the CPU does not
// run is not taken; returns the level now in use.
SimdLevel SetSimdLevel(SimdLevel level);

#if defined(RAMPART_DLP_HAVE_AVX2)
// The pieces both block passes build their 64-byte masks from.
namespace avx2 {

// Bit k of the result: the top bit of byte k of low:high.
RAMPART_DLP_AVX2 inline uint64_t Bits(__m256i low, __m256i high) {
  return static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(low))) |
         static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(high))) << 32;
}

RAMPART_DLP_AVX2 inline __m256i Equal(__m256i v, char c) { return _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c)); }

}  // namespace avx2
#endif

}  // namespace rampart::dlp

#include "agent/dlp/simd.h"

namespace rampart::dlp {
namespace {

SimdLevel BestLevel() {
#if defined(RAMPART_DLP_HAVE_AVX2)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("pclmul")) {
    return SimdLevel::kAvx2;
  }
#endif
  return SimdLevel::kSse2;
}

// Read from the CPU on first use; only tests change it afterwards.
SimdLevel& Active() {
  static SimdLevel level = BestLevel();
  return level;
}

}  // namespace

SimdLevel ActiveSimdLevel() { return Active(); }

SimdLevel SetSimdLevel(SimdLevel level) {
  Active() = level == SimdLevel::kAvx2 ? BestLevel() : SimdLevel::kSse2;
  return Active();
}

}  // namespace rampart::dlp

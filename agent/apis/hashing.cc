#include "agent/apis/hashing.h"

#include <random>

namespace rampart::apis {

uint64_t RandomSeed() {
  std::random_device device;
  return (uint64_t{device()} << 32) ^ device();
}

}  // namespace rampart::apis

// What each attack detector returns for one input value.
#pragma once

#include <string>

namespace rampart::attacks {

struct Verdict {
  double score = 0;       // 0..1: how sure the detector is that the value is an attack
  std::string reason;     // in words; never bytes of the input
  // What the detector recognised, in its own vocabulary only, so it can be
  // reported as the finding's masked value: "sqli fingerprint s&1o1c".
  std::string signature;
};

}  // namespace rampart::attacks

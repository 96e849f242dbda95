// How detectors turn several observations about one input into one score.
#pragma once

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "agent/attacks/verdict.h"

namespace rampart::attacks {

class EvidenceList {
 public:
  // `reason` in words; `signature` from the detector's own vocabulary only.
  void Add(double score, std::string reason, std::string signature = {}) {
    if (score > 0) items_.push_back({score, std::move(reason), std::move(signature)});
  }
  bool empty() const { return items_.empty(); }

  // The strongest observation, raised by 0.03 for each further one of at
  // least 0.5 (up to three): independent signs in one value are more
  // convincing than one. Capped at 1.
  Verdict Combine() const {
    if (items_.empty()) return {};
    std::vector<Verdict> sorted = items_;
    std::stable_sort(sorted.begin(), sorted.end(), [](const Verdict& a, const Verdict& b) { return a.score > b.score; });
    Verdict best = sorted[0];
    for (size_t i = 1; i < sorted.size() && i < 4; ++i) {
      if (sorted[i].score >= 0.5) best.score += 0.03;
    }
    best.score = std::min(best.score, 1.0);
    return best;
  }

 private:
  std::vector<Verdict> items_;
};

}  // namespace rampart::attacks

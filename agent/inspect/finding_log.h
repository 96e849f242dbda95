// Where findings go on the node: a JSON-lines file under the state directory
// (rotated at a size cap, one old generation kept), the most recent findings
// in memory for `rampartctl findings`, and live subscribers for --follow.
// Findings hold masked values only, so the file is safe to ship.
// Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/inspect/pipeline.h"
#include "rampart/v1/agent_api.pb.h"

namespace rampart::inspect {

struct FindingFilter {
  std::string detector_prefix;  // "" = any
  findings::Severity min_severity = findings::Severity::kInfo;
  bool Matches(const v1::Finding& finding) const;
};

class FindingLog final : public FindingSink {
 public:
  // `path` "" keeps findings in memory only. The file is created 0600.
  static absl::StatusOr<std::unique_ptr<FindingLog>> Open(const std::string& path, uint64_t max_file_bytes = 64 << 20,
                                                          size_t recent = 10000);

  void OnFinding(v1::Finding finding) override;  // assigns the id

  // Newest last; at most `limit`.
  std::vector<v1::Finding> Recent(const FindingFilter& filter, size_t limit) const;
  int Subscribe(std::function<void(const v1::Finding&)> subscriber);
  void Unsubscribe(int token);
  std::map<std::string, uint64_t> CountsByDetector() const;
  uint64_t write_errors() const;

 private:
  FindingLog(std::string path, uint64_t max_file_bytes, size_t recent)
      : path_(std::move(path)), max_file_bytes_(max_file_bytes), recent_cap_(recent) {}
  void WriteLine(const std::string& line);  // under mu_

  const std::string path_;
  const uint64_t max_file_bytes_;
  const size_t recent_cap_;
  mutable std::mutex mu_;
  int fd_ = -1;
  uint64_t file_bytes_ = 0;
  uint64_t next_id_ = 1;
  uint64_t write_errors_ = 0;
  std::deque<v1::Finding> recent_;
  std::map<std::string, uint64_t> counts_;
  std::mutex subscribers_mu_;  // guards the two below
  int next_token_ = 1;
  std::map<int, std::function<void(const v1::Finding&)>> subscribers_;
};

}  // namespace rampart::inspect

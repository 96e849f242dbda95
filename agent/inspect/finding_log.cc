#include "agent/inspect/finding_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "agent/common/errors.h"
#include "agent/common/logging.h"
#include "agent/inspect/enforcement.h"
#include "google/protobuf/util/json_util.h"

namespace rampart::inspect {

bool FindingFilter::Matches(const v1::Finding& finding) const {
  if (!detector_prefix.empty() && finding.detector().rfind(detector_prefix, 0) != 0) return false;
  auto severity = ParseSeverity(finding.severity());
  return severity.ok() && *severity >= min_severity;
}

absl::StatusOr<std::unique_ptr<FindingLog>> FindingLog::Open(const std::string& path, uint64_t max_file_bytes,
                                                             size_t recent) {
  std::unique_ptr<FindingLog> log(new FindingLog(path, max_file_bytes, recent));
  if (!path.empty()) {
    log->fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log->fd_ < 0) return ErrnoError(errno, "open findings log " + path);
    struct stat st {};
    if (fstat(log->fd_, &st) == 0) log->file_bytes_ = static_cast<uint64_t>(st.st_size);
  }
  return log;
}

void FindingLog::WriteLine(const std::string& line) {
  if (fd_ < 0) return;
  if (file_bytes_ + line.size() > max_file_bytes_ && file_bytes_ > 0) {
    // One old generation: findings.jsonl.1.
    const std::string old = path_ + ".1";
    if (std::rename(path_.c_str(), old.c_str()) == 0) {
      close(fd_);
      fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      file_bytes_ = 0;
      if (fd_ < 0) {
        ++write_errors_;
        return;
      }
    }
  }
  ssize_t n = write(fd_, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    ++write_errors_;
    return;
  }
  file_bytes_ += line.size();
}

void FindingLog::OnFinding(v1::Finding finding) {
  {
    std::lock_guard lock(mu_);
    finding.set_id(next_id_++);
    ++counts_[finding.detector()];
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    if (google::protobuf::util::MessageToJsonString(finding, &json, options).ok()) {
      json.push_back('\n');
      WriteLine(json);
    } else {
      ++write_errors_;
    }
    recent_.push_back(finding);
    if (recent_.size() > recent_cap_) recent_.pop_front();
  }
  // Under their own lock, so that Unsubscribe returns only once no call to
  // that subscriber is running.
  std::lock_guard lock(subscribers_mu_);
  for (const auto& [token, s] : subscribers_) s(finding);
}

std::vector<v1::Finding> FindingLog::Recent(const FindingFilter& filter, size_t limit) const {
  std::lock_guard lock(mu_);
  std::vector<v1::Finding> out;
  for (auto it = recent_.rbegin(); it != recent_.rend() && out.size() < limit; ++it) {
    if (filter.Matches(*it)) out.push_back(*it);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

int FindingLog::Subscribe(std::function<void(const v1::Finding&)> subscriber) {
  std::lock_guard lock(subscribers_mu_);
  const int token = next_token_++;
  subscribers_[token] = std::move(subscriber);
  return token;
}

void FindingLog::Unsubscribe(int token) {
  std::lock_guard lock(subscribers_mu_);
  subscribers_.erase(token);
}

std::map<std::string, uint64_t> FindingLog::CountsByDetector() const {
  std::lock_guard lock(mu_);
  return counts_;
}

uint64_t FindingLog::write_errors() const {
  std::lock_guard lock(mu_);
  return write_errors_;
}

}  // namespace rampart::inspect

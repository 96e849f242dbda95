// The offline scan behind `rampartctl scan FILE|DIR`: the agent's own HTTP
// parser and detectors over files, so operators can test what a policy
// would find in their CI. A file holding raw HTTP messages (a request or
// status line first) is parsed as HTTP; any other file is a plain body,
// read as JSON, a form or text by its first bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/findings/finding.h"

namespace rampart::scan {

struct ScanFinding {
  std::string file;
  // Where the value is in the file, when it appears there as it was scanned
  // (not inside a gzip or chunk-split body); `located` says whether it does.
  bool located = false;
  uint64_t offset = 0;
  uint64_t length = 0;
  findings::Finding finding;
};

struct ScanOptions {
  uint64_t max_file_bytes = 64 << 20;  // larger files are refused
};

class FileScanner {
 public:
  static absl::StatusOr<std::unique_ptr<FileScanner>> Create(const ScanOptions& options = {});
  ~FileScanner();

  // A file, or every regular file under a directory (sorted, recursive).
  // Errors name the path; a file that cannot be read stops the scan.
  absl::StatusOr<std::vector<ScanFinding>> ScanPath(const std::string& path);
  // One file's content, named `name` in the findings.
  std::vector<ScanFinding> ScanContent(const std::string& name, const std::string& content);

 private:
  struct Detectors;
  explicit FileScanner(const ScanOptions& options, std::unique_ptr<Detectors> detectors);

  ScanOptions options_;
  std::unique_ptr<Detectors> detectors_;
};

}  // namespace rampart::scan

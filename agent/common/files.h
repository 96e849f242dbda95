// Whole-file reads and atomic writes, with errors that name the file.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace rampart {

// Reads a file; the error names the file and the errno.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes a file atomically (temporary file, fsync, rename) with `mode`.
absl::Status WriteFileAtomic(const std::string& path, const std::string& content, int mode = 0600);

}  // namespace rampart

#include "agent/common/errors.h"

#include <string.h>

#include <cstdlib>

#include "agent/common/strings.h"

namespace rampart {

absl::Status ErrnoError(int err, std::string_view what) {
  err = std::abs(err);
  const char* name = strerrorname_np(err);
  std::string message =
      rampart::StrCat(what, ": ", name ? std::string(name) : rampart::StrCat("errno ", err), " (", strerror(err), ")");
  absl::StatusCode code = absl::ErrnoToStatus(err, "").code();
  if (code == absl::StatusCode::kOk) code = absl::StatusCode::kUnknown;
  return absl::Status(code, message);
}

absl::Status Annotate(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), rampart::StrCat(context, ": ", status.message()));
}

}  // namespace rampart

// bpffs housekeeping. bpffs is not mounted at boot on every host, so the
// agent mounts it when missing, then keeps its pins in one directory.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace rampart::datapath {

inline constexpr char kDefaultPinDir[] = "/sys/fs/bpf/rampart";

// Mounts bpffs at /sys/fs/bpf when nothing is mounted there, then creates
// `pin_dir` (0700) and its links/ and tc/ subdirectories.
absl::Status PreparePinDir(const std::string& pin_dir);

// Unpins everything under `pin_dir` and removes it. Only tests and
// `rampartd --uninstall` do this: pins are what keeps enforcement alive.
absl::Status RemovePinDir(const std::string& pin_dir);

}  // namespace rampart::datapath

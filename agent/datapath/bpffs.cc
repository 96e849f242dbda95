#include "agent/datapath/bpffs.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include <filesystem>
#include <system_error>

#include "agent/common/errors.h"

namespace rampart::datapath {

absl::Status PreparePinDir(const std::string& pin_dir) {
  struct statfs fs {};
  if (statfs("/sys/fs/bpf", &fs) != 0) return ErrnoError(errno, "statfs /sys/fs/bpf");
  if (fs.f_type != BPF_FS_MAGIC) {
    if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") != 0) {
      return ErrnoError(errno, "mount bpffs at /sys/fs/bpf");
    }
  }
  for (const std::string& dir : {pin_dir, pin_dir + "/links", pin_dir + "/tc"}) {
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError(errno, "create pin directory " + dir);
  }
  return absl::OkStatus();
}

absl::Status RemovePinDir(const std::string& pin_dir) {
  std::error_code ec;
  std::filesystem::remove_all(pin_dir, ec);
  if (ec) return ErrnoError(ec.value(), "remove pin directory " + pin_dir);
  return absl::OkStatus();
}

}  // namespace rampart::datapath

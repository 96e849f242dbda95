#include "agent/datapath/cgroups.h"

#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace rampart::datapath {
namespace {

std::optional<uint64_t> InodeOf(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
  return static_cast<uint64_t>(st.st_ino);
}

// systemd's slice nesting: "a-b-c.slice" lives at a.slice/a-b.slice/a-b-c.slice.
std::string SlicePath(const std::string& slice) {
  std::string stem = slice.substr(0, slice.size() - 6), path, prefix;
  std::istringstream parts(stem);
  for (std::string part; std::getline(parts, part, '-');) {
    prefix = prefix.empty() ? part : prefix + "-" + part;
    path += "/" + prefix + ".slice";
  }
  return path;
}

std::optional<uint64_t> Search(const std::filesystem::path& dir, const std::string& name, int depth) {
  if (depth == 0) return std::nullopt;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!entry.is_directory(ec)) continue;
    if (entry.path().filename() == name) return InodeOf(entry.path());
    if (auto found = Search(entry.path(), name, depth - 1)) return found;
  }
  return std::nullopt;
}

}  // namespace

std::string Cgroup2Mount() {
  std::ifstream mounts("/proc/self/mounts");
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream fields(line);
    std::string device, mount_point, type;
    fields >> device >> mount_point >> type;
    if (type == "cgroup2") return mount_point;
  }
  return "";
}

std::optional<uint64_t> ResolveCgroup(const std::string& kind, const std::string& name) {
  const std::string root = Cgroup2Mount();
  if (root.empty()) return std::nullopt;
  if (kind == "cgroup") return InodeOf(root + (name == "/" ? "" : name));
  auto ends_with = [&](const char* suffix) {
    const std::string s(suffix);
    return name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  if (ends_with(".service") || ends_with(".socket")) {
    if (auto id = InodeOf(root + "/system.slice/" + name)) return id;
  } else if (ends_with(".slice")) {
    if (auto id = InodeOf(root + SlicePath(name))) return id;
  }
  return Search(root, name, 4);
}

}  // namespace rampart::datapath

#include "agent/capture/process_scan.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "agent/datapath/cgroups.h"

namespace rampart::capture {

std::vector<pid_t> ListProcesses() {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    pids.push_back(static_cast<pid_t>(std::strtol(name.c_str(), nullptr, 10)));
  }
  return pids;
}

std::string ProcessName(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

uint64_t ProcessCgroupId(pid_t pid) {
  // The cgroup v2 line is "0::/PATH".
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("0::", 0) != 0) continue;
    const std::string root = datapath::Cgroup2Mount();
    struct stat st {};
    if (root.empty() || stat((root + line.substr(3)).c_str(), &st) != 0) return 0;
    return st.st_ino;
  }
  return 0;
}

std::vector<MappedFile> ExecutableMappings(pid_t pid) {
  // Line: address perms offset dev(major:minor, hex) inode path
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  std::set<MappedFile> files;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string range, perms, offset, dev, path;
    uint64_t inode = 0;
    fields >> range >> perms >> offset >> dev >> inode;
    std::getline(fields >> std::ws, path);
    if (perms.size() < 3 || perms[2] != 'x' || inode == 0 || path.empty() || path[0] != '/') continue;
    if (path.size() > 10 && path.compare(path.size() - 10, 10, " (deleted)") == 0) continue;
    const auto colon = dev.find(':');
    if (colon == std::string::npos) continue;
    MappedFile file;
    file.device = makedev(std::strtoul(dev.substr(0, colon).c_str(), nullptr, 16),
                          std::strtoul(dev.substr(colon + 1).c_str(), nullptr, 16));
    file.inode = inode;
    file.path = path;
    file.host_path = "/proc/" + std::to_string(pid) + "/root" + path;
    files.insert(file);
  }
  return {files.begin(), files.end()};
}

}  // namespace rampart::capture

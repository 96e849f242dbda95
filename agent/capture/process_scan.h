// What runs on the host: processes, their names and cgroups, and the
// executable files they have mapped (libraries included), read from /proc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rampart::capture {

// An executable file mapping, identified by device and inode so one file is
// probed once however many paths and processes lead to it.
struct MappedFile {
  uint64_t device = 0;
  uint64_t inode = 0;
  std::string path;  // as the process sees it
  // A path the agent can open: /proc/PID/root/PATH, which also works for
  // processes in other mount namespaces (containers).
  std::string host_path;
  bool operator<(const MappedFile& o) const { return device != o.device ? device < o.device : inode < o.inode; }
};

std::vector<pid_t> ListProcesses();
std::string ProcessName(pid_t pid);  // comm
uint64_t ProcessCgroupId(pid_t pid);  // cgroup v2 id (inode of its cgroup directory), 0 if unknown
// Executable mappings of `pid`, deduplicated by device and inode.
std::vector<MappedFile> ExecutableMappings(pid_t pid);

}  // namespace rampart::capture

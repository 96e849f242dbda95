// Decides where the capture probes go: finds TLS code in every process's
// mappings (shared libssl copies, dlopen'ed ones, statically linked
// executables), by symbol, once per file (device + inode), and attaches to
// the processes the policy selects, together with libcrypto's d2i_X509 in
// those processes (peer certificates, see capture.bpf.c). Rescan() runs once
// a second, so a process started later, or a library loaded later with
// dlopen, is captured within about a second of appearing. Thread-safe.
#pragma once

#include <sys/types.h>

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/capture/process_scan.h"
#include "agent/capture/ssl_capture_probe.h"

namespace rampart::capture {

struct CaptureSelection {
  bool all = false;                  // every process with TLS code
  std::set<std::string> processes;   // by process name (comm)
  std::set<uint64_t> cgroups;        // by cgroup v2 id (units resolved by the agent)
  // What the selected processes' probes take: the plaintext a process
  // receives (SSL_read, SSL_read_ex) and what it sends (SSL_write,
  // SSL_write_ex). A direction nobody needs is not probed: on a server whose
  // responses nobody inspects, each request costs two uprobe traps fewer.
  bool reads = true;
  bool writes = true;
  bool Selects(const std::string& comm, uint64_t cgroup) const {
    return all || processes.contains(comm) || cgroups.contains(cgroup);
  }
  bool empty() const { return !all && processes.empty() && cgroups.empty(); }
  bool operator==(const CaptureSelection&) const = default;
};

// Adds the directions a policy or flag names ("read", "write"; names
// already validated) to reads and writes; naming none means both.
template <typename Names>
void AddCaptureDirections(const Names& names, bool& reads, bool& writes) {
  if (names.empty()) {
    reads = writes = true;
    return;
  }
  for (const auto& name : names) {
    reads |= name == "read";
    writes |= name == "write";
  }
}
// "read", "write", both in that order; for status and policy views.
std::vector<std::string> CaptureDirectionNames(bool reads, bool writes);
// The --capture-directions flag: "read", "write" or both, comma-separated,
// as (reads, writes). Fails naming what it could not read.
absl::StatusOr<std::pair<bool, bool>> ParseCaptureDirections(std::string_view text);

// One process with TLS code, as `rampartctl status` lists it.
struct TlsProcess {
  pid_t pid = 0;
  std::string comm;
  std::string file;       // the file with OpenSSL's functions
  bool attached = false;
  std::string reason;     // why not attached, or "attached"
  uint64_t chunks = 0;    // captured chunks of this process
  uint64_t tuple_known = 0;  // of which carried their 5-tuple
};

class CaptureManager {
 public:
  explicit CaptureManager(SslCaptureProbe& probe) : probe_(probe) {}

  void SetSelection(CaptureSelection selection);
  CaptureSelection selection() const;
  // Scans /proc, attaches to newly selected processes and files, detaches
  // from processes that exited or are no longer selected.
  void Rescan();
  // Per-process accounting of how often the 5-tuple was known; call per chunk.
  void CountChunk(const rp_capture_header& header);
  std::vector<TlsProcess> Processes() const;

 private:
  // OpenSSL's functions in a file, looked up once per (device, inode).
  const std::map<std::string, uint64_t>& FunctionsOf(const MappedFile& file);

  SslCaptureProbe& probe_;
  // One Rescan at a time; guards what only Rescan touches.
  std::mutex scan_mu_;
  std::map<std::pair<uint64_t, uint64_t>, std::map<std::string, uint64_t>> symbols_;
  // What is attached: (device, inode, pid; -1 file-wide, the directions
  // probed: bit 0 read, bit 1 write) -> the path used.
  using AttachKey = std::tuple<uint64_t, uint64_t, pid_t, int>;
  std::map<AttachKey, std::string> attached_;
  // Held briefly: CountChunk runs on the capture reader for every chunk.
  mutable std::mutex mu_;
  CaptureSelection selection_;
  std::map<pid_t, TlsProcess> processes_;
  std::map<pid_t, std::pair<uint64_t, uint64_t>> counts_;  // pid -> (chunks, tuple known)
};

}  // namespace rampart::capture

#include "agent/capture/capture_manager.h"

#include "absl/strings/str_split.h"
#include "agent/capture/elf_symbols.h"
#include "agent/common/logging.h"
#include "agent/common/strings.h"

namespace rampart::capture {
namespace {

bool HasSslFunctions(const std::map<std::string, uint64_t>& functions) {
  for (const std::string& name : kSslFunctions) {
    if (functions.contains(name)) return true;
  }
  return false;
}

// The functions of a TLS file to probe for the selection's directions. The
// handshake stays: it names the connection before the first read.
std::map<std::string, uint64_t> ProbedFunctions(std::map<std::string, uint64_t> functions,
                                                const CaptureSelection& selection) {
  if (!selection.reads) {
    functions.erase("SSL_read");
    functions.erase("SSL_read_ex");
  }
  if (!selection.writes) {
    functions.erase("SSL_write");
    functions.erase("SSL_write_ex");
  }
  return functions;
}

}  // namespace

std::vector<std::string> CaptureDirectionNames(bool reads, bool writes) {
  std::vector<std::string> names;
  if (reads) names.push_back("read");
  if (writes) names.push_back("write");
  return names;
}

absl::StatusOr<std::pair<bool, bool>> ParseCaptureDirections(std::string_view text) {
  const std::vector<std::string> names = absl::StrSplit(absl::string_view(text.data(), text.size()), ',');
  for (const std::string& name : names) {
    if (name != "read" && name != "write") {
      return absl::InvalidArgumentError(rampart::StrCat("bad direction \"", name, "\" in \"", text,
                                                        "\": expected read, write or read,write"));
    }
  }
  bool reads = false, writes = false;
  AddCaptureDirections(names, reads, writes);
  return std::make_pair(reads, writes);
}

void CaptureManager::SetSelection(CaptureSelection selection) {
  std::lock_guard lock(mu_);
  selection_ = std::move(selection);
}

CaptureSelection CaptureManager::selection() const {
  std::lock_guard lock(mu_);
  return selection_;
}

const std::map<std::string, uint64_t>& CaptureManager::FunctionsOf(const MappedFile& file) {
  auto key = std::make_pair(file.device, file.inode);
  auto it = symbols_.find(key);
  if (it != symbols_.end()) return it->second;
  std::vector<std::string> names = kSslFunctions;
  names.push_back(kPeerCertFunction);
  auto found = FindFunctions(file.host_path, names);
  return symbols_[key] = found.ok() ? *found : std::map<std::string, uint64_t>{};
}

void CaptureManager::Rescan() {
  auto log = Logger("capture");
  // Walking /proc takes milliseconds, tens on a busy host. The capture reader
  // counts every chunk under mu_, and a verdict waits for the reader, so the
  // walk holds only scan_mu_; mu_ is taken for the snapshot and the result.
  std::lock_guard scan(scan_mu_);
  CaptureSelection selection;
  std::set<pid_t> counted;  // counts of processes that appear during the walk are kept
  {
    std::lock_guard lock(mu_);
    selection = selection_;
    for (const auto& [pid, count] : counts_) counted.insert(pid);
  }
  std::map<pid_t, TlsProcess> seen;
  struct Target {
    std::string path;
    std::map<std::string, uint64_t> functions;
  };
  std::map<AttachKey, Target> wanted;
  const int directions = (selection.reads ? 1 : 0) | (selection.writes ? 2 : 0);
  for (pid_t pid : ListProcesses()) {
    // libcrypto (d2i_X509 without SSL functions) is probed only in processes
    // whose TLS code is: it is how their peers' certificates are seen.
    std::vector<const MappedFile*> crypto;
    const std::vector<MappedFile> files = ExecutableMappings(pid);
    bool selected = false;
    for (const MappedFile& file : files) {
      const auto& functions = FunctionsOf(file);
      if (!HasSslFunctions(functions)) {
        if (functions.contains(kPeerCertFunction)) crypto.push_back(&file);
        continue;
      }
      TlsProcess& process = seen[pid];
      process.pid = pid;
      process.comm = ProcessName(pid);
      process.file = file.path;
      if (!selection.Selects(process.comm, ProcessCgroupId(pid))) {
        process.reason = "not selected by policy";
        continue;
      }
      // Everything selected: one file-wide attachment per file, which also
      // covers processes that map it later. Otherwise one per process.
      wanted.try_emplace(AttachKey{file.device, file.inode, selection.all ? -1 : pid, directions},
                         Target{file.host_path, ProbedFunctions(functions, selection)});
      process.attached = true;
      process.reason = "attached";
      selected = true;
    }
    if (!selected || !probe_.peer_certificates()) continue;
    for (const MappedFile* file : crypto) {
      wanted.try_emplace(AttachKey{file->device, file->inode, selection.all ? -1 : pid, 0},
                         Target{file->host_path, {{kPeerCertFunction, FunctionsOf(*file).at(kPeerCertFunction)}}});
    }
  }
  // Detach first: the probe attaches once per (file, pid), so a process whose
  // directions changed must lose its old probes before it gets the new ones.
  for (auto it = attached_.begin(); it != attached_.end();) {
    if (wanted.contains(it->first)) {
      ++it;
      continue;
    }
    probe_.Detach(it->second, std::get<2>(it->first));
    it = attached_.erase(it);
  }
  for (const auto& [key, target] : wanted) {
    if (attached_.contains(key)) continue;
    const pid_t pid = std::get<2>(key);
    auto probes = probe_.Attach(target.path, pid, target.functions);
    if (!probes.ok() && !HasSslFunctions(target.functions)) {
      // libcrypto alone: plaintext capture goes on without peer certificates.
      // Kept as done, so the failure is not retried (and logged) every second.
      log->warn("peer certificates: {}", MessageOf(probes.status()));
      attached_[key] = target.path;
      continue;
    }
    if (!probes.ok()) {
      log->warn("{}", MessageOf(probes.status()));
      for (auto& [p, process] : seen) {
        if (pid == p || pid == -1) {
          process.attached = false;
          process.reason = MessageOf(probes.status());
        }
      }
      continue;
    }
    attached_[key] = target.path;
    log->info("capturing {} ({} probes{})", target.path, *probes,
              pid == -1 ? ", every process" : rampart::StrCat(", pid ", pid));
  }
  std::lock_guard lock(mu_);
  std::erase_if(counts_,
                [&](const auto& entry) { return counted.contains(entry.first) && !seen.contains(entry.first); });
  processes_ = std::move(seen);
}

void CaptureManager::CountChunk(const rp_capture_header& header) {
  std::lock_guard lock(mu_);
  auto& [chunks, known] = counts_[static_cast<pid_t>(header.pid)];
  ++chunks;
  if (header.flags & RP_CAPTURE_TUPLE_KNOWN) ++known;
}

std::vector<TlsProcess> CaptureManager::Processes() const {
  std::lock_guard lock(mu_);
  std::vector<TlsProcess> out;
  for (const auto& [pid, process] : processes_) {
    TlsProcess row = process;
    if (auto c = counts_.find(pid); c != counts_.end()) {
      row.chunks = c->second.first;
      row.tuple_known = c->second.second;
    }
    out.push_back(row);
  }
  return out;
}

}  // namespace rampart::capture

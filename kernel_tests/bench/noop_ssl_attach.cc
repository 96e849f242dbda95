// The "noop" variant of kernel_tests/bench/capture_bench.sh: attaches the
// do-nothing uprobes of noop_ssl.bpf.c to one process's TLS code, found and
// probed the way Rampart's capture finds and probes it (ExecutableMappings,
// FindFunctions by symbol, entry and return probes filtered to that pid), so
// the probes fire exactly where Rampart's would. Stays attached until SIGINT
// or SIGTERM, then prints each probe's hits and detaches.
//
//   sudo build/kernel_tests/noop_ssl_attach --pid PID
//
// Prints "attached N probes ..." once attached (the benchmark waits for it),
// "hits so far N" on SIGUSR1 (the benchmark's count around each run), and at
// exit "hits FUNCTION entry N return M" per function and "hits total N".
#include <bpf/libbpf.h>
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "agent/capture/elf_symbols.h"
#include "agent/capture/process_scan.h"
#include "agent/capture/ssl_capture_probe.h"
#include "kernel_tests/bench/noop_ssl.h"
#include "noop_ssl.skel.h"

namespace rampart::bench {
namespace {

struct Probe {
  const char* function;  // one of capture::kSslFunctions
  bpf_program* entry;
  bpf_program* exit;
  int entry_slot;  // enum noop_ssl_slot; the return probe's is entry_slot + 1
};

using Link = std::unique_ptr<bpf_link, decltype(&bpf_link__destroy)>;
using Skeleton = std::unique_ptr<noop_ssl_bpf, decltype(&noop_ssl_bpf__destroy)>;

[[noreturn]] void Usage() {
  std::fprintf(stderr, "usage: noop_ssl_attach --pid PID\n");
  std::exit(2);
}

// Attaches every probe of `probes` found in each file `pid` maps that defines
// OpenSSL's functions; returns the links (empty when the process has no TLS code).
std::vector<Link> AttachTo(pid_t pid, const std::vector<Probe>& probes) {
  std::vector<Link> links;
  for (const capture::MappedFile& file : capture::ExecutableMappings(pid)) {
    auto functions = capture::FindFunctions(file.host_path, capture::kSslFunctions);
    if (!functions.ok() || functions->empty()) continue;
    int attached = 0;
    for (const Probe& probe : probes) {
      auto it = functions->find(probe.function);
      if (it == functions->end()) continue;
      for (bool retprobe : {false, true}) {
        LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe);
        bpf_link* link = bpf_program__attach_uprobe_opts(retprobe ? probe.exit : probe.entry, pid,
                                                         file.host_path.c_str(), it->second, &opts);
        if (!link) {
          std::fprintf(stderr, "noop_ssl_attach: attach %s %s in %s for pid %d: %s\n",
                       retprobe ? "uretprobe" : "uprobe", probe.function, file.path.c_str(), pid, strerror(errno));
          std::exit(1);
        }
        links.emplace_back(link, &bpf_link__destroy);
        ++attached;
      }
    }
    std::printf("attached %d probes on %s for pid %d\n", attached, file.path.c_str(), pid);
  }
  return links;
}

int Run(pid_t pid) {
  // Blocked before anything can start a thread, and waited for below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Skeleton skel(noop_ssl_bpf__open_and_load(), &noop_ssl_bpf__destroy);
  if (!skel) {
    std::fprintf(stderr, "noop_ssl_attach: load noop_ssl.bpf.o: %s\n", strerror(errno));
    return 1;
  }
  const auto& p = skel->progs;
  const std::vector<Probe> probes = {
      {"SSL_write", p.noop_ssl_write, p.noop_ssl_write_ret, NOOP_SSL_WRITE},
      {"SSL_read", p.noop_ssl_read, p.noop_ssl_read_ret, NOOP_SSL_READ},
      {"SSL_write_ex", p.noop_ssl_write_ex, p.noop_ssl_write_ex_ret, NOOP_SSL_WRITE_EX},
      {"SSL_read_ex", p.noop_ssl_read_ex, p.noop_ssl_read_ex_ret, NOOP_SSL_READ_EX},
      {"SSL_do_handshake", p.noop_ssl_hs, p.noop_ssl_hs_ret, NOOP_SSL_HANDSHAKE},
  };
  std::vector<Link> links = AttachTo(pid, probes);
  if (links.empty()) {
    std::fprintf(stderr, "noop_ssl_attach: pid %d maps no file that defines OpenSSL's functions\n", pid);
    return 1;
  }
  std::fflush(stdout);

  const int cpus = libbpf_num_possible_cpus();
  std::vector<uint64_t> per_cpu(cpus > 0 ? cpus : 1);
  auto hits = [&](uint32_t slot) {
    uint64_t total = 0;
    if (bpf_map__lookup_elem(skel->maps.noop_ssl_hits, &slot, sizeof slot, per_cpu.data(),
                             per_cpu.size() * sizeof(uint64_t), 0) == 0) {
      for (uint64_t v : per_cpu) total += v;
    }
    return total;
  };
  auto all_hits = [&] {
    uint64_t total = 0;
    for (const Probe& probe : probes) total += hits(probe.entry_slot) + hits(probe.entry_slot + 1);
    return total;
  };

  int signal = 0;
  while (sigwait(&signals, &signal) == 0 && signal == SIGUSR1) {
    std::printf("hits so far %llu\n", static_cast<unsigned long long>(all_hits()));
    std::fflush(stdout);
  }
  links.clear();  // no hit can land between the reading and the end

  uint64_t total = 0;
  for (const Probe& probe : probes) {
    const uint64_t entry = hits(probe.entry_slot), exit = hits(probe.entry_slot + 1);
    std::printf("hits %s entry %llu return %llu\n", probe.function, static_cast<unsigned long long>(entry),
                static_cast<unsigned long long>(exit));
    total += entry + exit;
  }
  std::printf("hits total %llu\n", static_cast<unsigned long long>(total));
  return 0;
}

}  // namespace
}  // namespace rampart::bench

int main(int argc, char** argv) {
  pid_t pid = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--pid" && i + 1 < argc) pid = static_cast<pid_t>(std::atoi(argv[++i]));
    else rampart::bench::Usage();
  }
  if (pid <= 0) rampart::bench::Usage();
  return rampart::bench::Run(pid);
}

#include "kernel_tests/bench/bench_util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>

#include "agent/common/logging.h"
#include "agent/datapath/bpffs.h"
#include "agent/policy/validate.h"
#include "kernel_tests/fixtures/kernel_env.h"

namespace rampart::bench {
namespace {

// Pin dirs still to remove, for exit() and signals.
std::mutex g_mu;
std::set<std::string>* g_pin_dirs = new std::set<std::string>;

void RemoveAll() {
  std::set<std::string> dirs;
  {
    std::lock_guard lock(g_mu);
    dirs.swap(*g_pin_dirs);
  }
  for (const std::string& dir : dirs) (void)datapath::RemovePinDir(dir);
}

void OnSignal(int sig) {
  RemoveAll();
  signal(sig, SIG_DFL);
  raise(sig);
}

void InstallCleanup() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::atexit(RemoveAll);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) signal(sig, OnSignal);
  });
}

// An odd multiplier permutes [0, 2^bits): distinct n give distinct, scattered
// addresses, so the trie is not one dense run.
uint32_t Scatter(uint32_t n, int bits) {
  const uint64_t mask = (bits == 32) ? 0xffffffffull : ((1ull << bits) - 1);
  return static_cast<uint32_t>((uint64_t{n} * 2654435761ull) & mask);
}

std::string V4(uint32_t a) {
  char buf[32];
  snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
  return buf;
}

}  // namespace

void RequireKernelOrExit() {
  InitLogging("warn");  // the datapath's info lines would interleave with the tables
  std::string reason = testing::KernelUnavailableReason();
  if (!reason.empty()) {
    std::cerr << "benchmark needs the kernel: " << reason << "\n";
    std::exit(2);
  }
}

PinDir::PinDir(const std::string& prefix) : path_("/sys/fs/bpf/" + testing::UniqueName(prefix)) {
  InstallCleanup();
  std::lock_guard lock(g_mu);
  g_pin_dirs->insert(path_);
}

PinDir::~PinDir() {
  {
    std::lock_guard lock(g_mu);
    g_pin_dirs->erase(path_);
  }
  (void)datapath::RemovePinDir(path_);
}

std::unique_ptr<datapath::Datapath> OpenDatapathOrExit(const std::string& pin_dir, datapath::IngressHook hook) {
  datapath::DatapathOptions options;
  options.pin_dir = pin_dir;
  options.hook = hook;
  auto dp = datapath::Datapath::Open(options);
  if (!dp.ok()) {
    std::cerr << "Datapath::Open(" << pin_dir << "): " << dp.status() << "\n";
    std::exit(1);
  }
  return std::move(*dp);
}

policy::CompiledPolicy ApplyOrExit(datapath::Datapath& dp, const v1::PolicyBundle& bundle,
                                   const policy::DatapathCapacity& capacity) {
  std::vector<v1::Policy> policies(bundle.policies().begin(), bundle.policies().end());
  if (absl::Status st = policy::ValidatePolicySet(policies); !st.ok()) {
    std::cerr << "policy invalid: " << st << "\n";
    std::exit(1);
  }
  auto compiled = policy::CompilePolicy(bundle, capacity);
  if (!compiled.ok()) {
    std::cerr << "compile: " << compiled.status() << "\n";
    std::exit(1);
  }
  if (absl::Status st = dp.Apply(*compiled); !st.ok()) {
    std::cerr << "apply: " << st << "\n";
    std::exit(1);
  }
  return std::move(*compiled);
}

uint32_t TestRunNs(int prog_fd, const std::vector<uint8_t>& frame, uint32_t repeat, uint32_t* retval,
                   double* wall_ns) {
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = static_cast<__u32>(frame.size()),
              .repeat = static_cast<int>(repeat));
  timespec t0{}, t1{};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int err = bpf_prog_test_run_opts(prog_fd, &opts);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (wall_ns) *wall_ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / repeat;
  if (err != 0) {
    std::cerr << "bpf_prog_test_run_opts: " << strerror(errno) << "\n";
    std::exit(1);
  }
  if (retval) *retval = opts.retval;
  return opts.duration;
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

v1::SegmentationRule* AddIngressRule(v1::Policy& policy, const std::string& name,
                                     const std::vector<std::string>& from, const std::vector<std::string>& ports) {
  v1::SegmentationRule* rule = policy.mutable_spec()->mutable_segmentation()->mutable_ingress()->add_allow();
  rule->set_name(name);
  for (const std::string& f : from) rule->add_from(f);
  for (const std::string& p : ports) rule->add_ports(p);
  return rule;
}

std::string TenKIpv4Host(int n) { return V4((11u << 24) | Scatter(n, 24)); }

std::string TenKIpv6Host(int n) {
  uint32_t h = Scatter(n, 32);
  char buf[64];
  snprintf(buf, sizeof buf, "2001:db8:1::%x:%x", h >> 16, h & 0xffff);
  return buf;
}

std::string TenKIpv6InNet(int n) {
  char buf[64];
  snprintf(buf, sizeof buf, "2001:db8:2:%x::7", Scatter(n, 16));
  return buf;
}

void AddTenThousandRules(v1::Policy& policy) {
  policy.mutable_spec()->mutable_segmentation()->mutable_ingress()->set_default_action(v1::DEFAULT_ACTION_DENY);
  constexpr int kPrefixesPerRule = 5;
  for (int i = 0; i < kTenKRules; ++i) {
    std::vector<std::string> from;
    for (int k = i * kPrefixesPerRule; k < (i + 1) * kPrefixesPerRule; ++k) {
      const int n = k / 4;
      switch (k % 4) {
        case 0: from.push_back(TenKIpv4Host(n) + "/32"); break;
        case 1: from.push_back(V4((12u << 24) | (Scatter(n, 16) << 8)) + "/24"); break;
        case 2: from.push_back(TenKIpv6Host(n) + "/128"); break;
        case 3: {
          char buf[64];
          snprintf(buf, sizeof buf, "2001:db8:2:%x::/64", Scatter(n, 16));
          from.push_back(buf);
          break;
        }
      }
    }
    AddIngressRule(policy, "r" + std::to_string(i), from,
                   {"tcp/443", "tcp/" + std::to_string(2000 + i), "udp/53"});
  }
}

void PrintTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out = "|";
    for (size_t c = 0; c < width.size(); ++c) {
      std::string cell = c < cells.size() ? cells[c] : "";
      out += " " + cell + std::string(width[c] - cell.size(), ' ') + " |";
    }
    std::cout << out << "\n";
  };
  line(header);
  std::string rule = "|";
  for (size_t w : width) rule += std::string(w + 2, '-') + "|";
  std::cout << rule << "\n";
  for (const auto& row : rows) line(row);
  std::cout.flush();
}

std::string Fixed(double value, int decimals) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(decimals);
  out << value;
  return out.str();
}

std::vector<std::vector<double>> Interleave(size_t variants, int rounds, const std::function<double(size_t)>& fn) {
  std::vector<std::vector<double>> samples(variants);
  for (int r = 0; r < rounds; ++r) {
    for (size_t v = 0; v < variants; ++v) samples[v].push_back(fn(v));
  }
  return samples;
}

std::string MachineLine() {
  utsname u{};
  uname(&u);
  return std::string("kernel ") + u.release + ", " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " CPUs online";
}

}  // namespace rampart::bench

// Shared pieces of the datapath benchmarks (BENCHMARKS.md): a pin directory
// that removes itself, BPF_PROG_TEST_RUN timing, medians, the synthetic
// policies, and table printing. Benchmarks are programs, not tests: they print
// ratios against a baseline measured in the same run, interleaving the variants
// (A B C A B C ...) so that the machine's drift hits all of them alike.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/datapath/datapath.h"
#include "agent/policy/compiler.h"
#include "rampart/v1/policy.pb.h"

namespace rampart::bench {

// Exits with a message unless root can load XDP programs here.
void RequireKernelOrExit();

// A unique pin directory under /sys/fs/bpf, removed (with everything pinned in
// it) by the destructor, at exit() and on SIGINT/SIGTERM/SIGHUP.
class PinDir {
 public:
  explicit PinDir(const std::string& prefix);
  ~PinDir();
  PinDir(const PinDir&) = delete;
  PinDir& operator=(const PinDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Opens Rampart's datapath on its own pin dir, or exits with the error.
std::unique_ptr<datapath::Datapath> OpenDatapathOrExit(const std::string& pin_dir,
                                                      datapath::IngressHook hook = datapath::IngressHook::kAuto);

// Validates and compiles `bundle`, then applies it, or exits with the error.
// Returns the compiled policy.
policy::CompiledPolicy ApplyOrExit(datapath::Datapath& dp, const v1::PolicyBundle& bundle,
                                   const policy::DatapathCapacity& capacity = {});

// One BPF_PROG_TEST_RUN with `repeat` runs of `frame`: the kernel's average
// ns per run (opts.duration, rounded down to whole ns). Exits on failure.
// *retval gets the verdict; *wall_ns the syscall's wall-clock time per run
// (finer than 1 ns, but it includes the syscall's setup, about 1 ns per run
// at repeat=1e6, and any preemption).
uint32_t TestRunNs(int prog_fd, const std::vector<uint8_t>& frame, uint32_t repeat, uint32_t* retval = nullptr,
                   double* wall_ns = nullptr);

double Median(std::vector<double> values);

// Adds an allow rule to the ingress section.
v1::SegmentationRule* AddIngressRule(v1::Policy& policy, const std::string& name,
                                     const std::vector<std::string>& from, const std::vector<std::string>& ports);

// The "10k rules" policy of the benchmarks: 10,000 source prefixes (2,500 each
// of IPv4 /32, IPv4 /24, IPv6 /128, IPv6 /64) in 2,000 named rules of five
// prefixes, each rule allowing tcp/443, tcp/(2000+i) and udp/53, so 6,000 port
// rules in all. Ingress default deny. The Nth prefix of each kind is given by
// the helpers below, so a benchmark can aim a packet at a rule.
void AddTenThousandRules(v1::Policy& policy);
inline constexpr int kTenKRules = 2000;
std::string TenKIpv4Host(int n);     // 11.x.y.z, n in [0, 2500): inside an IPv4 /32 rule
std::string TenKIpv6Host(int n);     // 2001:db8:1::..., inside an IPv6 /128 rule
std::string TenKIpv6InNet(int n);    // 2001:db8:2:n::7, inside an IPv6 /64 rule

// Column-aligned table on stdout.
void PrintTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
std::string Fixed(double value, int decimals);

// Runs `fn(variant)` for every variant, `rounds` times, in interleaved order
// (0 1 2 ... 0 1 2 ...). Returns samples[variant][round].
std::vector<std::vector<double>> Interleave(size_t variants, int rounds, const std::function<double(size_t)>& fn);

// The machine, for the record: kernel release and CPU count.
std::string MachineLine();

}  // namespace rampart::bench

// Helper of kernel_tests/bench/throughput_bench.sh: opens Rampart's datapath
// on a pin directory, applies a real policy (the benchmarks' 10,000 source
// prefixes in 2,000 rules, 1,000 egress rules, a per-source rate limit) that
// also admits the benchmark's client to one TCP port, attaches it to one
// interface of the current network namespace, and exits: the pins keep it
// enforcing. Run it inside the namespace with `nsenter --net=` (not
// `ip netns exec`, which mounts a fresh /sys and so a private bpffs).
//
//   apply_policy --pin-dir DIR --ifname IF --client CIDR --port N [--hook auto|xdp-generic|tc] [--no-rate-limit]
//   apply_policy --pin-dir DIR --ifname IF --detach      removes Rampart's programs from IF
//   apply_policy --pin-dir DIR --counters                prints the non-zero reason counters
//   apply_policy --profile S --prog ID=LABEL...          run count and run time of these programs over S
//                                                        seconds (BPF_ENABLE_STATS while it runs)
//
// --variant swaps a benchmark-only program (bench_variants.bpf.c) in for one
// of Rampart's after attaching, to measure a proposed change under traffic:
//   trieonly   ingress XDP: one trie for every prefix (the design before the host maps)
//   lazypull   TC ingress: pull headers only when they are not linear
//   apply_policy --pin-dir DIR --remove                  unpins everything and removes DIR
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "agent/common/logging.h"
#include "agent/datapath/attach.h"
#include "agent/datapath/bpffs.h"
#include "kernel_tests/bench/bench_util.h"
#include "kernel_tests/bench/bench_variants.h"

namespace rampart::bench {
namespace {

[[noreturn]] void Usage() {
  std::cerr << "usage: apply_policy --pin-dir DIR --ifname IF --client CIDR --port N [--hook HOOK] [--no-rate-limit]\n"
               "       apply_policy --pin-dir DIR --ifname IF --detach\n"
               "       apply_policy --pin-dir DIR --counters\n"
               "       apply_policy --profile SECONDS --prog ID=LABEL [--prog ID=LABEL...]\n"
               "       apply_policy --pin-dir DIR --remove\n";
  std::exit(2);
}

// Run count and run time of programs (by id), from the kernel's BPF
// statistics, enabled only while this runs.
int Profile(const std::vector<std::pair<uint32_t, std::string>>& ids, double seconds) {
  const int stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (stats < 0) {
    std::cerr << "bpf_enable_stats: " << strerror(errno) << "\n";
    return 1;
  }
  struct Prog {
    std::string what;
    int fd;
    bpf_prog_info before;
  };
  std::vector<Prog> progs;
  for (const auto& [id, label] : ids) {
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue;
    Prog p{label, fd, {}};
    uint32_t len = sizeof p.before;
    if (bpf_obj_get_info_by_fd(fd, &p.before, &len) == 0) progs.push_back(p);
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (Prog& p : progs) {
    bpf_prog_info after{};
    uint32_t len = sizeof after;
    if (bpf_obj_get_info_by_fd(p.fd, &after, &len) != 0) continue;
    const double runs = static_cast<double>(after.run_cnt - p.before.run_cnt);
    const double ns = static_cast<double>(after.run_time_ns - p.before.run_time_ns);
    std::printf("%s: %.0f runs/s, %.0f ns/run, %.3f%% of one CPU\n", p.what.c_str(), runs / elapsed,
                runs > 0 ? ns / runs : 0.0, 100.0 * ns / (elapsed * 1e9));
    close(p.fd);
  }
  close(stats);
  return 0;
}

// Replaces Rampart's program at one hook of `ifname` by a benchmark variant
// loaded on the same maps; the link or filter keeps the variant alive.
void SwapInVariant(datapath::Datapath& dp, const std::string& pin_dir, const std::string& ifname,
                   const std::string& variant, const policy::CompiledPolicy& compiled) {
  VariantPrograms parts(pin_dir);
  auto gen = dp.writer().ActiveGeneration();
  if (!gen.ok()) {
    std::cerr << gen.status() << "\n";
    std::exit(1);
  }
  for (const datapath::Attachment& a : dp.Attachments()) {
    if (a.ifname != ifname || a.direction != "ingress") continue;
    if (variant == "trieonly" && a.hook != "tc") {
      parts.LoadTrieOnly(compiled, *gen);
      int link = bpf_obj_get(a.pin.c_str());
      if (link < 0 || bpf_link_update(link, parts.xdp_trieonly_fd(), nullptr) != 0) {
        std::cerr << "swap the XDP link " << a.pin << " to the variant: " << strerror(errno) << "\n";
        std::exit(1);
      }
      close(link);
      return;
    }
    if (variant == "lazypull" && a.hook == "tc") {
      LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(a.ifindex), .attach_point = BPF_TC_INGRESS);
      LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = parts.tc_ingress_lazy_fd(), .flags = BPF_TC_F_REPLACE,
                  .handle = datapath::kTcHandle, .priority = datapath::kTcPriority);
      if (bpf_tc_attach(&hook, &opts) != 0) {
        std::cerr << "replace the TC ingress filter by the variant: " << strerror(errno) << "\n";
        std::exit(1);
      }
      return;
    }
  }
  std::cerr << "variant " << variant << " does not fit the ingress hook in use on " << ifname << "\n";
  std::exit(1);
}

int Main(int argc, char** argv) {
  std::string pin_dir, ifname, client, hook_text = "auto";
  int port = 0;
  double profile = 0;
  std::vector<std::pair<uint32_t, std::string>> profiled;
  std::string variant;
  bool detach = false, remove = false, counters = false, rate_limit = true;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage();
      return argv[++i];
    };
    if (arg == "--pin-dir") pin_dir = value();
    else if (arg == "--ifname") ifname = value();
    else if (arg == "--client") client = value();
    else if (arg == "--port") port = std::atoi(value().c_str());
    else if (arg == "--hook") hook_text = value();
    else if (arg == "--detach") detach = true;
    else if (arg == "--remove") remove = true;
    else if (arg == "--counters") counters = true;
    else if (arg == "--profile") profile = std::atof(value().c_str());
    else if (arg == "--variant") variant = value();
    else if (arg == "--prog") {
      std::string spec = value();
      size_t eq = spec.find('=');
      if (eq == std::string::npos) Usage();
      profiled.emplace_back(static_cast<uint32_t>(std::stoul(spec.substr(0, eq))), spec.substr(eq + 1));
    }
    else if (arg == "--no-rate-limit") rate_limit = false;
    else Usage();
  }
  InitLogging("warn");
  if (profile > 0) return Profile(profiled, profile);
  if (pin_dir.empty() || pin_dir.rfind("/sys/fs/bpf/", 0) != 0) Usage();
  if (remove) {
    absl::Status st = datapath::RemovePinDir(pin_dir);
    if (!st.ok()) std::cerr << st << "\n";
    return st.ok() ? 0 : 1;
  }
  if (counters) {
    auto dp = OpenDatapathOrExit(pin_dir);
    auto c = dp->ReadCounters();
    if (!c.ok()) {
      std::cerr << c.status() << "\n";
      return 1;
    }
    for (const auto& r : c->by_reason()) {
      if (r.packets()) std::cout << r.direction() << " " << r.reason() << " " << r.packets() << "\n";
    }
    for (const auto& e : c->errors()) {
      if (e.count()) std::cout << "error " << e.error() << " " << e.count() << "\n";
    }
    return 0;
  }
  if (ifname.empty()) Usage();
  if (detach) {
    absl::Status st = datapath::DetachAll(pin_dir, ifname);
    if (!st.ok()) std::cerr << st << "\n";
    return st.ok() ? 0 : 1;
  }
  if (client.empty() || port <= 0 || port > 65535) Usage();
  auto hook = datapath::ParseIngressHook(hook_text);
  if (!hook.ok()) {
    std::cerr << hook.status() << "\n";
    return 2;
  }

  v1::PolicyBundle bundle;
  bundle.set_version(1);
  v1::Policy& policy = *bundle.add_policies();
  policy.set_api_version("rampart/v1");
  policy.set_kind("Policy");
  policy.mutable_metadata()->set_name("bench");
  policy.mutable_spec()->add_interfaces(ifname);
  AddTenThousandRules(policy);
  AddIngressRule(policy, "bench-client", {client}, {"tcp/" + std::to_string(port)});
  v1::SegmentationDirection* egress = policy.mutable_spec()->mutable_segmentation()->mutable_egress();
  egress->set_default_action(v1::DEFAULT_ACTION_DENY);
  for (int i = 0; i < 1000; ++i) {
    v1::SegmentationRule* rule = egress->add_allow();
    rule->set_name("e" + std::to_string(i));
    rule->add_to("172." + std::to_string(16 + i / 256) + "." + std::to_string(i % 256) + ".0/24");
    rule->add_ports("tcp/5432");
  }
  v1::SegmentationRule* replies = egress->add_allow();
  replies->set_name("bench-replies");
  replies->add_to(client);
  replies->add_ports("tcp/1024-65535");
  if (rate_limit) {
    v1::RateLimit* limit = policy.mutable_spec()->add_rate_limits();
    limit->set_name("per-source");
    limit->mutable_match()->add_ports("tcp/" + std::to_string(port));
    limit->set_key(v1::RATE_LIMIT_KEY_SOURCE);
    limit->set_packets_per_second(100'000'000);     // the validator's maximum: never reached here
    limit->set_bytes_per_second(10'000'000'000);
  }

  auto dp = OpenDatapathOrExit(pin_dir, *hook);
  const policy::CompiledPolicy compiled = ApplyOrExit(*dp, bundle);
  if (!variant.empty()) SwapInVariant(*dp, pin_dir, ifname, variant, compiled);
  for (const datapath::Attachment& a : dp->Attachments()) {
    if (a.ifname == ifname) std::cout << a.ifname << " " << a.direction << " " << a.hook << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace rampart::bench

int main(int argc, char** argv) { return rampart::bench::Main(argc, argv); }

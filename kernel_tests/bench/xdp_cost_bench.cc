// XDP program cost (issue 3, BENCHMARKS.md): Rampart's ingress XDP program
// against an empty XDP_PASS program under BPF_PROG_TEST_RUN, with a 10k-rule
// policy in force and 100k token buckets tracked. Variants run interleaved
// (A B C ... A B C ...); the table gives, per variant, the median over rounds
// of the kernel's ns per run and the median of the per-round ratios to the
// empty program. Goal: allow path <= 1.5x the empty program.
//
//   sudo build/kernel_tests/xdp_cost_bench [--rounds N] [--repeat N] [--flows N]
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "empty.skel.h"
#include "kernel_tests/bench/bench_util.h"
#include "kernel_tests/bench/bench_variants.h"
#include "kernel_tests/fixtures/packet_builder.h"

namespace rampart::bench {
namespace {

using testing::PacketBuilder;

struct Options {
  int rounds = 15;
  uint32_t repeat = 1'000'000;
  uint32_t flows = 100'000;
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> long {
      if (i + 1 >= argc) {
        std::cerr << arg << " needs a value\n";
        std::exit(2);
      }
      return std::atol(argv[++i]);
    };
    if (arg == "--rounds") o.rounds = static_cast<int>(next());
    else if (arg == "--repeat") o.repeat = static_cast<uint32_t>(next());
    else if (arg == "--flows") o.flows = static_cast<uint32_t>(next());
    else {
      std::cerr << "usage: xdp_cost_bench [--rounds N] [--repeat N] [--flows N]\n";
      std::exit(2);
    }
  }
  return o;
}

std::string V4(uint32_t a) {
  in_addr in{htonl(a)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &in, buf, sizeof buf);
  return buf;
}

struct Variant {
  std::string name;
  std::string packet;
  int prog_fd;
  std::vector<uint8_t> frame;
  uint32_t expect;          // XDP_PASS or XDP_DROP
  uint32_t sample_rate = 1;  // drop events: one per N drops (the agent's default is 1)
  bool breakdown = false;   // a prefix of the pipeline, not a path of the real program
};

uint64_t CountEntries(int map_fd, size_t key_size) {
  std::vector<uint8_t> key(key_size), next(key_size);
  uint64_t n = 0;
  void* prev = nullptr;
  while (bpf_map_get_next_key(map_fd, prev, next.data()) == 0) {
    ++n;
    key = next;
    prev = key.data();
  }
  return n;
}

int Main(int argc, char** argv) {
  const Options opt = ParseArgs(argc, argv);
  RequireKernelOrExit();
  PinDir pins("rpbench");
  auto dp = OpenDatapathOrExit(pins.path());
  empty_bpf* empty = empty_bpf__open_and_load();
  if (!empty) {
    std::cerr << "load empty.bpf.o: " << strerror(errno) << "\n";
    return 1;
  }
  VariantPrograms parts(pins.path());

  // The policy: 10k prefixes in 2k rules, plus a rate-limited service.
  v1::PolicyBundle bundle;
  bundle.set_version(1);
  v1::Policy& policy = *bundle.add_policies();
  policy.set_api_version("rampart/v1");
  policy.set_kind("Policy");
  policy.mutable_metadata()->set_name("bench");
  AddTenThousandRules(policy);
  AddIngressRule(policy, "bulk", {"100.64.0.0/10", "2001:db8:ff::/48"}, {"tcp/8080", "tcp/9090"});
  v1::RateLimit* fast = policy.mutable_spec()->add_rate_limits();
  fast->set_name("fast");
  fast->mutable_match()->add_ports("tcp/8080");
  fast->set_key(v1::RATE_LIMIT_KEY_SOURCE);
  fast->set_packets_per_second(100'000'000);  // never reached here: the "under the limit" path
  fast->set_bytes_per_second(10'000'000'000);
  v1::RateLimit* slow = policy.mutable_spec()->add_rate_limits();
  slow->set_name("slow");
  slow->mutable_match()->add_ports("tcp/9090");
  slow->set_key(v1::RATE_LIMIT_KEY_SOURCE);
  slow->set_packets_per_second(1);  // exhausted by the first packet: the drop path
  slow->set_burst(1);
  const policy::CompiledPolicy compiled = ApplyOrExit(*dp, bundle);

  // 100k tracked flows: one token bucket per distinct source, created by the
  // program itself on each source's first packet.
  const uint32_t base = ntohl(inet_addr("100.64.0.0"));
  for (uint32_t i = 0; i < opt.flows; ++i) {
    TestRunNs(dp->object().xdp_ingress_fd(), PacketBuilder::Tcp(V4(base + 1 + i), "10.9.0.1", 8080).Build(), 1);
  }
  const uint64_t buckets = CountEntries(dp->object().buckets_fd(), sizeof(rp_bucket_key));

  const int prog = dp->object().xdp_ingress_fd();
  const std::string allow4 = TenKIpv4Host(1234), allow6 = TenKIpv6InNet(777);
  std::vector<Variant> variants = {
      {"empty XDP_PASS program", "TCP IPv4", bpf_program__fd(empty->progs.rampart_xdp_empty),
       PacketBuilder::Tcp(allow4, "10.9.0.1", 443).Build(), XDP_PASS},
      {"allow IPv4", allow4 + "/32 -> :443", prog, PacketBuilder::Tcp(allow4, "10.9.0.1", 443).Build(), XDP_PASS},
      {"allow IPv6", allow6 + " (/64) -> :443", prog, PacketBuilder::Tcp(allow6, "2001:db8:9::1", 443).Build(),
       XDP_PASS},
      {"allow IPv6 (host)", TenKIpv6Host(99) + " -> :443", prog,
       PacketBuilder::Tcp(TenKIpv6Host(99), "2001:db8:9::1", 443).Build(), XDP_PASS},
      {"deny IPv4 (no prefix)", "192.0.2.1 -> :443", prog, PacketBuilder::Tcp("192.0.2.1", "10.9.0.1", 443).Build(),
       XDP_DROP},
      {"deny IPv6 (no prefix)", "2001:db8:dead::1 -> :443", prog,
       PacketBuilder::Tcp("2001:db8:dead::1", "2001:db8:9::1", 443).Build(), XDP_DROP},
      {"deny IPv4 (prefix, wrong port)", allow4 + " -> :22", prog, PacketBuilder::Tcp(allow4, "10.9.0.1", 22).Build(),
       XDP_DROP},
      {"deny IPv4, drop events off", "192.0.2.1 -> :443", prog,
       PacketBuilder::Tcp("192.0.2.1", "10.9.0.1", 443).Build(), XDP_DROP, 0},
      {"rate-limited allow IPv4", "100.64.0.1 -> :8080", prog,
       PacketBuilder::Tcp("100.64.0.1", "10.9.0.1", 8080).Build(), XDP_PASS},
      {"rate-limited allow IPv6", "2001:db8:ff::1 -> :8080", prog,
       PacketBuilder::Tcp("2001:db8:ff::1", "2001:db8:9::1", 8080).Build(), XDP_PASS},
      {"rate-limited drop IPv4", "100.64.0.1 -> :9090", prog,
       PacketBuilder::Tcp("100.64.0.1", "10.9.0.1", 9090).Build(), XDP_DROP},
      {"rate-limited drop IPv6", "2001:db8:ff::1 -> :9090", prog,
       PacketBuilder::Tcp("2001:db8:ff::1", "2001:db8:9::1", 9090).Build(), XDP_DROP},
      // Where the allow path's time goes: growing prefixes of the pipeline.
      {"  parse only", "allow IPv4 packet", parts.parse_fd(), PacketBuilder::Tcp(allow4, "10.9.0.1", 443).Build(),
       XDP_PASS, 1, true},
      {"  + state, config, host map + LPM lookup", "allow IPv4 packet", parts.parse_lpm_fd(),
       PacketBuilder::Tcp(allow4, "10.9.0.1", 443).Build(), XDP_PASS, 1, true},
      {"  + ruleset lookup, port scan", "allow IPv4 packet", parts.parse_lpm_rules_fd(),
       PacketBuilder::Tcp(allow4, "10.9.0.1", 443).Build(), XDP_PASS, 1, true},
      {"  + rule and reason counters", "allow IPv4 packet", parts.parse_lpm_rules_counters_fd(),
       PacketBuilder::Tcp(allow4, "10.9.0.1", 443).Build(), XDP_PASS, 1, true},
      {"  + rate-limit scan (2 limits, no match)", "allow IPv4 packet", parts.parse_lpm_rules_counters_limits_fd(),
       PacketBuilder::Tcp(allow4, "10.9.0.1", 443).Build(), XDP_PASS, 1, true},
      {"  host map lookup alone (no parse)", "key of allow IPv4", parts.hash_alone_fd(), PacketBuilder::Arp().Build(),
       XDP_PASS, 1, true},
      {"  LPM lookup alone, trie of every prefix", "key of allow IPv4", parts.lpm_alone_fd(),
       PacketBuilder::Arp().Build(), XDP_PASS, 1, true},
      // The design before the host maps: one trie for every prefix, hosts included.
      {"trie only: allow IPv4 (/32)", allow4 + "/32 -> :443", parts.xdp_trieonly_fd(),
       PacketBuilder::Tcp(allow4, "10.9.0.1", 443).Build(), XDP_PASS, 1, true},
      {"trie only: allow IPv6 (/64)", allow6 + " (/64) -> :443", parts.xdp_trieonly_fd(),
       PacketBuilder::Tcp(allow6, "2001:db8:9::1", 443).Build(), XDP_PASS, 1, true},
      {"trie only: deny IPv4 (no prefix)", "192.0.2.1 -> :443", parts.xdp_trieonly_fd(),
       PacketBuilder::Tcp("192.0.2.1", "10.9.0.1", 443).Build(), XDP_DROP, 1, true},
      // The second prototype: one hash probe per distinct prefix length, no trie.
      {"lensets: allow IPv4 (/32, 1st probe)", allow4 + "/32 -> :443", parts.xdp_lensets_fd(),
       PacketBuilder::Tcp(allow4, "10.9.0.1", 443).Build(), XDP_PASS, 1, true},
      {"lensets: allow IPv6 (/64, 2nd probe)", allow6 + " (/64) -> :443", parts.xdp_lensets_fd(),
       PacketBuilder::Tcp(allow6, "2001:db8:9::1", 443).Build(), XDP_PASS, 1, true},
      {"lensets: deny IPv4 (3 probes miss)", "192.0.2.1 -> :443", parts.xdp_lensets_fd(),
       PacketBuilder::Tcp("192.0.2.1", "10.9.0.1", 443).Build(), XDP_DROP, 1, true},
      {"lensets: rate-limited allow IPv4 (/10, 3rd)", "100.64.0.1 -> :8080", parts.xdp_lensets_fd(),
       PacketBuilder::Tcp("100.64.0.1", "10.9.0.1", 8080).Build(), XDP_PASS, 1, true},
  };
  auto gen = dp->writer().ActiveGeneration();
  if (!gen.ok()) {
    std::cerr << gen.status() << "\n";
    return 1;
  }
  parts.SetLpmKey(HostKey(allow4, *gen));
  parts.LoadTrieOnly(compiled, *gen);
  if (!parts.LoadLenSets(compiled, *gen)) {
    std::cerr << "the policy has too many prefix lengths for the length-set prototype\n";
    return 1;
  }

  // Every variant must give its verdict before it is timed.
  uint32_t current_rate = 1;
  auto set_rate = [&](uint32_t rate) {
    if (rate == current_rate) return;
    if (absl::Status st = dp->SetDropSampleRate(rate); !st.ok()) {
      std::cerr << st << "\n";
      std::exit(1);
    }
    current_rate = rate;
  };
  for (const Variant& v : variants) {
    set_rate(v.sample_rate);
    uint32_t retval = 0;
    TestRunNs(v.prog_fd, v.frame, 2, &retval);
    if (retval != v.expect) {
      std::cerr << v.name << ": verdict " << retval << ", expected " << v.expect << "\n";
      return 1;
    }
  }

  std::cout << "xdp_cost_bench: " << MachineLine() << "; policy: " << kTenKRules * 5
            << " source prefixes in " << kTenKRules + 1 << " rules (" << kTenKRules * 3 + 2
            << " port rules), 2 rate limits; " << buckets << " token buckets tracked; " << opt.rounds
            << " interleaved rounds of repeat=" << opt.repeat << "\n";
  std::vector<std::vector<double>> wall(variants.size());
  auto samples = Interleave(variants.size(), opt.rounds, [&](size_t i) {
    set_rate(variants[i].sample_rate);
    uint32_t retval = 0;
    double wall_ns = 0;
    double ns = TestRunNs(variants[i].prog_fd, variants[i].frame, opt.repeat, &retval, &wall_ns);
    wall[i].push_back(wall_ns);
    if (retval != variants[i].expect) {
      std::cerr << variants[i].name << ": verdict changed to " << retval << "\n";
      std::exit(1);
    }
    return ns;
  });
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < variants.size(); ++i) {
    std::vector<double> ratios;
    for (int r = 0; r < opt.rounds; ++r) ratios.push_back(samples[i][r] / samples[0][r]);
    const double med = Median(samples[i]);
    std::string goal;
    if (variants[i].name.rfind("allow IPv", 0) == 0) goal = Median(ratios) <= 1.5 ? "met (<= 1.5x)" : "NOT met (> 1.5x)";
    std::vector<double> wall_ratios;
    for (int r = 0; r < opt.rounds; ++r) wall_ratios.push_back(wall[i][r] / wall[0][r]);
    rows.push_back({variants[i].name, variants[i].packet, variants[i].expect == XDP_PASS ? "PASS" : "DROP",
                    Fixed(med, 1), Fixed(med - Median(samples[0]), 1), Fixed(Median(ratios), 2) + "x",
                    Fixed(Median(wall[i]), 2), Fixed(Median(wall_ratios), 2) + "x", goal});
  }
  PrintTable({"variant", "packet", "verdict", "median ns/run", "minus empty", "ratio vs empty", "wall ns/run",
              "wall ratio", "goal"},
             rows);
  std::cout << "ns/run: the kernel's opts.duration (whole ns); wall: the syscall's wall time / repeat. Ratios are "
               "medians of per-round ratios. Indented, \"trie only\" and \"lensets\" rows are benchmark-only programs "
               "(kernel_tests/bench/bench_variants.bpf.c) on the same maps.\n";
  empty_bpf__destroy(empty);
  return 0;
}

}  // namespace
}  // namespace rampart::bench

int main(int argc, char** argv) { return rampart::bench::Main(argc, argv); }

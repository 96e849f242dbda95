// Lookup scaling (issue 3, BENCHMARKS.md): the ingress XDP program's allow
// path with allowlists of 10, 1k and 100k source prefixes, as a ratio to the
// 10-entry list. Goal: at most 1.3x from 1k to 100k.
//
// Prefix sets: "hosts" (IPv4 /32 only, random addresses in 10.0.0.0/8),
// "mixed" (70% IPv4 of 12 lengths /8../32, 30% IPv6 of 7 lengths /32../128,
// nested where they happen to be) and "mixed-trie", the same entries compiled
// with max_probed_lengths = 0, so their shorter prefixes stay in the trie as
// before length sets (also what a family over the 16-length cap gets). Each
// set size lives in its own Datapath (own pin dir, own maps), so all nine run
// interleaved in one process. Each measurement spreads `repeat` runs over 16
// probe packets whose sources hit 16 random entries. The datapath looks
// full-length prefixes (/32, /128) up in an exact-match host map, then shorter
// ones with one hash probe per length in use (mixed) or in the trie
// (mixed-trie). Beside the full program, benchmark-only programs time the
// design before the host maps (one trie for every prefix: the whole program,
// and the trie alone on the same 16 keys and on a sweep where every run looks
// up the next of 64k keys, cold paths like traffic from many sources) and the
// host map alone.
//
//   sudo build/kernel_tests/lookup_scaling_bench [--rounds N] [--repeat N]
#include <arpa/inet.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "kernel_tests/bench/bench_util.h"
#include "kernel_tests/bench/bench_variants.h"
#include "kernel_tests/fixtures/packet_builder.h"

namespace rampart::bench {
namespace {

using testing::PacketBuilder;

constexpr int kProbes = 16;
constexpr int kRules = 8;  // prefix i belongs to rule i % 8

struct Options {
  int rounds = 11;
  uint32_t repeat = 1'000'000;
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "--rounds" || arg == "--repeat") && i + 1 < argc) {
      long v = std::atol(argv[++i]);
      if (arg == "--rounds") o.rounds = static_cast<int>(v);
      else o.repeat = static_cast<uint32_t>(v);
    } else {
      std::cerr << "usage: lookup_scaling_bench [--rounds N] [--repeat N]\n";
      std::exit(2);
    }
  }
  return o;
}

// A prefix as text plus an address inside it.
struct Entry {
  std::string prefix;
  std::string inside;
};

std::string Ntop4(uint32_t a) {
  in_addr in{htonl(a)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &in, buf, sizeof buf);
  return buf;
}

std::string Ntop6(const uint8_t a[16]) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, a, buf, sizeof buf);
  return buf;
}

Entry V4Entry(uint32_t addr, int len, std::mt19937_64& rng) {
  const uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
  const uint32_t net = addr & mask;
  uint32_t inside = net | (static_cast<uint32_t>(rng()) & ~mask);
  return {Ntop4(net) + "/" + std::to_string(len), Ntop4(inside)};
}

Entry V6Entry(std::mt19937_64& rng, int len) {
  uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};  // 2001:db8::/32
  for (int i = 4; i < 16; ++i) a[i] = static_cast<uint8_t>(rng());
  uint8_t net[16], inside[16];
  for (int i = 0; i < 16; ++i) {
    const int bits = std::clamp(len - 8 * i, 0, 8);
    const uint8_t mask = static_cast<uint8_t>(bits == 0 ? 0 : 0xff << (8 - bits));
    net[i] = a[i] & mask;
    inside[i] = net[i] | (static_cast<uint8_t>(rng()) & ~mask);
  }
  return {Ntop6(net) + "/" + std::to_string(len), Ntop6(inside)};
}

std::vector<Entry> HostSet(size_t n, std::mt19937_64& rng) {
  std::set<std::string> seen;
  std::vector<Entry> out;
  while (out.size() < n) {
    Entry e = V4Entry((10u << 24) | (static_cast<uint32_t>(rng()) & 0xffffff), 32, rng);
    if (seen.insert(e.prefix).second) out.push_back(e);
  }
  return out;
}

// Lengths a mixed allowlist uses: a few per family, as address plans do (the
// datapath probes up to RP_LENSET_MAX_LENGTHS = 16 shorter lengths per family).
std::vector<Entry> MixedSet(size_t n, std::mt19937_64& rng) {
  static constexpr int kV4Mid[] = {16, 20, 22, 23};
  static constexpr int kV4Long[] = {26, 27, 28, 29};
  static constexpr int kV4Short[] = {8, 12};
  static constexpr int kV6Other[] = {32, 40, 44, 56};
  std::set<std::string> seen;
  std::vector<Entry> out;
  std::uniform_int_distribution<int> pct(0, 99);
  while (out.size() < n) {
    Entry e;
    const int p = pct(rng);
    if (p < 70) {  // IPv4: 40% /32, 30% /24, 15% /16-/23, 10% /26-/29, 5% /8 and /12 (of the IPv4 share)
      const int q = pct(rng);
      int len = q < 40 ? 32 : q < 70 ? 24 : q < 85 ? kV4Mid[rng() % 4] : q < 95 ? kV4Long[rng() % 4]
                                                                               : kV4Short[rng() % 2];
      // Shorter prefixes spread over 1.0.0.0-126.255.255.255, so some nest.
      uint32_t addr = (static_cast<uint32_t>(1 + rng() % 126) << 24) | (static_cast<uint32_t>(rng()) & 0xffffff);
      e = V4Entry(addr, len, rng);
    } else {  // IPv6: 50% /128, 30% /64, 15% /48, 5% /32, /40, /44, /56
      const int q = pct(rng);
      int len = q < 50 ? 128 : q < 80 ? 64 : q < 95 ? 48 : kV6Other[rng() % 4];
      e = V6Entry(rng, len);
    }
    if (seen.insert(e.prefix).second) out.push_back(e);
  }
  return out;
}

struct Instance {
  std::string set;
  size_t entries;
  std::unique_ptr<PinDir> pins;
  std::unique_ptr<datapath::Datapath> dp;
  std::unique_ptr<VariantPrograms> parts;
  std::vector<std::vector<uint8_t>> probes;  // allow-hit frames
  std::vector<rp_lpm_key> probe_keys;
  std::string lookup;  // how the datapath looks up the shorter prefixes
};

std::unique_ptr<Instance> MakeInstance(const std::string& set, size_t n, uint64_t seed) {
  auto inst = std::make_unique<Instance>();
  inst->set = set;
  inst->entries = n;
  std::mt19937_64 rng(seed);
  std::vector<Entry> entries = set == "hosts" ? HostSet(n, rng) : MixedSet(n, rng);
  policy::DatapathCapacity capacity;
  if (set == "mixed-trie") capacity.max_probed_lengths = 0;  // every shorter prefix in the trie

  v1::PolicyBundle bundle;
  bundle.set_version(1);
  v1::Policy& policy = *bundle.add_policies();
  policy.set_api_version("rampart/v1");
  policy.set_kind("Policy");
  policy.mutable_metadata()->set_name("scale");
  policy.mutable_spec()->mutable_segmentation()->mutable_ingress()->set_default_action(v1::DEFAULT_ACTION_DENY);
  std::vector<v1::SegmentationRule*> rules;
  for (int r = 0; r < kRules; ++r) {
    rules.push_back(AddIngressRule(policy, "r" + std::to_string(r), {}, {"tcp/443", "tcp/8000-8100"}));
  }
  for (size_t i = 0; i < entries.size(); ++i) rules[i % kRules]->add_from(entries[i].prefix);
  // A rule with no prefix is invalid; with 10 entries every rule has one.

  inst->pins = std::make_unique<PinDir>("rpscale");
  inst->dp = OpenDatapathOrExit(inst->pins->path());
  const policy::CompiledPolicy compiled = ApplyOrExit(*inst->dp, bundle, capacity);
  inst->lookup = policy::DescribePrefixLookup(compiled.ingress);
  inst->parts = std::make_unique<VariantPrograms>(inst->pins->path());
  auto gen = inst->dp->writer().ActiveGeneration();
  if (!gen.ok()) {
    std::cerr << gen.status() << "\n";
    std::exit(1);
  }
  inst->parts->LoadTrieOnly(compiled, *gen);
  inst->parts->LoadV4Trie(compiled, *gen);

  for (int p = 0; p < kProbes; ++p) {
    const Entry& e = entries[rng() % entries.size()];
    const bool v6 = e.inside.find(':') != std::string::npos;
    inst->probes.push_back(PacketBuilder::Tcp(e.inside, v6 ? "2001:db8:9::1" : "10.9.0.1", 443).Build());
    inst->probe_keys.push_back(HostKey(e.inside, *gen));
  }
  std::vector<rp_lpm_key> sweep;
  for (size_t i = 0; i < 65536; ++i) sweep.push_back(HostKey(entries[rng() % entries.size()].inside, *gen));
  inst->parts->SetSweepKeys(sweep);

  // Every probe must be an allow hit.
  for (size_t p = 0; p < inst->probes.size(); ++p) {
    uint32_t retval = 0;
    TestRunNs(inst->dp->object().xdp_ingress_fd(), inst->probes[p], 1, &retval);
    inst->parts->SetLpmKey(inst->probe_keys[p]);
    uint32_t lpm = 0;
    TestRunNs(inst->parts->lpm_alone_fd(), inst->probes[p], 1, &lpm);
    uint32_t trie_only = 0;
    TestRunNs(inst->parts->xdp_trieonly_fd(), inst->probes[p], 1, &trie_only);
    if (retval != XDP_PASS || lpm != XDP_PASS || trie_only != XDP_PASS) {
      std::cerr << set << "/" << n << ": probe " << p << " is not an allow hit\n";
      std::exit(1);
    }
  }
  return inst;
}

enum Measure {
  kFull, kTrieOnly, kLpmSame, kLpmSweep, kV4Same, kV4Sweep, kHashSweep, kSweepBase, kMeasures
};
const char* kMeasureNames[] = {"full program, allow hit", "trie only (design before the host map), full program",
                               "trie of every prefix alone, same 16 keys", "trie of every prefix alone, 64k-key sweep",
                               "IPv4-only trie (8-byte keys), same 16 keys", "IPv4-only trie, 64k-key sweep",
                               "host map alone, 64k-key sweep", "sweep array read (subtracted)"};

double Run(Instance& inst, Measure m, uint32_t repeat) {
  const uint32_t per = std::max<uint32_t>(1, repeat / kProbes);
  double total = 0;
  // mixed-trie differs from mixed only in the production program's lookup.
  if (inst.set == "mixed-trie" && m != kFull && m != kSweepBase) return 0;
  switch (m) {
    case kFull:
      for (const auto& frame : inst.probes) total += TestRunNs(inst.dp->object().xdp_ingress_fd(), frame, per);
      return total / kProbes;
    case kTrieOnly:
      for (const auto& frame : inst.probes) total += TestRunNs(inst.parts->xdp_trieonly_fd(), frame, per);
      return total / kProbes;
    case kLpmSame:
      for (size_t p = 0; p < inst.probes.size(); ++p) {
        inst.parts->SetLpmKey(inst.probe_keys[p]);
        total += TestRunNs(inst.parts->lpm_alone_fd(), inst.probes[p], per);
      }
      return total / kProbes;
    case kLpmSweep:
      return TestRunNs(inst.parts->lpm_sweep_fd(), inst.probes[0], repeat);
    case kV4Same:
      if (inst.set != "hosts") return 0;  // the hosts set is all IPv4
      for (size_t p = 0; p < inst.probes.size(); ++p) {
        inst.parts->SetLpmKey(inst.probe_keys[p]);
        total += TestRunNs(inst.parts->v4_lpm_alone_fd(), inst.probes[p], per);
      }
      return total / kProbes;
    case kV4Sweep:
      if (inst.set != "hosts") return 0;
      return TestRunNs(inst.parts->v4_lpm_sweep_fd(), inst.probes[0], repeat);
    case kHashSweep:
      if (inst.set != "hosts") return 0;  // mixed keys are mostly not in the host hash
      return TestRunNs(inst.parts->hash_sweep_fd(), inst.probes[0], repeat);
    case kSweepBase:
      return TestRunNs(inst.parts->sweep_base_fd(), inst.probes[0], repeat);
    default:
      return 0;
  }
}

int Main(int argc, char** argv) {
  const Options opt = ParseArgs(argc, argv);
  RequireKernelOrExit();
  std::vector<std::unique_ptr<Instance>> instances;
  for (const char* set : {"hosts", "mixed", "mixed-trie"}) {
    // mixed-trie: the same entries as mixed (same seeds), only the lookup differs.
    uint64_t seed = set == std::string("hosts") ? 42 : 45;
    for (size_t n : {size_t{10}, size_t{1000}, size_t{100000}}) instances.push_back(MakeInstance(set, n, seed++));
  }
  std::cout << "lookup_scaling_bench: " << MachineLine() << "; " << opt.rounds << " interleaved rounds of repeat="
            << opt.repeat << " (spread over " << kProbes << " probe sources)\n";
  for (const auto& inst : instances) {
    std::cout << "  " << inst->set << "/" << inst->entries << " shorter prefixes: " << inst->lookup << "\n";
  }

  const size_t cells = instances.size() * kMeasures;
  auto samples = Interleave(cells, opt.rounds, [&](size_t c) {
    return Run(*instances[c / kMeasures], static_cast<Measure>(c % kMeasures), opt.repeat);
  });
  auto at = [&](size_t inst, int m) -> const std::vector<double>& { return samples[inst * kMeasures + m]; };
  // Median over rounds of a per-round ratio, so drift between rounds cancels.
  auto ratio = [&](size_t num, size_t den, int m, bool minus_base) {
    std::vector<double> r;
    for (int k = 0; k < opt.rounds; ++k) {
      double a = at(num, m)[k], b = at(den, m)[k];
      if (minus_base) {
        a -= at(num, kSweepBase)[k];
        b -= at(den, kSweepBase)[k];
      }
      r.push_back(a / b);
    }
    return Median(r);
  };

  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < instances.size(); ++i) {
    const size_t first = i - i % 3;  // the 10-entry instance of this set
    const size_t k1 = first + 1;     // the 1k-entry instance
    for (int m : {kFull, kTrieOnly, kLpmSame, kLpmSweep, kV4Same, kV4Sweep, kHashSweep}) {
      if ((m == kHashSweep || m == kV4Same || m == kV4Sweep) && instances[i]->set != "hosts") continue;
      if (m != kFull && instances[i]->set == "mixed-trie") continue;
      const bool minus = m == kLpmSweep || m == kHashSweep || m == kV4Sweep;
      std::vector<double> ns;
      for (int k = 0; k < opt.rounds; ++k) ns.push_back(at(i, m)[k] - (minus ? at(i, kSweepBase)[k] : 0));
      std::string vs1k = i % 3 == 2 ? Fixed(ratio(i, k1, m, minus), 2) + "x" : "";
      std::string goal;
      if ((m == kFull || m == kTrieOnly) && i % 3 == 2) goal = ratio(i, k1, m, false) <= 1.3 ? "met (<= 1.3x)" : "NOT met (> 1.3x)";
      rows.push_back({instances[i]->set, std::to_string(instances[i]->entries), kMeasureNames[m],
                      Fixed(Median(ns), 1), Fixed(ratio(i, first, m, minus), 2) + "x", vs1k, goal});
    }
  }
  PrintTable({"set", "entries", "measure", "median ns/run", "ratio vs 10", "100k vs 1k", "goal"}, rows);
  std::cout << "(sweep rows: ns of bench_lpm_sweep minus bench_sweep_base in the same round)\n";
  // The same entries, length hashes over the trie, per round.
  for (size_t i = 0; i < instances.size(); ++i) {
    if (instances[i]->set != "mixed") continue;
    for (size_t j = 0; j < instances.size(); ++j) {
      if (instances[j]->set != "mixed-trie" || instances[j]->entries != instances[i]->entries) continue;
      std::cout << "full program, mixed / mixed-trie at " << instances[i]->entries
                << " entries: " << Fixed(ratio(i, j, kFull, false), 2) << "x\n";
    }
  }
  return 0;
}

}  // namespace
}  // namespace rampart::bench

int main(int argc, char** argv) { return rampart::bench::Main(argc, argv); }

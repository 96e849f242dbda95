// The benchmark-only XDP programs of bench_variants.bpf.c, loaded on a
// Datapath's pin directory so they share its maps (and so its policy).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/policy/compiler.h"
#include "rampart/abi.h"

struct bench_variants_bpf;

namespace rampart::bench {

class VariantPrograms {
 public:
  // Loads the variants on the maps pinned in `pin_dir` (default map sizes), or exits.
  explicit VariantPrograms(const std::string& pin_dir);
  ~VariantPrograms();
  VariantPrograms(const VariantPrograms&) = delete;
  VariantPrograms& operator=(const VariantPrograms&) = delete;

  int parse_fd() const;
  int parse_lpm_fd() const;
  int parse_lpm_rules_fd() const;
  int parse_lpm_rules_counters_fd() const;
  int parse_lpm_rules_counters_limits_fd() const;
  int lpm_alone_fd() const;     // bench_key in the trie of every prefix (LoadTrieOnly)
  int lpm_sweep_fd() const;      // the sweep's keys in that trie
  int sweep_base_fd() const;
  int hash_alone_fd() const;     // bench_key's address in the datapath's host map
  int hash_sweep_fd() const;     // the sweep's keys in the datapath's host map
  int v4_lpm_alone_fd() const;   // bench_key in an IPv4-only trie (8-byte keys)
  int v4_lpm_sweep_fd() const;   // the sweep's keys in the IPv4-only trie
  int xdp_trieonly_fd() const;   // the ingress program as it was before the host maps: one trie for every prefix
  int xdp_lensets_fd() const;    // the ingress program with per-length hash probes, no trie
  int tc_ingress_lazy_fd() const;  // rampart_tc_ingress pulling headers only when they are not linear

  // Fills the trie of every prefix (hosts included) with the ingress prefixes
  // of `policy`, with the values the PolicyWriter writes for generation `gen`.
  void LoadTrieOnly(const policy::CompiledPolicy& policy, uint32_t gen);
  // Fills the IPv4-only trie with the policy's IPv4 ingress prefixes.
  void LoadV4Trie(const policy::CompiledPolicy& policy, uint32_t gen);
  // Fills the length-set prototype. Returns false (and leaves it matching
  // nothing) when a family has more distinct lengths than the prototype probes.
  bool LoadLenSets(const policy::CompiledPolicy& policy, uint32_t gen);

  // The key bench_lpm_alone looks up.
  void SetLpmKey(const rp_lpm_key& key);
  // The keys bench_lpm_sweep cycles through; keys.size() is rounded down to a
  // power of two (at most 65536).
  void SetSweepKeys(const std::vector<rp_lpm_key>& keys);

 private:
  bench_variants_bpf* skel_;
};

// The LPM key the datapath looks up for a packet from `address` (IPv4 or IPv6
// text) in generation `gen`.
rp_lpm_key HostKey(const std::string& address, uint32_t gen);

}  // namespace rampart::bench

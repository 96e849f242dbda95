#include "kernel_tests/bench/bench_variants.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <cstring>
#include <iostream>

#include "bench_variants.skel.h"

namespace rampart::bench {

VariantPrograms::VariantPrograms(const std::string& pin_dir) {
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir.c_str());
  skel_ = bench_variants_bpf__open_opts(&opts);
  if (!skel_ || bench_variants_bpf__load(skel_) != 0) {
    std::cerr << "load bench_variants.bpf.o on pins " << pin_dir << ": " << strerror(errno) << "\n";
    std::exit(1);
  }
}

VariantPrograms::~VariantPrograms() { bench_variants_bpf__destroy(skel_); }

int VariantPrograms::parse_fd() const { return bpf_program__fd(skel_->progs.bench_parse); }
int VariantPrograms::parse_lpm_fd() const { return bpf_program__fd(skel_->progs.bench_parse_lpm); }
int VariantPrograms::parse_lpm_rules_fd() const { return bpf_program__fd(skel_->progs.bench_parse_lpm_rules); }
int VariantPrograms::parse_lpm_rules_counters_fd() const {
  return bpf_program__fd(skel_->progs.bench_parse_lpm_rules_counters);
}
int VariantPrograms::parse_lpm_rules_counters_limits_fd() const {
  return bpf_program__fd(skel_->progs.bench_parse_lpm_rules_counters_limits);
}
int VariantPrograms::lpm_alone_fd() const { return bpf_program__fd(skel_->progs.bench_lpm_alone); }
int VariantPrograms::lpm_sweep_fd() const { return bpf_program__fd(skel_->progs.bench_lpm_sweep); }
int VariantPrograms::sweep_base_fd() const { return bpf_program__fd(skel_->progs.bench_sweep_base); }

int VariantPrograms::hash_alone_fd() const { return bpf_program__fd(skel_->progs.bench_hash_alone); }
int VariantPrograms::xdp_trieonly_fd() const { return bpf_program__fd(skel_->progs.bench_xdp_trieonly); }

void VariantPrograms::LoadTrieOnly(const policy::CompiledPolicy& policy, uint32_t gen) {
  const int trie = bpf_map__fd(skel_->maps.bench_all_lpm);
  for (const auto& [prefix, ruleset] : policy.ingress.prefixes) {
    rp_lpm_value value{.ruleset = gen * RP_MAX_RULESETS + ruleset};  // ingress rulesets come first
    rp_lpm_key key{.prefixlen = 32u + prefix.mapped_len, .gen = gen, .addr = {}};
    std::memcpy(key.addr, prefix.addr.data(), 16);
    if (bpf_map_update_elem(trie, &key, &value, BPF_ANY) != 0) {
      std::cerr << "fill the trie of every prefix: " << strerror(errno) << "\n";
      std::exit(1);
    }
  }
}

int VariantPrograms::hash_sweep_fd() const { return bpf_program__fd(skel_->progs.bench_hash_sweep); }
int VariantPrograms::v4_lpm_alone_fd() const { return bpf_program__fd(skel_->progs.bench_v4_lpm_alone); }
int VariantPrograms::v4_lpm_sweep_fd() const { return bpf_program__fd(skel_->progs.bench_v4_lpm_sweep); }

void VariantPrograms::LoadV4Trie(const policy::CompiledPolicy& policy, uint32_t gen) {
  const int fd = bpf_map__fd(skel_->maps.bench_v4_lpm);
  for (const auto& [prefix, ruleset] : policy.ingress.prefixes) {
    if (!prefix.ipv4) continue;
    struct {
      uint32_t prefixlen;
      uint32_t gen;
      uint8_t addr[4];
    } key{32u + prefix.FamilyLength(), gen, {}};
    static_assert(sizeof key == 12);
    std::memcpy(key.addr, prefix.addr.data() + 12, 4);
    rp_lpm_value value{.ruleset = gen * RP_MAX_RULESETS + ruleset};
    if (bpf_map_update_elem(fd, &key, &value, BPF_ANY) != 0) {
      std::cerr << "fill the IPv4-only trie: " << strerror(errno) << "\n";
      std::exit(1);
    }
  }
}

int VariantPrograms::tc_ingress_lazy_fd() const { return bpf_program__fd(skel_->progs.bench_tc_ingress_lazy); }
int VariantPrograms::xdp_lensets_fd() const { return bpf_program__fd(skel_->progs.bench_xdp_lensets); }

bool VariantPrograms::LoadLenSets(const policy::CompiledPolicy& policy, uint32_t gen) {
  constexpr size_t kMaxLens = sizeof(skel_->bss->bench_lens[0]) / sizeof(skel_->bss->bench_lens[0][0]);
  std::set<uint32_t, std::greater<>> lens[2];  // 0: IPv6, 1: IPv4
  for (const auto& [prefix, ruleset] : policy.ingress.prefixes) lens[prefix.ipv4 ? 1 : 0].insert(prefix.mapped_len);
  if (lens[0].size() > kMaxLens || lens[1].size() > kMaxLens) return false;
  const int fd = bpf_map__fd(skel_->maps.bench_len_hash);
  for (const auto& [prefix, ruleset] : policy.ingress.prefixes) {
    struct {
      uint32_t gen;
      uint32_t len;
      uint8_t addr[16];
    } key{gen, prefix.mapped_len, {}};
    static_assert(sizeof key == 24);
    std::memcpy(key.addr, prefix.addr.data(), 16);
    rp_lpm_value value{.ruleset = gen * RP_MAX_RULESETS + ruleset};
    if (bpf_map_update_elem(fd, &key, &value, BPF_ANY) != 0) {
      std::cerr << "fill the length-set prototype: " << strerror(errno) << "\n";
      std::exit(1);
    }
  }
  for (uint32_t len = 0; len <= 128; ++len) {
    uint8_t mask[16] = {};
    for (uint32_t bit = 0; bit < len; ++bit) mask[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
    std::memcpy(skel_->bss->bench_masks[len], mask, 16);  // loaded as the program loads the address
  }
  for (int fam = 0; fam < 2; ++fam) {
    size_t i = 0;
    for (uint32_t len : lens[fam]) skel_->bss->bench_lens[fam][i++] = len;
    skel_->bss->bench_len_count[fam] = static_cast<uint32_t>(lens[fam].size());
  }
  return true;
}

void VariantPrograms::SetLpmKey(const rp_lpm_key& key) { std::memcpy(&skel_->bss->bench_key, &key, sizeof key); }

void VariantPrograms::SetSweepKeys(const std::vector<rp_lpm_key>& keys) {
  uint32_t n = 1;
  while (n * 2 <= keys.size() && n * 2 <= 65536) n *= 2;
  const int fd = bpf_map__fd(skel_->maps.bench_keys);
  for (uint32_t i = 0; i < n; ++i) {
    if (bpf_map_update_elem(fd, &i, &keys[i], BPF_ANY) != 0) {
      std::cerr << "write bench_keys: " << strerror(errno) << "\n";
      std::exit(1);
    }
  }
  skel_->data->bench_sweep_len = n;
  skel_->bss->bench_cursor = 0;
}

rp_lpm_key HostKey(const std::string& address, uint32_t gen) {
  rp_lpm_key key{};
  key.prefixlen = 32 + 128;
  key.gen = gen;
  in_addr v4;
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    key.addr[10] = 0xff;
    key.addr[11] = 0xff;
    std::memcpy(key.addr + 12, &v4, 4);
  } else if (inet_pton(AF_INET6, address.c_str(), key.addr) != 1) {
    std::cerr << "bad address " << address << "\n";
    std::exit(1);
  }
  return key;
}

}  // namespace rampart::bench

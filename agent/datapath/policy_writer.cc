#include "agent/datapath/policy_writer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <unistd.h>

#include <vector>

#include "agent/common/errors.h"
#include "agent/common/strings.h"

namespace rampart::datapath {
namespace {

template <typename Key>
absl::Status DeleteKeys(int fd, const char* map, const std::function<bool(const Key&)>& stale) {
  std::vector<Key> doomed;
  Key key{}, next{};
  void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    if (stale(next)) doomed.push_back(next);
    key = next;
    prev = &key;
  }
  if (errno != ENOENT) return ErrnoError(errno, rampart::StrCat("iterate map ", map));
  for (const Key& k : doomed) {
    if (bpf_map_delete_elem(fd, &k) != 0 && errno != ENOENT) {
      return ErrnoError(errno, rampart::StrCat("delete from map ", map));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PolicyWriter>> PolicyWriter::Create(const PolicyMapFds& fds) {
  int inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "rampart_grace_i", 4, 4, 1, nullptr);
  if (inner < 0) return ErrnoError(errno, "create grace-period inner map");
  LIBBPF_OPTS(bpf_map_create_opts, opts, .inner_map_fd = static_cast<__u32>(inner));
  int outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "rampart_grace", 4, 4, 1, &opts);
  if (outer < 0) {
    int err = errno;
    close(inner);
    return ErrnoError(err, "create grace-period map");
  }
  return std::unique_ptr<PolicyWriter>(new PolicyWriter(fds, outer, inner));
}

PolicyWriter::~PolicyWriter() {
  close(grace_outer_fd_);
  close(grace_inner_fd_);
}

absl::StatusOr<rp_state> PolicyWriter::State() const {
  uint32_t zero = 0;
  rp_state state{};
  if (bpf_map_lookup_elem(fds_.state, &zero, &state) != 0) return ErrnoError(errno, "read map rampart_state");
  return state;
}

absl::Status PolicyWriter::UpdateState(const std::function<void(rp_state&)>& change) {
  std::lock_guard lock(mu_);
  auto state = State();
  if (!state.ok()) return state.status();
  change(*state);
  uint32_t zero = 0;
  if (bpf_map_update_elem(fds_.state, &zero, &*state, BPF_ANY) != 0) return ErrnoError(errno, "write map rampart_state");
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> PolicyWriter::ActiveGeneration() const {
  auto state = State();
  if (!state.ok()) return state.status();
  return state->active_gen & 1;
}

absl::StatusOr<uint64_t> PolicyWriter::ActiveVersion() const {
  auto gen = ActiveGeneration();
  if (!gen.ok()) return gen.status();
  rp_gen_config config{};
  if (bpf_map_lookup_elem(fds_.gen_config, &*gen, &config) != 0) return ErrnoError(errno, "read map rampart_gencfg");
  return config.version;
}

absl::Status PolicyWriter::WaitForRunningPrograms() const {
  uint32_t zero = 0;
  if (bpf_map_update_elem(grace_outer_fd_, &zero, &grace_inner_fd_, BPF_ANY) != 0) {
    return ErrnoError(errno, "wait for running BPF programs (update rampart_grace)");
  }
  return absl::OkStatus();
}

absl::Status PolicyWriter::ClearGeneration(uint32_t gen) const {
  auto of_gen = [gen](const auto& key) { return key.gen == gen; };
  RAMPART_RETURN_IF_ERROR(DeleteKeys<rp_host_key>(fds_.ingress_hosts, "rampart_ing_hosts", of_gen));
  RAMPART_RETURN_IF_ERROR(DeleteKeys<rp_host_key>(fds_.egress_hosts, "rampart_egr_hosts", of_gen));
  RAMPART_RETURN_IF_ERROR(DeleteKeys<rp_prefix_key>(fds_.ingress_prefixes, "rampart_ing_prefixes", of_gen));
  RAMPART_RETURN_IF_ERROR(DeleteKeys<rp_prefix_key>(fds_.egress_prefixes, "rampart_egr_prefixes", of_gen));
  RAMPART_RETURN_IF_ERROR(DeleteKeys<rp_lpm_key>(fds_.ingress_lpm, "rampart_ing_lpm", of_gen));
  RAMPART_RETURN_IF_ERROR(DeleteKeys<rp_lpm_key>(fds_.egress_lpm, "rampart_egr_lpm", of_gen));
  return DeleteKeys<rp_confined_key>(fds_.confined, "rampart_confine", of_gen);
}

absl::Status PolicyWriter::Publish(const policy::CompiledPolicy& policy) {
  for (const policy::CompiledDirection* dir : {&policy.ingress, &policy.egress}) {
    for (const policy::PrefixLookup& lookup : dir->lookup) {
      if (lookup.mode == RP_LOOKUP_LENSETS && lookup.lengths.size() > RP_LENSET_MAX_LENGTHS) {
        return absl::InvalidArgumentError(rampart::StrCat("compiled policy lists ", lookup.lengths.size(),
                                                          " prefix lengths to probe; the datapath probes at most ",
                                                          RP_LENSET_MAX_LENGTHS));
      }
    }
  }
  std::lock_guard lock(mu_);
  auto state = State();
  if (!state.ok()) return state.status();
  const uint32_t gen = (state->active_gen & 1) ^ 1;

  // The inactive generation was active before the last flip; a program that
  // read the generation before that flip may still be using it.
  RAMPART_RETURN_IF_ERROR(WaitForRunningPrograms());
  RAMPART_RETURN_IF_ERROR(ClearGeneration(gen));

  // Egress rulesets follow the ingress ones, egress rule ids the ingress ones.
  const uint32_t ruleset_base[RP_DIRECTIONS] = {0, static_cast<uint32_t>(policy.ingress.rulesets.size())};
  const uint32_t rule_base[RP_DIRECTIONS] = {0, static_cast<uint32_t>(policy.ingress.rules.size())};
  const policy::CompiledDirection* dirs[RP_DIRECTIONS] = {&policy.ingress, &policy.egress};
  const int lpm_fds[RP_DIRECTIONS] = {fds_.ingress_lpm, fds_.egress_lpm};
  const int host_fds[RP_DIRECTIONS] = {fds_.ingress_hosts, fds_.egress_hosts};
  const int prefix_fds[RP_DIRECTIONS] = {fds_.ingress_prefixes, fds_.egress_prefixes};
  const char* lpm_names[RP_DIRECTIONS] = {"rampart_ing_lpm", "rampart_egr_lpm"};
  const char* host_names[RP_DIRECTIONS] = {"rampart_ing_hosts", "rampart_egr_hosts"};
  const char* prefix_names[RP_DIRECTIONS] = {"rampart_ing_prefixes", "rampart_egr_prefixes"};
  for (int dir = 0; dir < RP_DIRECTIONS; ++dir) {
    const policy::CompiledDirection& compiled = *dirs[dir];
    for (uint32_t i = 0; i < compiled.rulesets.size(); ++i) {
      rp_ruleset set = compiled.rulesets[i];
      for (uint32_t r = 0; r < set.count; ++r) set.rules[r].rule_id += gen * RP_MAX_RULES + rule_base[dir];
      uint32_t index = gen * RP_MAX_RULESETS + ruleset_base[dir] + i;
      if (bpf_map_update_elem(fds_.rulesets, &index, &set, BPF_ANY) != 0) {
        return ErrnoError(errno, rampart::StrCat("write ruleset ", index, " to map rampart_rsets"));
      }
    }
    for (const auto& [prefix, ruleset] : compiled.prefixes) {
      rp_lpm_value value{.ruleset = gen * RP_MAX_RULESETS + ruleset_base[dir] + ruleset};
      // Hosts go to the exact-match map the programs consult first; shorter
      // prefixes to the per-length hash or the trie, as the compiler chose
      // for their family (bpf/include/rampart/datapath_maps.h). Parse masked
      // the host bits, as the per-length probes need.
      int written;
      const char* map;
      if (prefix.mapped_len == 128) {
        rp_host_key key{.gen = gen, .addr = {}};
        std::copy(prefix.addr.begin(), prefix.addr.end(), key.addr);
        written = bpf_map_update_elem(host_fds[dir], &key, &value, BPF_ANY);
        map = host_names[dir];
      } else if (compiled.LookupOf(prefix).mode == RP_LOOKUP_LENSETS) {
        rp_prefix_key key{.gen = gen, .len = prefix.mapped_len, .addr = {}};
        std::copy(prefix.addr.begin(), prefix.addr.end(), key.addr);
        written = bpf_map_update_elem(prefix_fds[dir], &key, &value, BPF_ANY);
        map = prefix_names[dir];
      } else {
        rp_lpm_key key{.prefixlen = 32u + prefix.mapped_len, .gen = gen, .addr = {}};
        std::copy(prefix.addr.begin(), prefix.addr.end(), key.addr);
        written = bpf_map_update_elem(lpm_fds[dir], &key, &value, BPF_ANY);
        map = lpm_names[dir];
      }
      if (written != 0) {
        return ErrnoError(errno, rampart::StrCat("write prefix ", prefix.ToString(), " to map ", map));
      }
    }
    for (uint32_t family = 0; family < RP_FAMILIES; ++family) {
      const policy::PrefixLookup& lookup = compiled.lookup[family];
      rp_lenset set{};
      set.mode = static_cast<uint8_t>(lookup.mode);
      if (lookup.mode == RP_LOOKUP_LENSETS) {
        set.count = static_cast<uint8_t>(lookup.lengths.size());
        std::copy(lookup.lengths.begin(), lookup.lengths.end(), set.lens);
      }
      uint32_t index = RP_LENSET_INDEX(gen, static_cast<uint32_t>(dir), family);
      if (bpf_map_update_elem(fds_.lensets, &index, &set, BPF_ANY) != 0) {
        return ErrnoError(errno, rampart::StrCat("write lookup of family ", family, " to map rampart_lensets"));
      }
    }
  }
  for (uint64_t cgroup : policy.confined_cgroups) {
    rp_confined_key key{.gen = gen, .pad = 0, .cgroup_id = cgroup};
    uint32_t one = 1;
    if (bpf_map_update_elem(fds_.confined, &key, &one, BPF_ANY) != 0) {
      return ErrnoError(errno, rampart::StrCat("write cgroup ", cgroup, " to map rampart_confine"));
    }
  }
  const int cpus = libbpf_num_possible_cpus();
  if (cpus < 0) return ErrnoError(cpus, "count possible CPUs");
  std::vector<uint64_t> zeros(cpus, 0);
  const size_t rules = policy.ingress.rules.size() + policy.egress.rules.size();
  for (uint32_t r = 0; r < rules; ++r) {
    uint32_t index = gen * RP_MAX_RULES + r;
    if (bpf_map_update_elem(fds_.rule_counters, &index, zeros.data(), BPF_ANY) != 0) {
      return ErrnoError(errno, "reset counters in map rampart_rulecnt");
    }
  }
  rp_gen_config config{};
  config.version = policy.version;
  config.ingress_default = static_cast<uint8_t>(policy.ingress.default_action);
  config.egress_default = static_cast<uint8_t>(policy.egress.default_action);
  config.rate_limit_count = static_cast<uint32_t>(policy.rate_limits.size());
  for (size_t i = 0; i < policy.rate_limits.size() && i < RP_MAX_RATE_LIMITS; ++i) {
    config.rate_limits[i] = policy.rate_limits[i].limit;
    // Buckets are keyed by limit id: deriving it from the version gives every
    // policy version fresh buckets (the generation alone repeats every other
    // version); a re-apply of the same version keeps its buckets.
    config.rate_limits[i].limit_id += static_cast<uint32_t>(policy.version) * RP_MAX_RATE_LIMITS;
  }
  if (bpf_map_update_elem(fds_.gen_config, &gen, &config, BPF_ANY) != 0) {
    return ErrnoError(errno, "write map rampart_gencfg");
  }

  state->active_gen = gen;
  uint32_t zero = 0;
  if (bpf_map_update_elem(fds_.state, &zero, &*state, BPF_ANY) != 0) {
    return ErrnoError(errno, "flip generation in map rampart_state");
  }
  return absl::OkStatus();
}

}  // namespace rampart::datapath

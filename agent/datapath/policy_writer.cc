#include "agent/datapath/policy_writer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <unistd.h>

#include <vector>

#include "agent/common/strings.h"
#include "agent/common/errors.h"

namespace rampart::datapath {

absl::StatusOr<PolicyWriter> PolicyWriter::Create(const PolicyMapFds& fds) {
  int inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "rampart_grace_i", 4, 4, 1, nullptr);
  if (inner < 0) return ErrnoError(errno, "create grace-period inner map");
  LIBBPF_OPTS(bpf_map_create_opts, opts, .inner_map_fd = static_cast<__u32>(inner));
  int outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "rampart_grace", 4, 4, 1, &opts);
  if (outer < 0) {
    int err = errno;
    close(inner);
    return ErrnoError(err, "create grace-period map");
  }
  return PolicyWriter(fds, outer, inner);
}

PolicyWriter::PolicyWriter(PolicyWriter&& other) noexcept { *this = std::move(other); }

PolicyWriter& PolicyWriter::operator=(PolicyWriter&& other) noexcept {
  if (this != &other) {
    if (grace_outer_fd_ >= 0) close(grace_outer_fd_);
    if (grace_inner_fd_ >= 0) close(grace_inner_fd_);
    fds_ = other.fds_;
    grace_outer_fd_ = std::exchange(other.grace_outer_fd_, -1);
    grace_inner_fd_ = std::exchange(other.grace_inner_fd_, -1);
  }
  return *this;
}

PolicyWriter::~PolicyWriter() {
  if (grace_outer_fd_ >= 0) close(grace_outer_fd_);
  if (grace_inner_fd_ >= 0) close(grace_inner_fd_);
}

absl::StatusOr<uint32_t> PolicyWriter::ActiveGeneration() const {
  uint32_t zero = 0;
  rp_state state{};
  if (bpf_map_lookup_elem(fds_.state, &zero, &state) != 0) return ErrnoError(errno, "read map rampart_state");
  return state.active_gen & 1;
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
  std::vector<rp_lpm_key> stale;
  rp_lpm_key key{}, next{};
  void* prev = nullptr;
  while (bpf_map_get_next_key(fds_.lpm, prev, &next) == 0) {
    if (next.gen == gen) stale.push_back(next);
    key = next;
    prev = &key;
  }
  if (errno != ENOENT) return ErrnoError(errno, "iterate map rampart_ing_lpm");
  for (const rp_lpm_key& k : stale) {
    if (bpf_map_delete_elem(fds_.lpm, &k) != 0 && errno != ENOENT) {
      return ErrnoError(errno, "delete from map rampart_ing_lpm");
    }
  }
  return absl::OkStatus();
}

absl::Status PolicyWriter::Publish(const policy::CompiledPolicy& policy) {
  auto active = ActiveGeneration();
  if (!active.ok()) return active.status();
  const uint32_t gen = *active ^ 1;

  // The inactive generation was active before the last flip; a program that
  // read the generation before that flip may still be using it.
  RAMPART_RETURN_IF_ERROR(WaitForRunningPrograms());
  RAMPART_RETURN_IF_ERROR(ClearGeneration(gen));

  const auto& ingress = policy.ingress;
  for (uint32_t i = 0; i < ingress.rulesets.size(); ++i) {
    rp_ruleset set = ingress.rulesets[i];
    for (uint32_t r = 0; r < set.count; ++r) set.rules[r].rule_id += gen * RP_MAX_RULES;
    uint32_t index = gen * RP_MAX_RULESETS + i;
    if (bpf_map_update_elem(fds_.rulesets, &index, &set, BPF_ANY) != 0) {
      return ErrnoError(errno, rampart::StrCat("write ruleset ", i, " to map rampart_rsets"));
    }
  }
  for (const auto& [prefix, ruleset] : ingress.prefixes) {
    rp_lpm_key key{.prefixlen = 32u + prefix.mapped_len, .gen = gen, .addr = {}};
    std::copy(prefix.addr.begin(), prefix.addr.end(), key.addr);
    rp_lpm_value value{.ruleset = gen * RP_MAX_RULESETS + ruleset};
    if (bpf_map_update_elem(fds_.lpm, &key, &value, BPF_ANY) != 0) {
      return ErrnoError(errno, rampart::StrCat("write prefix ", prefix.ToString(), " to map rampart_ing_lpm"));
    }
  }
  const int cpus = libbpf_num_possible_cpus();
  if (cpus < 0) return ErrnoError(cpus, "count possible CPUs");
  std::vector<uint64_t> zeros(cpus, 0);
  for (uint32_t r = 0; r < ingress.rules.size(); ++r) {
    uint32_t index = gen * RP_MAX_RULES + r;
    if (bpf_map_update_elem(fds_.rule_counters, &index, zeros.data(), BPF_ANY) != 0) {
      return ErrnoError(errno, "reset counters in map rampart_rulecnt");
    }
  }
  rp_gen_config config{.version = policy.version, .ingress_default = static_cast<uint8_t>(ingress.default_action),
                       .pad = {}};
  if (bpf_map_update_elem(fds_.gen_config, &gen, &config, BPF_ANY) != 0) {
    return ErrnoError(errno, "write map rampart_gencfg");
  }

  uint32_t zero = 0;
  rp_state state{.active_gen = gen, .pad = 0};
  if (bpf_map_update_elem(fds_.state, &zero, &state, BPF_ANY) != 0) {
    return ErrnoError(errno, "flip generation in map rampart_state");
  }
  return absl::OkStatus();
}

}  // namespace rampart::datapath

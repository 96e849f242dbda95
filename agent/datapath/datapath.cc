#include "agent/datapath/datapath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>

#include <set>

#include "agent/common/strings.h"
#include "agent/common/errors.h"
#include "agent/common/logging.h"
#include "agent/datapath/bpffs.h"

namespace rampart::datapath {
namespace {

bool IsDrop(uint32_t reason) { return reason == RP_REASON_DROP_DEFAULT || reason == RP_REASON_DROP_MALFORMED; }
bool IsAllow(uint32_t reason) { return reason == RP_REASON_ALLOW_RULE || reason == RP_REASON_ALLOW_DEFAULT; }

absl::StatusOr<uint64_t> SumPerCpu(int fd, uint32_t key, std::vector<uint64_t>& scratch, std::string_view map) {
  if (bpf_map_lookup_elem(fd, &key, scratch.data()) != 0) {
    return ErrnoError(errno, rampart::StrCat("read map ", map, " key ", key));
  }
  uint64_t sum = 0;
  for (uint64_t v : scratch) sum += v;
  return sum;
}

}  // namespace

std::string ReasonName(uint32_t reason) {
  switch (reason) {
    case RP_REASON_ALLOW_RULE: return "allow_rule";
    case RP_REASON_ALLOW_DEFAULT: return "allow_default";
    case RP_REASON_DROP_DEFAULT: return "drop_default";
    case RP_REASON_PASS_NOT_IP: return "pass_not_ip";
    case RP_REASON_DROP_MALFORMED: return "drop_malformed";
    case RP_REASON_PASS_ICMPV6_ND: return "pass_icmpv6_nd";
  }
  return rampart::StrCat("reason_", reason);
}

absl::StatusOr<std::unique_ptr<Datapath>> Datapath::Open(const DatapathOptions& options) {
  RAMPART_RETURN_IF_ERROR(PreparePinDir(options.pin_dir));
  auto program = IngressProgram::Load(options.pin_dir);
  if (!program.ok()) return program.status();
  auto writer = PolicyWriter::Create(PolicyMapFds{
      .lpm = (*program)->lpm_fd(),
      .rulesets = (*program)->rulesets_fd(),
      .gen_config = (*program)->gen_config_fd(),
      .state = (*program)->state_fd(),
      .rule_counters = (*program)->rule_counters_fd(),
  });
  if (!writer.ok()) return writer.status();
  return std::unique_ptr<Datapath>(new Datapath(options, std::move(*program), std::move(*writer)));
}

absl::Status Datapath::Apply(const policy::CompiledPolicy& policy) {
  auto log = Logger("datapath");
  std::set<std::string> previous;
  for (const XdpAttachment& a : Attachments()) previous.insert(a.ifname);

  // Attach (or re-adopt) first so a failure can be undone before the policy changes.
  std::vector<std::string> added;
  for (const std::string& ifname : policy.interfaces) {
    auto attached = AttachXdp(options_.pin_dir, ifname, program_->xdp_prog_fd(), options_.hook);
    if (!attached.ok()) {
      for (const std::string& undo : added) (void)DetachXdp(options_.pin_dir, undo);
      return attached.status();
    }
    if (!previous.contains(ifname)) added.push_back(ifname);
    log->info("ingress program on {} ({}, prog id {}, link id {})", ifname, HookName(attached->hook),
              attached->program_id, attached->link_id);
  }

  if (absl::Status published = writer_.Publish(policy); !published.ok()) {
    for (const std::string& undo : added) (void)DetachXdp(options_.pin_dir, undo);
    return published;
  }
  active_rules_ = policy.ingress.rules;

  std::set<std::string> wanted(policy.interfaces.begin(), policy.interfaces.end());
  for (const std::string& ifname : previous) {
    if (wanted.contains(ifname)) continue;
    if (absl::Status st = DetachXdp(options_.pin_dir, ifname); !st.ok()) {
      log->warn("{}", MessageOf(st));
    } else {
      log->info("ingress program detached from {}", ifname);
    }
  }
  log->info("policy version {} in force: {} prefixes, {} rulesets, {} rules, default {}", policy.version,
            policy.ingress.prefixes.size(), policy.ingress.rulesets.size(), policy.ingress.rules.size(),
            policy.ingress.default_action == RP_ACTION_DENY ? "deny" : "allow");
  return absl::OkStatus();
}

absl::StatusOr<v1::Counters> Datapath::ReadCounters() const {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus < 0) return ErrnoError(cpus, "count possible CPUs");
  std::vector<uint64_t> scratch(cpus);
  v1::Counters counters;
  for (uint32_t reason = 0; reason <= RP_REASON_PASS_ICMPV6_ND; ++reason) {
    auto packets = SumPerCpu(program_->reasons_fd(), reason, scratch, "rampart_reasons");
    if (!packets.ok()) return packets.status();
    auto* entry = counters.add_by_reason();
    entry->set_reason(ReasonName(reason));
    entry->set_packets(*packets);
    if (IsAllow(reason)) counters.set_allowed_packets(counters.allowed_packets() + *packets);
    if (IsDrop(reason)) counters.set_dropped_packets(counters.dropped_packets() + *packets);
  }
  auto gen = writer_.ActiveGeneration();
  if (!gen.ok()) return gen.status();
  for (uint32_t r = 0; r < active_rules_.size(); ++r) {
    auto packets = SumPerCpu(program_->rule_counters_fd(), *gen * RP_MAX_RULES + r, scratch, "rampart_rulecnt");
    if (!packets.ok()) return packets.status();
    auto* entry = counters.add_by_rule();
    entry->set_policy(active_rules_[r].policy);
    entry->set_rule(active_rules_[r].rule);
    entry->set_packets(*packets);
  }
  return counters;
}

std::vector<XdpAttachment> Datapath::Attachments() const { return ListXdpAttachments(options_.pin_dir); }

}  // namespace rampart::datapath

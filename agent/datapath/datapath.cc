#include "agent/datapath/datapath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>

#include <set>

#include "agent/common/errors.h"
#include "agent/common/logging.h"
#include "agent/common/strings.h"
#include "agent/datapath/bpffs.h"

namespace rampart::datapath {
namespace {

bool IsAllow(uint32_t reason) { return reason == RP_REASON_ALLOW_RULE || reason == RP_REASON_ALLOW_DEFAULT; }

absl::StatusOr<uint64_t> SumPerCpu(int fd, uint32_t key, std::vector<uint64_t>& scratch, std::string_view map) {
  if (bpf_map_lookup_elem(fd, &key, scratch.data()) != 0) {
    return ErrnoError(errno, rampart::StrCat("read map ", map, " key ", key));
  }
  uint64_t sum = 0;
  for (uint64_t v : scratch) sum += v;
  return sum;
}

const char* DirectionName(uint32_t dir) { return dir == RP_DIR_INGRESS ? "ingress" : "egress"; }

}  // namespace

std::string ReasonName(uint32_t reason) {
  switch (reason) {
    case RP_REASON_ALLOW_RULE: return "allow_rule";
    case RP_REASON_ALLOW_DEFAULT: return "allow_default";
    case RP_REASON_DROP_DEFAULT: return "drop_default";
    case RP_REASON_PASS_NOT_IP: return "pass_not_ip";
    case RP_REASON_DROP_MALFORMED: return "drop_malformed";
    case RP_REASON_PASS_ICMPV6_ND: return "pass_icmpv6_nd";
    case RP_REASON_DROP_BLOCKED: return "drop_blocked";
    case RP_REASON_DROP_RATE_LIMIT: return "drop_rate_limit";
    case RP_REASON_DROP_CONFINED: return "drop_confined";
  }
  return rampart::StrCat("reason_", reason);
}

bool IsDropReason(uint32_t reason) {
  return reason == RP_REASON_DROP_DEFAULT || reason == RP_REASON_DROP_MALFORMED ||
         reason == RP_REASON_DROP_BLOCKED || reason == RP_REASON_DROP_RATE_LIMIT ||
         reason == RP_REASON_DROP_CONFINED;
}

std::string ErrorName(uint32_t error) {
  switch (error) {
    case RP_ERR_RINGBUF_FULL: return "ringbuf_full";
    case RP_ERR_BUCKET_UPDATE: return "bucket_update";
    case RP_ERR_BUCKET_CONTENDED: return "bucket_contended";
  }
  return rampart::StrCat("error_", error);
}

absl::StatusOr<std::unique_ptr<Datapath>> Datapath::Open(const DatapathOptions& options) {
  RAMPART_RETURN_IF_ERROR(PreparePinDir(options.pin_dir));
  auto object = DatapathObject::Load(options.pin_dir, options.sizes);
  if (!object.ok()) return object.status();
  auto writer = PolicyWriter::Create(PolicyMapFds{
      .ingress_hosts = (*object)->ingress_hosts_fd(),
      .egress_hosts = (*object)->egress_hosts_fd(),
      .ingress_prefixes = (*object)->ingress_prefixes_fd(),
      .egress_prefixes = (*object)->egress_prefixes_fd(),
      .lensets = (*object)->lensets_fd(),
      .ingress_lpm = (*object)->ingress_lpm_fd(),
      .egress_lpm = (*object)->egress_lpm_fd(),
      .rulesets = (*object)->rulesets_fd(),
      .gen_config = (*object)->gen_config_fd(),
      .state = (*object)->state_fd(),
      .confined = (*object)->confined_fd(),
      .rule_counters = (*object)->rule_counters_fd(),
  });
  if (!writer.ok()) return writer.status();
  std::unique_ptr<Datapath> datapath(new Datapath(options, std::move(*object), std::move(*writer)));
  RAMPART_RETURN_IF_ERROR(datapath->SetDropSampleRate(options.drop_sample_rate));
  return datapath;
}

absl::Status Datapath::SetDropSampleRate(uint32_t rate) {
  return writer_->UpdateState([rate](rp_state& state) { state.drop_sample_rate = rate; });
}

absl::Status Datapath::Apply(const policy::CompiledPolicy& policy) {
  std::lock_guard lock(mu_);
  auto log = Logger("datapath");
  std::set<std::string> previous;
  for (const Attachment& a : ListAttachments(options_.pin_dir)) previous.insert(a.ifname);

  // Attach (or re-adopt) first so a failure can be undone before the policy changes.
  std::vector<std::string> added;
  auto undo = [&] {
    for (const std::string& ifname : added) (void)DetachAll(options_.pin_dir, ifname);
  };
  const IngressPrograms ingress{.xdp_fd = object_->xdp_ingress_fd(), .tc_fd = object_->tc_ingress_fd()};
  for (const std::string& ifname : policy.interfaces) {
    if (!previous.contains(ifname)) added.push_back(ifname);
    auto in = AttachIngress(options_.pin_dir, ifname, ingress, options_.hook);
    if (!in.ok()) {
      undo();
      return in.status();
    }
    auto out = AttachEgress(options_.pin_dir, ifname, object_->tc_egress_fd());
    if (!out.ok()) {
      undo();
      return out.status();
    }
    log->info("{}: ingress at {} (prog id {}), egress at tc (prog id {})", ifname, in->hook, in->program_id,
              out->program_id);
  }

  if (absl::Status published = writer_->Publish(policy); !published.ok()) {
    undo();
    return published;
  }
  ingress_rules_ = policy.ingress.rules;
  egress_rules_ = policy.egress.rules;
  rate_limit_names_ = policy.rate_limit_names;
  active_version_ = policy.version;

  std::set<std::string> wanted(policy.interfaces.begin(), policy.interfaces.end());
  for (const std::string& ifname : previous) {
    if (wanted.contains(ifname)) continue;
    if (absl::Status st = DetachAll(options_.pin_dir, ifname); !st.ok()) {
      log->warn("{}", MessageOf(st));
    } else {
      log->info("{}: programs detached", ifname);
    }
  }
  log->info("policy version {} in force: ingress {} prefixes, default {}; egress {} prefixes, default {}, {} confined "
            "cgroups; {} rulesets; {} rate limits",
            policy.version, policy.ingress.prefixes.size(),
            policy.ingress.default_action == RP_ACTION_DENY ? "deny" : "allow", policy.egress.prefixes.size(),
            policy.egress.default_action == RP_ACTION_DENY ? "deny" : "allow", policy.confined_cgroups.size(),
            policy.ingress.rulesets.size() + policy.egress.rulesets.size(), policy.rate_limits.size());
  log->info("policy version {} shorter-prefix lookup: ingress {}; egress {}", policy.version,
            policy::DescribePrefixLookup(policy.ingress), policy::DescribePrefixLookup(policy.egress));
  for (const std::string& warning : policy.warnings) log->warn("{}", warning);
  return absl::OkStatus();
}

absl::StatusOr<v1::Counters> Datapath::ReadCounters() const {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus < 0) return ErrnoError(cpus, "count possible CPUs");
  std::vector<uint64_t> scratch(cpus);
  v1::Counters counters;
  for (uint32_t dir = 0; dir < RP_DIRECTIONS; ++dir) {
    for (uint32_t reason = 0; reason <= RP_REASON_DROP_CONFINED; ++reason) {
      auto packets = SumPerCpu(object_->reasons_fd(), dir * RP_REASON_MAX + reason, scratch, "rampart_reasons");
      if (!packets.ok()) return packets.status();
      auto* entry = counters.add_by_reason();
      entry->set_reason(ReasonName(reason));
      entry->set_direction(DirectionName(dir));
      entry->set_packets(*packets);
      if (IsAllow(reason)) counters.set_allowed_packets(counters.allowed_packets() + *packets);
      if (IsDropReason(reason)) counters.set_dropped_packets(counters.dropped_packets() + *packets);
    }
  }
  for (uint32_t error = 0; error <= RP_ERR_BUCKET_CONTENDED; ++error) {
    auto count = SumPerCpu(object_->errors_fd(), error, scratch, "rampart_errors");
    if (!count.ok()) return count.status();
    auto* entry = counters.add_errors();
    entry->set_error(ErrorName(error));
    entry->set_count(*count);
  }
  auto gen = writer_->ActiveGeneration();
  if (!gen.ok()) return gen.status();
  std::lock_guard lock(mu_);
  uint32_t id = 0;
  for (const auto* rules : {&ingress_rules_, &egress_rules_}) {
    for (const policy::RuleName& rule : *rules) {
      auto packets = SumPerCpu(object_->rule_counters_fd(), *gen * RP_MAX_RULES + id++, scratch, "rampart_rulecnt");
      if (!packets.ok()) return packets.status();
      auto* entry = counters.add_by_rule();
      entry->set_policy(rule.policy);
      entry->set_rule(rule.rule);
      entry->set_direction(rules == &ingress_rules_ ? "ingress" : "egress");
      entry->set_packets(*packets);
    }
  }
  return counters;
}

std::string Datapath::RateLimitName(uint32_t limit_id) const {
  std::lock_guard lock(mu_);
  if (limit_id / RP_MAX_RATE_LIMITS == static_cast<uint32_t>(active_version_) &&
      limit_id % RP_MAX_RATE_LIMITS < rate_limit_names_.size()) {
    return rate_limit_names_[limit_id % RP_MAX_RATE_LIMITS];
  }
  return rampart::StrCat("limit ", limit_id, " (an earlier policy version)");
}

std::vector<Attachment> Datapath::Attachments() const { return ListAttachments(options_.pin_dir); }

}  // namespace rampart::datapath

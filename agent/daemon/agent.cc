#include "agent/daemon/agent.h"

#include <sys/stat.h>

#include "agent/common/strings.h"
#include "agent/common/errors.h"
#include "agent/common/logging.h"
#include "agent/policy/compiler.h"
#include "agent/policy/node_checks.h"
#include "agent/policy/validate.h"

namespace rampart::agent {

absl::StatusOr<std::unique_ptr<Agent>> Agent::Start(AgentOptions options) {
  auto log = Logger("agent");
  std::unique_ptr<Agent> agent(new Agent(std::move(options)));
  const std::string& state_dir = agent->options_.state_dir;
  if (mkdir(state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError(errno, "create state directory " + state_dir);
  }
  auto datapath = datapath::Datapath::Open(agent->options_.datapath);
  if (!datapath.ok()) return datapath.status();
  agent->datapath_ = std::move(*datapath);
  if (auto version = agent->datapath_->ActiveVersion(); version.ok() && *version != 0) {
    log->info("adopted pinned datapath state in {} (policy version {})", agent->options_.datapath.pin_dir, *version);
  }

  // Enforce the last-known-good before anything else, so a restart with the
  // control plane down keeps the node protected.
  auto saved = agent->lkg_.Load();
  if (!saved.ok()) {
    log->error("last-known-good policy not loaded: {}", MessageOf(saved.status()));
  } else if (saved->has_value()) {
    auto errors = agent->ApplyBundle(**saved, "last-known-good");
    for (const auto& e : errors) log->error("last-known-good policy version {} refused: {}", (*saved)->version(), e.message());
  }

  auto api = api::LocalApiServer::Start(agent->options_.api_socket, {.status = [a = agent.get()] { return a->Status(); }});
  if (!api.ok()) return api.status();
  agent->api_ = std::move(*api);
  log->info("local API on {}", agent->options_.api_socket);

  if (agent->options_.control_plane) {
    agent->control_plane_ = std::make_unique<sync::ControlPlaneClient>(
        *agent->options_.control_plane,
        [a = agent.get()](const v1::PolicyBundle& bundle) { return a->ApplyBundle(bundle, "control-plane"); },
        [a = agent.get()] {
          std::lock_guard lock(a->mu_);
          return a->applied_version_;
        });
    agent->control_plane_->Start();
  }
  return agent;
}

Agent::~Agent() {
  if (control_plane_) control_plane_->Stop();
  api_.reset();
}

std::vector<v1::PolicyError> Agent::ApplyBundle(const v1::PolicyBundle& bundle, const std::string& source) {
  auto log = Logger("agent");
  std::vector<v1::PolicyError> errors;
  auto fail = [&](const std::string& policy, const absl::Status& status) {
    v1::PolicyError error;
    error.set_policy(policy);
    error.set_message(std::string(status.message()));
    errors.push_back(error);
  };
  for (const v1::Policy& policy : bundle.policies()) {
    absl::Status st = policy::ValidatePolicy(policy);
    if (st.ok()) st = policy::ValidateEnforceable(policy);
    if (!st.ok()) fail(policy.metadata().name(), st);
  }
  if (errors.empty()) {
    std::vector<v1::Policy> all(bundle.policies().begin(), bundle.policies().end());
    if (absl::Status st = policy::ValidatePolicySet(all); !st.ok()) fail("", st);
  }
  if (errors.empty()) {
    if (absl::Status st = policy::ValidateForNode(bundle, policy::InterfaceExistsOnHost); !st.ok()) fail("", st);
  }
  std::optional<policy::CompiledPolicy> compiled;
  if (errors.empty()) {
    auto result = policy::CompilePolicy(bundle);
    if (!result.ok()) {
      fail("", result.status());
    } else {
      compiled = std::move(*result);
    }
  }

  std::lock_guard lock(mu_);
  if (errors.empty()) {
    if (absl::Status st = datapath_->Apply(*compiled); !st.ok()) fail("", st);
  }
  if (!errors.empty()) {
    last_policy_error_ = rampart::StrCat("version ", bundle.version(), ": ", errors.front().message());
    log->error("policy version {} from {} refused, version {} stays in force: {}", bundle.version(), source,
               applied_version_, errors.front().message());
    return errors;
  }
  applied_version_ = bundle.version();
  policy_source_ = source;
  last_policy_error_.clear();
  if (source != "last-known-good") {
    if (absl::Status st = lkg_.Save(bundle); !st.ok()) log->error("save last-known-good: {}", MessageOf(st));
  }
  return errors;
}

v1::AgentStatus Agent::Status() {
  v1::AgentStatus status;
  status.set_node_name(options_.node_name);
  if (control_plane_) {
    *status.mutable_control_plane() = control_plane_->Status();
  } else {
    status.mutable_control_plane()->set_state(v1::CONNECTION_STATE_DISABLED);
  }
  std::lock_guard lock(mu_);
  status.set_policy_version(applied_version_);
  status.set_policy_source(policy_source_);
  status.set_last_policy_error(last_policy_error_);
  for (const auto& a : datapath_->Attachments()) {
    auto* p = status.add_programs();
    p->set_interface(a.ifname);
    p->set_ifindex(a.ifindex);
    p->set_hook(datapath::HookName(a.hook));
    p->set_program(datapath_->program().xdp_prog_name());
    p->set_program_id(a.program_id);
    p->set_link_id(a.link_id);
    p->set_pin(a.pin);
  }
  if (auto counters = datapath_->ReadCounters(); counters.ok()) {
    *status.mutable_counters() = *counters;
  } else {
    Logger("agent")->warn("read counters: {}", MessageOf(counters.status()));
  }
  return status;
}

}  // namespace rampart::agent

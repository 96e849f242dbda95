#include "agent/daemon/agent.h"

#include <google/protobuf/util/message_differencer.h>

#include "agent/inspect/setup.h"
#include "agent/metrics/agent_metrics.h"

#include <net/if.h>
#include <sys/stat.h>
#include <time.h>

#include <cstring>

#include "agent/common/errors.h"
#include "agent/common/logging.h"
#include "agent/common/strings.h"
#include "agent/datapath/cgroups.h"
#include "agent/datapath/flows.h"
#include "agent/policy/compiler.h"
#include "agent/policy/node_checks.h"
#include "agent/policy/validate.h"

namespace rampart::agent {
namespace {

// rp_block_reason, as block list shows it.
std::string BlockReasonName(uint32_t reason) {
  switch (reason) {
    case RP_BLOCK_BY_OPERATOR: return "operator";
    case RP_BLOCK_BY_DLP: return "dlp";
    case RP_BLOCK_BY_ATTACK: return "attack";
    case RP_BLOCK_BY_JWT: return "jwt";
    case RP_BLOCK_BY_API: return "api";
  }
  return std::to_string(reason);
}

std::string ProtocolName(uint8_t proto) {
  switch (proto) {
    case 6: return "tcp";
    case 17: return "udp";
    case 58: return "icmpv6";
    case 1: return "icmp";
  }
  return std::to_string(proto);
}

// Scopes named by egress rules, resolved now: what the compiler would see.
std::map<std::string, uint64_t> ResolveScopes(const v1::PolicyBundle& bundle) {
  std::map<std::string, uint64_t> out;
  for (const auto& policy : bundle.policies()) {
    for (const auto& rule : policy.spec().segmentation().egress().allow()) {
      if (rule.unit().empty() && rule.cgroup().empty()) continue;
      const std::string kind = rule.unit().empty() ? "cgroup" : "unit";
      const std::string& name = rule.unit().empty() ? rule.cgroup() : rule.unit();
      if (auto id = datapath::ResolveCgroup(kind, name)) out[kind + " " + name] = *id;
    }
  }
  return out;
}

}  // namespace

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
  // The drop summaries' baseline: what the pinned counters held before this
  // agent enforced anything is not news; everything after is.
  if (auto counters = agent->datapath_->ReadCounters(); counters.ok()) {
    agent->drop_summary_.CloseWindow(*counters, std::chrono::system_clock::now());
  }
  auto drops = datapath::DropEventReader::Start(agent->datapath_->object().events_fd());
  if (!drops.ok()) return drops.status();
  agent->drops_ = std::move(*drops);

  auto findings = inspect::FindingLog::Open(state_dir + "/findings.jsonl");
  if (!findings.ok()) return findings.status();
  agent->findings_ = std::move(*findings);
  agent->block_target_ = std::make_unique<inspect::DatapathBlockTarget>(agent->datapath_->blocklist());
  agent->pipeline_ = std::make_unique<inspect::InspectionPipeline>(*agent->findings_, agent->block_target_.get());
  agent->assembler_ = std::make_unique<capture::StreamAssembler>(*agent->pipeline_);


  // Enforce the last-known-good before anything else, so a restart with the
  // control plane down keeps the node protected.
  auto saved = agent->lkg_.Load();
  if (!saved.ok()) {
    log->error("last-known-good policy not loaded: {}", MessageOf(saved.status()));
  } else if (saved->has_value()) {
    auto errors = agent->ApplyBundle(**saved, "last-known-good");
    for (const auto& e : errors) log->error("last-known-good policy version {} refused: {}", (*saved)->version(), e.message());
  }

  if (absl::Status st = agent->ConfigureCapture(); !st.ok()) log->error("TLS capture: {}", MessageOf(st));

  auto api = api::LocalApiServer::Start(agent->options_.api_socket, *agent);
  if (!api.ok()) return api.status();
  agent->api_ = std::move(*api);
  log->info("local API on {}", agent->options_.api_socket);
  if (!agent->options_.metrics_address.empty()) {
    auto endpoint = metrics::MetricsEndpoint::Start(
        agent->options_.metrics_address, [a = agent.get()] { return metrics::AgentMetrics(a->Status()); });
    if (!endpoint.ok()) return endpoint.status();
    agent->metrics_ = std::move(*endpoint);
    log->info("metrics on http://{}/metrics", agent->options_.metrics_address);
  }

  if (agent->options_.control_plane) {
    agent->control_plane_ = std::make_unique<sync::ControlPlaneClient>(
        *agent->options_.control_plane,
        [a = agent.get()](const v1::PolicyBundle& bundle) { return a->ApplyBundle(bundle, "control-plane"); },
        [a = agent.get()] {
          std::lock_guard lock(a->mu_);
          return a->applied_version_;
        });
    agent->control_plane_->Start();
    // Findings and drop summaries follow the sync stream to whichever
    // replica it is connected to, on a stream of their own.
    agent->events_ = std::make_unique<sync::EventReporter>(
        [cp = agent->control_plane_.get()] { return cp->CurrentChannel(); });
    agent->findings_token_ = agent->findings_->Subscribe([a = agent.get()](const v1::Finding& finding) {
      a->events_->Report(finding);
    });
    // Per sampled drop, on the reader thread: only the two fields a summary
    // keeps (ToProto would also name the interface, a syscall per event).
    agent->drop_summary_token_ = agent->drops_->Subscribe([a = agent.get()](const rp_drop_event& event) {
      datapath::Address source;
      std::copy(event.src, event.src + 16, source.begin());
      a->drop_summary_.OnDropEvent(datapath::FormatAddress(source), datapath::ReasonName(event.reason));
    });
    agent->events_->Start();
  }
  agent->housekeeping_ = std::thread([a = agent.get()] { a->Housekeeping(); });
  return agent;
}

Agent::~Agent() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (housekeeping_.joinable()) housekeeping_.join();
  if (events_) {
    findings_->Unsubscribe(findings_token_);
    drops_->Unsubscribe(drop_summary_token_);
    events_->Stop();
  }
  metrics_.reset();  // scrapes read everything below
  if (control_plane_) control_plane_->Stop();
  api_.reset();
  drops_.reset();
  capture_manager_.reset();
  capture_probe_.reset();
}

void Agent::Housekeeping() {
  auto log = Logger("agent");
  auto next_drop_summary = std::chrono::steady_clock::now() + options_.drop_summary_interval;
  auto next_inventory_report = std::chrono::steady_clock::now() + options_.inventory_report_interval;
  while (true) {
    {
      std::unique_lock lock(stop_mu_);
      if (stop_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) return;
    }
    if (absl::Status st = ConfigureCapture(); !st.ok()) log->warn("TLS capture: {}", MessageOf(st));
    {
      // SSL objects die without a probe: forget connections idle for 5 minutes.
      std::lock_guard lock(capture_mu_);
      assembler_->Expire(datapath::MonotonicNanos(), uint64_t{300} * 1'000'000'000);
    }
    if (events_ && std::chrono::steady_clock::now() >= next_drop_summary) {
      next_drop_summary = std::chrono::steady_clock::now() + options_.drop_summary_interval;
      if (auto counters = datapath_->ReadCounters(); counters.ok()) {
        if (auto summary = drop_summary_.CloseWindow(*counters, std::chrono::system_clock::now())) {
          log->debug("drop summary: {} packets dropped", summary->dropped_packets());
          events_->Report(*summary);
        }
      } else {
        log->warn("drop summary: {}", MessageOf(counters.status()));
      }
    }
    if (events_ && std::chrono::steady_clock::now() >= next_inventory_report) {
      next_inventory_report = std::chrono::steady_clock::now() + options_.inventory_report_interval;
      ReportInventoryIfChanged();
    }
    if (auto swept = datapath_->blocklist().Sweep(); !swept.ok()) {
      log->warn("blocklist sweep: {}", MessageOf(swept.status()));
    }
    // A unit that started, stopped or restarted has a new cgroup id: recompile.
    std::optional<v1::PolicyBundle> bundle;
    std::string source;
    {
      std::lock_guard lock(mu_);
      if (applied_bundle_ && ResolveScopes(*applied_bundle_) != resolved_scopes_) {
        bundle = applied_bundle_;
        source = policy_source_;
      }
    }
    if (bundle) {
      log->info("cgroups named by egress rules changed; reapplying policy version {}", bundle->version());
      ApplyBundle(*bundle, source);
    }
  }
}

void Agent::ReportInventoryIfChanged() {
  auto inventory = ListApis(v1::ListApisRequest());
  if (!inventory.ok() || inventory->services().empty()) return;
  // Field by field (map order is not stable in bytes). Any request moves
  // last_seen, so a busy node reports once per interval, a quiet one never.
  if (last_inventory_sent_ && google::protobuf::util::MessageDifferencer::Equals(*inventory, *last_inventory_sent_)) {
    return;
  }
  events_->Report(*inventory);
  last_inventory_sent_ = std::move(*inventory);
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
    if (absl::Status st = policy::ValidatePolicy(policy); !st.ok()) fail(policy.metadata().name(), st);
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
    auto result = policy::CompilePolicy(bundle, {}, datapath::ResolveCgroup);
    if (!result.ok()) {
      fail("", result.status());
    } else {
      compiled = std::move(*result);
    }
  }
  // Detectors load keys and compile patterns: before anything is applied.
  const v1::Inspection inspection = inspect::MergeInspection(bundle);
  std::optional<inspect::InspectionSetup> setup;
  std::shared_ptr<apis::ApiInventory> api_inventory;
  {
    std::lock_guard lock(mu_);
    api_inventory = api_inventory_;
  }
  if (errors.empty()) {
    auto built = inspect::BuildInspectionSetup(inspection, &api_inventory);
    if (!built.ok()) {
      fail("", built.status());
    } else {
      setup = std::move(*built);
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
  const bool detectors = !setup->detectors.empty();
  pipeline_->Configure(std::move(*setup));
  if (api_inventory != api_inventory_) {
    if (api_inventory_) log->info("API inventory restarted: the policy changed its caps (spec.inspection.apis.inventory)");
    api_inventory_ = std::move(api_inventory);
  }
  applied_version_ = bundle.version();
  policy_source_ = source;
  last_policy_error_.clear();
  policy_warnings_ = compiled->warnings;
  const auto& capture = inspection.capture();
  if (detectors && !inspect::SelectsProcesses(capture) && options_.capture.empty()) {
    policy_warnings_.push_back(
        "inspection detectors are configured but no process is captured (spec.inspection.capture is empty)");
  }
  applied_bundle_ = bundle;
  resolved_scopes_ = compiled->resolved_scopes;
  applied_compiled_ = std::move(compiled);
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
    const sync::EventReporter::Counts events = events_->counts();
    status.mutable_control_plane()->set_events_queued(events.queued);
    status.mutable_control_plane()->set_events_acked(events.acked);
    status.mutable_control_plane()->set_events_dropped(events.dropped);
  } else {
    status.mutable_control_plane()->set_state(v1::CONNECTION_STATE_DISABLED);
  }
  {
    std::lock_guard lock(mu_);
    status.set_policy_version(applied_version_);
    status.set_policy_source(policy_source_);
    status.set_last_policy_error(last_policy_error_);
    for (const auto& w : policy_warnings_) status.add_policy_warnings(w);
  }
  for (const auto& a : datapath_->Attachments()) {
    auto* p = status.add_programs();
    p->set_interface(a.ifname);
    p->set_ifindex(a.ifindex);
    p->set_direction(a.direction);
    p->set_hook(a.hook);
    p->set_program(a.direction == "egress" ? "rampart_tc_egress"
                   : a.hook == "tc"        ? "rampart_tc_ingress"
                                           : "rampart_xdp_ingress");
    p->set_program_id(a.program_id);
    p->set_link_id(a.link_id);
    p->set_pin(a.pin);
  }
  if (auto counters = datapath_->ReadCounters(); counters.ok()) {
    *status.mutable_counters() = *counters;
  } else {
    Logger("agent")->warn("read counters: {}", MessageOf(counters.status()));
  }
  FillInspectionStatus(*status.mutable_inspection());
  FillApiAnalyticsStatus(*status.mutable_inspection());
  auto* capture = status.mutable_capture();
  std::lock_guard capture_lock(capture_mu_);
  capture->set_enabled(capture_probe_ != nullptr);
  if (capture_probe_) {
    const capture::CaptureStats stats = capture_probe_->Stats();
    capture->set_calls(stats.calls);
    capture->set_bytes(stats.bytes);
    capture->set_bytes_captured(stats.bytes_captured);
    capture->set_bytes_truncated(stats.bytes_truncated);
    capture->set_chunks_lost(stats.chunks_lost);
    capture->set_bytes_lost(stats.bytes_lost);
    capture->set_tuple_misses(stats.tuple_misses);
    capture->set_peer_certificates(stats.peer_certs);
    capture->set_peer_certificates_truncated(stats.peer_certs_truncated);
    capture->set_peer_certificates_lost(stats.peer_certs_lost);
    capture->set_peer_certificates_attached(assembler_->totals().peer_certificates);
    capture->set_probes(static_cast<uint32_t>(capture_probe_->attached_probes()));
    capture->set_socket_hook(std::string(capture::SocketHookName(capture_probe_->socket_hook())));
    for (const auto& refused : capture_probe_->hooks_refused()) capture->add_socket_hooks_refused(refused);
    const capture::ReaderScheduler::Status reader = capture_probe_->reader_scheduling();
    capture->set_reader_scheduling(std::string(capture::ReaderSchedulingName(reader.scheduling)));
    capture->set_reader_scheduling_reason(reader.reason);
    capture->set_reader_demotions(reader.demotions);
    const capture::CaptureSelection selection = capture_manager_->selection();
    if (!selection.empty()) {
      for (const std::string& d : capture::CaptureDirectionNames(selection.reads, selection.writes)) {
        capture->add_directions(d);
      }
    }
    for (const auto& p : capture_manager_->Processes()) {
      auto* row = capture->add_processes();
      row->set_pid(static_cast<uint32_t>(p.pid));
      row->set_comm(p.comm);
      row->set_file(p.file);
      row->set_attached(p.attached);
      row->set_reason(p.reason);
      row->set_chunks(p.chunks);
      row->set_tuple_known(p.tuple_known);
    }
  }
  return status;
}

absl::Status Agent::ConfigureCapture() {
  capture::CaptureSelection selection = options_.capture;
  // The directions are those of every source that selects something (the
  // flags, each policy), together.
  if (selection.empty()) selection.reads = selection.writes = false;
  {
    std::lock_guard lock(mu_);
    if (applied_bundle_) {
      const v1::CaptureSelection wanted = inspect::MergeCapture(*applied_bundle_);
      selection.all |= wanted.all();
      selection.processes.insert(wanted.processes().begin(), wanted.processes().end());
      for (const std::string& unit : wanted.units()) {
        if (auto id = datapath::ResolveCgroup(unit[0] == '/' ? "cgroup" : "unit", unit)) selection.cgroups.insert(*id);
      }
      if (inspect::SelectsProcesses(wanted)) {
        capture::AddCaptureDirections(wanted.directions(), selection.reads, selection.writes);
      }
    }
  }
  if (selection.empty() && !capture_probe_) return absl::OkStatus();
  if (!capture_probe_) {
    auto probe = capture::SslCaptureProbe::Load(
        options_.capture_options, [this](const rp_capture_header& h, std::span<const uint8_t> data) { OnCaptured(h, data); },
        [this](const rp_capture_header& h, std::span<const uint8_t> der) { OnPeerCertificate(h, der); });
    if (!probe.ok()) return probe.status();
    std::lock_guard lock(capture_mu_);  // OnCaptured may already run
    capture_probe_ = std::move(*probe);
    capture_manager_ = std::make_unique<capture::CaptureManager>(*capture_probe_);
    Logger("capture")->info("TLS capture probes loaded (max {} bytes per call, sockets by {})",
                            options_.capture_options.max_bytes_per_call,
                            capture::SocketHookName(capture_probe_->socket_hook()));
  }
  capture_manager_->SetSelection(selection);
  capture_manager_->Rescan();
  return absl::OkStatus();
}

void Agent::OnCaptured(const rp_capture_header& h, std::span<const uint8_t> data) {
  std::lock_guard lock(capture_mu_);
  if (!capture_manager_) return;  // the probe's first chunk raced its setup
  capture_manager_->CountChunk(h);
  assembler_->Add(h, data);
  if (capture_watchers_.empty()) return;
  v1::CaptureEvent event;
  timespec mono{}, wall{};
  clock_gettime(CLOCK_MONOTONIC, &mono);
  clock_gettime(CLOCK_REALTIME, &wall);
  event.set_unix_ns(static_cast<int64_t>(h.timestamp_ns) + (wall.tv_sec - mono.tv_sec) * 1'000'000'000LL +
                    (wall.tv_nsec - mono.tv_nsec));
  event.set_pid(h.pid);
  event.set_tid(h.tid);
  event.set_comm(std::string(h.comm, strnlen(h.comm, sizeof(h.comm))));
  event.set_cgroup_id(h.cgroup_id);
  event.set_direction(h.direction == RP_CAPTURE_WRITE ? "write" : "read");
  event.set_ssl(h.ssl);
  event.set_stream_offset(h.stream_offset);
  event.set_length(h.len);
  event.set_captured(h.captured);
  event.set_truncated(h.flags & RP_CAPTURE_TRUNCATED);
  event.set_tuple_known(h.flags & RP_CAPTURE_TUPLE_KNOWN);
  if (h.flags & RP_CAPTURE_TUPLE_KNOWN) {
    datapath::Address local, remote;
    std::copy(h.tuple.local_addr, h.tuple.local_addr + 16, local.begin());
    std::copy(h.tuple.remote_addr, h.tuple.remote_addr + 16, remote.begin());
    event.set_local(rampart::StrCat(datapath::FormatAddress(local), ":", h.tuple.local_port));
    event.set_remote(rampart::StrCat(datapath::FormatAddress(remote), ":", h.tuple.remote_port));
  }
  for (const auto& [token, watcher] : capture_watchers_) {
    const auto& [request, subscriber] = watcher;
    if (request.pid() && request.pid() != h.pid) continue;
    if (!request.unit().empty()) {
      auto id = datapath::ResolveCgroup(request.unit()[0] == '/' ? "cgroup" : "unit", request.unit());
      if (!id || *id != h.cgroup_id) continue;
    }
    if (request.show_payload()) {
      v1::CaptureEvent with_payload = event;
      with_payload.set_payload(data.data(), data.size());
      subscriber(with_payload);
    } else {
      subscriber(event);
    }
  }
}

void Agent::OnPeerCertificate(const rp_capture_header& h, std::span<const uint8_t> der) {
  std::lock_guard lock(capture_mu_);
  if (!capture_manager_) return;
  // Names only, into the connection; the DER goes no further (not to capture
  // watchers: it is not plaintext, and not theirs to see).
  assembler_->AddPeerCertificate(h, der);
}

absl::StatusOr<int> Agent::SubscribeCapture(const v1::WatchCaptureRequest& request,
                                            std::function<void(const v1::CaptureEvent&)> subscriber) {
  std::lock_guard lock(capture_mu_);
  if (!capture_probe_) {
    return absl::FailedPreconditionError("TLS capture is off on this node (no process is selected for capture)");
  }
  const int token = next_capture_token_++;
  capture_watchers_[token] = {request, std::move(subscriber)};
  return token;
}

void Agent::UnsubscribeCapture(int token) {
  std::lock_guard lock(capture_mu_);
  capture_watchers_.erase(token);
}

v1::DropEvent Agent::ToProto(const rp_drop_event& e) const {
  // bpf_ktime_get_ns is CLOCK_MONOTONIC; shift it onto the wall clock.
  timespec mono{}, wall{};
  clock_gettime(CLOCK_MONOTONIC, &mono);
  clock_gettime(CLOCK_REALTIME, &wall);
  const int64_t offset = (wall.tv_sec - mono.tv_sec) * 1'000'000'000LL + (wall.tv_nsec - mono.tv_nsec);
  v1::DropEvent out;
  out.set_unix_ns(static_cast<int64_t>(e.timestamp_ns) + offset);
  char name[IF_NAMESIZE] = {};
  out.set_interface(if_indextoname(e.ifindex, name) ? name : std::to_string(e.ifindex));
  out.set_direction(e.direction == RP_DIR_INGRESS ? "ingress" : "egress");
  out.set_reason(datapath::ReasonName(e.reason));
  if (e.reason == RP_REASON_DROP_RATE_LIMIT) out.set_rule(datapath_->RateLimitName(e.rule_id));
  out.set_protocol(ProtocolName(e.proto));
  datapath::Address src, dst;
  std::copy(e.src, e.src + 16, src.begin());
  std::copy(e.dst, e.dst + 16, dst.begin());
  out.set_source(datapath::FormatAddress(src));
  out.set_source_port(e.sport);
  out.set_destination(datapath::FormatAddress(dst));
  out.set_destination_port(e.dport);
  return out;
}

int Agent::SubscribeDrops(std::function<void(const v1::DropEvent&)> subscriber) {
  return drops_->Subscribe([this, subscriber = std::move(subscriber)](const rp_drop_event& e) { subscriber(ToProto(e)); });
}

void Agent::UnsubscribeDrops(int token) { drops_->Unsubscribe(token); }

absl::StatusOr<v1::ListFlowsReply> Agent::ListFlows(const v1::ListFlowsRequest& request) {
  const auto interval = std::chrono::milliseconds(request.sample_ms() ? std::min(request.sample_ms(), 10000u) : 1000);
  size_t tracked = 0;
  auto flows = datapath::TopFlows(datapath_->object().buckets_fd(), interval, request.limit() ? request.limit() : 20,
                                  &tracked);
  if (!flows.ok()) return flows.status();
  v1::ListFlowsReply reply;
  reply.set_tracked(static_cast<uint32_t>(tracked));
  for (const auto& f : *flows) {
    auto* out = reply.add_flows();
    const bool per_flow = f.key.proto != 0;
    out->set_key(per_flow ? "flow" : "source");
    out->set_limit(datapath_->RateLimitName(f.key.limit_id));
    datapath::Address src, dst;
    std::copy(f.key.src, f.key.src + 16, src.begin());
    std::copy(f.key.dst, f.key.dst + 16, dst.begin());
    out->set_source(datapath::FormatAddress(src));
    if (per_flow) {
      out->set_protocol(ProtocolName(f.key.proto));
      out->set_source_port(f.key.sport);
      out->set_destination(datapath::FormatAddress(dst));
      out->set_destination_port(f.key.dport);
    }
    out->set_packets_per_second(f.packets_per_second);
    out->set_bytes_per_second(f.bytes_per_second);
    out->set_dropped_per_second(f.dropped_per_second);
    out->set_passed_packets(f.passed_packets);
    out->set_dropped_packets(f.dropped_packets);
  }
  return reply;
}

absl::Status Agent::Block(const v1::BlockRequest& request) {
  auto address = datapath::ParseAddress(request.source());
  if (!address.ok()) return address.status();
  RAMPART_RETURN_IF_ERROR(
      datapath_->blocklist().BlockSource(*address, std::chrono::milliseconds(request.ttl_ms()), /*reason=*/0));
  Logger("agent")->info("blocked {} for {}", request.source(),
                        request.ttl_ms() ? rampart::StrCat(request.ttl_ms(), " ms") : std::string("ever"));
  return absl::OkStatus();
}

absl::StatusOr<bool> Agent::Unblock(const v1::UnblockRequest& request) {
  auto address = datapath::ParseAddress(request.source());
  if (!address.ok()) return address.status();
  return datapath_->blocklist().UnblockSource(*address);
}

absl::StatusOr<v1::ListBlocksReply> Agent::ListBlocks() {
  auto entries = datapath_->blocklist().List();
  if (!entries.ok()) return entries.status();
  v1::ListBlocksReply reply;
  for (const auto& e : *entries) {
    auto* out = reply.add_entries();
    out->set_kind(e.kind == RP_BLOCK_SOURCE ? "source" : "flow");
    out->set_source(datapath::FormatAddress(e.flow.src));
    if (e.kind == RP_BLOCK_FLOW) {
      out->set_destination(datapath::FormatAddress(e.flow.dst));
      out->set_protocol(ProtocolName(e.flow.proto));
      out->set_source_port(e.flow.sport);
      out->set_destination_port(e.flow.dport);
    }
    out->set_remaining_ms(static_cast<uint64_t>(e.remaining.count()));
    out->set_reason(e.reason);
    out->set_reason_name(BlockReasonName(e.reason));
  }
  return reply;
}

}  // namespace rampart::agent

namespace rampart::agent {

void Agent::FillInspectionStatus(v1::InspectionStatus& out) {
  const inspect::PipelineStats stats = pipeline_->stats();
  out.set_enabled(pipeline_->active());
  out.set_connections(stats.connections);
  out.set_messages(stats.messages);
  out.set_findings(stats.findings);
  out.set_blocks(stats.blocks);
  out.set_block_errors(stats.block_errors);
  out.set_http2_midway_undecodable(stats.parser.http2_midway_undecodable);
  out.set_desyncs(stats.parser.desyncs);
  out.set_oversized_heads(stats.parser.oversized_heads);
  out.set_gap_bytes(stats.parser.gap_bytes);
  out.set_not_http(stats.parser.not_http);
  out.set_findings_log(options_.state_dir + "/findings.jsonl");
  for (const auto& [detector, count] : findings_->CountsByDetector()) (*out.mutable_findings_by_detector())[detector] = count;
  for (const auto& [family, verdict] : pipeline_->verdicts()) {
    auto* f = out.add_families();
    f->set_family(family);
    f->set_action(verdict.block ? "block" : "monitor");
    f->set_min_severity(std::string(findings::SeverityName(verdict.min_severity)));
    f->set_block_ttl_seconds(static_cast<uint32_t>(verdict.ttl.count()));
  }
}

namespace {

inspect::FindingFilter FilterOf(const v1::WatchFindingsRequest& request) {
  inspect::FindingFilter filter;
  filter.detector_prefix = request.detector();
  if (auto severity = inspect::ParseSeverity(request.min_severity()); severity.ok()) filter.min_severity = *severity;
  return filter;
}

}  // namespace

std::vector<v1::Finding> Agent::RecentFindings(const v1::WatchFindingsRequest& request) {
  return findings_->Recent(FilterOf(request), request.limit() == 0 ? 100 : request.limit());
}

absl::StatusOr<int> Agent::SubscribeFindings(const v1::WatchFindingsRequest& request,
                                             std::function<void(const v1::Finding&)> subscriber) {
  if (!request.min_severity().empty()) {
    if (auto severity = inspect::ParseSeverity(request.min_severity()); !severity.ok()) return severity.status();
  }
  inspect::FindingFilter filter = FilterOf(request);
  return findings_->Subscribe([filter, subscriber = std::move(subscriber)](const v1::Finding& finding) {
    if (filter.Matches(finding)) subscriber(finding);
  });
}

void Agent::UnsubscribeFindings(int token) { findings_->Unsubscribe(token); }

}  // namespace rampart::agent

// rampartd's core: applies bundles (from the control plane or the
// last-known-good file) to the datapath, serves the local API, keeps the
// control-plane stream, and runs the datapath's housekeeping (blocklist
// expiry, cgroup re-resolution) once a second.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/api/local_api_server.h"
#include "agent/capture/capture_manager.h"
#include "agent/capture/ssl_capture_probe.h"
#include "agent/capture/stream_assembler.h"
#include "agent/daemon/last_known_good.h"
#include "agent/datapath/datapath.h"
#include "agent/datapath/drop_events.h"
#include "agent/inspect/finding_log.h"
#include "agent/inspect/pipeline.h"
#include "agent/metrics/metrics_endpoint.h"
#include "agent/sync/control_plane_client.h"
#include "agent/sync/drop_summary.h"
#include "agent/sync/event_reporter.h"

namespace rampart::apis {
class ApiInventory;
}

namespace rampart::agent {

struct AgentOptions {
  std::string node_name;
  std::string state_dir = "/var/lib/rampart";
  std::string api_socket = api::kDefaultAgentSocket;
  datapath::DatapathOptions datapath;
  std::optional<sync::ControlPlaneOptions> control_plane;  // nullopt: local only
  // Processes to capture besides those the policy selects (rampartd flags).
  capture::CaptureSelection capture;
  capture::CaptureOptions capture_options;
  // How often drop counters are summarised for the control plane.
  std::chrono::seconds drop_summary_interval{10};
  // How often the API inventory is offered to the control plane (sent only
  // when it changed).
  std::chrono::seconds inventory_report_interval{60};
  // HOST:PORT serving /metrics (Prometheus text format); "" serves none.
  std::string metrics_address;
};

class Agent final : public api::AgentApiBackend {
 public:
  static absl::StatusOr<std::unique_ptr<Agent>> Start(AgentOptions options);
  ~Agent() override;

  // Validates, checks against this node, compiles and applies `bundle`, then
  // saves it as last-known-good. Returns the errors; nothing changes on error.
  std::vector<v1::PolicyError> ApplyBundle(const v1::PolicyBundle& bundle, const std::string& source);

  // api::AgentApiBackend
  v1::AgentStatus Status() override;
  int SubscribeDrops(std::function<void(const v1::DropEvent&)> subscriber) override;
  void UnsubscribeDrops(int token) override;
  absl::StatusOr<v1::ListFlowsReply> ListFlows(const v1::ListFlowsRequest& request) override;
  absl::Status Block(const v1::BlockRequest& request) override;
  absl::StatusOr<bool> Unblock(const v1::UnblockRequest& request) override;
  absl::StatusOr<v1::ListBlocksReply> ListBlocks() override;
  absl::StatusOr<int> SubscribeCapture(const v1::WatchCaptureRequest& request,
                                       std::function<void(const v1::CaptureEvent&)> subscriber) override;
  void UnsubscribeCapture(int token) override;
  std::vector<v1::Finding> RecentFindings(const v1::WatchFindingsRequest& request) override;
  absl::StatusOr<int> SubscribeFindings(const v1::WatchFindingsRequest& request,
                                        std::function<void(const v1::Finding&)> subscriber) override;
  void UnsubscribeFindings(int token) override;
  // The policy in force and traces over it (agent_policy.cc).
  absl::StatusOr<v1::AppliedPolicy> GetPolicy() override;
  absl::StatusOr<v1::PacketTrace> TracePacket(const v1::TracePacketRequest& request) override;
  absl::StatusOr<v1::HttpTrace> TraceHttp(const v1::TraceHttpRequest& request) override;
  // The API inventory (agent_apis.cc).
  absl::StatusOr<v1::ApiInventoryReply> ListApis(const v1::ListApisRequest& request) override;

 private:
  explicit Agent(AgentOptions options) : options_(std::move(options)), lkg_(options_.state_dir) {}
  void Housekeeping();
  // Sends the API inventory on the event stream when it changed since the last time.
  void ReportInventoryIfChanged();
  v1::DropEvent ToProto(const rp_drop_event& event) const;
  // The selection in force: flags plus the applied policies' inspection.capture,
  // units resolved now. Loads the capture probes the first time it is not empty.
  absl::Status ConfigureCapture();
  // Every captured chunk passes here, on the capture reader thread.
  void OnCaptured(const rp_capture_header& header, std::span<const uint8_t> data);
  void OnPeerCertificate(const rp_capture_header& header, std::span<const uint8_t> der);
  void FillInspectionStatus(v1::InspectionStatus& out);
  void FillApiAnalyticsStatus(v1::InspectionStatus& out);  // agent_apis.cc

  AgentOptions options_;
  LastKnownGood lkg_;
  std::unique_ptr<datapath::Datapath> datapath_;
  std::unique_ptr<datapath::DropEventReader> drops_;

  // Captured streams go to inspection; findings to the log, blocks to the datapath.
  std::unique_ptr<inspect::FindingLog> findings_;
  std::unique_ptr<inspect::DatapathBlockTarget> block_target_;
  std::unique_ptr<inspect::InspectionPipeline> pipeline_;
  std::unique_ptr<capture::StreamAssembler> assembler_;  // under capture_mu_
  std::unique_ptr<capture::SslCaptureProbe> capture_probe_;
  std::unique_ptr<capture::CaptureManager> capture_manager_;
  std::mutex capture_mu_;  // guards the capture pointers' creation and the watchers
  int next_capture_token_ = 1;
  std::map<int, std::pair<v1::WatchCaptureRequest, std::function<void(const v1::CaptureEvent&)>>> capture_watchers_;

  std::mutex mu_;  // serialises ApplyBundle; guards the fields below
  uint64_t applied_version_ = 0;
  std::string policy_source_;
  std::string last_policy_error_;
  std::vector<std::string> policy_warnings_;
  std::optional<v1::PolicyBundle> applied_bundle_;
  std::map<std::string, uint64_t> resolved_scopes_;
  // What API analytics records into; outlives policy re-applies (a policy
  // that changes the inventory caps starts a new one). Null until a policy
  // had an apis section.
  std::shared_ptr<apis::ApiInventory> api_inventory_;
  // What the datapath maps were written from: policy trace reads this.
  std::optional<policy::CompiledPolicy> applied_compiled_;

  std::unique_ptr<api::LocalApiServer> api_;
  std::unique_ptr<metrics::MetricsEndpoint> metrics_;
  std::unique_ptr<sync::ControlPlaneClient> control_plane_;
  // Findings and drop summaries to the control plane; only with one.
  std::unique_ptr<sync::EventReporter> events_;
  sync::DropSummaryBuilder drop_summary_;
  std::optional<v1::ApiInventoryReply> last_inventory_sent_;  // Housekeeping only
  int findings_token_ = 0;
  int drop_summary_token_ = 0;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread housekeeping_;
};

}  // namespace rampart::agent

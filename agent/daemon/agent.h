// rampartd's core: applies bundles (from the control plane or the
// last-known-good file) to the datapath, serves the local API, and keeps the
// control-plane stream. Bundle application is serialised by one mutex.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/api/local_api_server.h"
#include "agent/daemon/last_known_good.h"
#include "agent/datapath/datapath.h"
#include "agent/sync/control_plane_client.h"

namespace rampart::agent {

struct AgentOptions {
  std::string node_name;
  std::string state_dir = "/var/lib/rampart";
  std::string api_socket = api::kDefaultAgentSocket;
  datapath::DatapathOptions datapath;
  std::optional<sync::ControlPlaneOptions> control_plane;  // nullopt: local only
};

class Agent {
 public:
  static absl::StatusOr<std::unique_ptr<Agent>> Start(AgentOptions options);
  ~Agent();

  // Validates, checks against this node, compiles and applies `bundle`, then
  // saves it as last-known-good. Returns the errors; nothing changes on error.
  std::vector<v1::PolicyError> ApplyBundle(const v1::PolicyBundle& bundle, const std::string& source);
  v1::AgentStatus Status();

 private:
  explicit Agent(AgentOptions options) : options_(std::move(options)), lkg_(options_.state_dir) {}

  AgentOptions options_;
  LastKnownGood lkg_;
  std::mutex mu_;  // guards datapath_ and the fields below
  std::unique_ptr<datapath::Datapath> datapath_;
  uint64_t applied_version_ = 0;
  std::string policy_source_;
  std::string last_policy_error_;
  std::unique_ptr<api::LocalApiServer> api_;
  std::unique_ptr<sync::ControlPlaneClient> control_plane_;
};

}  // namespace rampart::agent

// A rampart-cp server started for one measurement: its own state directory and
// admin socket, agents served on 127.0.0.1 at a free port with the legacy
// --cert/--key/--client-ca flags. Ended (SIGTERM, then SIGKILL) by its PID
// when the object goes, and killed by the kernel if this process dies first.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "controlplane/loadtest/fleet_pki.h"
#include "rampart/v1/admin.grpc.pb.h"

namespace rampart::cp::load {

struct ControlPlaneOptions {
  std::string binary;               // the rampart-cp to run
  std::optional<double> push_rate;  // serve --push-rate; nullopt: its default
};

// From /proc/PID/status.
struct ProcessUsage {
  long rss_kib = 0;
  long threads = 0;
};

class ControlPlaneProcess {
 public:
  // Starts the server in `dir` (created by the caller, removed by the caller)
  // and returns once its admin socket answers.
  static absl::StatusOr<std::unique_ptr<ControlPlaneProcess>> Start(const ControlPlaneOptions& options,
                                                                    const FleetPki& pki, const std::string& dir);
  ~ControlPlaneProcess();
  ControlPlaneProcess(const ControlPlaneProcess&) = delete;
  ControlPlaneProcess& operator=(const ControlPlaneProcess&) = delete;

  const std::string& agent_target() const { return agent_target_; }  // "127.0.0.1:PORT"
  v1::PolicyAdmin::Stub& admin() { return *admin_; }
  absl::StatusOr<ProcessUsage> Usage() const;
  // The end of its log, for error messages.
  std::string LogTail() const;

 private:
  ControlPlaneProcess(pid_t pid, std::string target, std::string log, std::string admin_socket);

  pid_t pid_;
  const std::string agent_target_;
  const std::string log_;
  std::unique_ptr<v1::PolicyAdmin::Stub> admin_;
};

}  // namespace rampart::cp::load

// AgentSync (proto/rampart/v1/sync.proto) on the control plane's side. The
// node's identity is its client certificate's common name; the hello must
// carry the same name. A version an agent refused is not sent to it again
// until the node's bundle changes.
#pragma once

#include "controlplane/service/fleet.h"
#include "rampart/v1/sync.grpc.pb.h"

namespace rampart::cp {

class SyncService final : public v1::AgentSync::Service {
 public:
  explicit SyncService(Fleet& fleet) : fleet_(fleet) {}
  grpc::Status Sync(grpc::ServerContext* context,
                    grpc::ServerReaderWriter<v1::ControlMessage, v1::AgentMessage>* stream) override;

 private:
  Fleet& fleet_;
};

}  // namespace rampart::cp

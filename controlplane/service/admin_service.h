// PolicyAdmin (proto/rampart/v1/admin.proto): applies validated policy sets
// to the store and publishes them to the fleet.
#pragma once

#include "controlplane/service/fleet.h"
#include "controlplane/store/policy_store.h"
#include "rampart/v1/admin.grpc.pb.h"

namespace rampart::cp {

class AdminService final : public v1::PolicyAdmin::Service {
 public:
  AdminService(PolicyStore& store, Fleet& fleet) : store_(store), fleet_(fleet) {}
  grpc::Status Apply(grpc::ServerContext*, const v1::ApplyRequest* request, v1::ApplyReply* reply) override;
  grpc::Status Get(grpc::ServerContext*, const v1::GetRequest*, v1::GetReply* reply) override;
  grpc::Status ListNodes(grpc::ServerContext*, const v1::ListNodesRequest*, v1::ListNodesReply* reply) override;

 private:
  PolicyStore& store_;
  Fleet& fleet_;
  std::mutex apply_mu_;  // one apply at a time: read current, compare, append
};

}  // namespace rampart::cp

// PolicyAdmin (proto/rampart/v1/admin.proto): validates policy sets, stores
// them as new versions, and hands each stored version to the fleet. Policies
// are stored in name order, and a set equal to the current version (as
// controlplane/policy/policy_diff.h defines equal) stores nothing.
#pragma once

#include <mutex>

#include "controlplane/service/fleet.h"
#include "controlplane/store/store.h"
#include "rampart/v1/admin.grpc.pb.h"

namespace rampart::cp {

class AdminService final : public v1::PolicyAdmin::Service {
 public:
  // History without a limit lists this many versions, and never more than kMaxHistory.
  static constexpr uint32_t kDefaultHistory = 20;
  static constexpr uint32_t kMaxHistory = 10'000;

  AdminService(Store& store, Fleet& fleet) : store_(store), fleet_(fleet) {}
  grpc::Status Apply(grpc::ServerContext*, const v1::ApplyRequest* request, v1::ApplyReply* reply) override;
  grpc::Status Diff(grpc::ServerContext*, const v1::DiffRequest* request, v1::DiffReply* reply) override;
  grpc::Status Get(grpc::ServerContext*, const v1::GetRequest*, v1::GetReply* reply) override;
  grpc::Status History(grpc::ServerContext*, const v1::HistoryRequest* request, v1::HistoryReply* reply) override;
  grpc::Status Rollback(grpc::ServerContext*, const v1::RollbackRequest* request, v1::ApplyReply* reply) override;
  grpc::Status ListNodes(grpc::ServerContext*, const v1::ListNodesRequest*, v1::ListNodesReply* reply) override;

 private:
  // Stores `policies` (validated, in name order) unless they equal the current
  // version; `expected_version` as in Store::Append.
  grpc::Status StoreVersion(const std::vector<v1::Policy>& policies, const std::string& author,
                            const std::string& message, uint64_t expected_version, v1::ApplyReply* reply);

  Store& store_;
  Fleet& fleet_;
  std::mutex apply_mu_;  // one write at a time in this process: read current, compare, append
};

}  // namespace rampart::cp

#include "controlplane/service/admin_service.h"

#include "agent/common/logging.h"
#include "agent/policy/validate.h"

namespace rampart::cp {
namespace {

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace

grpc::Status AdminService::Apply(grpc::ServerContext*, const v1::ApplyRequest* request, v1::ApplyReply* reply) {
  std::vector<v1::Policy> policies(request->policies().begin(), request->policies().end());
  if (absl::Status st = policy::ValidatePolicySet(policies); !st.ok()) return ToGrpc(st);

  std::lock_guard lock(apply_mu_);
  auto current = store_.Current();
  if (!current.ok()) return ToGrpc(current.status());
  v1::PolicyVersion candidate;
  for (const auto& p : policies) *candidate.add_policies() = p;
  if (current->version() != 0 && candidate.policies().size() == current->policies().size()) {
    bool same = true;
    for (int i = 0; i < candidate.policies_size() && same; ++i) {
      same = candidate.policies(i).SerializeAsString() == current->policies(i).SerializeAsString();
    }
    if (same) {
      reply->set_version(current->version());
      reply->set_changed(false);
      return grpc::Status::OK;
    }
  }
  auto stored = store_.Append(policies, request->author(), request->message());
  if (!stored.ok()) return ToGrpc(stored.status());
  Logger("store")->info("policy version {} stored ({} policies, by {})", stored->version(), stored->policies_size(),
                        stored->author());
  reply->set_version(stored->version());
  reply->set_changed(true);
  fleet_.Publish(*stored);
  return grpc::Status::OK;
}

grpc::Status AdminService::Get(grpc::ServerContext*, const v1::GetRequest*, v1::GetReply* reply) {
  auto current = store_.Current();
  if (!current.ok()) return ToGrpc(current.status());
  *reply->mutable_current() = *current;
  return grpc::Status::OK;
}

grpc::Status AdminService::ListNodes(grpc::ServerContext*, const v1::ListNodesRequest*, v1::ListNodesReply* reply) {
  *reply = fleet_.Nodes();
  return grpc::Status::OK;
}

}  // namespace rampart::cp

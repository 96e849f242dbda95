#include "controlplane/service/admin_service.h"

#include <algorithm>

#include "agent/common/logging.h"
#include "agent/common/strings.h"
#include "agent/policy/validate.h"
#include "controlplane/policy/policy_diff.h"

namespace rampart::cp {
namespace {

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace

grpc::Status AdminService::Apply(grpc::ServerContext*, const v1::ApplyRequest* request, v1::ApplyReply* reply) {
  std::vector<v1::Policy> policies(request->policies().begin(), request->policies().end());
  if (absl::Status st = policy::ValidatePolicySet(policies); !st.ok()) return ToGrpc(st);
  return StoreVersion(SortedByName(std::move(policies)), request->author(), request->message(),
                      request->has_expected_version() ? request->expected_version() : kAnyVersion, reply);
}

grpc::Status AdminService::StoreVersion(const std::vector<v1::Policy>& policies, const std::string& author,
                                        const std::string& message, uint64_t expected_version,
                                        v1::ApplyReply* reply) {
  std::lock_guard lock(apply_mu_);
  auto current = store_.Current();
  if (!current.ok()) return ToGrpc(current.status());
  // The store checks again when appending: another replica may write in between.
  if (expected_version != kAnyVersion && expected_version != current->version()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        StrCat("policy changed since version ", expected_version, ": now ", current->version()));
  }
  *reply->mutable_diff() = DiffPolicies(*current, policies);
  if (!HasChanges(reply->diff())) {
    reply->set_version(current->version());
    reply->set_changed(false);
    return grpc::Status::OK;
  }
  auto stored = store_.Append(policies, author.empty() ? "unknown" : author, message, expected_version);
  if (!stored.ok()) return ToGrpc(stored.status());
  Logger("store")->info("policy version {} stored by {}: {}", stored->version(), stored->author(),
                        DiffSummary(reply->diff()));
  reply->set_version(stored->version());
  reply->set_changed(true);
  fleet_.Publish(*stored);
  return grpc::Status::OK;
}

grpc::Status AdminService::Diff(grpc::ServerContext*, const v1::DiffRequest* request, v1::DiffReply* reply) {
  std::vector<v1::Policy> policies(request->policies().begin(), request->policies().end());
  if (absl::Status st = policy::ValidatePolicySet(policies); !st.ok()) return ToGrpc(st);
  auto current = store_.Current();
  if (!current.ok()) return ToGrpc(current.status());
  *reply->mutable_diff() = DiffPolicies(*current, policies);
  return grpc::Status::OK;
}

grpc::Status AdminService::Get(grpc::ServerContext*, const v1::GetRequest*, v1::GetReply* reply) {
  auto current = store_.Current();
  if (!current.ok()) return ToGrpc(current.status());
  *reply->mutable_current() = *current;
  return grpc::Status::OK;
}

grpc::Status AdminService::History(grpc::ServerContext*, const v1::HistoryRequest* request,
                                   v1::HistoryReply* reply) {
  const uint32_t limit = request->limit() == 0 ? kDefaultHistory : std::min(request->limit(), kMaxHistory);
  auto history = store_.History(limit);
  if (!history.ok()) return ToGrpc(history.status());
  for (v1::PolicyVersion& version : *history) {
    version.clear_policies();
    *reply->add_versions() = std::move(version);
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::Rollback(grpc::ServerContext*, const v1::RollbackRequest* request,
                                    v1::ApplyReply* reply) {
  if (request->version() == 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "rollback needs a version of 1 or more");
  }
  auto target = store_.Get(request->version());
  if (!target.ok()) {
    if (target.status().code() != absl::StatusCode::kNotFound) return ToGrpc(target.status());
    auto current = store_.Current();
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        StrCat("no policy version ", request->version(),
                               current.ok() ? StrCat(" (the newest is ", current->version(), ")") : ""));
  }
  std::vector<v1::Policy> policies(target->policies().begin(), target->policies().end());
  // Stored versions were valid when stored; the checks may have grown stricter since.
  if (absl::Status st = policy::ValidatePolicySet(policies); !st.ok()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        StrCat("version ", request->version(), " does not pass today's checks: ", MessageOf(st)));
  }
  const std::string message =
      request->message().empty() ? StrCat("rollback to version ", request->version()) : request->message();
  return StoreVersion(SortedByName(std::move(policies)), request->author(), message,
                      request->has_expected_version() ? request->expected_version() : kAnyVersion, reply);
}

grpc::Status AdminService::ListNodes(grpc::ServerContext*, const v1::ListNodesRequest*, v1::ListNodesReply* reply) {
  *reply = fleet_.Nodes();
  return grpc::Status::OK;
}

}  // namespace rampart::cp

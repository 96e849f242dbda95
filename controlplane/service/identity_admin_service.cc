#include "controlplane/service/identity_admin_service.h"

#include <chrono>

#include "agent/common/logging.h"
#include "agent/common/utc_time.h"
#include "controlplane/pki/enrollment_service.h"
#include "controlplane/pki/join_tokens.h"
#include "controlplane/pki/node_authenticator.h"

namespace rampart::cp {
namespace {

constexpr std::chrono::seconds kMaxTokenTtl = std::chrono::hours(24 * 7);

grpc::Status NoCa() {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                      "this control plane runs with static certificates (--cert/--key/--client-ca): it issues no "
                      "join tokens and keeps no node list; run `rampart-cp ca init` and serve with --ca-dir");
}

}  // namespace

grpc::Status IdentityAdminService::CreateJoinToken(grpc::ServerContext*, const v1::CreateJoinTokenRequest* request,
                                                   v1::CreateJoinTokenReply* reply) {
  if (ca_ == nullptr) return NoCa();
  const std::chrono::seconds ttl(request->ttl_seconds());
  if (ttl <= std::chrono::seconds(0) || ttl > kMaxTokenTtl) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "--ttl " + std::to_string(request->ttl_seconds()) + "s: must be more than 0 and at most 168h");
  }
  auto token = cp::CreateJoinToken(store_, ca_->pin(), advertise_, ttl, request->description(),
                                   std::chrono::system_clock::now());
  if (!token.ok()) return ToGrpcStatus(token.status());
  auto record = store_.GetJoinToken(token->id);
  if (!record.ok()) return ToGrpcStatus(record.status());
  reply->set_token(token->ToString());
  reply->set_id(token->id);
  reply->set_expires_unix_ms(record->expires_unix_ms());
  Logger("identity")->info("join token {} created (valid until {}){}", token->id,
                           FormatUtcMs(record->expires_unix_ms()),
                           request->description().empty() ? "" : ": " + request->description());
  return grpc::Status::OK;
}

grpc::Status IdentityAdminService::DeleteNode(grpc::ServerContext*, const v1::DeleteNodeRequest* request,
                                              v1::DeleteNodeReply*) {
  if (ca_ == nullptr) return NoCa();
  if (absl::Status st = RevokeNode(store_, request->name(), std::chrono::system_clock::now()); !st.ok()) {
    return ToGrpcStatus(st);
  }
  Logger("identity")->info("node {} deleted: its certificates are refused from now on", request->name());
  if (on_delete_) on_delete_(request->name());
  return grpc::Status::OK;
}

}  // namespace rampart::cp

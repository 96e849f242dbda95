#include "controlplane/pki/enrollment_service.h"

#include "agent/common/errors.h"
#include "agent/common/logging.h"
#include "agent/common/strings.h"
#include "agent/common/utc_time.h"
#include "agent/enroll/node_identity.h"
#include "controlplane/pki/join_tokens.h"

namespace rampart::cp {
namespace {

Clock OrSystemClock(const Clock& clock) {
  if (clock) return clock;
  return [] { return std::chrono::system_clock::now(); };
}

}  // namespace

EnrollmentService::EnrollmentService(const CertificateAuthority& ca, Store& store, EnrollmentOptions options)
    : ca_(ca),
      store_(store),
      options_(std::move(options)),
      clock_(OrSystemClock(options_.clock)),
      authenticator_(ca, store, clock_) {}

void EnrollmentService::Fill(const IssuedCertificate& issued, v1::IssuedIdentity* identity) const {
  identity->set_certificate_chain_pem(issued.chain_pem);
  identity->set_ca_pem(ca_.certificate_pem());
  identity->set_spiffe_id(issued.spiffe_id);
  identity->set_serial_hex(issued.serial_hex);
  identity->set_not_after_unix_ms(UnixMs(issued.not_after));
}

grpc::Status EnrollmentService::Join(grpc::ServerContext* context, const v1::JoinRequest* request,
                                     v1::JoinReply* reply) {
  auto log = Logger("enroll");
  const std::string& node = request->node_name();
  // Everything that can be checked without the token is checked first, so a
  // malformed request does not burn a one-time token.
  if (absl::Status name = identity::ValidateNodeName(node); !name.ok()) return ToGrpcStatus(name);
  if (auto csr = x509::ParseCsrPem(request->csr_pem()); !csr.ok()) return ToGrpcStatus(csr.status());

  std::lock_guard lock(join_mu_);
  auto existing = store_.GetNode(node);
  if (existing.ok() && !existing->revoked()) {
    return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                        StrCat("node \"", node,
                               "\" is already enrolled; to enroll this machine under that name, "
                               "first run rampart-cp node delete ",
                               node));
  }
  if (!existing.ok() && !absl::IsNotFound(existing.status())) return ToGrpcStatus(existing.status());

  const x509::TimePoint now = clock_();
  auto token = RedeemJoinToken(store_, request->token_id(), request->token_secret(), node, now);
  if (!token.ok()) {
    log->warn("join of node {} from {} refused: {}", node, context->peer(), std::string(token.status().message()));
    return ToGrpcStatus(token.status());
  }
  const int64_t enrollment = UnixMs(now);
  auto issued = ca_.IssueAgentCertificate(request->csr_pem(), node, enrollment, options_.certificates);
  if (!issued.ok()) return ToGrpcStatus(issued.status());

  v1::NodeRecord record;
  record.set_name(node);
  record.mutable_labels()->insert(request->labels().begin(), request->labels().end());
  record.set_enrolled_unix_ms(enrollment);
  record.add_cert_serials(issued->serial_hex);
  if (absl::Status put = store_.PutNode(record); !put.ok()) return ToGrpcStatus(put);
  Fill(*issued, reply->mutable_identity());
  log->info("node {} joined with token {} from {}{}: certificate {} valid until {}", node, request->token_id(),
            context->peer(), existing.ok() ? " (re-enrolled after revocation)" : "", issued->serial_hex,
            FormatUtc(issued->not_after));
  return grpc::Status::OK;
}

grpc::Status EnrollmentService::Renew(grpc::ServerContext* context, const v1::RenewRequest* request,
                                      v1::RenewReply* reply) {
  auto log = Logger("enroll");
  auto peer = authenticator_.Authenticate(*context);
  if (!peer.ok()) {
    log->warn("renewal from {} refused: {}", context->peer(), std::string(peer.status().message()));
    return ToGrpcStatus(peer.status());
  }
  auto node = store_.GetNode(peer->name);
  if (!node.ok()) return ToGrpcStatus(node.status());
  // The names come from the authenticated certificate, never from the CSR.
  auto issued =
      ca_.IssueAgentCertificate(request->csr_pem(), peer->name, node->enrolled_unix_ms(), options_.certificates);
  if (!issued.ok()) return ToGrpcStatus(issued.status());
  Fill(*issued, reply->mutable_identity());
  log->info("node {} renewed certificate {} -> {} (valid until {})", peer->name, peer->serial_hex, issued->serial_hex,
            FormatUtc(issued->not_after));
  return grpc::Status::OK;
}

absl::Status RevokeNode(Store& store, const std::string& node, x509::TimePoint now) {
  auto record = store.GetNode(node);
  if (absl::IsNotFound(record.status())) return absl::NotFoundError(StrCat("node \"", node, "\" never joined"));
  if (!record.ok()) return record.status();
  if (record->revoked()) return absl::OkStatus();
  record->set_revoked(true);
  record->set_revoked_unix_ms(UnixMs(now));
  RAMPART_RETURN_IF_ERROR(store.PutNode(*record));
  Logger("enroll")->info("node {} revoked", node);
  return absl::OkStatus();
}

}  // namespace rampart::cp

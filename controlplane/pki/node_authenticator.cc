#include "controlplane/pki/node_authenticator.h"

#include <grpcpp/grpcpp.h>

#include "agent/common/strings.h"
#include "agent/common/utc_time.h"
#include "agent/enroll/node_identity.h"
#include "controlplane/pki/join_tokens.h"

namespace rampart::cp {

NodeAuthenticator::NodeAuthenticator(const CertificateAuthority& ca, Store& store, Clock clock)
    : ca_(ca), store_(store), clock_(clock ? std::move(clock) : [] { return std::chrono::system_clock::now(); }) {}

absl::StatusOr<PeerNode> NodeAuthenticator::Authenticate(const grpc::ServerContext& context) const {
  auto auth = context.auth_context();
  return Authenticate(auth.get());
}

absl::StatusOr<PeerNode> NodeAuthenticator::Authenticate(const grpc::AuthContext* auth) const {
  std::vector<grpc::string_ref> pems;
  if (auth != nullptr) pems = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pems.empty()) {
    return absl::UnauthenticatedError(
        "no client certificate: this call needs the node's certificate (join the fleet first: rampartd --join)");
  }
  auto cert =
      x509::ParseCertificatePem(std::string_view(pems.front().data(), pems.front().size()), "client certificate");
  if (!cert.ok()) return absl::UnauthenticatedError(std::string(cert.status().message()));
  const x509::TimePoint now = clock_();
  if (x509::NotAfter(cert->get()) <= now) {
    return absl::UnauthenticatedError(
        StrCat("client certificate expired at ", FormatUtc(x509::NotAfter(cert->get()))));
  }
  if (absl::Status chain = x509::VerifyChain(cert->get(), {}, ca_.certificate(), now); !chain.ok()) {
    return absl::UnauthenticatedError(StrCat("client certificate: ", chain.message()));
  }
  if (!x509::HasClientAuth(cert->get())) {
    return absl::PermissionDeniedError("the certificate is not a node certificate (no clientAuth usage)");
  }
  std::vector<std::string> spiffe;
  for (std::string& uri : x509::UriSans(cert->get())) {
    if (uri.rfind("spiffe://", 0) == 0) spiffe.push_back(std::move(uri));
  }
  if (spiffe.size() != 1) {
    return absl::PermissionDeniedError(StrCat("the certificate is not a node certificate (", spiffe.size(),
                                              " spiffe:// URI SANs, expected one spiffe://", ca_.trust_domain(),
                                              "/agent/NODE)"));
  }
  auto id = identity::ParseNodeSpiffeId(spiffe.front());
  if (!id.ok()) return absl::PermissionDeniedError(std::string(id.status().message()));
  if (id->trust_domain != ca_.trust_domain()) {
    return absl::PermissionDeniedError(StrCat("the certificate is for trust domain \"", id->trust_domain,
                                              "\", this control plane serves \"", ca_.trust_domain(), "\""));
  }
  auto node = store_.GetNode(id->node);
  if (absl::IsNotFound(node.status())) {
    return absl::PermissionDeniedError(StrCat("node \"", id->node, "\" is not enrolled (deleted, or never joined)"));
  }
  if (!node.ok()) return node.status();
  if (node->revoked()) {
    return absl::PermissionDeniedError(StrCat("node \"", id->node, "\" was revoked at ",
                                              FormatUtcMs(node->revoked_unix_ms()), " (rampart-cp node delete)"));
  }
  if (CertificateAuthority::EnrollmentOf(cert->get()) != node->enrolled_unix_ms()) {
    return absl::PermissionDeniedError(StrCat("the certificate belongs to an earlier enrollment of node \"", id->node,
                                              "\" (it joined again at ", FormatUtcMs(node->enrolled_unix_ms()), ")"));
  }
  return PeerNode{id->node, x509::SerialHex(cert->get()), x509::NotAfter(cert->get())};
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace rampart::cp

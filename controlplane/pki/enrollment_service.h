// Enrollment (proto/rampart/v1/enroll.proto): Join turns a one-time join token
// into a node's first certificate; Renew gives an enrolled node a fresh one.
// Register it on the agent port next to AgentSync, with the credentials from
// server_credentials.h. docs/identity.md describes the whole flow.
//
// Join refuses a name that is enrolled and not revoked (a token lets a
// machine in, it does not let it take over another node's name). A revoked
// name can join again with a new token: that starts a new enrollment, and
// certificates from the old one stay refused (NodeAuthenticator).
//
// Renew does not write the store, so a renewal can never undo a concurrent
// revocation (the store has no compare-and-set for nodes). The node record
// therefore lists the serial issued at Join; renewals are logged.
#pragma once

#include <mutex>

#include "controlplane/pki/certificate_authority.h"
#include "controlplane/pki/node_authenticator.h"
#include "controlplane/store/store.h"
#include "rampart/v1/enroll.grpc.pb.h"

namespace rampart::cp {

struct EnrollmentOptions {
  AgentCertificatePolicy certificates;
  Clock clock;  // null: the system clock
};

class EnrollmentService final : public v1::Enrollment::Service {
 public:
  // Keeps references: `ca` and `store` must outlive it.
  EnrollmentService(const CertificateAuthority& ca, Store& store, EnrollmentOptions options = {});

  grpc::Status Join(grpc::ServerContext* context, const v1::JoinRequest* request, v1::JoinReply* reply) override;
  grpc::Status Renew(grpc::ServerContext* context, const v1::RenewRequest* request, v1::RenewReply* reply) override;

 private:
  void Fill(const IssuedCertificate& issued, v1::IssuedIdentity* identity) const;

  const CertificateAuthority& ca_;
  Store& store_;
  const EnrollmentOptions options_;
  const Clock clock_;
  const NodeAuthenticator authenticator_;
  std::mutex join_mu_;  // one Join at a time: the name check and the record write go together
};

// `rampart-cp node delete`: marks the node revoked. From then on its
// certificates are refused on every new call (NodeAuthenticator) and it cannot
// renew; streams it already has end within the maximum connection age
// (server_credentials.h). NotFound when no such node ever joined; revoking a
// revoked node again is fine.
absl::Status RevokeNode(Store& store, const std::string& node, x509::TimePoint now);

}  // namespace rampart::cp

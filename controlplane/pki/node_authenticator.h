// Who is calling: the node named by the caller's client certificate. Every
// agent-facing RPC except Enrollment.Join must go through Authenticate, because
// the agent port accepts TLS connections without a client certificate (for
// Join) and gRPC itself therefore lets such calls through.
//
// A certificate names a node when it chains to the fleet CA and is valid now
// (checked again here, not only in the handshake: a connection can outlive
// its certificate), has clientAuth usage and exactly one URI SAN
// spiffe://<trust domain>/agent/<node>; and the node must be enrolled, not
// revoked, under the same enrollment the certificate was issued for (so
// certificates from before a `node delete` stay dead after a re-join).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "controlplane/pki/certificate_authority.h"
#include "controlplane/store/store.h"

namespace grpc {
class AuthContext;
class ServerContext;
class Status;
}  // namespace grpc

namespace rampart::cp {

struct PeerNode {
  std::string name;
  std::string serial_hex;
  x509::TimePoint not_after;
};

class NodeAuthenticator {
 public:
  // Keeps references: `ca` and `store` must outlive it. Thread-safe.
  NodeAuthenticator(const CertificateAuthority& ca, Store& store, Clock clock = nullptr);

  // Unauthenticated: no certificate, or one that does not verify (with
  // OpenSSL's reason). PermissionDenied: a valid certificate that names no
  // node, another trust domain, or a node that is unknown, revoked or
  // re-enrolled. Other codes: the store failed.
  absl::StatusOr<PeerNode> Authenticate(const grpc::AuthContext* auth) const;
  absl::StatusOr<PeerNode> Authenticate(const grpc::ServerContext& context) const;

 private:
  const CertificateAuthority& ca_;
  Store& store_;
  const Clock clock_;
};

// The same code and message as a gRPC status (absl and gRPC codes coincide).
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace rampart::cp

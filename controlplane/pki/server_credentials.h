// TLS for the agent-facing port. One port serves Enrollment.Join (the caller
// has no certificate yet) and the mutual-TLS calls (Renew, Sync), so the
// handshake asks for a client certificate without requiring one, and refuses
// any certificate that does not chain to the fleet CA. Plaintext is refused by
// the TLS layer. Calls other than Join must check the caller themselves
// (NodeAuthenticator).
//
// The server's own certificate and the CA are reloaded from their files every
// `refresh_interval` (gRPC's FileWatcherCertificateProvider), so a replaced
// server.pem takes effect without a restart.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace grpc {
class ServerBuilder;
class ServerCredentials;
}  // namespace grpc

namespace rampart::cp {

struct AgentPortTls {
  std::string cert_file;       // the server certificate chain (PEM)
  std::string key_file;        // its private key; may be the same file as cert_file
  std::string client_ca_file;  // the fleet CA: the only issuer of client certificates
  std::chrono::seconds refresh_interval{60};

  // server.pem (certificate, CA and key in one file) and ca.pem in a CA
  // directory made by CertificateAuthority::Init and WriteServerIdentity.
  static AgentPortTls FromCaDirectory(const std::string& ca_dir);
};

// Checks the files now (readable, a certificate and its key, a CA), so a
// mistake is one clear error at startup rather than failed handshakes later.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> AgentServerCredentials(const AgentPortTls& tls);

// Connections live at most this long (plus the grace for calls in flight),
// so agents reconnect regularly: a renewed certificate is in use within the
// hour and a revoked node loses its stream. Keep it well below the agent
// certificate lifetime (24 h by default).
inline constexpr std::chrono::milliseconds kMaxConnectionAge = std::chrono::hours(1);
inline constexpr std::chrono::milliseconds kMaxConnectionAgeGrace = std::chrono::minutes(1);
void LimitConnectionAge(grpc::ServerBuilder& builder, std::chrono::milliseconds age = kMaxConnectionAge,
                        std::chrono::milliseconds grace = kMaxConnectionAgeGrace);

}  // namespace rampart::cp

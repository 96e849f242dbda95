// TLS handshakes of our own, outside gRPC, for two things gRPC cannot do:
//
// Trust on first contact, bounded by a pin: before a node has any certificate
// it fetches the chain the control plane presents WITHOUT trusting it, and
// keeps only the CA whose public key matches the pin from the join token.
//
// Saying that a client certificate was refused: gRPC reports that as
// "Socket closed", the same as a control plane going away.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/enroll/x509.h"

namespace rampart::enroll {

struct HostPort {
  std::string host;  // without brackets for IPv6
  std::string port;
};
// "host:port" or "[v6]:port".
absl::StatusOr<HostPort> SplitHostPort(const std::string& address);

// One TLS handshake with `address` that verifies nothing and sends no client
// certificate; returns the certificates the server sent, leaf first.
// `server_name` goes into SNI (empty: the host of `address`).
absl::StatusOr<std::vector<x509::Cert>> FetchServerChain(const std::string& address, const std::string& server_name,
                                                         std::chrono::milliseconds timeout);

// The certificate in `chain` whose SubjectPublicKeyInfo hashes to `pin`,
// provided it is a CA and the leaf chains to it. PermissionDenied
// "CA pin mismatch: expected sha256:..., server presented sha256:..., ..."
// when no certificate matches.
absl::StatusOr<x509::Cert> PinnedCa(const std::vector<x509::Cert>& chain, const std::string& pin);

// Tells a refused client certificate from an unreachable control plane:
// a TLS 1.2 handshake without a certificate, then one presenting `leaf` and
// its `key`. OK when the server accepts it; PermissionDenied "the control
// plane refused this certificate in the TLS handshake" (with the server's
// alert when it sent one; gRPC's server just closes) when only the second
// fails; Unavailable when neither gets through.
absl::Status ProbeClientCertificate(const std::string& address, const std::string& server_name, X509* leaf,
                                    EVP_PKEY* key, std::chrono::milliseconds timeout);

}  // namespace rampart::enroll

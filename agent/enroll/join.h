// Joining the fleet (`rampartd --join TOKEN`): the node makes its key
// locally (it never leaves the machine), trusts the control plane only after
// the CA in its TLS chain matches the token's pin, and trades the one-time
// token and a CSR for its first client certificate. docs/identity.md.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/enroll/x509.h"

namespace rampart::enroll {

// What joining leaves in the agent's state directory.
struct IdentityFiles {
  std::string ca_file;  // ca.pem: the fleet CA, the only root the agent trusts
  // node.pem, 0600: the node certificate, the CA, then the private key. One
  // file, so a renewal swaps key and certificate with one rename and a reader
  // (gRPC's file watcher) never pairs a new key with an old certificate. Use
  // it as both the certificate and the key file.
  std::string identity_file;

  static IdentityFiles In(const std::string& state_dir);
};

struct JoinOptions {
  std::string token;        // as printed by `rampart-cp token create`
  std::string address;      // HOST:PORT of the control plane; empty: the one in the token
  std::string server_name;  // name to verify in its certificate; empty: the host of the address
  std::string node_name;    // lowercase DNS name (agent/enroll/node_identity.h)
  std::map<std::string, std::string> labels;
  std::string state_dir;                                         // created 0700 when missing
  std::chrono::milliseconds timeout = std::chrono::seconds(15);  // per network step
};

struct Enrolled {
  IdentityFiles files;
  std::string spiffe_id;
  std::string serial_hex;
  x509::TimePoint not_after;
};

// Joins once. AlreadyExists when the state directory already holds node.pem
// (a second join would burn a token for nothing). PermissionDenied for a CA
// pin mismatch; the control plane's refusals (used or expired token, wrong
// secret, name taken) come back with its message. Nothing is written unless
// the whole exchange succeeded.
absl::StatusOr<Enrolled> JoinFleet(const JoinOptions& options);

// The node's identity as stored, checked the way the control plane will check
// it: the key belongs to the certificate, which names one node, chains to the
// fleet CA in ca.pem and is valid for client authentication at `now`.
// FailedPrecondition says what is wrong and what to do ("/var/lib/rampart/
// node.pem expired at 2024-05-01T12:00:00Z: join again with a new token").
// Call it before connecting: a certificate the control plane refuses in the
// TLS handshake only shows up as "Socket closed" in gRPC.
struct NodeIdentity {
  x509::Cert ca;
  std::vector<x509::Cert> chain;  // leaf first
  x509::Key key;
  std::string spiffe_id;
  std::string serial_hex;
  x509::TimePoint not_after;
};
absl::StatusOr<NodeIdentity> LoadNodeIdentity(const IdentityFiles& files, x509::TimePoint now = {});

// Shared with the renewer: checks an issued chain (the leaf is for `key`,
// chains to `ca` and names `expected_spiffe_id`) and writes node.pem.
absl::StatusOr<Enrolled> InstallIdentity(const IdentityFiles& files, const std::string& chain_pem, EVP_PKEY* key,
                                         X509* ca, const std::string& expected_spiffe_id);

}  // namespace rampart::enroll

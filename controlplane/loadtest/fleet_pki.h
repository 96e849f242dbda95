// Certificates for a simulated fleet: a throwaway CA made by the control
// plane's own CertificateAuthority, the control plane's serving identity for
// 127.0.0.1, and one client certificate per simulated node, issued exactly as
// enrollment issues them (CN=<node>, spiffe://<trust domain>/agent/<node>), so
// each simulated agent has its own TLS identity.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace rampart::cp::load {

struct AgentIdentity {
  std::string node;
  std::string key_pem;
  std::string chain_pem;  // the agent's certificate followed by the CA's
};

struct FleetPki {
  std::string ca_dir;        // CertificateAuthority's directory (ca.pem, ca.key, server.pem)
  std::string ca_pem;        // what agents trust and the server checks clients against
  std::string server_cert;   // file: the serving certificate and the CA certificate (legacy --cert)
  std::string server_key;    // file: its private key (legacy --key)
  std::string client_ca;     // file: ca.pem (legacy --client-ca)
  std::vector<AgentIdentity> agents;
};

// Creates the CA in `dir` (which must not hold one) and issues `agents`
// certificates for nodes "load-00000", "load-00001", ... A P-256 key and a
// signature each: about 10,000 a second on one core.
absl::StatusOr<FleetPki> MakeFleetPki(const std::string& dir, size_t agents);

}  // namespace rampart::cp::load

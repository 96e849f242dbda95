#include "controlplane/loadtest/fleet_pki.h"

#include <cstdio>

#include "agent/common/files.h"
#include "agent/common/strings.h"
#include "agent/enroll/x509.h"
#include "controlplane/pki/certificate_authority.h"

namespace rampart::cp::load {
namespace {

constexpr char kTrustDomain[] = "load.rampart.test";

std::string NodeName(size_t i) {
  char name[32];
  std::snprintf(name, sizeof(name), "load-%05zu", i);
  return name;
}

// server.pem holds the certificate, the CA certificate and the key in one
// file; the legacy serve flags take them apart.
absl::Status SplitServerIdentity(const CertificateAuthority& ca, FleetPki& pki) {
  auto identity = ReadFile(ca.server_identity_file());
  if (!identity.ok()) return identity.status();
  auto chain = x509::ParseCertificateChainPem(*identity, ca.server_identity_file());
  if (!chain.ok()) return chain.status();
  auto key = x509::ParsePrivateKeyPem(*identity, ca.server_identity_file());
  if (!key.ok()) return key.status();
  std::string chain_pem;
  for (const x509::Cert& cert : *chain) {
    auto pem = x509::CertificatePem(cert.get());
    if (!pem.ok()) return pem.status();
    chain_pem += *pem;
  }
  auto key_pem = x509::PrivateKeyPem(key->get());
  if (!key_pem.ok()) return key_pem.status();
  pki.server_cert = ca.dir() + "/server-cert.pem";
  pki.server_key = ca.dir() + "/server-key.pem";
  pki.client_ca = ca.dir() + "/" + CertificateAuthority::kCertFile;
  if (absl::Status st = WriteFileAtomic(pki.server_cert, chain_pem); !st.ok()) return st;
  return WriteFileAtomic(pki.server_key, *key_pem, 0600);
}

}  // namespace

absl::StatusOr<FleetPki> MakeFleetPki(const std::string& dir, size_t agents) {
  auto ca = CertificateAuthority::Init(dir, kTrustDomain);
  if (!ca.ok()) return ca.status();
  if (absl::Status st = (*ca)->WriteServerIdentity({"127.0.0.1"}); !st.ok()) return st;
  FleetPki pki;
  pki.ca_dir = dir;
  pki.ca_pem = (*ca)->certificate_pem();
  if (absl::Status st = SplitServerIdentity(**ca, pki); !st.ok()) return st;

  AgentCertificatePolicy policy;
  policy.lifetime = std::chrono::hours(12);
  pki.agents.reserve(agents);
  for (size_t i = 0; i < agents; ++i) {
    AgentIdentity agent{NodeName(i), "", ""};
    auto key = x509::NewEcKey();
    if (!key.ok()) return key.status();
    auto csr = x509::NewCsrPem(key->get(), agent.node);
    if (!csr.ok()) return csr.status();
    auto issued = (*ca)->IssueAgentCertificate(*csr, agent.node, /*enrollment_unix_ms=*/1, policy);
    if (!issued.ok()) return issued.status();
    auto key_pem = x509::PrivateKeyPem(key->get());
    if (!key_pem.ok()) return key_pem.status();
    agent.key_pem = *std::move(key_pem);
    agent.chain_pem = std::move(issued->chain_pem);
    pki.agents.push_back(std::move(agent));
  }
  return pki;
}

}  // namespace rampart::cp::load

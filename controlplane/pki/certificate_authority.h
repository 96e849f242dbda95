// The control plane's certificate authority: one EC P-256 key and its
// self-signed certificate in a directory. It is the only issuer in the fleet:
// the control plane's serving certificate and every agent's client certificate
// come from it, and agents trust nothing else (they pin its public key).
//
// The CA decides everything that goes into an agent certificate. From a CSR
// it keeps only the public key; names, usages and lifetime are its own.
//
// Directory layout (docs/identity.md):
//   ca.key      the CA private key, 0600. Never leaves the directory.
//   ca.pem      the CA certificate. Its URI SAN "spiffe://<trust domain>"
//               records the trust domain.
//   server.pem  the control plane's certificate, the CA certificate and the
//               private key in one 0600 file, so a replacement swaps the pair
//               with one rename (gRPC reloads it, see server_credentials.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/enroll/x509.h"

namespace rampart::cp {

using Clock = std::function<x509::TimePoint()>;

struct AgentCertificatePolicy {
  std::chrono::seconds lifetime = std::chrono::hours(24);
  // notBefore lies this far in the past, for agents whose clock runs behind.
  std::chrono::seconds backdate = std::chrono::minutes(1);
};

struct IssuedCertificate {
  std::string chain_pem;  // the new certificate followed by the CA certificate
  std::string serial_hex;
  std::string spiffe_id;  // empty for the server certificate
  x509::TimePoint not_after;
};

class CertificateAuthority {
 public:
  static constexpr char kKeyFile[] = "ca.key";
  static constexpr char kCertFile[] = "ca.pem";
  static constexpr char kServerIdentityFile[] = "server.pem";
  static constexpr std::chrono::hours kCaLifetime{24 * 365 * 10};
  static constexpr std::chrono::hours kServerLifetime{24 * 365};

  // Creates the directory (0700) if needed, a new CA key and a self-signed CA
  // certificate for `trust_domain`. AlreadyExists when the directory holds a CA:
  // an existing CA is never overwritten. `clock` defaults to the system clock
  // (tests move it to issue certificates that are already expired).
  static absl::StatusOr<std::unique_ptr<CertificateAuthority>> Init(const std::string& dir,
                                                                    const std::string& trust_domain,
                                                                    Clock clock = nullptr);
  // Loads ca.key and ca.pem and checks they belong together.
  static absl::StatusOr<std::unique_ptr<CertificateAuthority>> Load(const std::string& dir, Clock clock = nullptr);

  const std::string& dir() const { return dir_; }
  const std::string& trust_domain() const { return trust_domain_; }
  const std::string& certificate_pem() const { return cert_pem_; }
  X509* certificate() const { return cert_.get(); }
  // "sha256:<hex>" of the CA's SubjectPublicKeyInfo: what join tokens pin.
  const std::string& pin() const { return pin_; }
  std::string server_identity_file() const { return dir_ + "/" + kServerIdentityFile; }

  // A serving certificate for the control plane: serverAuth only, SANs from
  // `hosts` (IP addresses become IP SANs, anything else a DNS SAN). Returns
  // the certificate, the CA certificate and a new private key, as one PEM.
  absl::StatusOr<std::string> IssueServerIdentity(const std::vector<std::string>& hosts,
                                                  std::chrono::seconds lifetime = kServerLifetime) const;
  // IssueServerIdentity written to server.pem (0600), replacing any earlier one.
  absl::Status WriteServerIdentity(const std::vector<std::string>& hosts,
                                   std::chrono::seconds lifetime = kServerLifetime) const;

  // An agent's client certificate for `node`. The CSR's self-signature is
  // checked and only its public key is kept. The certificate has subject
  // CN=<node>, OU=enrollment-<enrollment_unix_ms>, the single SAN
  // spiffe://<trust domain>/agent/<node>, EKU clientAuth only, keyUsage
  // digitalSignature, CA:FALSE, a random 128-bit serial, and is valid from
  // now - backdate to now + lifetime. InvalidArgument for a bad node name or CSR.
  absl::StatusOr<IssuedCertificate> IssueAgentCertificate(std::string_view csr_pem, std::string_view node,
                                                          int64_t enrollment_unix_ms,
                                                          const AgentCertificatePolicy& policy) const;

  // The enrollment an agent certificate was issued under (the OU above), or -1.
  static int64_t EnrollmentOf(X509* cert);

 private:
  CertificateAuthority(std::string dir, std::string trust_domain, x509::Key key, x509::Cert cert, std::string cert_pem,
                       std::string pin, Clock clock);

  const std::string dir_;
  const std::string trust_domain_;
  const x509::Key key_;
  const x509::Cert cert_;
  const std::string cert_pem_;
  const std::string pin_;
  const Clock clock_;
};

}  // namespace rampart::cp

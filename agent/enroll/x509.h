// X.509 and key handling shared by the agent's enrolment (agent/enroll) and
// the control plane's CA (controlplane/pki): EC P-256 keys, PKCS#10 requests,
// PEM, certificate fields, CA pins. OpenSSL 3 underneath; every OpenSSL object
// has exactly one owner. Errors name what was being parsed or made and carry
// OpenSSL's own reason ("parse CSR: ... bad base64 decode").
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rampart::x509 {

struct OpenSslFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  void operator()(X509* cert) const { X509_free(cert); }
  void operator()(X509_REQ* csr) const { X509_REQ_free(csr); }
};
using Key = std::unique_ptr<EVP_PKEY, OpenSslFree>;
using Cert = std::unique_ptr<X509, OpenSslFree>;
using Csr = std::unique_ptr<X509_REQ, OpenSslFree>;

using TimePoint = std::chrono::system_clock::time_point;

// `what` followed by OpenSSL's queued errors (the queue is drained).
absl::Status OpenSslError(absl::StatusCode code, std::string_view what);

// --- keys ---
absl::StatusOr<Key> NewEcKey();  // P-256
// Unencrypted PKCS#8 ("-----BEGIN PRIVATE KEY-----").
absl::StatusOr<std::string> PrivateKeyPem(EVP_PKEY* key);
// The first private key in `pem`, skipping other blocks (so a file holding a
// certificate followed by its key parses). `what` names the source in errors.
absl::StatusOr<Key> ParsePrivateKeyPem(std::string_view pem, std::string_view what);
bool SamePublicKey(EVP_PKEY* a, EVP_PKEY* b);
// "sha256:<hex>" of the DER SubjectPublicKeyInfo: the CA pin a join token
// carries (kubeadm's --discovery-token-ca-cert-hash format).
absl::StatusOr<std::string> SpkiPin(EVP_PKEY* key);
absl::StatusOr<std::string> SpkiPin(X509* cert);

// --- certificates ---
absl::StatusOr<std::string> CertificatePem(X509* cert);
// The first certificate in `pem` (other blocks skipped).
absl::StatusOr<Cert> ParseCertificatePem(std::string_view pem, std::string_view what);
// Every certificate in `pem`, in order; InvalidArgument when there is none.
absl::StatusOr<std::vector<Cert>> ParseCertificateChainPem(std::string_view pem, std::string_view what);
Cert CopyOf(X509* cert);  // another reference to the same certificate

std::string SerialHex(X509* cert);  // lowercase, no separators
TimePoint NotBefore(X509* cert);
TimePoint NotAfter(X509* cert);
std::string SubjectCommonName(X509* cert);  // empty when there is none
// The value of the first subject attribute of type `nid` (e.g. NID_organizationalUnitName).
std::string SubjectAttribute(X509* cert, int nid);
std::vector<std::string> UriSans(X509* cert);
bool IsCa(X509* cert);           // basicConstraints CA:TRUE
bool HasClientAuth(X509* cert);  // extendedKeyUsage includes clientAuth
// Checks that `leaf` chains to `root` through `intermediates` at `at` (the
// default, the epoch, means now), with OpenSSL's usual checks (signatures,
// validity, CA flags) and, when `purpose` is not 0, that the leaf may serve it
// (X509_PURPOSE_SSL_CLIENT: what a TLS server checks of a client). The error
// carries OpenSSL's verify reason ("certificate has expired", "unable to get
// local issuer certificate", "unsupported certificate purpose").
absl::Status VerifyChain(X509* leaf, const std::vector<Cert>& intermediates, X509* root, TimePoint at = {},
                         int purpose = 0);

// --- certificate signing requests ---
// A PKCS#10 request for `key`, signed by it. The subject is advisory: the
// control plane sets every name itself.
absl::StatusOr<std::string> NewCsrPem(EVP_PKEY* key, std::string_view common_name);
// Parses a request and checks its self-signature (proof that the sender holds
// the key).
absl::StatusOr<Csr> ParseCsrPem(std::string_view pem);

}  // namespace rampart::x509

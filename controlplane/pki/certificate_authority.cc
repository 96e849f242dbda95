#include "controlplane/pki/certificate_authority.h"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "agent/common/errors.h"
#include "agent/common/files.h"
#include "agent/common/strings.h"
#include "agent/enroll/node_identity.h"

namespace rampart::cp {
namespace {

constexpr std::string_view kEnrollmentPrefix = "enrollment-";

Clock OrSystemClock(Clock clock) {
  if (clock) return clock;
  return [] { return std::chrono::system_clock::now(); };
}

// Positive and exactly 16 bytes long (top bits 01), 126 random bits.
absl::Status SetRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return x509::OpenSslError(absl::StatusCode::kInternal, "random serial");
  bytes[0] = (bytes[0] & 0x3f) | 0x40;
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(BN_bin2bn(bytes, sizeof(bytes), nullptr), BN_free);
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert))) {
    return x509::OpenSslError(absl::StatusCode::kInternal, "set serial");
  }
  return absl::OkStatus();
}

absl::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (ext == nullptr) {
    return x509::OpenSslError(absl::StatusCode::kInternal,
                              StrCat("certificate extension ", OBJ_nid2sn(nid), "=", value));
  }
  const int added = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (added != 1) return x509::OpenSslError(absl::StatusCode::kInternal, "add certificate extension");
  return absl::OkStatus();
}

absl::Status AddSubject(X509_NAME* name, int nid, const std::string& value) {
  if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.c_str()), -1,
                                 -1, 0) != 1) {
    return x509::OpenSslError(absl::StatusCode::kInternal, "certificate subject");
  }
  return absl::OkStatus();
}

struct NewCertificate {
  std::vector<std::pair<int, std::string>> subject;  // (NID, value)
  EVP_PKEY* public_key = nullptr;
  x509::TimePoint not_before, not_after;
  std::vector<std::pair<int, std::string>> extensions;  // (NID, OpenSSL config value)
};

// Builds and signs a certificate. `issuer`/`issuer_key` null: self-signed.
absl::StatusOr<x509::Cert> Sign(const NewCertificate& spec, X509* issuer, EVP_PKEY* issuer_key) {
  x509::Cert cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return x509::OpenSslError(absl::StatusCode::kInternal, "new certificate");
  }
  RAMPART_RETURN_IF_ERROR(SetRandomSerial(cert.get()));
  X509_NAME* subject = X509_get_subject_name(cert.get());
  for (const auto& [nid, value] : spec.subject) RAMPART_RETURN_IF_ERROR(AddSubject(subject, nid, value));
  if (X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : subject) != 1 ||
      X509_set_pubkey(cert.get(), spec.public_key) != 1 ||
      !ASN1_TIME_set(X509_getm_notBefore(cert.get()), std::chrono::system_clock::to_time_t(spec.not_before)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), std::chrono::system_clock::to_time_t(spec.not_after))) {
    return x509::OpenSslError(absl::StatusCode::kInternal, "certificate fields");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : spec.extensions) RAMPART_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, nid, value));
  if (X509_sign(cert.get(), issuer_key ? issuer_key : spec.public_key, EVP_sha256()) <= 0) {
    return x509::OpenSslError(absl::StatusCode::kInternal, "sign certificate");
  }
  return cert;
}

// "DNS:a,IP:1.2.3.4" for the subjectAltName extension.
absl::StatusOr<std::string> HostSans(const std::vector<std::string>& hosts) {
  if (hosts.empty()) return absl::InvalidArgumentError("the server certificate needs at least one host name or IP");
  std::string sans;
  for (const std::string& host : hosts) {
    unsigned char addr[16];
    const bool ip = inet_pton(AF_INET, host.c_str(), addr) == 1 || inet_pton(AF_INET6, host.c_str(), addr) == 1;
    if (!ip) RAMPART_RETURN_IF_ERROR(identity::ValidateDnsName(host, "host"));
    sans += StrCat(sans.empty() ? "" : ",", ip ? "IP:" : "DNS:", host);
  }
  return sans;
}

}  // namespace

CertificateAuthority::CertificateAuthority(std::string dir, std::string trust_domain, x509::Key key, x509::Cert cert,
                                           std::string cert_pem, std::string pin, Clock clock)
    : dir_(std::move(dir)),
      trust_domain_(std::move(trust_domain)),
      key_(std::move(key)),
      cert_(std::move(cert)),
      cert_pem_(std::move(cert_pem)),
      pin_(std::move(pin)),
      clock_(std::move(clock)) {}

absl::StatusOr<std::unique_ptr<CertificateAuthority>> CertificateAuthority::Init(const std::string& dir,
                                                                                 const std::string& trust_domain,
                                                                                 Clock clock) {
  clock = OrSystemClock(std::move(clock));
  RAMPART_RETURN_IF_ERROR(identity::ValidateTrustDomain(trust_domain));
  for (const char* file : {kKeyFile, kCertFile}) {
    const std::string path = dir + "/" + file;
    if (access(path.c_str(), F_OK) == 0) {
      return absl::AlreadyExistsError(StrCat(path, " exists: ", dir, " already holds a CA (refusing to overwrite it)"));
    }
  }
  std::error_code error;
  if (std::filesystem::create_directories(dir, error)) {
    chmod(dir.c_str(), 0700);
  } else if (error) {
    return absl::FailedPreconditionError(StrCat("create CA directory ", dir, ": ", error.message()));
  }

  auto key = x509::NewEcKey();
  if (!key.ok()) return key.status();
  const x509::TimePoint now = clock();
  NewCertificate spec;
  spec.subject = {{NID_organizationName, "rampart"}, {NID_commonName, "rampart CA " + trust_domain}};
  spec.public_key = key->get();
  spec.not_before = now - std::chrono::minutes(1);
  spec.not_after = now + kCaLifetime;
  spec.extensions = {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                     {NID_key_usage, "critical,keyCertSign,cRLSign"},
                     {NID_subject_key_identifier, "hash"},
                     {NID_subject_alt_name, "URI:spiffe://" + trust_domain}};
  auto cert = Sign(spec, nullptr, nullptr);
  if (!cert.ok()) return Annotate(cert.status(), "make CA certificate");
  auto key_pem = x509::PrivateKeyPem(key->get());
  auto cert_pem = x509::CertificatePem(cert->get());
  auto pin = x509::SpkiPin(key->get());
  for (const absl::Status& status : {key_pem.status(), cert_pem.status(), pin.status()}) {
    if (!status.ok()) return status;
  }
  RAMPART_RETURN_IF_ERROR(WriteFileAtomic(dir + "/" + kKeyFile, *key_pem, 0600));
  RAMPART_RETURN_IF_ERROR(WriteFileAtomic(dir + "/" + kCertFile, *cert_pem, 0644));
  return std::unique_ptr<CertificateAuthority>(new CertificateAuthority(
      dir, trust_domain, std::move(*key), std::move(*cert), std::move(*cert_pem), std::move(*pin), std::move(clock)));
}

absl::StatusOr<std::unique_ptr<CertificateAuthority>> CertificateAuthority::Load(const std::string& dir, Clock clock) {
  const std::string key_path = dir + "/" + kKeyFile, cert_path = dir + "/" + kCertFile;
  auto key_pem = ReadFile(key_path);
  if (!key_pem.ok()) return key_pem.status();
  auto cert_pem = ReadFile(cert_path);
  if (!cert_pem.ok()) return cert_pem.status();
  auto key = x509::ParsePrivateKeyPem(*key_pem, key_path);
  if (!key.ok()) return key.status();
  auto cert = x509::ParseCertificatePem(*cert_pem, cert_path);
  if (!cert.ok()) return cert.status();
  if (!x509::SamePublicKey(key->get(), X509_get0_pubkey(cert->get()))) {
    return absl::FailedPreconditionError(StrCat(key_path, " is not the key of the certificate in ", cert_path));
  }
  if (!x509::IsCa(cert->get())) return absl::FailedPreconditionError(StrCat(cert_path, " is not a CA certificate"));
  std::string trust_domain;
  for (const std::string& uri : x509::UriSans(cert->get())) {
    if (uri.rfind("spiffe://", 0) == 0) trust_domain = uri.substr(9);
  }
  if (!identity::ValidateTrustDomain(trust_domain).ok()) {
    return absl::FailedPreconditionError(
        StrCat(cert_path, " names no trust domain (a URI SAN spiffe://DOMAIN); was it made by rampart-cp ca init?"));
  }
  auto pin = x509::SpkiPin(key->get());
  if (!pin.ok()) return pin.status();
  return std::unique_ptr<CertificateAuthority>(
      new CertificateAuthority(dir, std::move(trust_domain), std::move(*key), std::move(*cert), std::move(*cert_pem),
                               std::move(*pin), OrSystemClock(std::move(clock))));
}

absl::StatusOr<std::string> CertificateAuthority::IssueServerIdentity(const std::vector<std::string>& hosts,
                                                                      std::chrono::seconds lifetime) const {
  auto sans = HostSans(hosts);
  if (!sans.ok()) return sans.status();
  auto key = x509::NewEcKey();
  if (!key.ok()) return key.status();
  const x509::TimePoint now = clock_();
  NewCertificate spec;
  spec.subject = {{NID_organizationName, "rampart"}, {NID_commonName, "rampart-cp " + hosts.front()}};
  spec.public_key = key->get();
  spec.not_before = now - std::chrono::minutes(1);
  spec.not_after = now + lifetime;
  spec.extensions = {{NID_basic_constraints, "critical,CA:FALSE"},
                     {NID_key_usage, "critical,digitalSignature"},
                     {NID_ext_key_usage, "serverAuth"},
                     {NID_subject_key_identifier, "hash"},
                     {NID_authority_key_identifier, "keyid:always"},
                     {NID_subject_alt_name, *sans}};
  auto cert = Sign(spec, cert_.get(), key_.get());
  if (!cert.ok()) return Annotate(cert.status(), "make server certificate");
  auto cert_pem = x509::CertificatePem(cert->get());
  if (!cert_pem.ok()) return cert_pem.status();
  auto key_pem = x509::PrivateKeyPem(key->get());
  if (!key_pem.ok()) return key_pem.status();
  return *cert_pem + cert_pem_ + *key_pem;
}

absl::Status CertificateAuthority::WriteServerIdentity(const std::vector<std::string>& hosts,
                                                       std::chrono::seconds lifetime) const {
  auto identity = IssueServerIdentity(hosts, lifetime);
  if (!identity.ok()) return identity.status();
  return WriteFileAtomic(server_identity_file(), *identity, 0600);
}

absl::StatusOr<IssuedCertificate> CertificateAuthority::IssueAgentCertificate(
    std::string_view csr_pem, std::string_view node, int64_t enrollment_unix_ms,
    const AgentCertificatePolicy& policy) const {
  RAMPART_RETURN_IF_ERROR(identity::ValidateNodeName(node));
  auto csr = x509::ParseCsrPem(csr_pem);
  if (!csr.ok()) return csr.status();
  const x509::TimePoint now = clock_();
  IssuedCertificate issued;
  issued.spiffe_id = identity::NodeSpiffeId(trust_domain_, node);
  NewCertificate spec;
  spec.subject = {{NID_organizationName, "rampart"},
                  {NID_organizationalUnitName, StrCat(kEnrollmentPrefix, enrollment_unix_ms)},
                  {NID_commonName, std::string(node)}};
  spec.public_key = X509_REQ_get0_pubkey(csr->get());
  spec.not_before = now - policy.backdate;
  spec.not_after = now + policy.lifetime;
  spec.extensions = {{NID_basic_constraints, "critical,CA:FALSE"},
                     {NID_key_usage, "critical,digitalSignature"},
                     {NID_ext_key_usage, "clientAuth"},
                     {NID_subject_key_identifier, "hash"},
                     {NID_authority_key_identifier, "keyid:always"},
                     {NID_subject_alt_name, "URI:" + issued.spiffe_id}};
  auto cert = Sign(spec, cert_.get(), key_.get());
  if (!cert.ok()) return Annotate(cert.status(), StrCat("make certificate for node ", node));
  auto cert_pem = x509::CertificatePem(cert->get());
  if (!cert_pem.ok()) return cert_pem.status();
  issued.chain_pem = *cert_pem + cert_pem_;
  issued.serial_hex = x509::SerialHex(cert->get());
  issued.not_after = x509::NotAfter(cert->get());
  return issued;
}

int64_t CertificateAuthority::EnrollmentOf(X509* cert) {
  const std::string ou = x509::SubjectAttribute(cert, NID_organizationalUnitName);
  if (ou.rfind(kEnrollmentPrefix, 0) != 0) return -1;
  const std::string digits = ou.substr(kEnrollmentPrefix.size());
  if (digits.empty() || digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(digits);
}

}  // namespace rampart::cp

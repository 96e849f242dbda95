#include "controlplane/pki/server_credentials.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "agent/common/files.h"
#include "agent/common/strings.h"
#include "agent/enroll/x509.h"
#include "controlplane/pki/certificate_authority.h"

namespace rampart::cp {

AgentPortTls AgentPortTls::FromCaDirectory(const std::string& ca_dir) {
  AgentPortTls tls;
  tls.cert_file = tls.key_file = ca_dir + "/" + CertificateAuthority::kServerIdentityFile;
  tls.client_ca_file = ca_dir + "/" + CertificateAuthority::kCertFile;
  return tls;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> AgentServerCredentials(const AgentPortTls& tls) {
  auto cert_pem = ReadFile(tls.cert_file);
  if (!cert_pem.ok()) return cert_pem.status();
  auto key_pem = ReadFile(tls.key_file);
  if (!key_pem.ok()) return key_pem.status();
  auto ca_pem = ReadFile(tls.client_ca_file);
  if (!ca_pem.ok()) return ca_pem.status();
  auto chain = x509::ParseCertificateChainPem(*cert_pem, tls.cert_file);
  if (!chain.ok()) return chain.status();
  auto key = x509::ParsePrivateKeyPem(*key_pem, tls.key_file);
  if (!key.ok()) return key.status();
  if (!x509::SamePublicKey(key->get(), X509_get0_pubkey(chain->front().get()))) {
    return absl::InvalidArgumentError(StrCat(tls.key_file, " is not the key of the certificate in ", tls.cert_file));
  }
  auto ca = x509::ParseCertificatePem(*ca_pem, tls.client_ca_file);
  if (!ca.ok()) return ca.status();
  if (!x509::IsCa(ca->get())) return absl::InvalidArgumentError(StrCat(tls.client_ca_file, " is not a CA certificate"));
  if (tls.refresh_interval.count() < 1) {
    return absl::InvalidArgumentError("certificate refresh interval must be at least one second");
  }

  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      tls.key_file, tls.cert_file, tls.client_ca_file, static_cast<unsigned>(tls.refresh_interval.count()));
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  auto credentials = grpc::experimental::TlsServerCredentials(options);
  if (!credentials) return absl::InternalError("gRPC refused the TLS server options");
  return credentials;
}

void LimitConnectionAge(grpc::ServerBuilder& builder, std::chrono::milliseconds age, std::chrono::milliseconds grace) {
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, static_cast<int>(age.count()));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, static_cast<int>(grace.count()));
}

}  // namespace rampart::cp

#include "tests/controlplane/pki/test_control_plane.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "controlplane/pki/join_tokens.h"

namespace rampart::testing {

grpc::Status RecordingSync::Sync(grpc::ServerContext* context,
                                 grpc::ServerReaderWriter<v1::ControlMessage, v1::AgentMessage>* stream) {
  auto peer = authenticator_.Authenticate(*context);
  if (!peer.ok()) return cp::ToGrpcStatus(peer.status());
  {
    std::lock_guard lock(mu_);
    serials_.push_back(peer->serial_hex);
  }
  changed_.notify_all();
  v1::AgentMessage message;
  while (stream->Read(&message)) {
  }
  return grpc::Status::OK;
}

std::vector<std::string> RecordingSync::Serials() const {
  std::lock_guard lock(mu_);
  return serials_;
}

bool RecordingSync::WaitForSerial(const std::string& serial, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout,
                           [&] { return std::find(serials_.begin(), serials_.end(), serial) != serials_.end(); });
}

TestControlPlane::TestControlPlane(ControlPlaneOptions options) {
  if (dir_.path().empty()) {
    error_ = std::string("mkdtemp: ") + std::strerror(errno);
    return;
  }
  auto store = cp::SqliteStore::Open(dir_.path() + "/store.db");
  if (!store.ok()) {
    error_ = std::string(store.status().message());
    return;
  }
  store_ = std::move(*store);
  auto ca = cp::CertificateAuthority::Init(dir_.path() + "/ca", kTrustDomain,
                                           [this] { return std::chrono::system_clock::now() + ca_offset_.load(); });
  if (!ca.ok()) {
    error_ = std::string(ca.status().message());
    return;
  }
  ca_ = std::move(*ca);
  if (absl::Status written = ca_->WriteServerIdentity({"localhost", "127.0.0.1"}); !written.ok()) {
    error_ = std::string(written.message());
    return;
  }
  cp::Clock service_clock = [this] { return std::chrono::system_clock::now() + service_offset_.load(); };
  authenticator_ = std::make_unique<cp::NodeAuthenticator>(*ca_, *store_, service_clock);
  enrollment_ = std::make_unique<cp::EnrollmentService>(*ca_, *store_,
                                                        cp::EnrollmentOptions{options.certificates, service_clock});
  sync_ = std::make_unique<RecordingSync>(*authenticator_);

  cp::AgentPortTls tls = cp::AgentPortTls::FromCaDirectory(ca_->dir());
  tls.refresh_interval = std::chrono::seconds(1);
  auto credentials = cp::AgentServerCredentials(tls);
  if (!credentials.ok()) {
    error_ = std::string(credentials.status().message());
    return;
  }
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", *credentials, &port_);
  cp::LimitConnectionAge(builder, options.max_connection_age, options.max_connection_age_grace);
  builder.RegisterService(enrollment_.get());
  builder.RegisterService(sync_.get());
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) error_ = "the test control plane did not start on 127.0.0.1";
}

TestControlPlane::~TestControlPlane() {
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

identity::JoinToken TestControlPlane::NewToken(std::chrono::seconds ttl) {
  auto token = cp::CreateJoinToken(*store_, ca_->pin(), address(), ttl, "test",
                                   std::chrono::system_clock::now() + service_offset_.load());
  EXPECT_TRUE(token.ok()) << token.status();
  return token.ok() ? *token : identity::JoinToken{};
}

std::shared_ptr<grpc::ChannelCredentials> TlsClient(const std::string& ca_pem, const std::string& chain_pem,
                                                    const std::string& key_pem) {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ca_pem;
  tls.pem_cert_chain = chain_pem;
  tls.pem_private_key = key_pem;
  return grpc::SslCredentials(tls);
}

std::unique_ptr<v1::Enrollment::Stub> EnrollmentStub(const std::string& address,
                                                     std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  // Every stub its own connection: a test about handshakes must not reuse one.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return v1::Enrollment::NewStub(grpc::CreateCustomChannel(address, credentials, args));
}

KeyAndCsr NewKeyAndCsr(const std::string& common_name) {
  KeyAndCsr out;
  auto key = x509::NewEcKey();
  EXPECT_TRUE(key.ok()) << key.status();
  if (!key.ok()) return out;
  out.key = std::move(*key);
  auto key_pem = x509::PrivateKeyPem(out.key.get());
  auto csr = x509::NewCsrPem(out.key.get(), common_name);
  EXPECT_TRUE(key_pem.ok() && csr.ok());
  if (key_pem.ok()) out.key_pem = *key_pem;
  if (csr.ok()) out.csr_pem = *csr;
  return out;
}

}  // namespace rampart::testing

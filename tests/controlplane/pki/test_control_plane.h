// A real control plane for identity tests: a CA and a SQLite store in a
// private temporary directory, and a gRPC server on 127.0.0.1 (port chosen by
// the kernel) with the production agent-port TLS, serving Enrollment and a
// small AgentSync that authenticates callers the way SyncService must and
// records the certificate serial of every stream. Used by cp_pki_tests and
// enroll_tests.
#pragma once

#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/enroll/join_token.h"
#include "controlplane/pki/certificate_authority.h"
#include "controlplane/pki/enrollment_service.h"
#include "controlplane/pki/node_authenticator.h"
#include "controlplane/pki/server_credentials.h"
#include "controlplane/store/sqlite_store.h"
#include "rampart/v1/sync.grpc.pb.h"
#include "tests/controlplane/temp_dir.h"

namespace rampart::testing {

// A loopback port with nothing listening on it.
inline std::string ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

// AgentSync for tests: refuses unauthenticated callers with the
// authenticator's status, records the peer certificate serial of each
// accepted stream and holds the stream open until the client or the server
// ends it (e.g. at the maximum connection age).
class RecordingSync final : public v1::AgentSync::Service {
 public:
  explicit RecordingSync(const cp::NodeAuthenticator& authenticator) : authenticator_(authenticator) {}
  grpc::Status Sync(grpc::ServerContext* context,
                    grpc::ServerReaderWriter<v1::ControlMessage, v1::AgentMessage>* stream) override;

  std::vector<std::string> Serials() const;
  // Waits until a stream presented `serial`; false after `timeout`.
  bool WaitForSerial(const std::string& serial, std::chrono::milliseconds timeout) const;

 private:
  const cp::NodeAuthenticator& authenticator_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::vector<std::string> serials_;
};

struct ControlPlaneOptions {
  cp::AgentCertificatePolicy certificates;
  std::chrono::milliseconds max_connection_age = cp::kMaxConnectionAge;
  std::chrono::milliseconds max_connection_age_grace = cp::kMaxConnectionAgeGrace;
};

class TestControlPlane {
 public:
  static constexpr char kTrustDomain[] = "fleet.test";

  // Check ok() (and error()) before use: setup failures are reported there.
  explicit TestControlPlane(ControlPlaneOptions options = {});
  ~TestControlPlane();

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  cp::CertificateAuthority& ca() { return *ca_; }
  cp::SqliteStore& store() { return *store_; }
  RecordingSync& sync() { return *sync_; }
  const cp::NodeAuthenticator& authenticator() { return *authenticator_; }
  const std::string& dir() const { return dir_.path(); }

  // Shifts the CA's clock (and so the validity of what it issues) by `offset`.
  void ShiftCaClock(std::chrono::seconds offset) { ca_offset_ = offset; }
  // Shifts the clock of Enrollment (token expiry, revocation times).
  void ShiftServiceClock(std::chrono::seconds offset) { service_offset_ = offset; }

  identity::JoinToken NewToken(std::chrono::seconds ttl = std::chrono::hours(1));

 private:
  TempDir dir_;
  std::atomic<std::chrono::seconds> ca_offset_{std::chrono::seconds(0)};
  std::atomic<std::chrono::seconds> service_offset_{std::chrono::seconds(0)};
  std::unique_ptr<cp::SqliteStore> store_;
  std::unique_ptr<cp::CertificateAuthority> ca_;
  std::unique_ptr<cp::NodeAuthenticator> authenticator_;
  std::unique_ptr<cp::EnrollmentService> enrollment_;
  std::unique_ptr<RecordingSync> sync_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string error_;
};

// Client credentials from PEM text: `ca` as the only root, and an optional
// client certificate chain and key.
std::shared_ptr<grpc::ChannelCredentials> TlsClient(const std::string& ca_pem, const std::string& chain_pem = "",
                                                    const std::string& key_pem = "");
std::unique_ptr<v1::Enrollment::Stub> EnrollmentStub(const std::string& address,
                                                     std::shared_ptr<grpc::ChannelCredentials> credentials);

// A fresh key and a CSR for it.
struct KeyAndCsr {
  x509::Key key;
  std::string key_pem;
  std::string csr_pem;
};
KeyAndCsr NewKeyAndCsr(const std::string& common_name = "ignored");

}  // namespace rampart::testing

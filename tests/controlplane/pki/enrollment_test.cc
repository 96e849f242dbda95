// Enrollment and node authentication over real TLS on 127.0.0.1, with the
// production agent-port credentials: one port where Join needs no client
// certificate and everything else needs a valid node certificate.
#include "controlplane/pki/enrollment_service.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include <thread>

#include "agent/common/files.h"
#include "agent/enroll/tls_probe.h"
#include "controlplane/pki/join_tokens.h"
#include "tests/controlplane/pki/test_control_plane.h"

namespace rampart::cp {
namespace {

using namespace std::chrono_literals;
using testing::KeyAndCsr;
using testing::TestControlPlane;

constexpr auto kDeadline = 5s;

struct Joined {
  grpc::Status status;
  v1::JoinReply reply;
  KeyAndCsr request;
};

struct NodeIdentity {
  std::string chain_pem;
  std::string key_pem;
};

class Enrollment : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cp_.ok()) << cp_.error(); }

  Joined Join(const std::string& node, const identity::JoinToken& token, const std::string& csr_override = "") {
    Joined joined;
    joined.request = testing::NewKeyAndCsr(node);
    v1::JoinRequest request;
    request.set_token_id(token.id);
    request.set_token_secret(token.secret);
    request.set_node_name(node);
    (*request.mutable_labels())["zone"] = "eu-1";
    request.set_csr_pem(csr_override.empty() ? joined.request.csr_pem : csr_override);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kDeadline);
    joined.status = testing::EnrollmentStub(cp_.address(), testing::TlsClient(cp_.ca().certificate_pem()))
                        ->Join(&context, request, &joined.reply);
    return joined;
  }

  NodeIdentity MustJoin(const std::string& node) {
    Joined joined = Join(node, cp_.NewToken());
    EXPECT_TRUE(joined.status.ok()) << joined.status.error_message();
    return {joined.reply.identity().certificate_chain_pem(), joined.request.key_pem};
  }

  grpc::Status Renew(const std::shared_ptr<grpc::ChannelCredentials>& credentials, const std::string& csr_pem,
                     v1::RenewReply* reply) {
    v1::RenewRequest request;
    request.set_csr_pem(csr_pem);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kDeadline);
    return testing::EnrollmentStub(cp_.address(), credentials)->Renew(&context, request, reply);
  }
  grpc::Status RenewAs(const NodeIdentity& node, v1::RenewReply* reply = nullptr) {
    v1::RenewReply ignored;
    return Renew(AsNode(node), testing::NewKeyAndCsr().csr_pem, reply ? reply : &ignored);
  }
  std::shared_ptr<grpc::ChannelCredentials> AsNode(const NodeIdentity& node) {
    return testing::TlsClient(cp_.ca().certificate_pem(), node.chain_pem, node.key_pem);
  }

  // Opens AgentSync, says hello and closes; the server's verdict.
  grpc::Status Sync(const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto stub = v1::AgentSync::NewStub(grpc::CreateCustomChannel(cp_.address(), credentials, args));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kDeadline);
    auto stream = stub->Sync(&context);
    v1::AgentMessage hello;
    hello.mutable_hello()->set_node_name("node-a");
    stream->Write(hello);
    stream->WritesDone();
    return stream->Finish();
  }

  // A certificate for an enrolled node, signed by `ca` (default: the fleet CA).
  NodeIdentity IssueDirectly(const std::string& node, CertificateAuthority& ca, AgentCertificatePolicy policy = {}) {
    KeyAndCsr request = testing::NewKeyAndCsr();
    auto record = cp_.store().GetNode(node);
    EXPECT_TRUE(record.ok()) << record.status();
    auto issued = ca.IssueAgentCertificate(request.csr_pem, node, record.ok() ? record->enrolled_unix_ms() : 0, policy);
    EXPECT_TRUE(issued.ok()) << issued.status();
    return {issued.ok() ? issued->chain_pem : "", request.key_pem};
  }

  TestControlPlane cp_;
};

// gRPC reports a certificate refused in the handshake only as UNAVAILABLE
// ("Socket closed"), like an unreachable server; handshakes of our own tell
// the two apart (agent/enroll/tls_probe.h). The agent says why before it
// connects (enroll_tests: LoadNodeIdentity).
constexpr char kRefusedInHandshake[] = "the control plane refused this certificate in the TLS handshake";
std::string HandshakeVerdict(const std::string& address, const NodeIdentity& node) {
  auto leaf = x509::ParseCertificatePem(node.chain_pem, "client certificate");
  auto key = x509::ParsePrivateKeyPem(node.key_pem, "client key");
  if (!leaf.ok() || !key.ok()) return "unusable test identity";
  absl::Status probe = enroll::ProbeClientCertificate(address, "", leaf->get(), key->get(), kDeadline);
  return probe.ok() ? "accepted" : std::string(probe.message());
}

void ExpectRefused(const grpc::Status& status, grpc::StatusCode code, const std::string& reason) {
  EXPECT_EQ(status.error_code(), code) << status.error_message();
  EXPECT_NE(status.error_message().find(reason), std::string::npos)
      << "\"" << status.error_message() << "\" does not say \"" << reason << "\"";
}

// --- Join ---

TEST_F(Enrollment, JoinIssuesTheNodeItsCertificateAndRecordsTheNode) {
  Joined joined = Join("node-a", cp_.NewToken());
  ASSERT_TRUE(joined.status.ok()) << joined.status.error_message();
  const v1::IssuedIdentity& identity = joined.reply.identity();
  EXPECT_EQ(identity.spiffe_id(), "spiffe://fleet.test/agent/node-a");
  EXPECT_EQ(identity.ca_pem(), cp_.ca().certificate_pem());
  auto leaf = x509::ParseCertificatePem(identity.certificate_chain_pem(), "issued");
  ASSERT_TRUE(leaf.ok());
  EXPECT_TRUE(x509::SamePublicKey(joined.request.key.get(), X509_get0_pubkey(leaf->get())));
  EXPECT_EQ(x509::SerialHex(leaf->get()), identity.serial_hex());

  auto node = cp_.store().GetNode("node-a");
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_EQ(node->labels().at("zone"), "eu-1");
  EXPECT_FALSE(node->revoked());
  ASSERT_EQ(node->cert_serials_size(), 1);
  EXPECT_EQ(node->cert_serials(0), identity.serial_hex());
  EXPECT_EQ(CertificateAuthority::EnrollmentOf(leaf->get()), node->enrolled_unix_ms());
}

TEST_F(Enrollment, AJoinTokenUsedTwiceIsRefused) {
  identity::JoinToken token = cp_.NewToken();
  ASSERT_TRUE(Join("node-a", token).status.ok());
  ExpectRefused(Join("node-b", token).status, grpc::StatusCode::PERMISSION_DENIED,
                "join token " + token.id + " was already used (by node \"node-a\"");
  EXPECT_FALSE(cp_.store().GetNode("node-b").ok());
}

TEST_F(Enrollment, AnExpiredJoinTokenIsRefused) {
  identity::JoinToken token = cp_.NewToken(60s);
  cp_.ShiftServiceClock(2min);
  ExpectRefused(Join("node-a", token).status, grpc::StatusCode::PERMISSION_DENIED,
                "join token " + token.id + " expired at");
}

TEST_F(Enrollment, AJoinTokenWithAWrongSecretIsRefused) {
  identity::JoinToken token = cp_.NewToken();
  token.secret = "0000000000000000";
  ExpectRefused(Join("node-a", token).status, grpc::StatusCode::UNAUTHENTICATED, "wrong secret");
}

TEST_F(Enrollment, JoinUnderANameThatIsEnrolledIsRefusedWithoutUsingTheToken) {
  MustJoin("node-a");
  identity::JoinToken token = cp_.NewToken();
  ExpectRefused(Join("node-a", token).status, grpc::StatusCode::ALREADY_EXISTS, "node \"node-a\" is already enrolled");
  EXPECT_TRUE(Join("node-b", token).status.ok());
}

TEST_F(Enrollment, AMalformedJoinRequestDoesNotUseTheToken) {
  identity::JoinToken token = cp_.NewToken();
  ExpectRefused(Join("Node_A", token).status, grpc::StatusCode::INVALID_ARGUMENT, "node name \"Node_A\"");
  ExpectRefused(Join("node-a", token, "not a csr").status, grpc::StatusCode::INVALID_ARGUMENT, "not a PEM CSR");
  EXPECT_TRUE(Join("node-a", token).status.ok());
}

// --- Renew and node authentication ---

TEST_F(Enrollment, RenewIssuesAFreshCertificateForTheCallersNodeWhateverTheCsrSays) {
  NodeIdentity node = MustJoin("node-a");
  KeyAndCsr request = testing::NewKeyAndCsr("node-b");  // asks for another node's name
  v1::RenewReply reply;
  grpc::Status status = Renew(AsNode(node), request.csr_pem, &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  auto leaf = x509::ParseCertificatePem(reply.identity().certificate_chain_pem(), "renewed");
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(x509::UriSans(leaf->get()), std::vector<std::string>{"spiffe://fleet.test/agent/node-a"});
  EXPECT_EQ(x509::SubjectCommonName(leaf->get()), "node-a");
  EXPECT_TRUE(x509::SamePublicKey(request.key.get(), X509_get0_pubkey(leaf->get())));
  auto old_leaf = x509::ParseCertificatePem(node.chain_pem, "joined");
  EXPECT_NE(x509::SerialHex(leaf->get()), x509::SerialHex(old_leaf->get()));
  // And the renewed certificate authenticates in turn.
  EXPECT_TRUE(RenewAs({reply.identity().certificate_chain_pem(), request.key_pem}).ok());
}

TEST_F(Enrollment, RenewWithoutAClientCertificateIsRefused) {
  v1::RenewReply reply;
  ExpectRefused(Renew(testing::TlsClient(cp_.ca().certificate_pem()), testing::NewKeyAndCsr().csr_pem, &reply),
                grpc::StatusCode::UNAUTHENTICATED, "no client certificate");
}

TEST_F(Enrollment, SyncWithoutAClientCertificateIsRefused) {
  ExpectRefused(Sync(testing::TlsClient(cp_.ca().certificate_pem())), grpc::StatusCode::UNAUTHENTICATED,
                "no client certificate");
  EXPECT_TRUE(cp_.sync().Serials().empty());
}

TEST_F(Enrollment, SyncWithANodeCertificateIsAccepted) {
  NodeIdentity node = MustJoin("node-a");
  EXPECT_TRUE(Sync(AsNode(node)).ok());
  EXPECT_EQ(cp_.sync().Serials().size(), 1u);
}

TEST_F(Enrollment, APlaintextConnectionIsRefused) {
  v1::RenewReply reply;
  grpc::Status status = Renew(grpc::InsecureChannelCredentials(), testing::NewKeyAndCsr().csr_pem, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  v1::JoinReply join_reply;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kDeadline);
  status = testing::EnrollmentStub(cp_.address(), grpc::InsecureChannelCredentials())
               ->Join(&context, v1::JoinRequest(), &join_reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

TEST_F(Enrollment, AGarbageClientCertificateIsRefused) {
  MustJoin("node-a");
  grpc::Status status = RenewAs({"-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n",
                                 "-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n"});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

TEST_F(Enrollment, ASelfSignedClientCertificateIsRefusedInTheHandshake) {
  MustJoin("node-a");
  // A self-signed certificate that carries the fleet's trust domain.
  testing::TempDir dir;
  auto self = CertificateAuthority::Init(dir.path(), TestControlPlane::kTrustDomain);
  ASSERT_TRUE(self.ok());
  NodeIdentity self_signed{(*self)->certificate_pem(), *ReadFile(dir.path() + "/ca.key")};
  ExpectRefused(RenewAs(self_signed), grpc::StatusCode::UNAVAILABLE, "");
  EXPECT_EQ(HandshakeVerdict(cp_.address(), self_signed), kRefusedInHandshake);
}

TEST_F(Enrollment, AClientCertificateFromAnotherCaIsRefusedInTheHandshake) {
  MustJoin("node-a");
  testing::TempDir dir;
  auto other = CertificateAuthority::Init(dir.path(), TestControlPlane::kTrustDomain);
  ASSERT_TRUE(other.ok());
  NodeIdentity foreign = IssueDirectly("node-a", **other);
  ExpectRefused(RenewAs(foreign), grpc::StatusCode::UNAVAILABLE, "");
  EXPECT_EQ(Sync(AsNode(foreign)).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(HandshakeVerdict(cp_.address(), foreign), kRefusedInHandshake);
  EXPECT_TRUE(cp_.sync().Serials().empty());
}

TEST_F(Enrollment, AnExpiredClientCertificateIsRefusedInTheHandshake) {
  MustJoin("node-a");
  cp_.ShiftCaClock(-48h);
  NodeIdentity expired = IssueDirectly("node-a", cp_.ca(), {.lifetime = 1h});
  cp_.ShiftCaClock(0s);
  ExpectRefused(RenewAs(expired), grpc::StatusCode::UNAVAILABLE, "");
  EXPECT_EQ(HandshakeVerdict(cp_.address(), expired), kRefusedInHandshake);
}

TEST_F(Enrollment, AValidNodeCertificatePassesTheHandshakeProbe) {
  EXPECT_EQ(HandshakeVerdict(cp_.address(), MustJoin("node-a")), "accepted");
}

TEST_F(Enrollment, ACertificateThatExpiresWhileConnectedIsRefusedOnTheNextCall) {
  NodeIdentity node = MustJoin("node-a");
  // The handshake checks the real time; the control plane's clock says the
  // certificate ran out since.
  cp_.ShiftServiceClock(25h);
  ExpectRefused(RenewAs(node), grpc::StatusCode::UNAUTHENTICATED, "client certificate expired at");
}

TEST_F(Enrollment, TheServersOwnCertificateCannotActAsAClient) {
  const std::string server = *ReadFile(cp_.ca().server_identity_file());
  ExpectRefused(RenewAs({server, server}), grpc::StatusCode::UNAVAILABLE, "");
  EXPECT_EQ(HandshakeVerdict(cp_.address(), {server, server}), kRefusedInHandshake);
}

TEST_F(Enrollment, ACertificateForANodeThatNeverJoinedIsRefused) {
  KeyAndCsr request = testing::NewKeyAndCsr();
  auto issued = cp_.ca().IssueAgentCertificate(request.csr_pem, "ghost", 1, {});
  ASSERT_TRUE(issued.ok());
  ExpectRefused(RenewAs({issued->chain_pem, request.key_pem}), grpc::StatusCode::PERMISSION_DENIED,
                "node \"ghost\" is not enrolled");
}

TEST_F(Enrollment, ARevokedNodeCannotRenewOrSync) {
  NodeIdentity node = MustJoin("node-a");
  ASSERT_TRUE(RenewAs(node).ok());
  ASSERT_TRUE(RevokeNode(cp_.store(), "node-a", std::chrono::system_clock::now()).ok());
  ExpectRefused(RenewAs(node), grpc::StatusCode::PERMISSION_DENIED, "node \"node-a\" was revoked at");
  ExpectRefused(Sync(AsNode(node)), grpc::StatusCode::PERMISSION_DENIED, "was revoked");
  EXPECT_TRUE(RevokeNode(cp_.store(), "node-a", std::chrono::system_clock::now()).ok());  // again: no error
}

TEST_F(Enrollment, RevokingANodeThatNeverJoinedIsNotFound) {
  absl::Status status = RevokeNode(cp_.store(), "ghost", std::chrono::system_clock::now());
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "node \"ghost\" never joined");
}

TEST_F(Enrollment, ARevokedNameCanJoinAgainButItsOldCertificatesStayRefused) {
  NodeIdentity before = MustJoin("node-a");
  ASSERT_TRUE(RevokeNode(cp_.store(), "node-a", std::chrono::system_clock::now()).ok());
  std::this_thread::sleep_for(5ms);  // a new enrollment is a new millisecond
  NodeIdentity after = MustJoin("node-a");
  EXPECT_TRUE(RenewAs(after).ok());
  ExpectRefused(RenewAs(before), grpc::StatusCode::PERMISSION_DENIED, "earlier enrollment of node \"node-a\"");
}

}  // namespace
}  // namespace rampart::cp

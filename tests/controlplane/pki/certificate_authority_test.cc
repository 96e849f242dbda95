// The control plane's CA: what it creates on disk, what it refuses, and that
// an agent certificate carries exactly the names and usages the CA chooses,
// whatever the CSR asked for.
#include "controlplane/pki/certificate_authority.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <regex>

#include "agent/common/files.h"
#include "tests/controlplane/pki/test_control_plane.h"

namespace rampart::cp {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

constexpr char kDomain[] = "fleet.test";

int FileMode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return st.st_mode & 0777;
}

std::unique_ptr<CertificateAuthority> MustInit(const std::string& dir, Clock clock = nullptr) {
  auto ca = CertificateAuthority::Init(dir, kDomain, std::move(clock));
  EXPECT_TRUE(ca.ok()) << ca.status();
  return ca.ok() ? std::move(*ca) : nullptr;
}

// A CSR that asks for everything an agent must not get.
std::string GreedyCsr(EVP_PKEY* key) {
  x509::Csr csr(X509_REQ_new());
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(csr.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("root"), -1, -1, 0);
  X509_REQ_set_pubkey(csr.get(), key);
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  for (auto [nid, value] : std::vector<std::pair<int, const char*>>{
           {NID_basic_constraints, "critical,CA:TRUE"},
           {NID_ext_key_usage, "serverAuth,clientAuth,codeSigning"},
           {NID_key_usage, "keyCertSign,digitalSignature"},
           {NID_subject_alt_name, "DNS:evil.example,URI:spiffe://fleet.test/agent/other,IP:10.0.0.1"}}) {
    sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(nullptr, nullptr, nid, value));
  }
  X509_REQ_add_extensions(csr.get(), exts);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_sign(csr.get(), key, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_REQ(bio, csr.get());
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  return pem;
}

int SanCount(X509* cert) {
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  int count = names ? sk_GENERAL_NAME_num(names) : 0;
  GENERAL_NAMES_free(names);
  return count;
}

TEST(CertificateAuthority, InitWritesAnOwnerOnlyKeyAndASelfSignedCaCertificate) {
  TempDir dir;
  auto ca = MustInit(dir.path() + "/ca");
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(FileMode(dir.path() + "/ca/ca.key"), 0600);
  EXPECT_EQ(FileMode(dir.path() + "/ca"), 0700);
  auto cert = x509::ParseCertificatePem(*ReadFile(dir.path() + "/ca/ca.pem"), "ca.pem");
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_TRUE(x509::IsCa(cert->get()));
  EXPECT_TRUE(x509::VerifyChain(cert->get(), {}, cert->get()).ok());
  EXPECT_EQ(x509::UriSans(cert->get()), std::vector<std::string>{"spiffe://fleet.test"});
  EXPECT_GT(x509::NotAfter(cert->get()), std::chrono::system_clock::now() + std::chrono::hours(24 * 365 * 9));
}

TEST(CertificateAuthority, InitRefusesToOverwriteAnExistingCa) {
  TempDir dir;
  ASSERT_NE(MustInit(dir.path()), nullptr);
  const std::string key_before = *ReadFile(dir.path() + "/ca.key");
  auto again = CertificateAuthority::Init(dir.path(), kDomain);
  ASSERT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(again.status().message().find("refusing to overwrite"), std::string::npos) << again.status();
  EXPECT_EQ(*ReadFile(dir.path() + "/ca.key"), key_before);
}

TEST(CertificateAuthority, InitRefusesAnInvalidTrustDomain) {
  TempDir dir;
  auto ca = CertificateAuthority::Init(dir.path(), "Fleet_Test");
  ASSERT_EQ(ca.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ca.status().message().find("trust domain \"Fleet_Test\""), std::string::npos) << ca.status();
}

TEST(CertificateAuthority, LoadGivesBackTheSameCaTrustDomainAndPin) {
  TempDir dir;
  auto created = MustInit(dir.path());
  ASSERT_NE(created, nullptr);
  auto loaded = CertificateAuthority::Load(dir.path());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->trust_domain(), kDomain);
  EXPECT_EQ((*loaded)->pin(), created->pin());
  EXPECT_EQ((*loaded)->certificate_pem(), created->certificate_pem());
}

TEST(CertificateAuthority, LoadRefusesAKeyThatDoesNotBelongToTheCertificate) {
  TempDir dir;
  ASSERT_NE(MustInit(dir.path()), nullptr);
  auto other = x509::NewEcKey();
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/ca.key", *x509::PrivateKeyPem(other->get())).ok());
  auto loaded = CertificateAuthority::Load(dir.path());
  ASSERT_EQ(loaded.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(loaded.status().message().find("is not the key of the certificate"), std::string::npos) << loaded.status();
}

TEST(CertificateAuthority, LoadOfAnEmptyDirectoryNamesTheMissingFile) {
  TempDir dir;
  auto loaded = CertificateAuthority::Load(dir.path());
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find(dir.path() + "/ca.key"), std::string::npos) << loaded.status();
}

TEST(CertificateAuthority, PinIsSha256OfTheDerSubjectPublicKeyInfo) {
  TempDir dir;
  auto ca = MustInit(dir.path());
  ASSERT_NE(ca, nullptr);
  EXPECT_TRUE(std::regex_match(ca->pin(), std::regex("sha256:[0-9a-f]{64}"))) << ca->pin();
  // Computed here from the certificate's own SubjectPublicKeyInfo field.
  unsigned char* der = nullptr;
  int size = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(ca->certificate()), &der);
  ASSERT_GT(size, 0);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(size), digest);
  OPENSSL_free(der);
  char hex[2 * SHA256_DIGEST_LENGTH + 1];
  for (int i = 0; i < SHA256_DIGEST_LENGTH; ++i) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  EXPECT_EQ(ca->pin(), std::string("sha256:") + hex);
}

TEST(CertificateAuthority, ServerIdentityIsForServingOnlyAndNamesTheRequestedHosts) {
  TempDir dir;
  auto ca = MustInit(dir.path());
  ASSERT_NE(ca, nullptr);
  ASSERT_TRUE(ca->WriteServerIdentity({"cp.fleet.test", "127.0.0.1", "::1"}).ok());
  EXPECT_EQ(FileMode(ca->server_identity_file()), 0600);
  const std::string pem = *ReadFile(ca->server_identity_file());
  auto chain = x509::ParseCertificateChainPem(pem, "server.pem");
  ASSERT_TRUE(chain.ok());
  ASSERT_EQ(chain->size(), 2u);  // leaf, then the CA for agents that only hold the pin
  X509* leaf = chain->front().get();
  EXPECT_EQ(*x509::SpkiPin(chain->back().get()), ca->pin());
  EXPECT_TRUE(x509::SamePublicKey(x509::ParsePrivateKeyPem(pem, "server.pem")->get(), X509_get0_pubkey(leaf)));
  EXPECT_TRUE(x509::VerifyChain(leaf, {}, ca->certificate()).ok());
  EXPECT_EQ(X509_check_host(leaf, "cp.fleet.test", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(leaf, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(leaf, "::1", 0), 1);
  EXPECT_EQ(X509_check_host(leaf, "other.fleet.test", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_get_extended_key_usage(leaf), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_FALSE(x509::IsCa(leaf));
}

TEST(CertificateAuthority, ServerIdentityRefusesAHostThatIsNotADnsNameOrIp) {
  TempDir dir;
  auto ca = MustInit(dir.path());
  ASSERT_NE(ca, nullptr);
  absl::Status written = ca->WriteServerIdentity({"cp fleet"});
  ASSERT_EQ(written.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(written.message().find("host \"cp fleet\""), std::string::npos) << written;
}

TEST(CertificateAuthority, AgentCertificateHasExactlyTheNamesAndUsagesTheCaChooses) {
  TempDir dir;
  auto ca = MustInit(dir.path());
  ASSERT_NE(ca, nullptr);
  auto key = x509::NewEcKey();
  AgentCertificatePolicy policy{.lifetime = 6h, .backdate = 1min};
  const auto before = std::chrono::system_clock::now();
  auto issued = ca->IssueAgentCertificate(GreedyCsr(key->get()), "node-1.dc1", 1234, policy);
  ASSERT_TRUE(issued.ok()) << issued.status();
  auto chain = x509::ParseCertificateChainPem(issued->chain_pem, "issued");
  ASSERT_TRUE(chain.ok());
  ASSERT_EQ(chain->size(), 2u);
  X509* leaf = chain->front().get();

  EXPECT_EQ(x509::SubjectCommonName(leaf), "node-1.dc1");
  EXPECT_EQ(SanCount(leaf), 1);
  EXPECT_EQ(x509::UriSans(leaf), std::vector<std::string>{"spiffe://fleet.test/agent/node-1.dc1"});
  EXPECT_EQ(issued->spiffe_id, "spiffe://fleet.test/agent/node-1.dc1");
  EXPECT_EQ(X509_get_extended_key_usage(leaf), static_cast<uint32_t>(XKU_SSL_CLIENT));
  EXPECT_EQ(X509_get_key_usage(leaf), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_FALSE(x509::IsCa(leaf));
  const int bc = X509_get_ext_by_NID(leaf, NID_basic_constraints, -1);
  ASSERT_GE(bc, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(leaf, bc)), 1);
  EXPECT_EQ(X509_get_ext_count(leaf), 6);  // BC, KU, EKU, SKI, AKI, SAN: nothing copied from the CSR
  EXPECT_TRUE(x509::SamePublicKey(key->get(), X509_get0_pubkey(leaf)));
  EXPECT_TRUE(x509::VerifyChain(leaf, {}, ca->certificate()).ok());
  EXPECT_EQ(CertificateAuthority::EnrollmentOf(leaf), 1234);
  EXPECT_EQ(issued->serial_hex.size(), 32u);  // 128 bits
  EXPECT_EQ(x509::NotAfter(leaf) - x509::NotBefore(leaf), 6h + 1min);
  EXPECT_LE(x509::NotBefore(leaf), before - 1min + 1s);
}

TEST(CertificateAuthority, AgentCertificateSerialsAreRandom) {
  TempDir dir;
  auto ca = MustInit(dir.path());
  ASSERT_NE(ca, nullptr);
  auto request = testing::NewKeyAndCsr();
  auto a = ca->IssueAgentCertificate(request.csr_pem, "node-a", 1, {});
  auto b = ca->IssueAgentCertificate(request.csr_pem, "node-a", 1, {});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->serial_hex, b->serial_hex);
}

TEST(CertificateAuthority, ACsrWhoseSignatureDoesNotMatchItsKeyIsRefused) {
  TempDir dir;
  auto ca = MustInit(dir.path());
  ASSERT_NE(ca, nullptr);
  auto signer = x509::NewEcKey();
  auto other = x509::NewEcKey();
  // Signed by one key, then the public key swapped for another: no proof of possession.
  x509::Csr csr(X509_REQ_new());
  X509_REQ_set_pubkey(csr.get(), signer->get());
  X509_REQ_sign(csr.get(), signer->get(), EVP_sha256());
  X509_REQ_set_pubkey(csr.get(), other->get());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_REQ(bio, csr.get());
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  auto issued = ca->IssueAgentCertificate(pem, "node-a", 1, {});
  ASSERT_EQ(issued.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(issued.status().message().find("signature does not match its public key"), std::string::npos)
      << issued.status();
}

TEST(CertificateAuthority, GarbageCsrIsRefused) {
  TempDir dir;
  auto ca = MustInit(dir.path());
  ASSERT_NE(ca, nullptr);
  auto issued = ca->IssueAgentCertificate("-----BEGIN CERTIFICATE REQUEST-----\nnope\n", "node-a", 1, {});
  ASSERT_EQ(issued.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(issued.status().message().find("not a PEM CSR"), std::string::npos) << issued.status();
}

TEST(CertificateAuthority, NodeNamesMustBeLowercaseDnsNames) {
  TempDir dir;
  auto ca = MustInit(dir.path());
  ASSERT_NE(ca, nullptr);
  auto request = testing::NewKeyAndCsr();
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"", "is empty"},
      {"Node1", "uppercase"},
      {"node_1", "character '_'"},
      {"node/../x", "character '/'"},
      {"-node", "starts or ends with '-'"},
      {"a..b", "empty label"},
      {std::string(64, 'a'), "longer than 63"},
  };
  for (const auto& [name, reason] : refused) {
    auto issued = ca->IssueAgentCertificate(request.csr_pem, name, 1, {});
    ASSERT_EQ(issued.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_NE(issued.status().message().find(reason), std::string::npos) << name << ": " << issued.status();
  }
  EXPECT_TRUE(ca->IssueAgentCertificate(request.csr_pem, "web-01.eu-west.example", 1, {}).ok());
}

TEST(CertificateAuthority, TheClockDecidesValiditySoTestsCanIssueExpiredCertificates) {
  TempDir dir;
  auto ca = MustInit(dir.path(), [] { return std::chrono::system_clock::now() - 48h; });
  ASSERT_NE(ca, nullptr);
  auto request = testing::NewKeyAndCsr();
  auto issued = ca->IssueAgentCertificate(request.csr_pem, "node-a", 1, {.lifetime = 1h});
  ASSERT_TRUE(issued.ok());
  EXPECT_LT(issued->not_after, std::chrono::system_clock::now() - 46h);
}

}  // namespace
}  // namespace rampart::cp

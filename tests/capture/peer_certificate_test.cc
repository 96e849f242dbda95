#include "agent/capture/peer_certificate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/capture/test_certificates.h"

namespace rampart::capture {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MakeCertificateDer;

TEST(PeerCertificateTest, SubjectCommonNameAndSubjectAltNames) {
  const auto der = MakeCertificateDer("client-a", {"URI:spiffe://example.org/ns/prod/sa/billing",
                                                   "DNS:billing.example", "IP:10.0.0.1", "DNS:b.example"});
  auto peer = ParsePeerCertificate(der);
  ASSERT_TRUE(peer.ok()) << peer.status();
  EXPECT_EQ(peer->subject_cn, "client-a");
  EXPECT_THAT(peer->uri_sans, ElementsAre("spiffe://example.org/ns/prod/sa/billing"));
  EXPECT_THAT(peer->dns_sans, ElementsAre("billing.example", "b.example")) << "in order; IP names are not kept";
}

TEST(PeerCertificateTest, CertificateWithoutNamesParsesEmpty) {
  auto peer = ParsePeerCertificate(MakeCertificateDer("", {}));
  ASSERT_TRUE(peer.ok()) << peer.status();
  EXPECT_EQ(*peer, PeerCertificate{});
}

TEST(PeerCertificateTest, Utf8CommonNameIsKept) {
  auto peer = ParsePeerCertificate(MakeCertificateDer("caf\xc3\xa9-client", {}));
  ASSERT_TRUE(peer.ok()) << peer.status();
  EXPECT_EQ(peer->subject_cn, "caf\xc3\xa9-client");
}

TEST(PeerCertificateTest, NamesWithControlCharactersAreDropped) {
  auto peer = ParsePeerCertificate(MakeCertificateDer("evil\nname", {"DNS:ok.example"}));
  ASSERT_TRUE(peer.ok()) << peer.status();
  EXPECT_EQ(peer->subject_cn, "") << "a newline would forge log lines";
  EXPECT_THAT(peer->dns_sans, ElementsAre("ok.example"));
}

TEST(PeerCertificateTest, TruncatedOrTrailingOrGarbageBytesAreRefused) {
  auto der = MakeCertificateDer("client-a", {});
  EXPECT_THAT(std::string(ParsePeerCertificate(std::span(der).first(der.size() - 1)).status().message()),
              HasSubstr("not DER X.509"));
  auto longer = der;
  longer.push_back(0);
  EXPECT_THAT(std::string(ParsePeerCertificate(longer).status().message()), HasSubstr("1 bytes after the certificate"));
  const std::vector<uint8_t> garbage = {0x30, 0x03, 0x02, 0x01, 0x05};
  EXPECT_FALSE(ParsePeerCertificate(garbage).ok());
  EXPECT_FALSE(ParsePeerCertificate({}).ok());
}

}  // namespace
}  // namespace rampart::capture

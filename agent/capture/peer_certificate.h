// The names in a TLS peer's certificate, as captured from its handshake
// (RP_CAPTURE_PEER_CERT records, bpf/progs/capture.bpf.c). Only the names
// are kept: the DER is parsed and dropped where it arrives and never leaves
// the agent.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace rampart::capture {

struct PeerCertificate {
  std::string subject_cn;             // the subject's (last) commonName; "" without one
  std::vector<std::string> uri_sans;  // subjectAltName URIs, in order (SPIFFE IDs)
  std::vector<std::string> dns_sans;  // subjectAltName DNS names, in order
  bool operator==(const PeerCertificate&) const = default;
};

// Parses one DER-encoded X.509 certificate with OpenSSL. Names with control
// characters or over 1024 bytes are skipped. Errors when the bytes are not
// exactly one certificate.
absl::StatusOr<PeerCertificate> ParsePeerCertificate(std::span<const uint8_t> der);

}  // namespace rampart::capture

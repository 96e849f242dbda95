// Who made a request, for per-identity limits and baselines: an API key
// header, a JWT's sub (else client_id), an opaque bearer token, a
// client-certificate identity forwarded by the TLS terminator, the
// certificate the client presented in this connection's own handshake (mTLS
// peer, learned by the capture probes), and failing all of those the
// client's address.
//
// Identities are kept as keyed 64-bit hashes; the text of a credential is
// never stored. Findings show `masked` only: MaskValue of the credential
// (the last 4 characters of a key or token of 8+ characters, the last 2 of
// a sub or client_id of 4+), or the client address, which every finding
// carries anyway. A certificate's name (mtls_peer) is shown whole: it names
// the client, it does not authenticate it.
//
// JWT claims are read without verifying the signature (the jwt family does
// that): an identity is who the token says it is. A client that mints tokens
// with fresh subs evades per-identity limits; jwt.bad_signature and the
// datapath's per-source rate limits are the answer to that.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/capture/peer_certificate.h"
#include "agent/http/message.h"

namespace rampart::apis {

enum class IdentityKind : uint8_t {
  kNone = 0,    // nothing identifies the client (address fallback off, address unknown)
  kApiKey,      // a configured API key header
  kJwtSubject,  // a JWT's sub
  kJwtClient,   // a JWT's client_id (no sub)
  kBearer,      // an opaque bearer token (or a JWT without sub and client_id)
  kMtls,        // a configured client-certificate header
  kAddress,     // the client's address
  kMtlsPeer,    // the certificate the client presented in the TLS handshake
};

std::string_view IdentityKindName(IdentityKind kind);  // "api_key", "jwt_sub", ...

struct Identity {
  IdentityKind kind = IdentityKind::kNone;
  uint64_t key = 0;    // keyed hash of kind and value; 0 for kNone
  std::string masked;  // "api_key ****************9f3a", "address 10.0.0.7"
};

// Which name of the client's certificate identifies it (identity.mtlsPeer).
enum class MtlsPeerMode : uint8_t {
  kOff,      // not used
  kAuto,     // the first URI SAN (a SPIFFE ID), else the subject CN, else the first DNS SAN
  kSubject,  // the subject CN only
  kSan,      // the first URI SAN, else the first DNS SAN
};
// Inline: the policy parser (rampart_policy) spells these without linking
// the analytics library.
inline std::string_view MtlsPeerModeName(MtlsPeerMode mode) {
  switch (mode) {
    case MtlsPeerMode::kOff:
      return "off";
    case MtlsPeerMode::kAuto:
      return "auto";
    case MtlsPeerMode::kSubject:
      return "subject";
    case MtlsPeerMode::kSan:
      return "san";
  }
  return "unknown";
}
inline bool ParseMtlsPeerMode(std::string_view text, MtlsPeerMode& out) {
  for (MtlsPeerMode mode : {MtlsPeerMode::kOff, MtlsPeerMode::kAuto, MtlsPeerMode::kSubject, MtlsPeerMode::kSan}) {
    if (MtlsPeerModeName(mode) == text) {
      out = mode;
      return true;
    }
  }
  return false;
}

// The identity text of a certificate under `mode`: "spiffe://example.org/a",
// "CN=client-a", "DNS=client.example"; "" when the mode finds no name.
std::string PeerIdentityText(const capture::PeerCertificate& peer, MtlsPeerMode mode);

struct IdentityOptions {
  // Header names (matched case-insensitively) that carry an API key.
  std::vector<std::string> api_key_headers{"x-api-key"};
  // Identify by the JWT in "Authorization: Bearer" (sub, else client_id).
  bool jwt = true;
  // Header names set by a TLS-terminating proxy with the client certificate's
  // identity (Envoy's x-forwarded-client-cert, nginx's $ssl_client_s_dn in a
  // header of your choice). Captured plaintext holds no certificate: the
  // agent sees the handshake's result only through such a header.
  std::vector<std::string> mtls_headers;
  // The client certificate of the connection itself, when the captured
  // process terminates mTLS. After mtls_headers: behind a terminator the
  // connection's peer is the proxy, the header names the client.
  MtlsPeerMode mtls_peer = MtlsPeerMode::kAuto;
  // Without any of the above, the client's address identifies it.
  bool address_fallback = true;
};

class IdentityResolver {
 public:
  IdentityResolver(IdentityOptions options, uint64_t seed);

  // `remote_address` is the client's address ("" when unknown); `peer` the
  // certificate the client presented on this connection (null: none known).
  Identity Resolve(const http::Message& request, std::string_view remote_address,
                   const capture::PeerCertificate* peer = nullptr) const;

  // The AuthScheme bits (api_inventory.h) a request presents; a client
  // certificate on the connection counts as mtls.
  uint32_t AuthSchemes(const http::Message& request, const capture::PeerCertificate* peer = nullptr) const;

  const IdentityOptions& options() const { return options_; }

 private:
  IdentityOptions options_;
  uint64_t seed_;
};

}  // namespace rampart::apis

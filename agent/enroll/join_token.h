// The join token an operator pastes into `rampartd --join`: one string that
// carries the one-time credential, the pin of the fleet CA and, optionally,
// where the control plane listens:
//
//   <id>.<secret>.sha256:<64 hex>@<host>:<port>
//   e.g. 4f2k9a.x7q1m0c3v8b2n6z5.sha256:9c1e...d04a@cp.example.net:7443
//
// id: 6 of [a-z0-9], public, names the token in the store and in logs.
// secret: 16 of [a-z0-9] (82 bits), shown once; the store keeps its SHA-256.
// pin: SHA-256 of the CA's DER SubjectPublicKeyInfo (kubeadm's
// --discovery-token-ca-cert-hash), so the agent can trust the control plane
// before it has any certificate. "@<host>:<port>" may be left out when the
// address is given separately. docs/identity.md has the whole flow.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace rampart::identity {

inline constexpr size_t kTokenIdLength = 6;
inline constexpr size_t kTokenSecretLength = 16;

struct JoinToken {
  std::string id;
  std::string secret;
  std::string ca_pin;   // "sha256:<64 lowercase hex>"
  std::string address;  // HOST:PORT, empty when not carried

  std::string ToString() const;
  // InvalidArgument naming the part that is wrong. Never echoes the secret.
  static absl::StatusOr<JoinToken> Parse(std::string_view text);
};

// True when `text` is `length` characters of [a-z0-9].
bool IsTokenPart(std::string_view text, size_t length);

}  // namespace rampart::identity

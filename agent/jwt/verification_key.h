// Keys that verify JWS signatures, loaded from JWKS documents (RFC 7517) and
// PEM files (public keys and X.509 certificates).
//
// The agent only verifies, so it refuses private keys: a JWK with "d" or a
// PEM private key block is a load error, not a key. HMAC ("oct") keys are
// the exception by nature: verifying HS* needs the shared secret.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/jwt/jws_algorithm.h"

namespace rampart::jwt {

enum class KeyKind : unsigned char { kOct, kRsa, kRsaPss, kEc, kOkp };

struct EvpPkeyFree {
  void operator()(EVP_PKEY* key) const;
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

struct VerificationKey {
  std::string kid;     // empty when the key has none (PEM keys never do)
  std::string origin;  // "jwks /etc/rampart/jwks.json key 2": for reasons in findings
  KeyKind kind = KeyKind::kOct;
  std::string curve;      // "P-256", "P-384", "P-521", "Ed25519", "Ed448"; empty otherwise
  std::string alg;        // the JWK's "alg" when it names one: the only algorithm it verifies
  EvpPkeyPtr public_key;  // every kind but kOct
  std::string secret;     // kOct
  // Asymmetric keys: the byte strings a server configured with this public
  // key would hand to HMAC if an HS* token talked it into it (PEM as
  // written and as OpenSSL writes it, with and without the final newline,
  // DER, PKCS#1 for RSA). The algorithm-confusion check tries them.
  std::vector<std::string> public_encodings;
};

// Whether `key` may verify `algorithm`: the key type and curve fit, and a
// key that names its "alg" names this one.
bool KeyFits(const JwsAlgorithm& algorithm, const VerificationKey& key);

// "RSA", "EC P-256", "OKP Ed25519", "oct": for reasons.
std::string DescribeKey(const VerificationKey& key);

// Parses a JWKS document ({"keys": [...]}) or a single JWK. `file` names the
// document in errors, which are one line each:
//   jwks /etc/rampart/jwks.json: key 2 (kid "abc"): RSA key without "n"
// Keys are counted from 0, like the array. Well-formed keys that cannot
// verify a supported JWS (use "enc", key_ops without "verify", an "alg"
// that is not a supported JWS algorithm, kty or crv not supported) are
// skipped; a document left without any key is an error.
absl::StatusOr<std::vector<VerificationKey>> ParseJwks(std::string_view file, std::string_view json);

// Parses every PEM block of a file: PUBLIC KEY, RSA PUBLIC KEY, CERTIFICATE.
// Errors name the file and the block, counted from 0:
//   pem /etc/rampart/issuer.pem: block 1 (PRIVATE KEY): private keys are refused; configure the public key
absl::StatusOr<std::vector<VerificationKey>> ParsePemKeys(std::string_view file, std::string_view pem);

}  // namespace rampart::jwt

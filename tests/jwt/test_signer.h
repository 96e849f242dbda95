// Real keys and real tokens for the JWT tests: keys generated with OpenSSL,
// tokens signed with EVP, public halves published as PEM, certificates and
// JWKS the way an identity provider would.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/jwt/verification_key.h"

namespace rampart::jwt::testing {

struct TestKey {
  EvpPkeyPtr key;  // the private key
  std::string kid;

  std::string PublicPem() const;       // SubjectPublicKeyInfo, as `openssl pkey -pubout` writes it
  std::string CertificatePem() const;  // a self-signed X.509 certificate of the key
  std::string PrivatePem() const;      // PKCS#8, to show it is refused
  // The public JWK, with "kid" when the key has one and `extra` members
  // (e.g. R"("use":"sig")") appended.
  std::string Jwk(std::string_view extra = "") const;
};

// An RSA key that every test process shares. Generating one takes about a
// quarter of a second and ctest runs each test in its own process, so the
// first process to need key `name` generates it and leaves it (PKCS#8) in
// RAMPART_JWT_TEST_KEY_DIR, in the build tree, for the others.
TestKey SharedRsa(std::string_view name, std::string kid, int bits = 2048);
TestKey GenerateEc(std::string_view curve, std::string kid);  // "P-256", "P-384", "P-521"
TestKey GenerateEd25519(std::string kid);

std::string OctJwk(std::string_view secret, std::string_view kid, std::string_view extra = "");
// {"keys":[...]} of the given JWK objects.
std::string Jwks(const std::vector<std::string>& jwks);

// The compact JWS of `header_json` and `claims_json`, signed with `alg`.
std::string SignJws(std::string_view header_json, std::string_view claims_json, std::string_view alg,
                    const TestKey& key);
std::string SignHmac(std::string_view header_json, std::string_view claims_json, std::string_view alg,
                     std::string_view secret);
// An unsecured JWS: the empty signature of RFC 7515 appendix A.5.
std::string Unsigned(std::string_view header_json, std::string_view claims_json);

}  // namespace rampart::jwt::testing

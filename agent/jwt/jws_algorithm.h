// The JWS signature algorithms the inspector verifies (RFC 7518 section 3,
// RFC 8037 for EdDSA), and which key each needs.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace rampart::jwt {

enum class AlgorithmFamily : unsigned char { kHmac, kRsaPkcs1, kRsaPss, kEcdsa, kEdDsa };

struct JwsAlgorithm {
  std::string_view name;  // "RS256", as it appears in a JOSE header
  AlgorithmFamily family;
  const char* digest;         // OpenSSL digest name; nullptr for EdDSA
  size_t ecdsa_part_bytes;    // ES*: bytes of r and of s in the raw signature
  std::string_view ec_curve;  // ES*: the JWK "crv" the key must have
};

// The algorithm named exactly `name` (JOSE names are case-sensitive), or
// nullptr when it is not one of HS/RS/PS/ES 256/384/512 or EdDSA.
const JwsAlgorithm* FindJwsAlgorithm(std::string_view name);

// "none" in any letter case. RFC 7518 spells it "none", but libraries that
// compared case-insensitively accepted "None" and "NONE" as unsigned tokens,
// so every spelling is the same attack.
bool IsAlgNone(std::string_view name);

// All supported names, in RFC order.
std::vector<std::string_view> SupportedJwsAlgorithms();

}  // namespace rampart::jwt

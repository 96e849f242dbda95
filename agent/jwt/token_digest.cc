#include "agent/jwt/token_digest.h"

#include <openssl/evp.h>

namespace rampart::jwt {

TokenDigest DigestToken(std::string_view token) {
  TokenDigest digest{};
  unsigned int length = 0;
  // EVP_Digest with a built-in algorithm fails only when out of memory;
  // an all-zero digest then costs a missed correlation, nothing more.
  EVP_Digest(token.data(), token.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return digest;
}

std::string Fingerprint(const TokenDigest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (size_t i = 0; i < 4; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

}  // namespace rampart::jwt

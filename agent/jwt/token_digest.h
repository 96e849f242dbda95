// SHA-256 of a token: the key under which the inspector remembers tokens,
// and the fingerprint findings carry instead of the token.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace rampart::jwt {

using TokenDigest = std::array<uint8_t, 32>;

TokenDigest DigestToken(std::string_view token);

// "sha256:" and the first 8 hex digits of the digest. A token is a bearer
// credential and its claims are personal data, so a finding shows this
// instead: operators can match it against a token they already hold
// (`printf %s "$TOKEN" | sha256sum`), and 32 bits of a digest of a signed,
// high-entropy token give nothing back.
std::string Fingerprint(const TokenDigest& digest);

}  // namespace rampart::jwt

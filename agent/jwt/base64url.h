// Base64url without padding (RFC 7515 section 2, RFC 4648 section 5), the
// encoding of every JWS segment and of JWK key material.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rampart::jwt {

// Decodes strictly: only the 64 url-safe characters, no '=' padding, no
// whitespace, no length that leaves a lone character, and no stray bits in the
// last character. A JWS that differs from its canonical encoding is how
// parsers are played against each other, so a lenient decoder is a finding
// missed. nullopt when `text` is not canonical base64url.
std::optional<std::string> DecodeBase64Url(std::string_view text);

std::string EncodeBase64Url(std::string_view bytes);

}  // namespace rampart::jwt

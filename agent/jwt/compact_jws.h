// JWS compact serialization (RFC 7515 section 7.1), split and decoded:
// BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(signature).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "agent/jwt/json.h"

namespace rampart::jwt {

struct CompactJws {
  JsonValue header;  // a JSON object with a string "alg"
  JsonValue claims;  // a JSON object
  std::string alg;
  std::optional<std::string> kid;
  // The registered time claims (RFC 7519 section 4.1), NumericDate seconds.
  std::optional<double> exp, nbf, iat;
  std::string_view signing_input;  // header "." payload, a view into the token
  std::string signature;           // decoded; empty for an unsecured JWS
};

// Splits and decodes `token`, which must outlive the result. The error is
// a reason in words that quotes nothing from the token ("payload is not
// JSON: at byte 12: expected ':' after member name", "exp is not a number").
absl::StatusOr<CompactJws> ParseCompactJws(std::string_view token);

// Whether `token` is a JWE in compact serialization (RFC 7516 section 7.1):
// five segments, the first a JSON header with "enc". Its payload is
// encrypted for the service, so the inspector does not parse it further.
bool IsCompactJwe(std::string_view token);

}  // namespace rampart::jwt

// JWS signature checks with OpenSSL 3.
#pragma once

#include <string_view>

#include "agent/jwt/jws_algorithm.h"
#include "agent/jwt/verification_key.h"

namespace rampart::jwt {

// Whether `signature` is `algorithm`'s signature of `signing_input` under
// `key`. False as well when the key does not fit the algorithm (KeyFits) or
// the signature has the wrong size. ES* signatures are JOSE's raw r||s and
// are converted to DER for OpenSSL; PS* use MGF1 with the same hash and a
// salt as long as the hash (RFC 7518 section 3.5). Costs one public-key
// operation (tens of microseconds) or one HMAC. Leaves OpenSSL's error
// queue empty.
bool VerifyJwsSignature(const JwsAlgorithm& algorithm, const VerificationKey& key, std::string_view signing_input,
                        std::string_view signature);

// Whether `signature` is the HMAC with `algorithm`'s hash of `signing_input`
// under `secret`, compared in constant time. `algorithm` must be HS*.
bool HmacSignatureMatches(const JwsAlgorithm& algorithm, std::string_view secret, std::string_view signing_input,
                          std::string_view signature);

}  // namespace rampart::jwt

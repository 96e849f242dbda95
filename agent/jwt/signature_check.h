// Which key a token's signature is checked against, and what the result
// means: verified, a bad signature, a key the agent does not hold, or the
// HS*/public-key algorithm confusion.
#pragma once

#include <string>
#include <vector>

#include "agent/jwt/compact_jws.h"
#include "agent/jwt/jws_algorithm.h"
#include "agent/jwt/verification_key.h"

namespace rampart::jwt {

struct SignatureVerdict {
  enum class Outcome : unsigned char {
    kVerified,
    kNotChecked,    // no key configured
    kBadSignature,  // a fitting key exists and none verifies
    kUnknownKey,    // no configured key is the token's, or none fits its alg
    kAlgConfusion,  // HS* whose key is a public key
  };
  Outcome outcome = Outcome::kNotChecked;
  double confidence = 0;
  std::string reason;  // empty when verified; names configured keys, never token bytes
};

// Checks `jws`, whose alg is `algorithm`, against `keys`:
//  1. Candidates: the keys whose kid is the token's kid. A token without a
//     kid, or whose kid no key has, falls back to the keys without a kid
//     (PEM keys have none); a kid no key has and no kid-less key to fall
//     back on is kUnknownKey.
//  2. Any candidate that fits the alg and verifies: kVerified.
//  3. HS*: if a public key among the candidates, used as an HMAC secret in
//     any of its usual encodings, verifies it, kAlgConfusion with
//     confidence 1: the token was forged with the public key. If no oct
//     key is a candidate but a public key is, kAlgConfusion with lower
//     confidence: the token names a public key for an HMAC.
//  4. Otherwise kBadSignature when a candidate fits the alg, else
//     kUnknownKey (the token's key is not configured). A kid that no key
//     has turns kBadSignature into kUnknownKey too: the kid-less keys
//     were only a guess.
// Cost: one verification per fitting candidate, plus a few HMACs per public
// key on the HS* path that does not verify.
SignatureVerdict CheckSignature(const CompactJws& jws, const JwsAlgorithm& algorithm,
                                const std::vector<VerificationKey>& keys);

}  // namespace rampart::jwt

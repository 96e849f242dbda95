#include "agent/jwt/signature_check.h"

#include "agent/common/strings.h"
#include "agent/jwt/jws_verify.h"

namespace rampart::jwt {
namespace {

// A kid is shown only when it names a configured key: a kid copied from
// the token is attacker-chosen plaintext (kid injection is an attack of its
// own) and stays out of findings.
std::string KeyName(const VerificationKey& key) {
  std::string name = DescribeKey(key) + " key";
  if (!key.kid.empty()) name += rampart::StrCat(" kid \"", key.kid, "\"");
  return rampart::StrCat(name, " (", key.origin, ")");
}

SignatureVerdict Verdict(SignatureVerdict::Outcome outcome, double confidence, std::string reason) {
  return SignatureVerdict{outcome, confidence, std::move(reason)};
}

// Header members through which a token brings its own key (RFC 7515
// section 4.1); a verifier that trusts them accepts anything.
std::string EmbeddedKeyNote(const CompactJws& jws) {
  for (const char* member : {"jwk", "jku", "x5u", "x5c"}) {
    if (jws.header.Find(member) != nullptr) {
      return rampart::StrCat("; the header brings its own key (\"", member, "\"), a key-injection attempt");
    }
  }
  return "";
}

}  // namespace

SignatureVerdict CheckSignature(const CompactJws& jws, const JwsAlgorithm& algorithm,
                                const std::vector<VerificationKey>& keys) {
  using Outcome = SignatureVerdict::Outcome;
  if (keys.empty()) return Verdict(Outcome::kNotChecked, 0, "no key configured");

  std::vector<const VerificationKey*> candidates;
  bool kid_matched = false;
  if (jws.kid.has_value()) {
    for (const VerificationKey& key : keys) {
      if (key.kid == *jws.kid) candidates.push_back(&key);
    }
    kid_matched = !candidates.empty();
  }
  if (!kid_matched) {
    for (const VerificationKey& key : keys) {
      if (key.kid.empty() || !jws.kid.has_value()) candidates.push_back(&key);
    }
  }
  if (candidates.empty()) {
    return Verdict(Outcome::kUnknownKey, 0.9, "the token's kid names no configured key");
  }

  size_t fitting = 0;
  const VerificationKey* fitting_key = nullptr;
  bool oct_candidate = false;
  const VerificationKey* public_candidate = nullptr;
  for (const VerificationKey* key : candidates) {
    if (key->kind == KeyKind::kOct) oct_candidate = true;
    if (key->public_key != nullptr && public_candidate == nullptr) public_candidate = key;
    if (!KeyFits(algorithm, *key)) continue;
    ++fitting;
    fitting_key = key;
    if (VerifyJwsSignature(algorithm, *key, jws.signing_input, jws.signature)) {
      return Verdict(Outcome::kVerified, 1, "");
    }
  }

  if (algorithm.family == AlgorithmFamily::kHmac) {
    for (const VerificationKey* key : candidates) {
      for (const std::string& encoding : key->public_encodings) {
        if (HmacSignatureMatches(algorithm, encoding, jws.signing_input, jws.signature)) {
          return Verdict(Outcome::kAlgConfusion, 1,
                         rampart::StrCat(algorithm.name, " token whose HMAC secret is the public ", KeyName(*key),
                                         ": forged with the public key (algorithm confusion)"));
        }
      }
    }
    if (!oct_candidate && public_candidate != nullptr) {
      return Verdict(
          Outcome::kAlgConfusion, kid_matched ? 0.9 : 0.6,
          rampart::StrCat(algorithm.name, " token ",
                          kid_matched ? "naming the public " : "where only public keys could verify it, e.g. ",
                          KeyName(*public_candidate), ": an HMAC over a public key (algorithm confusion)"));
    }
  }

  std::string note = EmbeddedKeyNote(jws);
  if (fitting == 0) {
    return Verdict(
        Outcome::kUnknownKey, 0.8,
        rampart::StrCat("no configured key ", jws.kid.has_value() && !kid_matched ? "has the token's kid or " : "",
                        "can verify ", algorithm.name, note));
  }
  if (jws.kid.has_value() && !kid_matched) {
    return Verdict(Outcome::kUnknownKey, 0.8,
                   rampart::StrCat("the token's kid names no configured key and none of the ", fitting,
                                   " keys without a kid verifies its ", algorithm.name, " signature", note));
  }
  std::string tried = fitting == 1 ? KeyName(*fitting_key) : rampart::StrCat("any of ", fitting, " fitting keys");
  return Verdict(Outcome::kBadSignature, 1,
                 rampart::StrCat(algorithm.name, " signature does not verify with ", tried, note));
}

}  // namespace rampart::jwt

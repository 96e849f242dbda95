// JWT checks on HTTP requests: finds bearer tokens, parses them strictly and
// reports unsigned tokens, disallowed algorithms, expired or not-yet-valid
// tokens, signatures that do not verify against the configured keys, the
// HS*/public-key algorithm confusion, and one token sent from two source
// addresses within a window (replay). See docs/jwt.md.
//
// Findings never hold a token or its claims: `masked_value` is a SHA-256
// fingerprint of the token ("sha256:3f2a9c1b"), and reasons name only the
// algorithm and configured keys. Compliance tags are none: a JWT is a
// credential, and the regimes' data types are the DLP detectors' concern.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/findings/finding.h"
#include "agent/http/message.h"

namespace rampart::jwt {

// Key material given by content rather than by path, e.g. from a policy
// bundle. `name` stands for the file in errors.
struct KeyDocument {
  std::string name;
  std::string content;
};

struct JwtOptions {
  // Verification keys. Files are read once, by Create. JWKS: RSA, EC
  // (P-256/384/521), OKP (Ed25519/Ed448) and oct keys. PEM: public keys
  // and certificates. Private keys are refused. No keys: signatures and
  // kids are not checked; everything else is.
  std::vector<std::string> jwks_files;
  std::vector<std::string> pem_files;
  std::vector<KeyDocument> jwks_documents;
  std::vector<KeyDocument> pem_documents;
  // JWS algorithms that tokens may use ("RS256", "ES256", ...); empty: all
  // of HS/RS/PS/ES 256/384/512 and EdDSA. "none" can never be allowed.
  std::vector<std::string> allowed_algs;
  // Clock skew tolerated on exp, nbf and iat.
  std::chrono::seconds leeway{60};
  // A token seen from a second source address within this window is a
  // replay. Zero turns replay detection off.
  std::chrono::seconds replay_window{600};
  // Tokens remembered for replay detection and signature verdicts; the
  // least recently seen is forgotten first. Zero remembers none.
  size_t replay_max_tokens = 65536;
  // Where tokens are looked for besides "Authorization: Bearer". Header
  // names are matched case-insensitively and may carry "Bearer <token>" or
  // the bare token; cookie names are matched exactly (RFC 6265).
  std::vector<std::string> header_names;
  std::vector<std::string> cookie_names;
};

class TokenMemory;
struct VerificationKey;

class JwtInspector {
 public:
  // Loads the keys and checks the options. Errors are one line naming the
  // file and key: `jwks /etc/rampart/jwks.json: key 2 (kid "abc"): RSA key
  // without "n"`, `allowed_algs: "RS1" is not a supported JWS algorithm`.
  static absl::StatusOr<std::unique_ptr<JwtInspector>> Create(const JwtOptions& options);
  ~JwtInspector();

  // Checks the tokens of a request (responses yield nothing). Detectors:
  //   jwt.malformed (low), jwt.alg_none (critical), jwt.alg_not_allowed
  //   (high), jwt.expired (medium), jwt.not_yet_valid (medium),
  //   jwt.bad_signature (high), jwt.unknown_key (medium), jwt.alg_confusion
  //   (high), jwt.replay (high).
  // `source_address` identifies the client: its address without the port,
  // in any stable text form ("10.0.0.7", "2001:db8::7"); empty when unknown,
  // which skips replay detection. `now` is the time the request was seen.
  // Thread-safe. Costs a SHA-256 per token, and for a token not seen before
  // one signature check (see signature_check.h).
  std::vector<findings::Finding> Inspect(const http::Message& message, std::string_view source_address,
                                         std::chrono::system_clock::time_point now);

  struct Stats {
    size_t remembered_tokens = 0;
    // Tokens forgotten while still inside the replay window because
    // replay_max_tokens was reached: non-zero means replays may be missed.
    uint64_t evicted_within_window = 0;
  };
  Stats stats() const;

 private:
  JwtInspector();
  struct TokenSite;
  std::vector<TokenSite> FindTokens(const http::Message& message) const;
  void InspectToken(const TokenSite& site, const std::array<uint8_t, 32>& digest, std::string_view source_address,
                    std::chrono::system_clock::time_point now, std::vector<findings::Finding>& out);

  std::vector<VerificationKey> keys_;
  std::vector<std::string> allowed_algs_;  // empty: all supported
  std::chrono::seconds leeway_{0};
  std::chrono::seconds replay_window_{0};
  std::vector<std::string> header_names_;  // lower case
  std::vector<std::string> cookie_names_;
  std::unique_ptr<TokenMemory> memory_;
};

}  // namespace rampart::jwt

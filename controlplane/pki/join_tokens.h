// One-time join tokens on the control plane's side (the pasteable format is
// agent/enroll/join_token.h). The store keeps only the SHA-256 of a token's
// secret, so a copy of the store cannot be used to join.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "agent/enroll/join_token.h"
#include "agent/enroll/x509.h"
#include "controlplane/store/store.h"

namespace rampart::cp {

// Makes a token with a fresh random id and secret, valid for `ttl`, stores
// its record (secret hashed) and returns the token, the only time its secret
// is visible. `ca_pin` and `address` go into the pasteable string only.
absl::StatusOr<identity::JoinToken> CreateJoinToken(Store& store, const std::string& ca_pin, const std::string& address,
                                                    std::chrono::seconds ttl, const std::string& description,
                                                    x509::TimePoint now);

// Checks a presented token and marks it used by `node`; at most one caller
// ever succeeds per token. Errors name the token id, never the secret:
//   Unauthenticated: unknown id, or wrong secret (compared in constant time).
//   PermissionDenied: already used (by whom, when), or expired (when).
absl::StatusOr<v1::JoinTokenRecord> RedeemJoinToken(Store& store, std::string_view id, std::string_view secret,
                                                    const std::string& node, x509::TimePoint now);

// SHA-256 of a token secret, as stored in JoinTokenRecord.secret_sha256.
std::string HashTokenSecret(std::string_view secret);


}  // namespace rampart::cp

#include "controlplane/pki/join_tokens.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <ctime>

#include "agent/common/strings.h"
#include "agent/common/utc_time.h"

namespace rampart::cp {
namespace {

constexpr int kIdAttempts = 5;

// `length` characters of [a-z0-9], uniformly (rejection sampling on bytes).
absl::StatusOr<std::string> RandomTokenPart(size_t length) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  constexpr unsigned kLimit = 252;  // the largest multiple of 36 below 256
  std::string out;
  while (out.size() < length) {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof(bytes)) != 1) return absl::InternalError("join token: no randomness (RAND_bytes)");
    for (unsigned char b : bytes) {
      if (b < kLimit && out.size() < length) out.push_back(kAlphabet[b % 36]);
    }
  }
  return out;
}

}  // namespace

std::string HashTokenSecret(std::string_view secret) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

absl::StatusOr<identity::JoinToken> CreateJoinToken(Store& store, const std::string& ca_pin, const std::string& address,
                                                    std::chrono::seconds ttl, const std::string& description,
                                                    x509::TimePoint now) {
  if (ttl.count() <= 0) return absl::InvalidArgumentError("join token: the time to live must be positive");
  identity::JoinToken token;
  token.ca_pin = ca_pin;
  token.address = address;
  for (int attempt = 0; attempt < kIdAttempts; ++attempt) {
    auto id = RandomTokenPart(identity::kTokenIdLength);
    if (!id.ok()) return id.status();
    auto secret = RandomTokenPart(identity::kTokenSecretLength);
    if (!secret.ok()) return secret.status();
    token.id = *id;
    token.secret = *secret;
    v1::JoinTokenRecord record;
    record.set_id(token.id);
    record.set_secret_sha256(HashTokenSecret(token.secret));
    record.set_created_unix_ms(UnixMs(now));
    record.set_expires_unix_ms(UnixMs(now + ttl));
    record.set_description(description);
    absl::Status stored = store.PutJoinToken(record);
    if (stored.ok()) {
      // Round-trips through the parser, so a token we print is one we accept.
      auto parsed = identity::JoinToken::Parse(token.ToString());
      if (!parsed.ok()) return parsed.status();
      return token;
    }
    if (!absl::IsAlreadyExists(stored)) return stored;
  }
  return absl::InternalError(StrCat("join token: ", kIdAttempts, " random ids in a row were taken"));
}

absl::StatusOr<v1::JoinTokenRecord> RedeemJoinToken(Store& store, std::string_view id, std::string_view secret,
                                                    const std::string& node, x509::TimePoint now) {
  const std::string name = StrCat("join token ", id);
  if (!identity::IsTokenPart(id, identity::kTokenIdLength)) {
    return absl::UnauthenticatedError(StrCat("join token: malformed id (", identity::kTokenIdLength, " of [a-z0-9])"));
  }
  auto record = store.GetJoinToken(std::string(id));
  if (absl::IsNotFound(record.status())) {
    return absl::UnauthenticatedError(StrCat(name, " is unknown (never created, or deleted)"));
  }
  if (!record.ok()) return record.status();
  const std::string presented = HashTokenSecret(secret);
  if (record->secret_sha256().size() != presented.size() ||
      CRYPTO_memcmp(record->secret_sha256().data(), presented.data(), presented.size()) != 0) {
    return absl::UnauthenticatedError(StrCat(name, ": wrong secret"));
  }
  const int64_t now_ms = UnixMs(now);
  if (record->used()) {
    return absl::PermissionDeniedError(StrCat(name, " was already used (by node \"", record->used_by_node(), "\" at ",
                                              FormatUtcMs(record->used_unix_ms()),
                                              "); a join token works once: make a new one"));
  }
  if (now_ms >= record->expires_unix_ms()) {
    return absl::PermissionDeniedError(
        StrCat(name, " expired at ", FormatUtcMs(record->expires_unix_ms()), "; make a new one"));
  }
  auto consumed = store.ConsumeJoinToken(std::string(id), node, now_ms);
  if (absl::IsFailedPrecondition(consumed.status()) || absl::IsNotFound(consumed.status())) {
    // Another join won the race (or the token vanished) since the checks above.
    return absl::PermissionDeniedError(StrCat(name, ": ", consumed.status().message()));
  }
  return consumed;
}

}  // namespace rampart::cp

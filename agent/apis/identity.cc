#include "agent/apis/identity.h"

#include <algorithm>

#include "agent/apis/api_inventory.h"
#include "agent/apis/hashing.h"
#include "agent/common/strings.h"
#include "agent/findings/finding.h"
#include "agent/http/text.h"
#include "agent/jwt/compact_jws.h"

namespace rampart::apis {
namespace {

// JWTs are a few KiB at most; anything longer is not parsed for claims.
constexpr size_t kMaxTokenBytes = 16384;

std::string Lower(std::string_view s) {
  std::string out;
  http::AssignLower(out, s);
  return out;
}

// The value of `scheme` credentials in an Authorization header ("Bearer
// abc" -> "abc"), scheme case-insensitive; "" when it is another scheme.
std::string_view Credentials(std::string_view value, std::string_view scheme) {
  value = http::TrimOws(value);
  if (value.size() <= scheme.size() || !http::EqualsIgnoreCase(value.substr(0, scheme.size()), scheme)) return {};
  const std::string_view rest = value.substr(scheme.size());
  if (!http::IsOws(rest.front())) return {};
  return http::TrimOws(rest);
}

bool LooksLikeJwt(std::string_view token) {
  return token.starts_with("eyJ") && std::count(token.begin(), token.end(), '.') == 2;
}

Identity Make(IdentityKind kind, std::string_view value, uint64_t seed, std::string masked) {
  Identity id;
  id.kind = kind;
  id.key = HashCombine(Hash64(value, seed), static_cast<uint64_t>(kind));
  if (id.key == 0) id.key = 1;
  id.masked = rampart::StrCat(IdentityKindName(kind), " ", masked);
  return id;
}

}  // namespace

std::string_view IdentityKindName(IdentityKind kind) {
  switch (kind) {
    case IdentityKind::kNone:
      return "none";
    case IdentityKind::kApiKey:
      return "api_key";
    case IdentityKind::kJwtSubject:
      return "jwt_sub";
    case IdentityKind::kJwtClient:
      return "jwt_client_id";
    case IdentityKind::kBearer:
      return "bearer";
    case IdentityKind::kMtls:
      return "mtls";
    case IdentityKind::kAddress:
      return "address";
    case IdentityKind::kMtlsPeer:
      return "mtls_peer";
  }
  return "unknown";
}

std::string PeerIdentityText(const capture::PeerCertificate& peer, MtlsPeerMode mode) {
  const bool san = mode == MtlsPeerMode::kAuto || mode == MtlsPeerMode::kSan;
  const bool subject = mode == MtlsPeerMode::kAuto || mode == MtlsPeerMode::kSubject;
  if (san && !peer.uri_sans.empty()) return peer.uri_sans.front();
  if (subject && !peer.subject_cn.empty()) return rampart::StrCat("CN=", peer.subject_cn);
  if (san && !peer.dns_sans.empty()) return rampart::StrCat("DNS=", peer.dns_sans.front());
  return "";
}

IdentityResolver::IdentityResolver(IdentityOptions options, uint64_t seed) : options_(std::move(options)), seed_(seed) {
  for (auto& name : options_.api_key_headers) name = Lower(name);
  for (auto& name : options_.mtls_headers) name = Lower(name);
}

Identity IdentityResolver::Resolve(const http::Message& request, std::string_view remote_address,
                                   const capture::PeerCertificate* peer) const {
  for (const auto& name : options_.api_key_headers) {
    const std::string* value = request.FindHeader(name);
    if (value == nullptr) continue;
    const std::string_view key = http::TrimOws(*value);
    if (key.empty()) continue;
    return Make(IdentityKind::kApiKey, key, seed_, findings::MaskValue(key, 0, 4));
  }
  if (const std::string* auth = request.FindHeader("authorization"); auth != nullptr) {
    const std::string_view token = Credentials(*auth, "bearer");
    if (!token.empty()) {
      if (options_.jwt && token.size() <= kMaxTokenBytes && LooksLikeJwt(token)) {
        if (auto jws = jwt::ParseCompactJws(token); jws.ok()) {
          if (const std::string* sub = jws->claims.FindString("sub"); sub != nullptr && !sub->empty()) {
            return Make(IdentityKind::kJwtSubject, *sub, seed_, findings::MaskValue(*sub, 0, 2));
          }
          if (const std::string* client = jws->claims.FindString("client_id"); client != nullptr && !client->empty()) {
            return Make(IdentityKind::kJwtClient, *client, seed_, findings::MaskValue(*client, 0, 2));
          }
        }
      }
      return Make(IdentityKind::kBearer, token, seed_, findings::MaskValue(token, 0, 4));
    }
  }
  for (const auto& name : options_.mtls_headers) {
    const std::string* value = request.FindHeader(name);
    if (value == nullptr) continue;
    const std::string_view subject = http::TrimOws(*value);
    if (subject.empty()) continue;
    return Make(IdentityKind::kMtls, subject, seed_, findings::MaskValue(subject, 0, 4));
  }
  if (peer != nullptr && options_.mtls_peer != MtlsPeerMode::kOff) {
    const std::string name = PeerIdentityText(*peer, options_.mtls_peer);
    if (!name.empty()) return Make(IdentityKind::kMtlsPeer, name, seed_, name);
  }
  if (options_.address_fallback && !remote_address.empty()) {
    return Make(IdentityKind::kAddress, remote_address, seed_, std::string(remote_address));
  }
  return Identity{};
}

uint32_t IdentityResolver::AuthSchemes(const http::Message& request, const capture::PeerCertificate* peer) const {
  uint32_t schemes = 0;
  if (const std::string* auth = request.FindHeader("authorization"); auth != nullptr) {
    if (!Credentials(*auth, "basic").empty()) schemes |= kAuthBasic;
    const std::string_view token = Credentials(*auth, "bearer");
    if (!token.empty()) schemes |= LooksLikeJwt(token) ? kAuthJwt : kAuthBearer;
  }
  for (const auto& name : options_.api_key_headers) {
    if (request.FindHeader(name) != nullptr) schemes |= kAuthApiKey;
  }
  for (const auto& name : options_.mtls_headers) {
    if (request.FindHeader(name) != nullptr) schemes |= kAuthMtls;
  }
  if (peer != nullptr && options_.mtls_peer != MtlsPeerMode::kOff &&
      !PeerIdentityText(*peer, options_.mtls_peer).empty()) {
    schemes |= kAuthMtls;
  }
  if (request.FindHeader("cookie") != nullptr) schemes |= kAuthCookie;
  return schemes == 0 ? kAuthNone : schemes;
}

}  // namespace rampart::apis

#include "agent/jwt/compact_jws.h"

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "agent/common/strings.h"
#include "agent/jwt/base64url.h"

namespace rampart::jwt {
namespace {

std::vector<std::string_view> SplitOnDots(std::string_view token) {
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (true) {
    size_t dot = token.find('.', start);
    if (dot == std::string_view::npos) {
      segments.push_back(token.substr(start));
      return segments;
    }
    segments.push_back(token.substr(start, dot - start));
    start = dot + 1;
  }
}

absl::StatusOr<JsonValue> DecodeJsonObject(std::string_view segment, std::string_view what) {
  auto bytes = DecodeBase64Url(segment);
  if (!bytes.has_value()) return absl::InvalidArgumentError(rampart::StrCat(what, " is not base64url"));
  auto json = ParseJson(*bytes);
  if (!json.ok()) return absl::InvalidArgumentError(rampart::StrCat(what, " is not JSON: ", json.status().message()));
  if (!json->is_object()) return absl::InvalidArgumentError(rampart::StrCat(what, " is not a JSON object"));
  return json;
}

absl::Status ReadNumericDate(const JsonValue& claims, std::string_view name, std::optional<double>& out) {
  const JsonValue* value = claims.Find(name);
  if (value == nullptr) return absl::OkStatus();
  if (!value->is_number()) return absl::InvalidArgumentError(rampart::StrCat(name, " is not a number"));
  out = value->number();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CompactJws> ParseCompactJws(std::string_view token) {
  std::vector<std::string_view> segments = SplitOnDots(token);
  if (segments.size() != 3) {
    return absl::InvalidArgumentError(rampart::StrCat("3 segments expected, found ", segments.size()));
  }
  CompactJws jws;
  auto header = DecodeJsonObject(segments[0], "header");
  if (!header.ok()) return header.status();
  jws.header = *std::move(header);
  auto claims = DecodeJsonObject(segments[1], "payload");
  if (!claims.ok()) return claims.status();
  jws.claims = *std::move(claims);
  auto signature = DecodeBase64Url(segments[2]);
  if (!signature.has_value()) return absl::InvalidArgumentError("signature is not base64url");
  jws.signature = *std::move(signature);

  const JsonValue* alg = jws.header.Find("alg");
  if (alg == nullptr) return absl::InvalidArgumentError("header has no \"alg\"");
  if (!alg->is_string()) return absl::InvalidArgumentError("header \"alg\" is not a string");
  jws.alg = alg->string();
  if (const JsonValue* kid = jws.header.Find("kid"); kid != nullptr) {
    if (!kid->is_string()) return absl::InvalidArgumentError("header \"kid\" is not a string");
    jws.kid = kid->string();
  }
  for (auto [name, field] : {std::pair{"exp", &jws.exp}, std::pair{"nbf", &jws.nbf}, std::pair{"iat", &jws.iat}}) {
    if (absl::Status status = ReadNumericDate(jws.claims, name, *field); !status.ok()) return status;
  }
  jws.signing_input = token.substr(0, segments[0].size() + 1 + segments[1].size());
  return jws;
}

bool IsCompactJwe(std::string_view token) {
  if (std::count(token.begin(), token.end(), '.') != 4) return false;
  auto header = DecodeJsonObject(token.substr(0, token.find('.')), "header");
  return header.ok() && header->FindString("enc") != nullptr;
}

}  // namespace rampart::jwt

#include "agent/enroll/join_token.h"

#include "agent/common/strings.h"

namespace rampart::identity {
namespace {

constexpr std::string_view kPinPrefix = "sha256:";
constexpr size_t kPinHexLength = 64;

bool IsLowerHex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

bool IsTokenPart(std::string_view text, size_t length) {
  if (text.size() != length) return false;
  for (char c : text) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

std::string JoinToken::ToString() const {
  std::string text = StrCat(id, ".", secret, ".", ca_pin);
  if (!address.empty()) text += StrCat("@", address);
  return text;
}

absl::StatusOr<JoinToken> JoinToken::Parse(std::string_view text) {
  constexpr std::string_view kShape =
      " (expected ID.SECRET.sha256:PIN[@HOST:PORT], as printed by rampart-cp token create)";
  JoinToken token;
  const size_t at = text.find('@');
  if (at != std::string_view::npos) {
    token.address = std::string(text.substr(at + 1));
    text = text.substr(0, at);
    if (token.address.empty()) return absl::InvalidArgumentError(StrCat("join token: empty address after '@'", kShape));
  }
  const size_t first = text.find('.');
  const size_t second = first == std::string_view::npos ? first : text.find('.', first + 1);
  if (second == std::string_view::npos) {
    return absl::InvalidArgumentError(StrCat("join token: missing parts", kShape));
  }
  token.id = std::string(text.substr(0, first));
  token.secret = std::string(text.substr(first + 1, second - first - 1));
  token.ca_pin = std::string(text.substr(second + 1));
  if (!IsTokenPart(token.id, kTokenIdLength)) {
    return absl::InvalidArgumentError(StrCat("join token: the id is not ", kTokenIdLength, " of [a-z0-9]", kShape));
  }
  if (!IsTokenPart(token.secret, kTokenSecretLength)) {
    return absl::InvalidArgumentError(
        StrCat("join token ", token.id, ": the secret is not ", kTokenSecretLength, " of [a-z0-9]", kShape));
  }
  const std::string_view pin = token.ca_pin;
  if (pin.substr(0, kPinPrefix.size()) != kPinPrefix || pin.size() != kPinPrefix.size() + kPinHexLength ||
      !IsLowerHex(pin.substr(kPinPrefix.size()))) {
    return absl::InvalidArgumentError(
        StrCat("join token ", token.id, ": the CA pin is not sha256:<64 lowercase hex>", kShape));
  }
  return token;
}

}  // namespace rampart::identity

#include "agent/jwt/jws_algorithm.h"

#include <array>

namespace rampart::jwt {
namespace {

constexpr std::array<JwsAlgorithm, 13> kAlgorithms = {{
    {"HS256", AlgorithmFamily::kHmac, "SHA256", 0, ""},
    {"HS384", AlgorithmFamily::kHmac, "SHA384", 0, ""},
    {"HS512", AlgorithmFamily::kHmac, "SHA512", 0, ""},
    {"RS256", AlgorithmFamily::kRsaPkcs1, "SHA256", 0, ""},
    {"RS384", AlgorithmFamily::kRsaPkcs1, "SHA384", 0, ""},
    {"RS512", AlgorithmFamily::kRsaPkcs1, "SHA512", 0, ""},
    {"ES256", AlgorithmFamily::kEcdsa, "SHA256", 32, "P-256"},
    {"ES384", AlgorithmFamily::kEcdsa, "SHA384", 48, "P-384"},
    {"ES512", AlgorithmFamily::kEcdsa, "SHA512", 66, "P-521"},
    {"PS256", AlgorithmFamily::kRsaPss, "SHA256", 0, ""},
    {"PS384", AlgorithmFamily::kRsaPss, "SHA384", 0, ""},
    {"PS512", AlgorithmFamily::kRsaPss, "SHA512", 0, ""},
    {"EdDSA", AlgorithmFamily::kEdDsa, nullptr, 0, ""},
}};

}  // namespace

const JwsAlgorithm* FindJwsAlgorithm(std::string_view name) {
  for (const JwsAlgorithm& algorithm : kAlgorithms) {
    if (algorithm.name == name) return &algorithm;
  }
  return nullptr;
}

bool IsAlgNone(std::string_view name) {
  if (name.size() != 4) return false;
  static constexpr std::string_view kNone = "none";
  for (size_t i = 0; i < 4; ++i) {
    char c = name[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kNone[i]) return false;
  }
  return true;
}

std::vector<std::string_view> SupportedJwsAlgorithms() {
  std::vector<std::string_view> names;
  for (const JwsAlgorithm& algorithm : kAlgorithms) names.push_back(algorithm.name);
  return names;
}

}  // namespace rampart::jwt

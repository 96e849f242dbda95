#include "agent/jwt/jws_verify.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "agent/jwt/openssl_handles.h"

namespace rampart::jwt {
namespace {

const unsigned char* Bytes(std::string_view text) { return reinterpret_cast<const unsigned char*>(text.data()); }

// JOSE ECDSA signatures are r||s, each padded to the curve size
// (RFC 7518 section 3.4); OpenSSL verifies the DER ECDSA-Sig-Value.
std::string EcdsaRawToDer(std::string_view raw, size_t part_bytes) {
  if (raw.size() != 2 * part_bytes) return {};
  BignumPtr r(BN_bin2bn(Bytes(raw), static_cast<int>(part_bytes), nullptr));
  BignumPtr s(BN_bin2bn(Bytes(raw) + part_bytes, static_cast<int>(part_bytes), nullptr));
  EcdsaSigPtr signature(ECDSA_SIG_new());
  if (r == nullptr || s == nullptr || signature == nullptr) return {};
  if (ECDSA_SIG_set0(signature.get(), r.get(), s.get()) != 1) return {};
  r.release();  // owned by `signature` now
  s.release();
  unsigned char* der = nullptr;
  int length = i2d_ECDSA_SIG(signature.get(), &der);
  if (length <= 0) return {};
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

bool DigestVerify(const JwsAlgorithm& algorithm, EVP_PKEY* key, std::string_view signing_input,
                  std::string_view signature) {
  DigestContextPtr context(EVP_MD_CTX_new());
  EVP_PKEY_CTX* key_context = nullptr;
  if (context == nullptr ||
      EVP_DigestVerifyInit_ex(context.get(), &key_context, algorithm.digest, nullptr, nullptr, key, nullptr) != 1) {
    return false;
  }
  if (algorithm.family == AlgorithmFamily::kRsaPss &&
      (EVP_PKEY_CTX_set_rsa_padding(key_context, RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(key_context, RSA_PSS_SALTLEN_DIGEST) != 1 ||
       EVP_PKEY_CTX_set_rsa_mgf1_md_name(key_context, algorithm.digest, nullptr) != 1)) {
    return false;
  }
  return EVP_DigestVerify(context.get(), Bytes(signature), signature.size(), Bytes(signing_input),
                          signing_input.size()) == 1;
}

}  // namespace

bool HmacSignatureMatches(const JwsAlgorithm& algorithm, std::string_view secret, std::string_view signing_input,
                          std::string_view signature) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t mac_length = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, algorithm.digest, nullptr, secret.data(), secret.size(), Bytes(signing_input),
                signing_input.size(), mac, sizeof(mac), &mac_length) == nullptr) {
    ERR_clear_error();
    return false;
  }
  return mac_length == signature.size() && CRYPTO_memcmp(mac, signature.data(), mac_length) == 0;
}

bool VerifyJwsSignature(const JwsAlgorithm& algorithm, const VerificationKey& key, std::string_view signing_input,
                        std::string_view signature) {
  if (!KeyFits(algorithm, key)) return false;
  bool verified = false;
  switch (algorithm.family) {
    case AlgorithmFamily::kHmac: return HmacSignatureMatches(algorithm, key.secret, signing_input, signature);
    case AlgorithmFamily::kRsaPkcs1:
    case AlgorithmFamily::kRsaPss:
    case AlgorithmFamily::kEdDsa:
      verified = DigestVerify(algorithm, key.public_key.get(), signing_input, signature);
      break;
    case AlgorithmFamily::kEcdsa: {
      std::string der = EcdsaRawToDer(signature, algorithm.ecdsa_part_bytes);
      verified = !der.empty() && DigestVerify(algorithm, key.public_key.get(), signing_input, der);
      break;
    }
  }
  ERR_clear_error();
  return verified;
}

}  // namespace rampart::jwt

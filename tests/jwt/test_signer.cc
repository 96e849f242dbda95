#include "tests/jwt/test_signer.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "agent/jwt/base64url.h"
#include "agent/jwt/jws_algorithm.h"
#include "agent/jwt/openssl_handles.h"

namespace rampart::jwt::testing {
namespace {

// Test setup failing is a broken test, not a case to handle.
void Check(bool ok, const char* what) {
  if (!ok) {
    ERR_print_errors_fp(stderr);
    throw std::runtime_error(what);
  }
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(length));
}

std::string BignumBytes(const BIGNUM* number, int width = 0) {
  std::string out(width > 0 ? width : BN_num_bytes(number), '\0');
  if (width > 0) {
    Check(BN_bn2binpad(number, reinterpret_cast<unsigned char*>(out.data()), width) == width, "BN_bn2binpad");
  } else {
    BN_bn2bin(number, reinterpret_cast<unsigned char*>(out.data()));
  }
  return out;
}

BignumPtr BignumParam(EVP_PKEY* key, const char* name) {
  BIGNUM* number = nullptr;
  Check(EVP_PKEY_get_bn_param(key, name, &number) == 1, name);
  return BignumPtr(number);
}

std::string Quoted(std::string_view name, std::string_view value) {
  return std::string("\"") + std::string(name) + "\":\"" + std::string(value) + "\"";
}

std::string SigningInput(std::string_view header_json, std::string_view claims_json) {
  return EncodeBase64Url(header_json) + "." + EncodeBase64Url(claims_json);
}

TestKey GenerateRsa(std::string kid, int bits) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits));
  Check(key != nullptr, "RSA keygen");
  return TestKey{EvpPkeyPtr(key), std::move(kid)};
}

}  // namespace

TestKey SharedRsa(std::string_view name, std::string kid, int bits) {
  std::filesystem::path directory(RAMPART_JWT_TEST_KEY_DIR);
  std::filesystem::path path = directory / (std::string(name) + "-" + std::to_string(bits) + ".pem");
  std::ifstream in(path);
  if (in) {
    std::stringstream pem;
    pem << in.rdbuf();
    std::string text = pem.str();
    BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    if (key != nullptr && EVP_PKEY_get_bits(key) == bits) return TestKey{EvpPkeyPtr(key), std::move(kid)};
    EVP_PKEY_free(key);
    ERR_clear_error();  // unreadable: generate it again
  }
  TestKey key = GenerateRsa(std::move(kid), bits);
  std::filesystem::create_directories(directory);
  // Written aside and renamed, so a process in parallel reads a whole key.
  std::filesystem::path temporary = path;
  temporary += "." + std::to_string(getpid());
  std::ofstream(temporary) << key.PrivatePem();
  std::filesystem::rename(temporary, path);
  return key;
}

TestKey GenerateEc(std::string_view curve, std::string kid) {
  const char* group = curve == "P-256" ? "P-256" : curve == "P-384" ? "P-384" : "P-521";
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", group);
  Check(key != nullptr, "EC keygen");
  return TestKey{EvpPkeyPtr(key), std::move(kid)};
}

TestKey GenerateEd25519(std::string kid) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  Check(key != nullptr, "Ed25519 keygen");
  return TestKey{EvpPkeyPtr(key), std::move(kid)};
}

std::string TestKey::PublicPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  Check(PEM_write_bio_PUBKEY(bio.get(), key.get()) == 1, "PEM_write_bio_PUBKEY");
  return BioText(bio.get());
}

std::string TestKey::PrivatePem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  Check(PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  return BioText(bio.get());
}

std::string TestKey::CertificatePem() const {
  X509Ptr certificate(X509_new());
  Check(certificate != nullptr, "X509_new");
  X509* x = certificate.get();
  Check(X509_set_version(x, 2) == 1, "X509_set_version");
  Check(ASN1_INTEGER_set(X509_get_serialNumber(x), 1) == 1, "serial");
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("issuer.test"), -1, -1,
                             0);
  Check(X509_set_issuer_name(x, name) == 1, "issuer");
  Check(X509_set_pubkey(x, key.get()) == 1, "X509_set_pubkey");
  bool no_digest = EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_ED25519;
  Check(X509_sign(x, key.get(), no_digest ? nullptr : EVP_sha256()) > 0, "X509_sign");
  BioPtr bio(BIO_new(BIO_s_mem()));
  Check(PEM_write_bio_X509(bio.get(), x) == 1, "PEM_write_bio_X509");
  return BioText(bio.get());
}

std::string TestKey::Jwk(std::string_view extra) const {
  EVP_PKEY* pkey = key.get();
  std::string members;
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
      members = Quoted("kty", "RSA") + "," +
                Quoted("n", EncodeBase64Url(BignumBytes(BignumParam(pkey, OSSL_PKEY_PARAM_RSA_N).get()))) + "," +
                Quoted("e", EncodeBase64Url(BignumBytes(BignumParam(pkey, OSSL_PKEY_PARAM_RSA_E).get())));
      break;
    case EVP_PKEY_EC: {
      int bits = EVP_PKEY_get_bits(pkey);
      int width = (bits + 7) / 8;
      std::string crv = bits == 256 ? "P-256" : bits == 384 ? "P-384" : "P-521";
      members = Quoted("kty", "EC") + "," + Quoted("crv", crv) + "," +
                Quoted("x", EncodeBase64Url(BignumBytes(BignumParam(pkey, OSSL_PKEY_PARAM_EC_PUB_X).get(), width))) +
                "," +
                Quoted("y", EncodeBase64Url(BignumBytes(BignumParam(pkey, OSSL_PKEY_PARAM_EC_PUB_Y).get(), width)));
      break;
    }
    case EVP_PKEY_ED25519: {
      unsigned char raw[32];
      size_t length = sizeof(raw);
      Check(EVP_PKEY_get_raw_public_key(pkey, raw, &length) == 1, "raw public key");
      members = Quoted("kty", "OKP") + "," + Quoted("crv", "Ed25519") + "," +
                Quoted("x", EncodeBase64Url(std::string_view(reinterpret_cast<const char*>(raw), length)));
      break;
    }
    default: Check(false, "unsupported test key type");
  }
  if (!kid.empty()) members += "," + Quoted("kid", kid);
  if (!extra.empty()) members += "," + std::string(extra);
  return "{" + members + "}";
}

std::string OctJwk(std::string_view secret, std::string_view kid, std::string_view extra) {
  std::string members = Quoted("kty", "oct") + "," + Quoted("k", EncodeBase64Url(secret));
  if (!kid.empty()) members += "," + Quoted("kid", kid);
  if (!extra.empty()) members += "," + std::string(extra);
  return "{" + members + "}";
}

std::string Jwks(const std::vector<std::string>& jwks) {
  std::string out = "{\"keys\":[";
  for (size_t i = 0; i < jwks.size(); ++i) out += (i ? "," : "") + jwks[i];
  return out + "]}";
}

std::string SignJws(std::string_view header_json, std::string_view claims_json, std::string_view alg,
                    const TestKey& key) {
  const JwsAlgorithm* algorithm = FindJwsAlgorithm(alg);
  Check(algorithm != nullptr && algorithm->family != AlgorithmFamily::kHmac, "asymmetric alg");
  std::string input = SigningInput(header_json, claims_json);
  DigestContextPtr context(EVP_MD_CTX_new());
  EVP_PKEY_CTX* key_context = nullptr;
  Check(EVP_DigestSignInit_ex(context.get(), &key_context, algorithm->digest, nullptr, nullptr, key.key.get(),
                              nullptr) == 1,
        "EVP_DigestSignInit_ex");
  if (algorithm->family == AlgorithmFamily::kRsaPss) {
    Check(EVP_PKEY_CTX_set_rsa_padding(key_context, RSA_PKCS1_PSS_PADDING) == 1 &&
              EVP_PKEY_CTX_set_rsa_pss_saltlen(key_context, RSA_PSS_SALTLEN_DIGEST) == 1 &&
              EVP_PKEY_CTX_set_rsa_mgf1_md_name(key_context, algorithm->digest, nullptr) == 1,
          "PSS parameters");
  }
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  size_t length = 0;
  Check(EVP_DigestSign(context.get(), nullptr, &length, data, input.size()) == 1, "signature size");
  std::string signature(length, '\0');
  Check(EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, data,
                       input.size()) == 1,
        "EVP_DigestSign");
  signature.resize(length);
  if (algorithm->family == AlgorithmFamily::kEcdsa) {
    // OpenSSL signs DER; JOSE wants r||s, each padded to the curve size.
    const auto* der = reinterpret_cast<const unsigned char*>(signature.data());
    EcdsaSigPtr parsed(d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size())));
    Check(parsed != nullptr, "d2i_ECDSA_SIG");
    int width = static_cast<int>(algorithm->ecdsa_part_bytes);
    signature = BignumBytes(ECDSA_SIG_get0_r(parsed.get()), width) + BignumBytes(ECDSA_SIG_get0_s(parsed.get()), width);
  }
  return input + "." + EncodeBase64Url(signature);
}

std::string SignHmac(std::string_view header_json, std::string_view claims_json, std::string_view alg,
                     std::string_view secret) {
  const JwsAlgorithm* algorithm = FindJwsAlgorithm(alg);
  Check(algorithm != nullptr && algorithm->family == AlgorithmFamily::kHmac, "HMAC alg");
  std::string input = SigningInput(header_json, claims_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t length = 0;
  Check(EVP_Q_mac(nullptr, "HMAC", nullptr, algorithm->digest, nullptr, secret.data(), secret.size(),
                  reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, sizeof(mac),
                  &length) != nullptr,
        "EVP_Q_mac");
  return input + "." + EncodeBase64Url(std::string_view(reinterpret_cast<const char*>(mac), length));
}

std::string Unsigned(std::string_view header_json, std::string_view claims_json) {
  return SigningInput(header_json, claims_json) + ".";
}

}  // namespace rampart::jwt::testing

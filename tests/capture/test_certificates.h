// Certificates made at test time with OpenSSL: a fresh P-256 key, self-signed,
// with the subject CN and subjectAltNames asked for.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace rampart::capture::testing {

// `cn` "" for no CN; `sans` in OpenSSL's config spelling: "URI:spiffe://a/b",
// "DNS:client.example", "IP:10.0.0.1".
inline std::vector<uint8_t> MakeCertificateDer(const std::string& cn, const std::vector<std::string>& sans,
                                               const std::string& organization = "Rampart tests") {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
  if (!key || !cert) throw std::runtime_error("OpenSSL: cannot make a key or certificate");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 7);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(organization.c_str()),
                             -1, -1, 0);
  if (!cn.empty()) {
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                               -1, 0);
  }
  X509_set_issuer_name(cert.get(), name);
  if (!sans.empty()) {
    std::string value;
    for (const auto& san : sans) value += (value.empty() ? "" : ",") + san;
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, value.c_str());
    if (!ext) throw std::runtime_error("OpenSSL: bad subjectAltName " + value);
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) throw std::runtime_error("OpenSSL: cannot sign");
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert.get(), &der);
  if (length <= 0) throw std::runtime_error("OpenSSL: cannot encode");
  std::vector<uint8_t> out(der, der + length);
  OPENSSL_free(der);
  return out;
}

}  // namespace rampart::capture::testing

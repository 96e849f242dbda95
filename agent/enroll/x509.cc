#include "agent/enroll/x509.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "agent/common/strings.h"

namespace rampart::x509 {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

// Refuses encrypted keys instead of prompting on the terminal.
int NoPassword(char*, int, int, void*) { return 0; }

Bio ReadBio(std::string_view pem) { return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string Hex(const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

TimePoint FromAsn1(const ASN1_TIME* time) {
  struct tm tm = {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return TimePoint{};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

absl::Status OpenSslError(absl::StatusCode code, std::string_view what) {
  std::string message(what);
  const char* sep = ": ";
  while (unsigned long err = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    message += sep;
    message += buf;
    sep = "; ";
  }
  return absl::Status(code, message);
}

absl::StatusOr<Key> NewEcKey() {
  Key key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError(absl::StatusCode::kInternal, "generate EC P-256 key");
  return key;
}

absl::StatusOr<std::string> PrivateKeyPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "encode private key");
  }
  return BioContents(bio.get());
}

absl::StatusOr<Key> ParsePrivateKeyPem(std::string_view pem, std::string_view what) {
  Bio bio = ReadBio(pem);
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  if (!key) return OpenSslError(absl::StatusCode::kInvalidArgument, StrCat(what, ": no PEM private key"));
  return key;
}

bool SamePublicKey(EVP_PKEY* a, EVP_PKEY* b) { return a && b && EVP_PKEY_eq(a, b) == 1; }

absl::StatusOr<std::string> SpkiPin(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int size = i2d_PUBKEY(key, &der);
  if (size <= 0) return OpenSslError(absl::StatusCode::kInternal, "encode public key");
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(size), digest);
  OPENSSL_free(der);
  return "sha256:" + Hex(digest, sizeof(digest));
}

absl::StatusOr<std::string> SpkiPin(X509* cert) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) return OpenSslError(absl::StatusCode::kInvalidArgument, "certificate public key");
  return SpkiPin(key);
}

absl::StatusOr<std::string> CertificatePem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "encode certificate");
  }
  return BioContents(bio.get());
}

absl::StatusOr<Cert> ParseCertificatePem(std::string_view pem, std::string_view what) {
  Bio bio = ReadBio(pem);
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, NoPassword, nullptr));
  if (!cert) return OpenSslError(absl::StatusCode::kInvalidArgument, StrCat(what, ": no PEM certificate"));
  return cert;
}

absl::StatusOr<std::vector<Cert>> ParseCertificateChainPem(std::string_view pem, std::string_view what) {
  Bio bio = ReadBio(pem);
  std::vector<Cert> chain;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, NoPassword, nullptr)) chain.emplace_back(cert);
  // The loop ends on "no start line" at the end of the input: not an error.
  ERR_clear_error();
  if (chain.empty()) return absl::InvalidArgumentError(StrCat(what, ": no PEM certificate"));
  return chain;
}

Cert CopyOf(X509* cert) {
  X509_up_ref(cert);
  return Cert(cert);
}

std::string SerialHex(X509* cert) {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  return Hex(serial->data, static_cast<size_t>(serial->length));
}

TimePoint NotBefore(X509* cert) { return FromAsn1(X509_get0_notBefore(cert)); }
TimePoint NotAfter(X509* cert) { return FromAsn1(X509_get0_notAfter(cert)); }

std::string SubjectAttribute(X509* cert, int nid) {
  X509_NAME* name = X509_get_subject_name(cert);
  int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return "";
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                     static_cast<size_t>(ASN1_STRING_length(value)));
}

std::string SubjectCommonName(X509* cert) { return SubjectAttribute(cert, NID_commonName); }

std::vector<std::string> UriSans(X509* cert) {
  std::vector<std::string> uris;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return uris;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_STRING* uri = name->d.uniformResourceIdentifier;
    uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                      static_cast<size_t>(ASN1_STRING_length(uri)));
  }
  GENERAL_NAMES_free(names);
  return uris;
}

bool IsCa(X509* cert) { return X509_check_ca(cert) >= 1 && (X509_get_extension_flags(cert) & EXFLAG_CA); }

bool HasClientAuth(X509* cert) {
  return (X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) && (X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT);
}

absl::Status VerifyChain(X509* leaf, const std::vector<Cert>& intermediates, X509* root, TimePoint at, int purpose) {
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
  struct StackFree {
    void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }
  };
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  if (!store || !ctx || !untrusted || X509_STORE_add_cert(store.get(), root) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "set up certificate verification");
  }
  for (const Cert& cert : intermediates) sk_X509_push(untrusted.get(), cert.get());
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "set up certificate verification");
  }
  if (purpose != 0) X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  if (at != TimePoint{}) {
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()), std::chrono::system_clock::to_time_t(at));
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    ERR_clear_error();
    return absl::PermissionDeniedError(X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NewCsrPem(EVP_PKEY* key, std::string_view common_name) {
  Csr csr(X509_REQ_new());
  const std::string cn(common_name);
  if (!csr || X509_REQ_set_version(csr.get(), 0) != 1 ||
      X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(csr.get()), NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) != 1 ||
      X509_REQ_set_pubkey(csr.get(), key) != 1 || X509_REQ_sign(csr.get(), key, EVP_sha256()) <= 0) {
    return OpenSslError(absl::StatusCode::kInternal, "make certificate signing request");
  }
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), csr.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "encode certificate signing request");
  }
  return BioContents(bio.get());
}

absl::StatusOr<Csr> ParseCsrPem(std::string_view pem) {
  Bio bio = ReadBio(pem);
  Csr csr(PEM_read_bio_X509_REQ(bio.get(), nullptr, NoPassword, nullptr));
  if (!csr) return OpenSslError(absl::StatusCode::kInvalidArgument, "certificate signing request: not a PEM CSR");
  EVP_PKEY* key = X509_REQ_get0_pubkey(csr.get());
  if (key == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "certificate signing request: no public key");
  }
  if (X509_REQ_verify(csr.get(), key) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "certificate signing request: its signature does not match its public key");
  }
  return csr;
}

}  // namespace rampart::x509

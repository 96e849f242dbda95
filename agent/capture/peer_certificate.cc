#include "agent/capture/peer_certificate.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "agent/common/strings.h"

namespace rampart::capture {
namespace {

constexpr size_t kMaxName = 1024;

// The text of an ASN.1 string if it is a name worth keeping.
bool Printable(const unsigned char* data, int length, std::string& out) {
  if (data == nullptr || length <= 0 || static_cast<size_t>(length) > kMaxName) return false;
  for (int i = 0; i < length; ++i) {
    if (data[i] < 0x20 || data[i] == 0x7f) return false;
  }
  out.assign(reinterpret_cast<const char*>(data), static_cast<size_t>(length));
  return true;
}

}  // namespace

absl::StatusOr<PeerCertificate> ParsePeerCertificate(std::span<const uint8_t> der) {
  if (der.empty()) return absl::InvalidArgumentError("peer certificate: no bytes");
  const unsigned char* p = der.data();
  std::unique_ptr<X509, decltype(&X509_free)> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())),
                                                   &X509_free);
  if (!cert) return absl::InvalidArgumentError(rampart::StrCat("peer certificate: not DER X.509 (", der.size(), " bytes)"));
  if (p != der.data() + der.size()) {
    return absl::InvalidArgumentError(
        rampart::StrCat("peer certificate: ", der.data() + der.size() - p, " bytes after the certificate"));
  }
  PeerCertificate out;
  if (X509_NAME* subject = X509_get_subject_name(cert.get())) {
    for (int i = -1; (i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) >= 0;) {
      unsigned char* utf8 = nullptr;
      const int length = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)));
      std::string cn;
      if (length >= 0 && Printable(utf8, length, cn)) out.subject_cn = std::move(cn);
      OPENSSL_free(utf8);
    }
  }
  std::unique_ptr<GENERAL_NAMES, decltype(&GENERAL_NAMES_free)> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)),
      &GENERAL_NAMES_free);
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    std::string text;
    if (name->type == GEN_URI) {
      if (Printable(ASN1_STRING_get0_data(name->d.uniformResourceIdentifier),
                    ASN1_STRING_length(name->d.uniformResourceIdentifier), text)) {
        out.uri_sans.push_back(std::move(text));
      }
    } else if (name->type == GEN_DNS) {
      if (Printable(ASN1_STRING_get0_data(name->d.dNSName), ASN1_STRING_length(name->d.dNSName), text)) {
        out.dns_sans.push_back(std::move(text));
      }
    }
  }
  return out;
}

}  // namespace rampart::capture

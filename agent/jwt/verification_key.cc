#include "agent/jwt/verification_key.h"

#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <optional>

#include "absl/status/status.h"
#include "agent/common/strings.h"
#include "agent/jwt/base64url.h"
#include "agent/jwt/json.h"
#include "agent/jwt/openssl_handles.h"

namespace rampart::jwt {

void EvpPkeyFree::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

namespace {

// RFC 7518 section 3.3: "A key of size 2048 bits or larger MUST be used".
constexpr int kMinRsaBits = 2048;

struct CurveInfo {
  std::string_view jwk_name;
  const char* openssl_group;
  size_t coordinate_bytes;
};
constexpr CurveInfo kEcCurves[] = {
    {"P-256", "prime256v1", 32},
    {"P-384", "secp384r1", 48},
    {"P-521", "secp521r1", 66},
};

const CurveInfo* FindCurveByJwkName(std::string_view name) {
  for (const CurveInfo& curve : kEcCurves) {
    if (curve.jwk_name == name) return &curve;
  }
  return nullptr;
}

const CurveInfo* FindCurveByGroup(std::string_view group) {
  for (const CurveInfo& curve : kEcCurves) {
    if (group == curve.openssl_group) return &curve;
  }
  return nullptr;
}

// OpenSSL's reason for the last failure, then a clean queue: the error
// queue is per thread and the inspector must not leave entries behind.
std::string TakeOpenSslError() {
  unsigned long code = ERR_peek_last_error();
  std::string reason =
      code != 0 && ERR_reason_error_string(code) != nullptr ? ERR_reason_error_string(code) : "unknown OpenSSL error";
  ERR_clear_error();
  return reason;
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  return length > 0 ? std::string(data, static_cast<size_t>(length)) : std::string();
}

void AddEncoding(std::vector<std::string>& encodings, std::string encoding) {
  if (encoding.empty()) return;
  auto add = [&](std::string value) {
    if (std::find(encodings.begin(), encodings.end(), value) == encodings.end()) encodings.push_back(std::move(value));
  };
  add(encoding);
  while (!encoding.empty() && (encoding.back() == '\n' || encoding.back() == '\r')) encoding.pop_back();
  add(encoding);
}

std::string EncodeWithEncoder(EVP_PKEY* key, const char* format, const char* structure) {
  OSSL_ENCODER_CTX* context = OSSL_ENCODER_CTX_new_for_pkey(key, EVP_PKEY_PUBLIC_KEY, format, structure, nullptr);
  std::string out;
  unsigned char* data = nullptr;
  size_t length = 0;
  if (context != nullptr && OSSL_ENCODER_CTX_get_num_encoders(context) > 0 &&
      OSSL_ENCODER_to_data(context, &data, &length) == 1) {
    out.assign(reinterpret_cast<const char*>(data), length);
    OPENSSL_free(data);
  }
  OSSL_ENCODER_CTX_free(context);
  ERR_clear_error();
  return out;
}

// `as_written`: the PEM block the operator configured, when there is one.
std::vector<std::string> PublicEncodings(EVP_PKEY* key, std::string_view as_written) {
  std::vector<std::string> encodings;
  AddEncoding(encodings, std::string(as_written));
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio != nullptr && PEM_write_bio_PUBKEY(bio.get(), key) == 1) AddEncoding(encodings, BioContents(bio.get()));
  unsigned char* der = nullptr;
  int der_length = i2d_PUBKEY(key, &der);
  if (der_length > 0) {
    AddEncoding(encodings, std::string(reinterpret_cast<const char*>(der), static_cast<size_t>(der_length)));
    OPENSSL_free(der);
  }
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
    // PKCS#1 "RSA PUBLIC KEY", the form older tooling writes.
    AddEncoding(encodings, EncodeWithEncoder(key, "PEM", "type-specific"));
    AddEncoding(encodings, EncodeWithEncoder(key, "DER", "type-specific"));
  }
  ERR_clear_error();
  return encodings;
}

absl::StatusOr<EvpPkeyPtr> KeyFromParams(const char* type, const OSSL_PARAM* params) {
  PkeyContextPtr context(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (context == nullptr || EVP_PKEY_fromdata_init(context.get()) != 1 ||
      EVP_PKEY_fromdata(context.get(), &key, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) != 1) {
    return absl::InvalidArgumentError(TakeOpenSslError());
  }
  return EvpPkeyPtr(key);
}

absl::StatusOr<EvpPkeyPtr> RsaFromComponents(const std::string& n, const std::string& e) {
  BignumPtr modulus(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr));
  BignumPtr exponent(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr));
  if (modulus == nullptr || exponent == nullptr) return absl::ResourceExhaustedError("out of memory");
  if (!BN_is_odd(exponent.get()) || BN_is_one(exponent.get())) {
    return absl::InvalidArgumentError("\"e\" is not an odd exponent above 1");
  }
  ParamBuildPtr build(OSSL_PARAM_BLD_new());
  if (build == nullptr || OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get()) != 1) {
    return absl::ResourceExhaustedError("out of memory");
  }
  ParamsPtr params(OSSL_PARAM_BLD_to_param(build.get()));
  if (params == nullptr) return absl::ResourceExhaustedError("out of memory");
  return KeyFromParams("RSA", params.get());
}

absl::StatusOr<EvpPkeyPtr> EcFromCoordinates(const CurveInfo& curve, const std::string& x, const std::string& y) {
  std::string point = "\x04" + x + y;  // SEC 1 uncompressed point
  ParamBuildPtr build(OSSL_PARAM_BLD_new());
  if (build == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve.openssl_group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return absl::ResourceExhaustedError("out of memory");
  }
  ParamsPtr params(OSSL_PARAM_BLD_to_param(build.get()));
  if (params == nullptr) return absl::ResourceExhaustedError("out of memory");
  auto key = KeyFromParams("EC", params.get());
  if (!key.ok()) return absl::InvalidArgumentError("(x, y) is not a point on the curve");
  // fromdata decodes the point; the check makes sure the curve equation
  // holds whatever the provider version does on import.
  PkeyContextPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key->get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("(x, y) is not a point on the curve");
  }
  return key;
}

// A base64url member the key cannot do without.
absl::StatusOr<std::string> RequiredBytes(const JsonValue& jwk, std::string_view kty, std::string_view name) {
  const JsonValue* member = jwk.Find(name);
  if (member == nullptr) return absl::InvalidArgumentError(rampart::StrCat(kty, " key without \"", name, "\""));
  if (!member->is_string()) return absl::InvalidArgumentError(rampart::StrCat("\"", name, "\" is not a string"));
  auto bytes = DecodeBase64Url(member->string());
  if (!bytes.has_value()) return absl::InvalidArgumentError(rampart::StrCat("\"", name, "\" is not base64url"));
  if (bytes->empty()) return absl::InvalidArgumentError(rampart::StrCat("\"", name, "\" is empty"));
  return *std::move(bytes);
}

absl::Status CheckRsaSize(EVP_PKEY* key) {
  int bits = EVP_PKEY_get_bits(key);
  if (bits < kMinRsaBits) {
    return absl::InvalidArgumentError(
        rampart::StrCat("RSA modulus of ", bits, " bits; RFC 7518 requires at least ", kMinRsaBits));
  }
  return absl::OkStatus();
}

bool JwkIsForVerifying(const JsonValue& jwk) {
  if (const std::string* use = jwk.FindString("use"); use != nullptr && *use != "sig") return false;
  if (const JsonValue* ops = jwk.Find("key_ops"); ops != nullptr && ops->is_array()) {
    bool verify = false;
    for (const JsonValue& op : ops->array()) verify |= op.is_string() && op.string() == "verify";
    if (!verify) return false;
  }
  if (const std::string* alg = jwk.FindString("alg"); alg != nullptr && FindJwsAlgorithm(*alg) == nullptr) {
    return false;
  }
  return true;
}

// nullopt: a well-formed key of a kind the inspector does not verify with.
absl::StatusOr<std::optional<VerificationKey>> ParseJwk(const JsonValue& jwk) {
  if (!jwk.is_object()) return absl::InvalidArgumentError("not an object");
  const JsonValue* kty_member = jwk.Find("kty");
  if (kty_member == nullptr) return absl::InvalidArgumentError("no \"kty\"");
  if (!kty_member->is_string()) return absl::InvalidArgumentError("\"kty\" is not a string");
  for (std::string_view member : {"kid", "alg", "use", "crv"}) {
    const JsonValue* value = jwk.Find(member);
    if (value != nullptr && !value->is_string()) {
      return absl::InvalidArgumentError(rampart::StrCat("\"", member, "\" is not a string"));
    }
  }
  if (const JsonValue* ops = jwk.Find("key_ops"); ops != nullptr && !ops->is_array()) {
    return absl::InvalidArgumentError("\"key_ops\" is not an array");
  }
  const std::string& kty = kty_member->string();
  if (kty != "oct" && jwk.Find("d") != nullptr) {
    return absl::InvalidArgumentError("holds a private key (\"d\"); configure the public JWKS");
  }
  if (!JwkIsForVerifying(jwk)) return std::nullopt;

  VerificationKey key;
  if (const std::string* kid = jwk.FindString("kid")) key.kid = *kid;
  if (const std::string* alg = jwk.FindString("alg")) key.alg = *alg;
  const std::string* crv = jwk.FindString("crv");

  if (kty == "RSA") {
    auto n = RequiredBytes(jwk, kty, "n");
    if (!n.ok()) return n.status();
    auto e = RequiredBytes(jwk, kty, "e");
    if (!e.ok()) return e.status();
    auto rsa = RsaFromComponents(*n, *e);
    if (!rsa.ok()) return rsa.status();
    if (absl::Status size = CheckRsaSize(rsa->get()); !size.ok()) return size;
    key.kind = KeyKind::kRsa;
    key.public_key = *std::move(rsa);
  } else if (kty == "EC") {
    if (crv == nullptr) return absl::InvalidArgumentError("EC key without \"crv\"");
    const CurveInfo* curve = FindCurveByJwkName(*crv);
    if (curve == nullptr) return std::nullopt;
    auto x = RequiredBytes(jwk, kty, "x");
    if (!x.ok()) return x.status();
    auto y = RequiredBytes(jwk, kty, "y");
    if (!y.ok()) return y.status();
    for (const auto& [name, value] : {std::pair{"x", &*x}, std::pair{"y", &*y}}) {
      if (value->size() != curve->coordinate_bytes) {
        return absl::InvalidArgumentError(rampart::StrCat("\"", name, "\" has ", value->size(), " bytes; ",
                                                          curve->jwk_name, " needs ", curve->coordinate_bytes));
      }
    }
    auto ec = EcFromCoordinates(*curve, *x, *y);
    if (!ec.ok()) return ec.status();
    key.kind = KeyKind::kEc;
    key.curve = std::string(curve->jwk_name);
    key.public_key = *std::move(ec);
  } else if (kty == "OKP") {
    if (crv == nullptr) return absl::InvalidArgumentError("OKP key without \"crv\"");
    size_t length;
    const char* type;
    if (*crv == "Ed25519") {
      length = 32;
      type = "ED25519";
    } else if (*crv == "Ed448") {
      length = 57;
      type = "ED448";
    } else {
      return std::nullopt;  // X25519/X448 agree keys, they do not sign
    }
    auto x = RequiredBytes(jwk, kty, "x");
    if (!x.ok()) return x.status();
    if (x->size() != length) {
      return absl::InvalidArgumentError(rampart::StrCat("\"x\" has ", x->size(), " bytes; ", *crv, " needs ", length));
    }
    EVP_PKEY* okp = EVP_PKEY_new_raw_public_key_ex(nullptr, type, nullptr,
                                                   reinterpret_cast<const unsigned char*>(x->data()), x->size());
    if (okp == nullptr) return absl::InvalidArgumentError(TakeOpenSslError());
    key.kind = KeyKind::kOkp;
    key.curve = *crv;
    key.public_key.reset(okp);
  } else if (kty == "oct") {
    auto k = RequiredBytes(jwk, kty, "k");
    if (!k.ok()) return k.status();
    // RFC 7518 section 3.2: the key is at least as long as the hash output.
    size_t minimum = key.alg == "HS512" ? 64 : key.alg == "HS384" ? 48 : 32;
    if (k->size() < minimum) {
      return absl::InvalidArgumentError(
          rampart::StrCat("oct key of ", k->size(), " bytes; RFC 7518 requires at least ", minimum));
    }
    key.kind = KeyKind::kOct;
    key.secret = *std::move(k);
  } else {
    return std::nullopt;
  }
  if (key.public_key != nullptr) key.public_encodings = PublicEncodings(key.public_key.get(), "");
  return key;
}

absl::StatusOr<VerificationKey> KeyFromPemBlock(std::string_view type, const unsigned char* data, long length,
                                                std::string_view block_text) {
  VerificationKey key;
  const unsigned char* cursor = data;
  if (type == "PUBLIC KEY") {
    key.public_key.reset(d2i_PUBKEY(nullptr, &cursor, length));
  } else if (type == "RSA PUBLIC KEY") {
    key.public_key.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &cursor, length));
  } else if (type == "CERTIFICATE" || type == "TRUSTED CERTIFICATE") {
    X509Ptr certificate(type == "CERTIFICATE" ? d2i_X509(nullptr, &cursor, length)
                                              : d2i_X509_AUX(nullptr, &cursor, length));
    if (certificate == nullptr) return absl::InvalidArgumentError(TakeOpenSslError());
    key.public_key.reset(X509_get_pubkey(certificate.get()));
  } else if (type.find("PRIVATE KEY") != std::string_view::npos) {
    return absl::InvalidArgumentError("private keys are refused; configure the public key");
  } else {
    return absl::InvalidArgumentError("not a public key or certificate");
  }
  if (key.public_key == nullptr) return absl::InvalidArgumentError(TakeOpenSslError());

  EVP_PKEY* pkey = key.public_key.get();
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS: {
      if (absl::Status size = CheckRsaSize(pkey); !size.ok()) return size;
      key.kind = EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA ? KeyKind::kRsa : KeyKind::kRsaPss;
      break;
    }
    case EVP_PKEY_EC: {
      char group[64] = {};
      size_t group_length = 0;
      const CurveInfo* curve = nullptr;
      if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &group_length) == 1) {
        curve = FindCurveByGroup(group);
      }
      ERR_clear_error();
      if (curve == nullptr) return absl::InvalidArgumentError("EC key on a curve JWS does not use");
      key.kind = KeyKind::kEc;
      key.curve = std::string(curve->jwk_name);
      break;
    }
    case EVP_PKEY_ED25519:
      key.kind = KeyKind::kOkp;
      key.curve = "Ed25519";
      break;
    case EVP_PKEY_ED448:
      key.kind = KeyKind::kOkp;
      key.curve = "Ed448";
      break;
    default: return absl::InvalidArgumentError("key type JWS does not use");
  }
  key.public_encodings = PublicEncodings(pkey, block_text);
  return key;
}

}  // namespace

bool KeyFits(const JwsAlgorithm& algorithm, const VerificationKey& key) {
  if (!key.alg.empty() && key.alg != algorithm.name) return false;
  switch (algorithm.family) {
    case AlgorithmFamily::kHmac: return key.kind == KeyKind::kOct;
    case AlgorithmFamily::kRsaPkcs1: return key.kind == KeyKind::kRsa;
    case AlgorithmFamily::kRsaPss: return key.kind == KeyKind::kRsa || key.kind == KeyKind::kRsaPss;
    case AlgorithmFamily::kEcdsa: return key.kind == KeyKind::kEc && key.curve == algorithm.ec_curve;
    case AlgorithmFamily::kEdDsa: return key.kind == KeyKind::kOkp;
  }
  return false;
}

std::string DescribeKey(const VerificationKey& key) {
  switch (key.kind) {
    case KeyKind::kOct: return "oct";
    case KeyKind::kRsa: return "RSA";
    case KeyKind::kRsaPss: return "RSA-PSS";
    case KeyKind::kEc: return "EC " + key.curve;
    case KeyKind::kOkp: return "OKP " + key.curve;
  }
  return "unknown";
}

absl::StatusOr<std::vector<VerificationKey>> ParseJwks(std::string_view file, std::string_view json) {
  const std::string prefix = rampart::StrCat("jwks ", file, ": ");
  auto document = ParseJson(json);
  if (!document.ok())
    return absl::InvalidArgumentError(rampart::StrCat(prefix, "invalid JSON ", document.status().message()));

  std::vector<const JsonValue*> jwks;
  if (const JsonValue* keys = document->Find("keys"); keys != nullptr) {
    if (!keys->is_array()) return absl::InvalidArgumentError(prefix + "\"keys\" is not an array");
    for (const JsonValue& jwk : keys->array()) jwks.push_back(&jwk);
  } else if (document->Find("kty") != nullptr) {
    jwks.push_back(&*document);
  } else {
    return absl::InvalidArgumentError(prefix + "neither a JWK set ({\"keys\": [...]}) nor a JWK");
  }

  std::vector<VerificationKey> loaded;
  for (size_t index = 0; index < jwks.size(); ++index) {
    auto key = ParseJwk(*jwks[index]);
    if (!key.ok()) {
      std::string where = rampart::StrCat(prefix, "key ", index);
      const std::string* kid = jwks[index]->FindString("kid");
      if (kid != nullptr) where += rampart::StrCat(" (kid \"", *kid, "\")");
      return absl::InvalidArgumentError(rampart::StrCat(where, ": ", key.status().message()));
    }
    if (!key->has_value()) continue;
    (*key)->origin = rampart::StrCat("jwks ", file, " key ", index);
    loaded.push_back(std::move(**key));
  }
  if (loaded.empty()) {
    return absl::InvalidArgumentError(rampart::StrCat(prefix, "no signature verification key among ", jwks.size(),
                                                      " (skipped: use other than \"sig\", key_ops without "
                                                      "\"verify\", unsupported alg, kty or crv)"));
  }
  return loaded;
}

absl::StatusOr<std::vector<VerificationKey>> ParsePemKeys(std::string_view file, std::string_view pem) {
  const std::string prefix = rampart::StrCat("pem ", file, ": ");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::ResourceExhaustedError(prefix + "out of memory");
  std::vector<VerificationKey> loaded;
  size_t consumed = 0;
  for (size_t block = 0;; ++block) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long length = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &length) != 1) {
      unsigned long error = ERR_peek_last_error();
      bool at_end = ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE;
      std::string reason = TakeOpenSslError();
      if (at_end && block > 0) break;
      if (at_end) return absl::InvalidArgumentError(prefix + "no PEM block");
      return absl::InvalidArgumentError(rampart::StrCat(prefix, "block ", block, ": ", reason));
    }
    size_t end = pem.size() - static_cast<size_t>(BIO_pending(bio.get()));
    std::string_view text = pem.substr(consumed, end - consumed);
    if (size_t begin = text.find("-----BEGIN"); begin != std::string_view::npos) text.remove_prefix(begin);
    consumed = end;
    std::string type = name;
    auto key = KeyFromPemBlock(type, data, length, text);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_clear_free(data, static_cast<size_t>(length));  // may be a private key
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          rampart::StrCat(prefix, "block ", block, " (", type, "): ", key.status().message()));
    }
    key->origin = rampart::StrCat("pem ", file, " block ", block);
    loaded.push_back(*std::move(key));
  }
  return loaded;
}

}  // namespace rampart::jwt

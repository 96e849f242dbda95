#include "agent/jwt/jwt_inspector.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "agent/common/errors.h"
#include "agent/common/files.h"
#include "agent/common/strings.h"
#include "agent/jwt/compact_jws.h"
#include "agent/jwt/jws_algorithm.h"
#include "agent/jwt/signature_check.h"
#include "agent/jwt/token_digest.h"
#include "agent/jwt/token_memory.h"
#include "agent/jwt/verification_key.h"

namespace rampart::jwt {
namespace {

using findings::Finding;
using findings::Severity;

// Bounds the work one request can cause: a JWT is a few hundred bytes to a
// few KiB; a value beyond this is reported, not parsed.
constexpr size_t kMaxTokenBytes = 16384;
// JWT-looking values beyond this many in one request are not inspected.
constexpr size_t kMaxTokensPerMessage = 8;
// Below this a SHA-256 prefix of the value could be reversed by guessing,
// so the masked value shows only its length.
constexpr size_t kMinFingerprintBytes = 32;

std::string ToLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// "Bearer <token>" (RFC 6750 section 2.1; the scheme is case-insensitive),
// the token or nullopt.
std::optional<std::string_view> BearerToken(std::string_view value) {
  value = Trim(value);
  constexpr std::string_view kScheme = "bearer";
  if (value.size() <= kScheme.size() || ToLower(value.substr(0, kScheme.size())) != kScheme) return std::nullopt;
  std::string_view rest = value.substr(kScheme.size());
  if (rest.front() != ' ' && rest.front() != '\t') return std::nullopt;
  return Trim(rest);
}

// A value in Authorization: Bearer is often an opaque access token, which
// is none of this inspector's business. It is taken for a JWT when it has
// the dots of one, or starts like a base64url JSON object ("eyJ" is '{"').
bool LooksLikeJwt(std::string_view token) {
  return std::count(token.begin(), token.end(), '.') >= 2 || token.substr(0, 2) == "ey";
}

Finding MakeFinding(std::string_view detector, Severity severity, double confidence, std::string reason,
                    const std::string& masked_value, const std::string& location, size_t offset, size_t length) {
  Finding finding;
  finding.detector = std::string(detector);
  finding.severity = severity;
  finding.confidence = confidence;
  finding.masked_value = masked_value;
  finding.reason = std::move(reason);
  finding.location = location;
  finding.offset = offset;
  finding.length = length;
  return finding;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += out.empty() ? name : ", " + name;
  return out;
}

absl::Status LoadKeys(const JwtOptions& options, std::vector<VerificationKey>& keys) {
  auto add = [&](absl::StatusOr<std::vector<VerificationKey>> loaded) -> absl::Status {
    if (!loaded.ok()) return loaded.status();
    for (VerificationKey& key : *loaded) keys.push_back(std::move(key));
    return absl::OkStatus();
  };
  for (const std::string& file : options.jwks_files) {
    auto content = ReadFile(file);
    if (!content.ok()) return Annotate(content.status(), "jwks " + file);
    RAMPART_RETURN_IF_ERROR(add(ParseJwks(file, *content)));
  }
  for (const std::string& file : options.pem_files) {
    auto content = ReadFile(file);
    if (!content.ok()) return Annotate(content.status(), "pem " + file);
    RAMPART_RETURN_IF_ERROR(add(ParsePemKeys(file, *content)));
  }
  for (const KeyDocument& document : options.jwks_documents) {
    RAMPART_RETURN_IF_ERROR(add(ParseJwks(document.name, document.content)));
  }
  for (const KeyDocument& document : options.pem_documents) {
    RAMPART_RETURN_IF_ERROR(add(ParsePemKeys(document.name, document.content)));
  }
  return absl::OkStatus();
}

}  // namespace

struct JwtInspector::TokenSite {
  std::string_view token;
  std::string location;
  size_t offset = 0;  // of the token in the header value
  // Named in the options, so whatever it holds is meant to be a JWT; a
  // bearer value is only inspected when it looks like one.
  bool declared = false;
};

JwtInspector::JwtInspector() = default;
JwtInspector::~JwtInspector() = default;

absl::StatusOr<std::unique_ptr<JwtInspector>> JwtInspector::Create(const JwtOptions& options) {
  std::unique_ptr<JwtInspector> inspector(new JwtInspector());
  for (const std::string& alg : options.allowed_algs) {
    if (IsAlgNone(alg)) {
      return absl::InvalidArgumentError("allowed_algs: \"" + alg +
                                        "\" cannot be allowed: unsigned tokens are always reported");
    }
    if (FindJwsAlgorithm(alg) == nullptr) {
      std::vector<std::string> supported;
      for (std::string_view name : SupportedJwsAlgorithms()) supported.emplace_back(name);
      return absl::InvalidArgumentError(
          rampart::StrCat("allowed_algs: \"", alg, "\" is not a supported JWS algorithm (", JoinNames(supported), ")"));
    }
    inspector->allowed_algs_.push_back(alg);
  }
  if (options.leeway.count() < 0) return absl::InvalidArgumentError("leeway is negative");
  if (options.replay_window.count() < 0) return absl::InvalidArgumentError("replay_window is negative");
  for (const std::string& name : options.header_names) {
    if (name.empty()) return absl::InvalidArgumentError("header_names: empty name");
    inspector->header_names_.push_back(ToLower(name));
  }
  for (const std::string& name : options.cookie_names) {
    if (name.empty()) return absl::InvalidArgumentError("cookie_names: empty name");
    inspector->cookie_names_.push_back(name);
  }
  RAMPART_RETURN_IF_ERROR(LoadKeys(options, inspector->keys_));
  inspector->leeway_ = options.leeway;
  inspector->replay_window_ = options.replay_window;
  inspector->memory_ = std::make_unique<TokenMemory>(options.replay_max_tokens, options.replay_window);
  return inspector;
}

std::vector<JwtInspector::TokenSite> JwtInspector::FindTokens(const http::Message& message) const {
  std::vector<TokenSite> sites;
  // `token` is a view into `header`'s value.
  auto add = [&](const http::Header& header, std::string_view token, std::string location, bool declared) {
    if (!declared && !LooksLikeJwt(token)) return;
    if (sites.size() >= kMaxTokensPerMessage) return;
    size_t offset = static_cast<size_t>(token.data() - header.value.data());
    sites.push_back(TokenSite{token, std::move(location), offset, declared});
  };
  for (const http::Header& header : message.headers) {
    if (header.name == "authorization") {
      if (auto token = BearerToken(header.value); token.has_value()) {
        add(header, *token, "request.header authorization", false);
      }
    }
    if (std::find(header_names_.begin(), header_names_.end(), header.name) != header_names_.end()) {
      std::optional<std::string_view> token = BearerToken(header.value);
      add(header, token.value_or(Trim(header.value)), "request.header " + header.name, true);
    }
    if (header.name == "cookie" && !cookie_names_.empty()) {
      std::string_view rest = header.value;
      while (!rest.empty()) {
        size_t end = rest.find(';');
        std::string_view pair = Trim(rest.substr(0, end));
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        size_t equals = pair.find('=');
        if (equals == std::string_view::npos) continue;
        std::string_view name = Trim(pair.substr(0, equals));
        std::string_view value = Trim(pair.substr(equals + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
        for (const std::string& wanted : cookie_names_) {
          if (name == wanted) add(header, value, "request.cookie " + wanted, true);
        }
      }
    }
  }
  return sites;
}

std::vector<Finding> JwtInspector::Inspect(const http::Message& message, std::string_view source_address,
                                           std::chrono::system_clock::time_point now) {
  std::vector<Finding> out;
  if (!message.is_request) return out;
  std::vector<TokenDigest> seen;  // a token sent twice in one request is checked once
  for (const TokenSite& site : FindTokens(message)) {
    TokenDigest digest = DigestToken(site.token);
    if (std::find(seen.begin(), seen.end(), digest) != seen.end()) continue;
    seen.push_back(digest);
    InspectToken(site, digest, source_address, now, out);
  }
  return out;
}

void JwtInspector::InspectToken(const TokenSite& site, const TokenDigest& digest, std::string_view source_address,
                                std::chrono::system_clock::time_point now, std::vector<Finding>& out) {
  const std::string masked =
      site.token.size() >= kMinFingerprintBytes ? Fingerprint(digest) : findings::MaskValue(site.token, 0, 0);
  auto report = [&](std::string_view detector, Severity severity, double confidence, std::string reason) {
    out.push_back(MakeFinding(detector, severity, confidence, std::move(reason), masked, site.location, site.offset,
                              site.token.size()));
  };
  auto malformed = [&](std::string_view why) {
    report("jwt.malformed", Severity::kLow, site.declared ? 1.0 : 0.9, rampart::StrCat("not a valid JWT: ", why));
  };

  if (site.token.empty()) return malformed("empty");
  if (site.token.size() > kMaxTokenBytes) {
    return malformed(rampart::StrCat(site.token.size(), " bytes, over the ", kMaxTokenBytes, " inspected"));
  }
  auto report_replay = [&](const TokenMemory::Sighting& sighting) {
    if (sighting.other_sources == 0) return;
    report("jwt.replay", Severity::kHigh, 0.8,
           rampart::StrCat("the same token came from ", sighting.other_sources + 1, " source addresses within ",
                           replay_window_.count(), "s"));
  };
  if (IsCompactJwe(site.token)) {
    report_replay(memory_->Observe(digest, source_address, now));
    return;
  }
  auto jws = ParseCompactJws(site.token);
  if (!jws.ok()) return malformed(std::string(jws.status().message()));
  const TokenMemory::Sighting sighting = memory_->Observe(digest, source_address, now);

  const JwsAlgorithm* algorithm = nullptr;
  if (IsAlgNone(jws->alg)) {
    report("jwt.alg_none", Severity::kCritical, 1.0,
           "unsigned token (alg \"none\" in some letter case): anyone can write its claims");
  } else if (algorithm = FindJwsAlgorithm(jws->alg); algorithm == nullptr) {
    report("jwt.alg_not_allowed", Severity::kHigh, 1.0, "alg is not a JWS signature algorithm");
  } else if (!allowed_algs_.empty() &&
             std::find(allowed_algs_.begin(), allowed_algs_.end(), algorithm->name) == allowed_algs_.end()) {
    report("jwt.alg_not_allowed", Severity::kHigh, 1.0,
           rampart::StrCat(algorithm->name, " is not an allowed algorithm (", JoinNames(allowed_algs_), ")"));
  }

  const double now_s = std::chrono::duration<double>(now.time_since_epoch()).count();
  const double leeway_s = static_cast<double>(leeway_.count());
  const std::string leeway_note = rampart::StrCat(" (leeway ", leeway_.count(), "s)");
  // Claims can hold any JSON number; 1e300 must not overflow the cast.
  auto whole_seconds = [](double seconds) { return static_cast<int64_t>(std::ceil(std::min(seconds, 1e15))); };
  if (jws->exp.has_value() && *jws->exp < now_s - leeway_s) {
    report("jwt.expired", Severity::kMedium, 1.0,
           rampart::StrCat("expired ", whole_seconds(now_s - *jws->exp), "s ago", leeway_note));
  }
  if (jws->nbf.has_value() && *jws->nbf > now_s + leeway_s) {
    report("jwt.not_yet_valid", Severity::kMedium, 1.0,
           rampart::StrCat("not valid before ", whole_seconds(*jws->nbf - now_s), "s from now (nbf)", leeway_note));
  }
  if (jws->iat.has_value() && *jws->iat > now_s + leeway_s) {
    report("jwt.not_yet_valid", Severity::kMedium, 0.9,
           rampart::StrCat("issued ", whole_seconds(*jws->iat - now_s), "s in the future (iat)", leeway_note));
  }

  if (algorithm != nullptr) {
    SignatureVerdict verdict;
    if (sighting.verdict.has_value()) {
      verdict = *sighting.verdict;
    } else {
      verdict = CheckSignature(*jws, *algorithm, keys_);
      memory_->RememberVerdict(digest, verdict);
    }
    using Outcome = SignatureVerdict::Outcome;
    switch (verdict.outcome) {
      case Outcome::kVerified:
      case Outcome::kNotChecked: break;
      case Outcome::kBadSignature:
        report("jwt.bad_signature", Severity::kHigh, verdict.confidence, verdict.reason);
        break;
      case Outcome::kUnknownKey:
        report("jwt.unknown_key", Severity::kMedium, verdict.confidence, verdict.reason);
        break;
      case Outcome::kAlgConfusion:
        report("jwt.alg_confusion", Severity::kHigh, verdict.confidence, verdict.reason);
        break;
    }
  }
  report_replay(sighting);
}

JwtInspector::Stats JwtInspector::stats() const { return Stats{memory_->size(), memory_->evicted_within_window()}; }

}  // namespace rampart::jwt

// The multi-pattern prefilter: every detector's candidate pattern compiled
// into one Vectorscan block-mode database, so a text is read once whatever
// the number of detectors, except the four patterns anchored on digits,
// which a hand-written SIMD pass matches several times faster
// (digit_scanner.h). Patterns are deliberately loose; the validators decide
// (recognizers.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/dlp/detectors.h"

struct hs_database;
struct hs_scratch;

namespace rampart::dlp {

enum class Pattern : uint8_t {
  kCardDigits,           // 13-19 digits, single spaces or dashes between
  kSsnSeparated,         // ddd-dd-dddd, ddd dd dddd
  kSsnKeyword,           // "ssn", "social security": a bare 9-digit value follows
  kIban,                 // country, check digits, first group of four
  kEmail,
  kPhoneInternational,   // "+" and 7+ digits with separators
  kPhoneKeyword,         // "phone", "tel", "mobile"...: a national number follows
  kAwsAccessKeyId,       // AKIA/ASIA + 16 base32 characters (A-Z, 2-7)
  kAwsSecretKeyword,     // "aws_secret_access_key", "SecretAccessKey"
  kGcpServiceAccount,    // "type": "service_account"
  kGcpPrivateKeyMember,  // private_key: the member a key file keeps its key in
  kGcpApiKey,            // AIza + 35
  kGithubClassic,        // ghp_/gho_/ghu_/ghs_/ghr_ + 36
  kGithubFineGrained,    // github_pat_ + 22 _ 59
  kSlackToken,           // xoxb-/xoxp-/xoxa-/xapp-
  kSlackWebhook,         // hooks.slack.com/services/...
  kStripeKey,            // sk_/rk_/pk_ + live_/test_
  kJwt,                  // ey...ey....sig
  kPemPrivateKey,        // -----BEGIN ... PRIVATE KEY-----
  kSecretKeyword,        // secret, password, token, api key...: a value follows
};
inline constexpr size_t kPatternCount = static_cast<size_t>(Pattern::kSecretKeyword) + 1;

Detector DetectorOf(Pattern pattern);

// A pattern's regular expression (Vectorscan syntax, also valid ECMAScript)
// and whether it ignores case.
struct PatternSource {
  std::string_view expression;
  bool caseless;
};
PatternSource SourceOf(Pattern pattern);

// How the patterns are matched. kFast: the patterns anchored on digits
// (cards, separated SSNs, IBANs, international phone numbers) and the email
// pattern's '@' by the digit scanner (digit_scanner.h), the keyword lists
// (phone and secret names) as one Vectorscan expression per word, the rest
// by their expressions. kExpressions: every pattern by its expression in
// one Vectorscan database, which is the reference the fast engine is tested
// against and a benchmark baseline.
enum class PrefilterEngine { kFast, kExpressions };

// [from, to) of the text. Overlapping matches of one pattern are merged, so a
// long digit run is one region however many ways the pattern fits inside it.
struct PrefilterMatch {
  Pattern pattern;
  uint32_t from;
  uint32_t to;
};

class Prefilter {
 public:
  // Compiles the patterns of the enabled detectors. Costs tens of
  // milliseconds; done once per scanner.
  static absl::StatusOr<std::unique_ptr<Prefilter>> Create(
      const std::vector<Detector>& enabled, PrefilterEngine engine = PrefilterEngine::kFast);
  ~Prefilter();
  Prefilter(const Prefilter&) = delete;
  Prefilter& operator=(const Prefilter&) = delete;

  // A prefilter that shares the compiled database and has its own scratch
  // space, for use on another thread.
  absl::StatusOr<std::unique_ptr<Prefilter>> Clone() const;

  // Replaces `out` with the matches in `text`, ordered by end offset. Uses
  // this prefilter's scratch space: one call at a time per instance.
  absl::Status Scan(std::string_view text, std::vector<PrefilterMatch>& out);

 private:
  struct Database;
  Prefilter(std::shared_ptr<const Database> database, hs_scratch* scratch);

  std::shared_ptr<const Database> database_;
  hs_scratch* scratch_;  // null when no pattern is left to Vectorscan
  // Reused across scans.
  std::vector<PrefilterMatch> digit_matches_;
  std::vector<PrefilterMatch> merged_;
};

}  // namespace rampart::dlp

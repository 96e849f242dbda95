// Checks that decide whether a candidate string really is the thing a
// detector looks for. Pure functions on already-extracted values; extraction
// from text and context scoring live elsewhere (recognizers.h, context.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rampart::dlp {

// --- Payment cards. `digits` holds only the digits of the number.

enum class CardBrand { kVisa, kMastercard, kAmex, kDiscover, kJcb, kDinersClub, kUnionPay, kMaestro, kMir };
std::string_view CardBrandName(CardBrand brand);

bool LuhnValid(std::string_view digits);
// The brand whose IIN range and permitted lengths the number fits, or nothing.
std::optional<CardBrand> CardBrandOf(std::string_view digits);
// Numbers that card networks and payment providers publish for testing.
bool IsWellKnownTestCard(std::string_view digits);
// At most two distinct digits ("4444 4444 4444 4448"): filler, never issued.
bool IsDegenerateNumber(std::string_view digits);

// --- US Social Security numbers, nine digits.

enum class SsnCheck { kValid, kInvalidArea, kInvalidGroup, kInvalidSerial, kKnownInvalid };
// Area 000, 666 and 900-999, group 00 and serial 0000 were never issued;
// 078-05-1120 (the Woolworth wallet card), 219-09-9999 (an SSA advertisement)
// and the placeholder 123-45-6789 are known not to identify anyone.
SsnCheck CheckUsSsn(std::string_view nine_digits);

// --- IBAN, in compact form (no spaces, upper case).

// The IBAN length registered for a country code, or 0 if it has none.
size_t IbanLengthFor(std::string_view country_code);
// Country registered, exact length, check digits 02-98, alphanumeric BBAN,
// and the ISO 7064 mod-97 remainder equal to 1.
bool IbanValid(std::string_view compact);

// --- Email addresses (a practical subset of RFC 5322: dot-atoms only).

bool EmailLocalPartValid(std::string_view local);
// Labels of letters, digits and inner hyphens; the top-level domain is a
// country code or a known generic TLD, so "logo@2x.png" is not an address.
bool EmailDomainValid(std::string_view domain);
// RFC 2606 names: example.com/.net/.org and the .example/.test/.invalid/.localhost TLDs.
bool IsDocumentationDomain(std::string_view domain);

// --- GitHub tokens.

// Classic tokens (ghp_, gho_, ghu_, ghs_, ghr_ followed by 36 characters) end
// in six base62 characters (0-9A-Za-z, zero-padded) that encode the CRC32
// (IEEE) of the 30 characters between the prefix and the checksum. Verified
// against a token found in the wild, not only against other scanners.
bool GithubChecksumValid(std::string_view token);

// --- JSON Web Tokens.

// The "alg" of a compact JWS whose header decodes to a JSON object with an
// "alg" member and whose payload decodes to a JSON object; nothing otherwise.
// The returned name is limited to [A-Za-z0-9+_-]{1,16}, or "?".
std::optional<std::string> JwtAlgorithm(std::string_view token);
bool Base64UrlDecode(std::string_view in, std::string& out);

// --- PEM private keys.

// `after_header` starts right after "-----BEGIN ... PRIVATE KEY-----". True
// when a key body follows (at least 64 base64 characters, with optional
// RFC 1421 header lines), including JSON-escaped line breaks ("\n"). Rejects
// placeholders such as "...".
bool PemBodyLooksReal(std::string_view after_header);

// --- Generic secrets.

// Bits per character of the byte distribution.
double ShannonEntropy(std::string_view value);
// A value that reads like a generated secret: 12-256 characters without
// spaces, several character classes, entropy near the maximum its alphabet
// and length allow (hex needs 32+ characters; hex with dashes, a UUID, is
// hex), no long runs (4 alike, 5 from 32 characters) or sequences.
bool LooksRandom(std::string_view value);
// "changeme", "Change-Me-2024", "********", "${TOKEN}", "<your-key>", "null"
// and the like.
bool IsPlaceholder(std::string_view value);
// The random part of a key written as filler: at most three distinct
// characters ("XXXX...", "xxxx...", "0000..."), as documentation and
// configuration templates do. Generated keys of 16+ characters never are.
bool LooksLikeFiller(std::string_view random_part);

}  // namespace rampart::dlp

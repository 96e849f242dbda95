// Decoders that undo the encodings an attack payload hides behind, and a
// driver that applies them again and again, because evasions stack encodings
// (%2527 is a quote encoded twice) and each extra layer is itself a signal.
// All functions are pure; malformed escapes are kept as they are, as servers
// do, so decoding never fails.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::attacks {

// %XX, and IIS's %uXXXX (emitted as UTF-8; the full-width forms U+FF01..U+FF5E
// become their ASCII letters, as IIS's best-fit mapping does). With
// `plus_as_space` a '+' becomes ' ', as in query strings and form bodies.
std::string UrlDecode(std::string_view in, bool plus_as_space);

// Character references: named (&lt; &colon; &Tab; ...: the ones that matter in
// markup, scripts and URLs), decimal (&#60;) and hex (&#x3c;), with or without
// the closing ';' as HTML5 accepts for numeric references.
std::string HtmlEntityDecode(std::string_view in);

// The escapes that JavaScript and JSON write inside strings and that attackers
// paste into other fields: \uXXXX (surrogate pairs joined), \u{X..} and \xXX.
// Single-letter escapes (\n, \t) are left alone: Windows paths are full of them.
std::string JsEscapeDecode(std::string_view in);

// Overlong UTF-8 forms of ASCII (C0 AF for '/', E0 80 AE for '.'), which old
// decoders accepted and path filters missed.
std::string DecodeOverlongUtf8(std::string_view in);

// Which decoders changed a value.
enum EncodingLayer : uint32_t {
  kUrlEncoding = 1u << 0,
  kHtmlEntities = 1u << 1,
  kJsEscapes = 1u << 2,
  kOverlongUtf8 = 1u << 3,
};

// Words for a set of EncodingLayer bits: "URL encoding, HTML entities".
std::string EncodingLayerNames(uint32_t layers);

struct DecodedValue {
  // The input, then the value after each decoding round that changed it; the
  // last one is the fixpoint (or the value after `max_rounds`).
  std::vector<std::string> forms;
  int rounds = 0;       // rounds that changed the value
  uint32_t layers = 0;  // EncodingLayer bits of the decoders that changed it

  const std::string& final_form() const { return forms.back(); }
};

// Applies URL, overlong-UTF-8, HTML-entity and JS-escape decoding, in that
// order, as one round, and repeats until a round changes nothing or
// `max_rounds` rounds ran. Costs O(rounds * size).
DecodedValue DecodeRepeatedly(std::string_view in, int max_rounds);

}  // namespace rampart::attacks

// Cross-site scripting: tokenizes an input as HTML in the places it can land
// (between tags, inside a double-quoted, single-quoted or unquoted attribute
// value) and scores the markup a browser would run: script tags, event
// handler attributes, javascript:/vbscript:/data:text/html URLs in URL
// attributes, CSS expressions, frames and objects, <base>, <meta refresh>.
// Text with '<' and '>' that makes no tag ("a < b and c > d", "I <3 it")
// scores nothing; harmless markup (<b>, <a href="/page">) scores nothing.
#pragma once

#include <string_view>

#include "agent/attacks/verdict.h"

namespace rampart::attacks {

// Judges one decoded value. Costs a few passes over the input.
Verdict DetectXss(std::string_view input);

// DetectXss(input).score.
double XssScore(std::string_view input);

}  // namespace rampart::attacks

// Top-level domains, to tell an email address ("jane@corp.io") from things
// written the same way ("logo@2x.png", "lodash@4.17.21"): a domain is only a
// domain if its last label is a delegated TLD.
#pragma once

#include <string_view>

namespace rampart::dlp {

// Two-letter country-code TLDs (ISO 3166 codes with a delegation). Any case.
bool IsCountryCodeTopLevelDomain(std::string_view label);
// Generic, sponsored and brand TLDs of three or more letters ("com",
// "info", "berlin", "photography"). Any case.
bool IsGenericTopLevelDomain(std::string_view label);

}  // namespace rampart::dlp

// Content codings (RFC 9110 8.4) the parser can undo: gzip and deflate,
// with a hard cap on output so a small compressed body cannot expand into
// gigabytes (a decompression bomb costs at most the cap in memory and time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::http {

enum class ContentCoding : uint8_t { kGzip, kDeflate };

// Appends the codings listed in a Content-Encoding (or Transfer-Encoding)
// value to `codings`, in the order the sender applied them. "identity" is
// skipped, "x-gzip" is gzip. With `skip_chunked`, "chunked" is skipped too.
// Returns false if a coding cannot be undone here (br, zstd, compress, ...).
bool AppendCodings(std::string_view value, bool skip_chunked, std::vector<ContentCoding>& codings);

enum class DecodeStatus : uint8_t {
  kComplete,    // every coding ended cleanly
  kIncomplete,  // the input stopped early (a truncated or gapped body): the output is a prefix
  kCapped,      // output reached `max_output`; more would have followed
  kError,       // the input is not what its codings say
};

// Undoes `codings` (applied in the listed order) on `input`, replacing
// `output` with at most `max_output` bytes. On kError `output` holds whatever
// was decoded before the error. "deflate" accepts both the zlib format the
// RFC names and raw deflate, which some servers send; gzip accepts
// concatenated members.
DecodeStatus DecodeContent(std::span<const ContentCoding> codings, std::string_view input, size_t max_output,
                           std::string& output);

}  // namespace rampart::http

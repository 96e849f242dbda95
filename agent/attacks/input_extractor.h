// Splits a request into the separate values a client controls, each decoded
// and labelled with where it came from. Attack detectors look at one value at
// a time: matching across a whole body is where false positives come from (a
// quote in one field and a keyword in the next are not an injection).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/attacks/decode.h"
#include "agent/http/message.h"

namespace rampart::attacks {

enum class InputSource : uint8_t {
  kPath,               // the whole path, for traversal checks
  kPathSegment,        // one '/'-separated piece of the path
  kQueryName,
  kQueryValue,
  kFormName,           // application/x-www-form-urlencoded bodies
  kFormValue,
  kJsonKey,
  kJsonValue,
  kMultipartValue,     // multipart/form-data fields that are not files
  kMultipartFilename,  // the client's file name of an uploaded file
  kCookie,
  kHeader,
};

std::string_view InputSourceName(InputSource source);  // "query value", ...

struct Input {
  InputSource source = InputSource::kQueryValue;
  // "request.query id", "request.body $.filter", "request.cookie session",
  // "request.header user-agent", "request.path segment 3". Names that are not
  // plain identifiers appear as their position ("request.query #2"), so a
  // location never repeats arbitrary client bytes.
  std::string location;
  // forms[0] is the value after the decoding its place implies (query
  // strings are URL-encoded, JSON strings are escaped); later forms come from
  // further decoding rounds, each one an encoding layer the client added.
  DecodedValue decoded;
};

struct ExtractionLimits {
  size_t max_inputs = 1000;            // per request; the rest is not inspected
  size_t max_value_bytes = 16 * 1024;  // longer values are inspected by their prefix
  int max_decode_rounds = 4;           // rounds after the transport decoding
};

// All inputs of `request` in a stable order: path, path segments, query,
// body fields, cookies, headers. Header values are inspected except those
// with fixed syntax that carry no free text (Accept, Host, Content-Length,
// Authorization, ...); a Referer is split into its path and query parameters.
std::vector<Input> ExtractInputs(const http::Message& request, const ExtractionLimits& limits);

// A parameter name as it may appear in a location: unchanged when it is a
// plain identifier of at most 64 bytes ([A-Za-z0-9_.-] and brackets), else
// "#<index>".
std::string LocationName(std::string_view name, size_t index);

}  // namespace rampart::attacks

// A small, tolerant JSON reader that reports every string of a document,
// keys included, with its location. Attack detection looks at each string on
// its own; numbers, booleans and the structure itself carry no payload.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace rampart::attacks {

// `path` is JSONPath-like: "$", "$.user.name", "$.items[2]". A key that is not
// a plain identifier (letters, digits, '_', '-', at most 64 bytes) is written
// as its position among its object's members, "$.#3", so a path never repeats
// arbitrary input. `value` has its JSON escapes decoded.
using JsonStringVisitor = std::function<void(std::string_view path, std::string_view value, bool is_key)>;

// Walks `json` and calls `visit` for each key and each string value, in
// document order. Returns true when the whole text is one JSON value; false at
// the first syntax error or past `max_depth` nesting, after visiting the
// strings that came before it (a truncated body still gets inspected).
bool WalkJsonStrings(std::string_view json, const JsonStringVisitor& visit, int max_depth = 64);

// Decodes the escapes of a JSON string body (without its quotes). Invalid
// escapes are kept as written.
std::string JsonUnescape(std::string_view body);

}  // namespace rampart::attacks

// A small strict JSON reader (RFC 8259) for JWT headers, JWT claims and JWKS
// documents, so the agent needs no JSON dependency for them.
//
// Strict means: one value, optionally surrounded by whitespace; no comments,
// trailing commas, single quotes, leading zeros, NaN or Infinity; strings
// must be valid UTF-8 without raw control characters, and \u escapes must
// pair their surrogates. Objects with a repeated member name are refused:
// RFC 7515 lets a JWS parser take the last "alg", and two parsers taking
// different ones is an attack, so the inspector sees no such token as valid.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace rampart::jwt {

class JsonValue {
 public:
  enum class Type : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };
  struct Member;

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  // Each accessor answers for its own type and a neutral value otherwise.
  bool boolean() const { return boolean_; }
  double number() const { return number_; }
  const std::string& string() const { return string_; }
  const std::vector<JsonValue>& array() const { return array_; }
  const std::vector<Member>& members() const { return members_; }

  // The value of member `name`, or nullptr when absent or not an object.
  // Linear in the member count: JOSE objects have a handful of members.
  const JsonValue* Find(std::string_view name) const;
  // Find(name) when it is a string, else nullptr.
  const std::string* FindString(std::string_view name) const;

 private:
  friend class JsonParser;
  Type type_ = Type::kNull;
  bool boolean_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<JsonValue> array_;
  std::vector<Member> members_;
};

struct JsonValue::Member {
  std::string name;
  JsonValue value;
};

// Nesting deeper than this is refused: JOSE documents are two levels deep,
// and recursion on attacker-supplied input needs a bound.
inline constexpr int kMaxJsonDepth = 32;

// Parses `text` as one JSON document. The error says what was expected and
// at which byte offset ("at byte 17: expected ':' after member name"), never
// quoting the input, which may be captured plaintext.
absl::StatusOr<JsonValue> ParseJson(std::string_view text);

}  // namespace rampart::jwt

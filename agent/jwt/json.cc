#include "agent/jwt/json.h"

#include <charconv>
#include <cmath>

#include "absl/status/status.h"
#include "agent/common/text_codec.h"
#include "agent/common/strings.h"

namespace rampart::jwt {

const JsonValue* JsonValue::Find(std::string_view name) const {
  for (const Member& member : members_) {
    if (member.name == name) return &member.value;
  }
  return nullptr;
}

const std::string* JsonValue::FindString(std::string_view name) const {
  const JsonValue* value = Find(name);
  return value != nullptr && value->is_string() ? &value->string() : nullptr;
}

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : text_(text) {}

  absl::StatusOr<JsonValue> ParseDocument() {
    JsonValue value;
    SkipWhitespace();
    if (!ParseValue(value, 0)) return Error();
    SkipWhitespace();
    if (pos_ != text_.size()) {
      Fail("unexpected data after the value");
      return Error();
    }
    return value;
  }

 private:
  bool ParseValue(JsonValue& out, int depth) {
    if (depth > kMaxJsonDepth) return Fail("nesting deeper than 32");
    if (pos_ >= text_.size()) return Fail("expected a value, found the end");
    switch (text_[pos_]) {
      case '{': return ParseObject(out, depth);
      case '[': return ParseArray(out, depth);
      case '"': out.type_ = JsonValue::Type::kString; return ParseString(out.string_);
      case 't':
        out.type_ = JsonValue::Type::kBool;
        out.boolean_ = true;
        return ExpectLiteral("true");
      case 'f': out.type_ = JsonValue::Type::kBool; return ExpectLiteral("false");
      case 'n': out.type_ = JsonValue::Type::kNull; return ExpectLiteral("null");
      default: out.type_ = JsonValue::Type::kNumber; return ParseNumber(out.number_);
    }
  }

  bool ParseObject(JsonValue& out, int depth) {
    out.type_ = JsonValue::Type::kObject;
    ++pos_;
    SkipWhitespace();
    if (Consume('}')) return true;
    while (true) {
      SkipWhitespace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return Fail("expected a member name");
      size_t name_at = pos_;
      JsonValue::Member member;
      if (!ParseString(member.name)) return false;
      if (out.Find(member.name) != nullptr) {
        pos_ = name_at;
        return Fail("repeated member name");
      }
      SkipWhitespace();
      if (!Consume(':')) return Fail("expected ':' after member name");
      SkipWhitespace();
      if (!ParseValue(member.value, depth + 1)) return false;
      out.members_.push_back(std::move(member));
      SkipWhitespace();
      if (Consume('}')) return true;
      if (!Consume(',')) return Fail("expected ',' or '}' in object");
    }
  }

  bool ParseArray(JsonValue& out, int depth) {
    out.type_ = JsonValue::Type::kArray;
    ++pos_;
    SkipWhitespace();
    if (Consume(']')) return true;
    while (true) {
      SkipWhitespace();
      JsonValue element;
      if (!ParseValue(element, depth + 1)) return false;
      out.array_.push_back(std::move(element));
      SkipWhitespace();
      if (Consume(']')) return true;
      if (!Consume(',')) return Fail("expected ',' or ']' in array");
    }
  }

  bool ParseNumber(double& out) {
    size_t start = pos_;
    Consume('-');
    if (Consume('0')) {
      // A leading zero stands alone.
    } else if (IsDigit(Peek()) && Peek() != '0') {
      while (IsDigit(Peek())) ++pos_;
    } else {
      return Fail("expected a value");
    }
    if (Consume('.')) {
      if (!IsDigit(Peek())) return Fail("expected a digit after '.'");
      while (IsDigit(Peek())) ++pos_;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!IsDigit(Peek())) return Fail("expected a digit in the exponent");
      while (IsDigit(Peek())) ++pos_;
    }
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    auto [end, ec] = std::from_chars(first, last, out);
    if (ec != std::errc() || end != last || !std::isfinite(out)) {
      pos_ = start;
      return Fail("number out of range");
    }
    return true;
  }

  bool ParseString(std::string& out) {
    ++pos_;  // the opening quote
    while (true) {
      if (pos_ >= text_.size()) return Fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return Fail("control character in string");
      if (c == '\\') {
        if (!ParseEscape(out)) return false;
      } else if (c < 0x80) {
        out.push_back(static_cast<char>(c));
        ++pos_;
      } else if (!CopyUtf8Sequence(out)) {
        return false;
      }
    }
  }

  bool ParseEscape(std::string& out) {
    ++pos_;
    if (pos_ >= text_.size()) return Fail("unterminated string");
    char c = text_[pos_++];
    switch (c) {
      case '"': out.push_back('"'); return true;
      case '\\': out.push_back('\\'); return true;
      case '/': out.push_back('/'); return true;
      case 'b': out.push_back('\b'); return true;
      case 'f': out.push_back('\f'); return true;
      case 'n': out.push_back('\n'); return true;
      case 'r': out.push_back('\r'); return true;
      case 't': out.push_back('\t'); return true;
      case 'u': break;
      default: --pos_; return Fail("unknown escape");
    }
    uint32_t code_point = 0;
    if (!ReadHex4(code_point)) return false;
    if (code_point >= 0xDC00 && code_point <= 0xDFFF) return Fail("low surrogate without a high one");
    if (code_point >= 0xD800 && code_point <= 0xDBFF) {
      if (pos_ + 1 >= text_.size() || text_[pos_] != '\\' || text_[pos_ + 1] != 'u') {
        return Fail("high surrogate without a low one");
      }
      pos_ += 2;
      uint32_t low = 0;
      if (!ReadHex4(low)) return false;
      if (low < 0xDC00 || low > 0xDFFF) return Fail("high surrogate without a low one");
      code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
    }
    text::AppendUtf8(out, code_point);  // surrogates were refused above
    return true;
  }

  bool ReadHex4(uint32_t& out) {
    if (pos_ + 4 > text_.size()) return Fail("expected 4 hex digits after \\u");
    for (int i = 0; i < 4; ++i, ++pos_) {
      const int digit = text::HexValue(text_[pos_]);
      if (digit < 0) return Fail("expected 4 hex digits after \\u");
      out = (out << 4) | static_cast<uint32_t>(digit);
    }
    return true;
  }

  // Copies one multi-byte UTF-8 sequence, refusing overlong forms, encoded
  // surrogates and code points above U+10FFFF (RFC 3629 table 4).
  bool CopyUtf8Sequence(std::string& out) {
    auto byte = [&](size_t i) { return static_cast<unsigned char>(text_[pos_ + i]); };
    unsigned char lead = byte(0);
    size_t length;
    unsigned char second_min = 0x80, second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) second_min = 0xA0;
      if (lead == 0xED) second_max = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) second_min = 0x90;
      if (lead == 0xF4) second_max = 0x8F;
    } else {
      return Fail("invalid UTF-8");
    }
    if (pos_ + length > text_.size()) return Fail("invalid UTF-8");
    if (byte(1) < second_min || byte(1) > second_max) return Fail("invalid UTF-8");
    for (size_t i = 2; i < length; ++i) {
      if (byte(i) < 0x80 || byte(i) > 0xBF) return Fail("invalid UTF-8");
    }
    out.append(text_.substr(pos_, length));
    pos_ += length;
    return true;
  }

  bool ExpectLiteral(std::string_view literal) {
    if (text_.substr(pos_, literal.size()) != literal) return Fail("expected a value");
    pos_ += literal.size();
    return true;
  }

  void SkipWhitespace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }
  bool Consume(char c) {
    if (Peek() != c || pos_ >= text_.size()) return false;
    ++pos_;
    return true;
  }

  bool Fail(std::string_view what) {
    if (error_.empty()) error_ = rampart::StrCat("at byte ", pos_, ": ", what);
    return false;
  }
  absl::Status Error() const { return absl::InvalidArgumentError(error_); }

  std::string_view text_;
  size_t pos_ = 0;
  std::string error_;
};

absl::StatusOr<JsonValue> ParseJson(std::string_view text) { return JsonParser(text).ParseDocument(); }

}  // namespace rampart::jwt

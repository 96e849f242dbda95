#include "agent/attacks/json_walker.h"

#include <cstdint>

#include "agent/common/text_codec.h"

namespace rampart::attacks {
namespace {

using text::AppendUtf8;
using text::ReadHex;

bool IsPlainKey(std::string_view key) {
  if (key.empty() || key.size() > 64) return false;
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

class Walker {
 public:
  Walker(std::string_view json, const JsonStringVisitor& visit, int max_depth)
      : json_(json), visit_(visit), max_depth_(max_depth) {}

  bool Run() {
    std::string path = "$";
    if (!ParseValue(path, 0)) return false;
    SkipSpace();
    return pos_ == json_.size();
  }

 private:
  void SkipSpace() {
    while (pos_ < json_.size() &&
           (json_[pos_] == ' ' || json_[pos_] == '\t' || json_[pos_] == '\n' || json_[pos_] == '\r')) {
      ++pos_;
    }
  }

  // Reads a string at pos_ (on its opening quote) into `out`, escapes decoded.
  bool ParseString(std::string& out) {
    ++pos_;
    const size_t begin = pos_;
    bool escaped = false;
    while (pos_ < json_.size()) {
      const char c = json_[pos_];
      if (c == '\\') {
        escaped = true;
        pos_ += 2;
        continue;
      }
      if (c == '"') break;
      ++pos_;
    }
    if (pos_ >= json_.size()) {
      // A truncated body: still report what the string held so far.
      const std::string_view body = json_.substr(begin);
      out = escaped ? JsonUnescape(body) : std::string(body);
      pos_ = json_.size();
      return false;
    }
    const std::string_view body = json_.substr(begin, pos_ - begin);
    out = escaped ? JsonUnescape(body) : std::string(body);
    ++pos_;
    return true;
  }

  bool ParseValue(std::string& path, int depth) {
    SkipSpace();
    if (pos_ >= json_.size()) return false;
    const char c = json_[pos_];
    if (c == '"') {
      std::string value;
      const bool ok = ParseString(value);
      visit_(path, value, /*is_key=*/false);
      return ok;
    }
    if (c == '{' || c == '[') {
      if (depth >= max_depth_) return false;
      return c == '{' ? ParseObject(path, depth + 1) : ParseArray(path, depth + 1);
    }
    return ParseScalar();
  }

  bool ParseObject(std::string& path, int depth) {
    ++pos_;
    SkipSpace();
    if (pos_ < json_.size() && json_[pos_] == '}') {
      ++pos_;
      return true;
    }
    for (size_t member = 0;; ++member) {
      SkipSpace();
      if (pos_ >= json_.size() || json_[pos_] != '"') return false;
      std::string key;
      const bool key_ok = ParseString(key);
      const size_t base = path.size();
      if (IsPlainKey(key)) {
        path.append(".").append(key);
      } else {
        path.append(".#").append(std::to_string(member));
      }
      visit_(path, key, /*is_key=*/true);
      if (!key_ok) return false;
      SkipSpace();
      if (pos_ >= json_.size() || json_[pos_] != ':') return false;
      ++pos_;
      const bool value_ok = ParseValue(path, depth);
      path.resize(base);
      if (!value_ok) return false;
      SkipSpace();
      if (pos_ >= json_.size()) return false;
      if (json_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (json_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return false;
    }
  }

  bool ParseArray(std::string& path, int depth) {
    ++pos_;
    SkipSpace();
    if (pos_ < json_.size() && json_[pos_] == ']') {
      ++pos_;
      return true;
    }
    for (size_t index = 0;; ++index) {
      const size_t base = path.size();
      path.append("[").append(std::to_string(index)).append("]");
      const bool ok = ParseValue(path, depth);
      path.resize(base);
      if (!ok) return false;
      SkipSpace();
      if (pos_ >= json_.size()) return false;
      if (json_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (json_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return false;
    }
  }

  // Numbers, true, false, null: checked for shape only.
  bool ParseScalar() {
    const size_t begin = pos_;
    while (pos_ < json_.size()) {
      const char c = json_[pos_];
      const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' || c == '.' || c == 'E';
      if (!ok) break;
      ++pos_;
    }
    const std::string_view word = json_.substr(begin, pos_ - begin);
    if (word == "true" || word == "false" || word == "null") return true;
    if (word.empty()) return false;
    const char first = word[0];
    return first == '-' || (first >= '0' && first <= '9');
  }

  std::string_view json_;
  const JsonStringVisitor& visit_;
  int max_depth_;
  size_t pos_ = 0;
};

}  // namespace

std::string JsonUnescape(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 >= body.size()) {
      out.push_back(body[i]);
      continue;
    }
    const char kind = body[i + 1];
    switch (kind) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case '/': out.push_back('/'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        uint32_t value = 0;
        if (!ReadHex(body, i + 2, 4, value)) {
          out.push_back('\\');
          continue;
        }
        i += 4;
        uint32_t low = 0;
        if (value >= 0xD800 && value <= 0xDBFF && body.substr(i + 2, 2) == "\\u" && ReadHex(body, i + 4, 4, low) &&
            low >= 0xDC00 && low <= 0xDFFF) {
          value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00);
          i += 6;
        }
        AppendUtf8(out, value);
        break;
      }
      default:
        out.push_back('\\');
        continue;
    }
    ++i;
  }
  return out;
}

bool WalkJsonStrings(std::string_view json, const JsonStringVisitor& visit, int max_depth) {
  return Walker(json, visit, max_depth).Run();
}

}  // namespace rampart::attacks

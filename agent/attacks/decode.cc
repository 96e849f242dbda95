#include "agent/attacks/decode.h"

#include <array>
#include <utility>

#include "agent/common/text_codec.h"

namespace rampart::attacks {
namespace {

using text::AppendUtf8;
using text::HexValue;
using text::ReadHex;

// Full-width ASCII (U+FF01..U+FF5E) is what IIS's best-fit mapping turns
// back into '<', '\'' and friends.
uint32_t BestFit(uint32_t cp) { return (cp >= 0xFF01 && cp <= 0xFF5E) ? cp - 0xFF01 + 0x21 : cp; }

struct NamedEntity {
  std::string_view name;
  uint32_t code_point;
  bool legacy;  // recognised without the closing ';'
};

// The references that spell markup, script and URL syntax, plus the legacy
// ones browsers still accept without ';'.
constexpr std::array kNamedEntities = {
    NamedEntity{"amp", '&', true},     NamedEntity{"AMP", '&', true},     NamedEntity{"lt", '<', true},
    NamedEntity{"LT", '<', true},      NamedEntity{"gt", '>', true},      NamedEntity{"GT", '>', true},
    NamedEntity{"quot", '"', true},    NamedEntity{"QUOT", '"', true},    NamedEntity{"apos", '\'', false},
    NamedEntity{"nbsp", 0xA0, true},   NamedEntity{"colon", ':', false},  NamedEntity{"Tab", '\t', false},
    NamedEntity{"NewLine", '\n', false}, NamedEntity{"lpar", '(', false}, NamedEntity{"rpar", ')', false},
    NamedEntity{"sol", '/', false},    NamedEntity{"bsol", '\\', false},  NamedEntity{"semi", ';', false},
    NamedEntity{"comma", ',', false},  NamedEntity{"period", '.', false}, NamedEntity{"excl", '!', false},
    NamedEntity{"num", '#', false},    NamedEntity{"dollar", '$', false}, NamedEntity{"percnt", '%', false},
    NamedEntity{"equals", '=', false}, NamedEntity{"plus", '+', false},   NamedEntity{"ast", '*', false},
    NamedEntity{"grave", '`', false},  NamedEntity{"vert", '|', false},   NamedEntity{"verbar", '|', false},
    NamedEntity{"lsqb", '[', false},   NamedEntity{"rsqb", ']', false},   NamedEntity{"lbrack", '[', false},
    NamedEntity{"rbrack", ']', false}, NamedEntity{"lcub", '{', false},   NamedEntity{"rcub", '}', false},
    NamedEntity{"lbrace", '{', false}, NamedEntity{"rbrace", '}', false}, NamedEntity{"quest", '?', false},
    NamedEntity{"commat", '@', false}, NamedEntity{"lowbar", '_', false}, NamedEntity{"Hat", '^', false},
    NamedEntity{"copy", 0xA9, true},   NamedEntity{"reg", 0xAE, true},    NamedEntity{"shy", 0xAD, true},
};

bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// Decodes the reference that starts at in[pos] == '&'. Returns the bytes
// consumed, 0 when it is not a reference.
size_t DecodeOneEntity(std::string_view in, size_t pos, std::string& out) {
  size_t i = pos + 1;
  if (i < in.size() && in[i] == '#') {
    ++i;
    const bool hex = i < in.size() && (in[i] == 'x' || in[i] == 'X');
    if (hex) ++i;
    const size_t digits_begin = i;
    uint64_t value = 0;
    while (i < in.size() && i - digits_begin < 12) {
      const int v = HexValue(in[i]);
      if (v < 0 || (!hex && v > 9)) break;
      value = value * (hex ? 16 : 10) + static_cast<uint64_t>(v);
      ++i;
    }
    if (i == digits_begin) return 0;
    if (i < in.size() && in[i] == ';') ++i;
    AppendUtf8(out, value == 0 || value > 0x10FFFF ? 0xFFFD : static_cast<uint32_t>(value));
    return i - pos;
  }
  size_t end = i;
  while (end < in.size() && end - i < 12 && IsAlnum(in[end])) ++end;
  const std::string_view name = in.substr(i, end - i);
  const bool has_semicolon = end < in.size() && in[end] == ';';
  for (const NamedEntity& entity : kNamedEntities) {
    if (entity.name == name && (has_semicolon || entity.legacy)) {
      AppendUtf8(out, entity.code_point);
      return end - pos + (has_semicolon ? 1 : 0);
    }
  }
  // Legacy names match as a prefix, as in HTML5: "&ltimg" is "<img".
  for (const NamedEntity& entity : kNamedEntities) {
    if (entity.legacy && name.size() > entity.name.size() && name.starts_with(entity.name)) {
      AppendUtf8(out, entity.code_point);
      return 1 + entity.name.size();
    }
  }
  return 0;
}

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

std::string UrlDecode(std::string_view in, bool plus_as_space) {
  if (in.find('%') == std::string_view::npos && (!plus_as_space || in.find('+') == std::string_view::npos)) {
    return std::string(in);
  }
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+' && plus_as_space) {
      out.push_back(' ');
      continue;
    }
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    uint32_t value = 0;
    if (ReadHex(in, i + 1, 2, value)) {
      out.push_back(static_cast<char>(value));
      i += 2;
    } else if (i + 1 < in.size() && (in[i + 1] == 'u' || in[i + 1] == 'U') && ReadHex(in, i + 2, 4, value)) {
      AppendUtf8(out, BestFit(value));
      i += 5;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string HtmlEntityDecode(std::string_view in) {
  if (in.find('&') == std::string_view::npos) return std::string(in);
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '&') {
      const size_t used = DecodeOneEntity(in, i, out);
      if (used > 0) {
        i += used - 1;
        continue;
      }
    }
    out.push_back(in[i]);
  }
  return out;
}

std::string JsEscapeDecode(std::string_view in) {
  if (in.find('\\') == std::string_view::npos) return std::string(in);
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\\' || i + 1 >= in.size()) {
      out.push_back(in[i]);
      continue;
    }
    const char kind = in[i + 1];
    uint32_t value = 0;
    if (kind == '\\') {
      out.append("\\\\");
      ++i;
    } else if (kind == 'x' && ReadHex(in, i + 2, 2, value)) {
      AppendUtf8(out, value);
      i += 3;
    } else if (kind == 'u' && ReadHex(in, i + 2, 4, value)) {
      i += 5;
      uint32_t low = 0;
      if (value >= 0xD800 && value <= 0xDBFF && in.substr(i + 1, 2) == "\\u" &&
          ReadHex(in, i + 3, 4, low) && low >= 0xDC00 && low <= 0xDFFF) {
        value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00);
        i += 6;
      }
      AppendUtf8(out, value);
    } else if (kind == 'u' && i + 2 < in.size() && in[i + 2] == '{') {
      const size_t close = in.find('}', i + 3);
      if (close != std::string_view::npos && close - (i + 3) >= 1 && close - (i + 3) <= 6 &&
          ReadHex(in, i + 3, close - (i + 3), value)) {
        AppendUtf8(out, value);
        i = close;
      } else {
        out.push_back(in[i]);
      }
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::string DecodeOverlongUtf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const auto b0 = static_cast<unsigned char>(in[i]);
    if ((b0 == 0xC0 || b0 == 0xC1) && i + 1 < in.size() && IsContinuation(in[i + 1])) {
      out.push_back(static_cast<char>(((b0 & 0x1F) << 6) | (static_cast<unsigned char>(in[i + 1]) & 0x3F)));
      i += 1;
    } else if (b0 == 0xE0 && i + 2 < in.size() && static_cast<unsigned char>(in[i + 1]) == 0x80 &&
               IsContinuation(in[i + 2])) {
      out.push_back(static_cast<char>(static_cast<unsigned char>(in[i + 2]) & 0x3F));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::string EncodingLayerNames(uint32_t layers) {
  static constexpr std::pair<uint32_t, std::string_view> kNames[] = {
      {kUrlEncoding, "URL encoding"},
      {kHtmlEntities, "HTML entities"},
      {kJsEscapes, "JavaScript escapes"},
      {kOverlongUtf8, "overlong UTF-8"},
  };
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if ((layers & bit) == 0) continue;
    if (!out.empty()) out.append(", ");
    out.append(name);
  }
  return out;
}

DecodedValue DecodeRepeatedly(std::string_view in, int max_rounds) {
  DecodedValue decoded;
  decoded.forms.emplace_back(in);
  for (int round = 0; round < max_rounds; ++round) {
    const std::string& current = decoded.forms.back();
    std::string next = UrlDecode(current, /*plus_as_space=*/false);
    if (next != current) decoded.layers |= kUrlEncoding;
    std::string step = DecodeOverlongUtf8(next);
    if (step != next) decoded.layers |= kOverlongUtf8;
    next = HtmlEntityDecode(step);
    if (next != step) decoded.layers |= kHtmlEntities;
    step = JsEscapeDecode(next);
    if (step != next) decoded.layers |= kJsEscapes;
    if (step == current) break;
    decoded.forms.push_back(std::move(step));
    ++decoded.rounds;
  }
  return decoded;
}

}  // namespace rampart::attacks

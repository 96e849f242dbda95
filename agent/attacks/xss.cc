#include "agent/attacks/xss.h"

#include <cctype>
#include <string>

#include "agent/attacks/decode.h"
#include "agent/attacks/evidence.h"
#include "agent/attacks/html_tokenizer.h"

namespace rampart::attacks {
namespace {

std::string ToLower(std::string_view in) {
  std::string out(in);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// A URL as the browser resolves it: references decoded, leading spaces and
// control characters dropped, tabs and newlines removed anywhere (browsers
// strip them, so "java&#9;script:" is "javascript:"). NUL and U+FFFD (what
// &#0; becomes) go too: old parsers skipped them.
std::string NormalizeUrl(std::string_view raw, bool lower = true) {
  const std::string decoded = HtmlEntityDecode(HtmlEntityDecode(raw));
  std::string out;
  out.reserve(decoded.size());
  for (size_t i = 0; i < decoded.size(); ++i) {
    const char c = decoded[i];
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20) continue;
    if (decoded.compare(i, 3, "\xEF\xBF\xBD") == 0) {
      i += 2;
      continue;
    }
    if (out.empty() && b == 0x20) continue;
    out.push_back(lower && c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

std::string DecodeBase64(std::string_view in) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '+' || c == '-') v = 62;
    if (c == '/' || c == '_') v = 63;
    if (v < 0) continue;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

// The scheme of a URL that runs script, or empty. `url` is normalized and in
// lower case; `original_case` is the same URL normalized but with its case,
// for base64: a data: URL of any type counts when its content is markup.
std::string_view ScriptScheme(std::string_view url, std::string_view original_case = {}) {
  if (url.starts_with("data:") && !original_case.empty()) {
    const size_t comma = original_case.find(',');
    if (comma != std::string_view::npos && url.substr(0, comma).find(";base64") != std::string_view::npos) {
      const std::string content = ToLower(DecodeBase64(original_case.substr(comma + 1)));
      if (Contains(content, "<script") || Contains(content, "<svg") || Contains(content, "javascript:") ||
          (Contains(content, "<") && Contains(content, " on"))) {
        return "data:";
      }
    }
  }
  static constexpr std::string_view kSchemes[] = {
      "javascript:", "vbscript:", "livescript:", "data:text/html", "data:image/svg+xml", "data:application/xhtml",
      "data:text/xml",
  };
  for (std::string_view scheme : kSchemes) {
    if (url.starts_with(scheme)) return scheme;
  }
  return {};
}

// Whether a handler or URL body reads like code rather than a word.
bool LooksLikeScript(std::string_view text) {
  const std::string lower = ToLower(HtmlEntityDecode(text));
  static constexpr std::string_view kSinks[] = {
      "alert", "prompt", "confirm", "eval", "document", "window", "location", "fetch",
      "cookie", "import", "constructor", "settimeout", "function", "atob", "top[", "self[",
  };
  if (lower.find_first_of("(`=") != std::string::npos) return true;
  for (std::string_view sink : kSinks) {
    if (Contains(lower, sink)) return true;
  }
  return false;
}

bool IsEventHandler(std::string_view name) {
  const size_t colon = name.rfind(':');  // namespaced: x:ontimer, ev:onload
  if (colon != std::string_view::npos) name.remove_prefix(colon + 1);
  if (!name.starts_with("on") || name.size() < 5) return false;
  for (size_t i = 2; i < 5; ++i) {
    if (name[i] < 'a' || name[i] > 'z') return false;
  }
  return true;
}

bool IsUrlAttribute(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "href",   "src",    "action", "formaction", "data",   "background", "lowsrc",   "dynsrc",
      "poster", "codebase", "xlink:href", "from", "to",      "values",     "by",       "folder",
      "cite",   "longdesc", "classid", "datasrc", "xml:base", "ping",
  };
  for (std::string_view url : kNames) {
    if (name == url) return true;
  }
  return false;
}

// CSS with its escapes (\65 for 'e') and comments undone, and its
// whitespace dropped unless `keep_spaces`.
std::string DecodeCss(std::string_view raw, bool keep_spaces) {
  const std::string decoded = HtmlEntityDecode(raw);
  std::string css;
  char in_string = 0;  // strings hold escapes but no comments
  for (size_t i = 0; i < decoded.size(); ++i) {
    if (in_string != 0 && decoded[i] == in_string) {
      in_string = 0;
    } else if (in_string == 0 && (decoded[i] == '"' || decoded[i] == '\'')) {
      in_string = decoded[i];
    }
    if (in_string == 0 && decoded[i] == '/' && i + 1 < decoded.size() && decoded[i + 1] == '*') {
      const size_t end = decoded.find("*/", i + 2);
      if (end == std::string::npos) break;
      i = end + 1;
      continue;
    }
    if (decoded[i] == '\\' && i + 1 < decoded.size()) {
      size_t j = i + 1;
      unsigned value = 0;
      while (j < decoded.size() && j - i <= 6 && std::isxdigit(static_cast<unsigned char>(decoded[j]))) {
        const char h = decoded[j];
        value = value * 16 + static_cast<unsigned>(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
        ++j;
      }
      if (j > i + 1) {
        if (value > 0 && value < 0x80) css.push_back(static_cast<char>(value));
        if (j < decoded.size() && decoded[j] == ' ') ++j;
        i = j - 1;
      } else {
        css.push_back(decoded[i + 1]);
        ++i;
      }
      continue;
    }
    const bool space = decoded[i] == ' ' || decoded[i] == '\t' || decoded[i] == '\n' || decoded[i] == '\r';
    if (space && !keep_spaces) continue;
    css.push_back(decoded[i]);
  }
  return css;
}

// CSS that runs script: IE's expression() and behavior, Mozilla's
// -moz-binding, script URLs, imports.
bool IsScriptCss(std::string_view raw) {
  const std::string lower = ToLower(DecodeCss(raw, false));
  return Contains(lower, "expression(") || Contains(lower, "javascript:") || Contains(lower, "vbscript:") ||
         Contains(lower, "behavior:") || Contains(lower, "behaviour:") || Contains(lower, "binding:") ||
         Contains(lower, "@import");
}

const HtmlAttribute* FindAttribute(const HtmlTag& tag, std::string_view name) {
  for (const HtmlAttribute& attribute : tag.attributes) {
    if (attribute.name == name) return &attribute;
  }
  return nullptr;
}

struct TagRule {
  std::string_view name;
  double bare;         // the tag alone
  double with_source;  // with an attribute that loads something
  std::string_view source_attributes[4];
  std::string_view reason;
};

// Tags that load or redirect to other content, and so carry an attack by
// themselves.
constexpr TagRule kTagRules[] = {
    {"iframe", 0.7, 0.85, {"src", "srcdoc", "", ""}, "iframe tag"},
    {"frame", 0.7, 0.85, {"src", "", "", ""}, "frame tag"},
    {"frameset", 0.6, 0.6, {"", "", "", ""}, "frameset tag"},
    {"object", 0.7, 0.85, {"data", "classid", "codebase", "type"}, "object tag"},
    {"embed", 0.7, 0.85, {"src", "code", "type", ""}, "embed tag"},
    {"applet", 0.7, 0.85, {"code", "codebase", "archive", ""}, "applet tag"},
    {"base", 0.45, 0.8, {"href", "", "", ""}, "base tag redirecting relative URLs"},
    {"meta", 0.2, 0.8, {"http-equiv", "", "", ""}, "meta tag with http-equiv"},
    {"link", 0.3, 0.65, {"href", "", "", ""}, "link tag loading a resource"},
    {"form", 0.3, 0.55, {"action", "", "", ""}, "form posting to another action"},
    {"isindex", 0.5, 0.65, {"action", "", "", ""}, "isindex tag"},
    {"xml", 0.55, 0.7, {"src", "", "", ""}, "XML data island"},
    {"import", 0.5, 0.75, {"implementation", "", "", ""}, "import tag loading a behaviour"},
};

class XssJudge {
 public:
  explicit XssJudge(EvidenceList& evidence) : evidence_(evidence) {}

  void JudgeScan(const HtmlScan& scan, HtmlStart start, double weight, int depth) {
    for (const HtmlTag& tag : scan.tags) JudgeTag(tag, start, weight);
    const HtmlTag* opened = start != HtmlStart::kText && !scan.tags.empty() ? &scan.tags.front() : nullptr;
    if (opened != nullptr && opened->name.empty() && opened->complete && scan.tags.size() > 1) {
      evidence_.Add(0.35 * weight, "breaks out of an attribute and opens a tag", "xss attribute-breakout");
    }
    // Conditional comments and parser differentials hide markup in comments.
    if (depth < 2) {
      for (const std::string& comment : scan.comments) {
        if (comment.find('<') == std::string::npos) continue;
        JudgeScan(TokenizeHtml(comment, HtmlStart::kText), HtmlStart::kText, weight * 0.9, depth + 1);
      }
    }
  }

 private:
  void JudgeTag(const HtmlTag& raw_tag, HtmlStart start, double weight) {
    // <x:script xmlns:x="http://www.w3.org/1999/xhtml"> is a script tag.
    HtmlTag stripped;
    const size_t colon = raw_tag.name.find(':');
    if (colon != std::string::npos && colon + 1 < raw_tag.name.size()) {
      stripped = raw_tag;
      stripped.name = raw_tag.name.substr(colon + 1);
    }
    const HtmlTag& tag = colon != std::string::npos && colon + 1 < raw_tag.name.size() ? stripped : raw_tag;
    // The tag the application opened: the input only adds attributes to it.
    const bool opened = tag.name.empty() && start != HtmlStart::kText;
    if (!opened && (tag.name.empty() || !((tag.name[0] >= 'a' && tag.name[0] <= 'z')))) return;
    const double completeness = tag.complete || opened ? 1.0 : 0.9;
    const double w = weight * completeness;
    const std::string nul = tag.had_nul ? " (NUL byte hidden in the tag name)" : "";
    if (tag.end_tag) {
      if (tag.name == "script") evidence_.Add(0.5 * w, "closes a script element", "xss </script>");
      return;
    }
    if (tag.name == "script") {
      evidence_.Add(0.95 * w, "script tag" + nul, "xss <script>");
    } else if (tag.name == "style" && IsScriptCss(tag.raw_text)) {
      evidence_.Add(0.8 * w, "style element with script in CSS", "xss <style>");
    }
    // Text of <title>, <textarea>, <noscript>...: inert where it is, live
    // wherever else the application puts it.
    if (tag.name != "script" && tag.name != "style" && tag.raw_text.find('<') != std::string::npos && nested_ < 2) {
      ++nested_;
      JudgeScan(TokenizeHtml(tag.raw_text, HtmlStart::kText), HtmlStart::kText, w * 0.9, 2);
      --nested_;
    }
    if (const HtmlAttribute* type = FindAttribute(tag, "type");
        type != nullptr && tag.name != "script" && Contains(ToLower(type->value), "script")) {
      evidence_.Add(0.7 * w, "element declared as script by its type", "xss script-type");
    }
    for (const TagRule& rule : kTagRules) {
      if (tag.name != rule.name) continue;
      bool source = false;
      for (std::string_view attribute : rule.source_attributes) {
        if (!attribute.empty() && FindAttribute(tag, attribute) != nullptr) source = true;
      }
      evidence_.Add((source ? rule.with_source : rule.bare) * w, std::string(rule.reason) + nul,
                    "xss <" + std::string(rule.name) + ">");
    }
    for (const HtmlAttribute& attribute : tag.attributes) JudgeAttribute(tag, attribute, opened, start, w);
  }

  void JudgeAttribute(const HtmlTag& tag, const HtmlAttribute& attribute, bool opened, HtmlStart start, double w) {
    const std::string_view name = attribute.name;
    // A handler without code does nothing: <input onfire's>, "ONFIRE'S PACKIN'".
    if (IsEventHandler(name) && attribute.has_value && !attribute.value.empty()) {
      const bool script = LooksLikeScript(attribute.value);
      double score = 0.9;
      if (opened) {
        // Added to the application's tag: weaker when the value is a word,
        // and weaker again when no quote had to be broken.
        const bool unquoted = start == HtmlStart::kUnquotedAttribute || start == HtmlStart::kInsideTag;
        score = unquoted ? (script ? 0.7 : 0.35) : (script ? 0.85 : 0.6);
      } else if (!attribute.has_value && !tag.complete) {
        score = 0.6;
      }
      evidence_.Add(score * w, opened ? "event handler attribute added to an existing tag" : "event handler attribute",
                    "xss event-handler");
      return;
    }
    if (!attribute.has_value || IsEventHandler(name)) return;
    if (name == "style") {
      if (IsScriptCss(attribute.value)) evidence_.Add(0.8 * w, "style attribute with script in CSS", "xss css-script");
      // CSS escapes can spell markup that breaks out of the attribute.
      const std::string css = DecodeCss(attribute.value, true);
      if (css.find('<') != std::string::npos && nested_ < 2) {
        ++nested_;
        JudgeScan(TokenizeHtml(css, HtmlStart::kText), HtmlStart::kText, 0.9, 2);
        --nested_;
      }
      return;
    }
    if (name == "dataformatas" && Contains(ToLower(attribute.value), "html")) {
      evidence_.Add(0.7 * w, "data binding that renders HTML", "xss data-binding");
      return;
    }
    if (name == "srcdoc") {
      if (attribute.value.find('<') != std::string::npos || attribute.value.find('&') != std::string::npos) {
        evidence_.Add(0.85 * w, "srcdoc attribute holding markup", "xss srcdoc");
      }
      return;
    }
    // A scheme needs a colon, written or as a character reference.
    if (attribute.value.find_first_of(":&") == std::string::npos) return;
    const std::string url = NormalizeUrl(attribute.value);
    const std::string_view scheme = ScriptScheme(url, NormalizeUrl(attribute.value, /*lower=*/false));
    if (!scheme.empty()) {
      const bool url_attribute = IsUrlAttribute(name);
      evidence_.Add((url_attribute ? 0.9 : 0.7) * w,
                    std::string(scheme.substr(0, scheme.find(':'))) + ": URL in " +
                        (url_attribute ? "a URL attribute" : "an attribute"),
                    "xss script-url");
      return;
    }
    if (tag.name == "meta" && name == "content" && Contains(url, "url=") && FindAttribute(tag, "http-equiv")) {
      const size_t at = url.find("url=");
      if (!ScriptScheme(url.substr(at + 4)).empty()) {
        evidence_.Add(0.9 * w, "meta refresh to a script URL", "xss meta-refresh");
      }
    }
  }

  EvidenceList& evidence_;
  int nested_ = 0;
};

}  // namespace

Verdict DetectXss(std::string_view input) {
  EvidenceList evidence;
  XssJudge judge(evidence);
  const bool has_tag_start = input.find('<') != std::string_view::npos;
  if (has_tag_start) judge.JudgeScan(TokenizeHtml(input, HtmlStart::kText), HtmlStart::kText, 1.0, 0);
  if (input.find('"') != std::string_view::npos) {
    judge.JudgeScan(TokenizeHtml(input, HtmlStart::kDoubleQuotedAttribute), HtmlStart::kDoubleQuotedAttribute, 1.0, 0);
  }
  if (input.find('\'') != std::string_view::npos) {
    judge.JudgeScan(TokenizeHtml(input, HtmlStart::kSingleQuotedAttribute), HtmlStart::kSingleQuotedAttribute, 1.0, 0);
  }
  if (input.find('=') != std::string_view::npos) {
    if (input.find_first_of(" \t\n\f\r") != std::string_view::npos) {
      judge.JudgeScan(TokenizeHtml(input, HtmlStart::kUnquotedAttribute), HtmlStart::kUnquotedAttribute, 1.0, 0);
    }
    judge.JudgeScan(TokenizeHtml(input, HtmlStart::kInsideTag), HtmlStart::kInsideTag, 1.0, 0);
  }
  // The whole input as a URL: it may land in an href.
  const std::string url = NormalizeUrl(input);
  const std::string_view scheme = ScriptScheme(url);
  if (!scheme.empty()) {
    const bool code = LooksLikeScript(url.substr(scheme.size()));
    evidence.Add(code ? 0.8 : 0.4, std::string("input is a ") + std::string(scheme.substr(0, scheme.find(':'))) + ": URL",
                 "xss script-url");
  }
  return evidence.Combine();
}

double XssScore(std::string_view input) { return DetectXss(input).score; }

}  // namespace rampart::attacks

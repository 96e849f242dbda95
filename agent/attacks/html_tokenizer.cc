#include "agent/attacks/html_tokenizer.h"


namespace rampart::attacks {
namespace {

bool IsAsciiAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
// The standard's whitespace, plus the vertical tab old IE also accepted.
bool IsHtmlSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == '\v'; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Elements whose content is text up to their end tag.
constexpr std::string_view kRawTextElements[] = {
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext",
};

constexpr size_t kMaxAttributes = 256;

bool IsRawText(std::string_view name) {
  for (std::string_view raw : kRawTextElements) {
    if (raw == name) return true;
  }
  return false;
}

class Tokenizer {
 public:
  explicit Tokenizer(std::string_view input) : in_(input) {}

  HtmlScan Run(HtmlStart start) {
    if (start != HtmlStart::kText) {
      HtmlTag opened;  // the application's tag, whose attribute value we are in
      if (!FinishOpenedValue(start)) return std::move(scan_);
      ReadAttributes(opened);
      scan_.tags.push_back(std::move(opened));
      AfterTag(scan_.tags.back());
    }
    ReadData();
    return std::move(scan_);
  }

 private:
  char At(size_t i) const { return i < in_.size() ? in_[i] : '\0'; }

  // Skips to the end of the attribute value the input starts in. False when
  // the value never ends: then the input is only a value.
  bool FinishOpenedValue(HtmlStart start) {
    if (start == HtmlStart::kInsideTag) return true;
    if (start == HtmlStart::kUnquotedAttribute) {
      while (pos_ < in_.size() && !IsHtmlSpace(in_[pos_]) && in_[pos_] != '>') ++pos_;
      return pos_ < in_.size();
    }
    const char quote = start == HtmlStart::kDoubleQuotedAttribute ? '"' : '\'';
    const size_t close = in_.find(quote);
    if (close == std::string_view::npos) return false;
    pos_ = close + 1;
    return true;
  }

  void ReadData() {
    while (pos_ < in_.size()) {
      const size_t lt = in_.find('<', pos_);
      if (lt == std::string_view::npos) return;
      pos_ = lt + 1;
      while (At(pos_) == '\0' && pos_ < in_.size()) ++pos_;  // old IE skipped NUL after '<'
      const char next = At(pos_);
      if (IsAsciiAlpha(next)) {
        ReadTag(false);
      } else if (next == '/' && IsAsciiAlpha(At(pos_ + 1))) {
        ++pos_;
        ReadTag(true);
      } else if (next == '!' || next == '?' || (next == '/' && At(pos_ + 1) != '\0')) {
        ReadComment();
      }
    }
  }

  void ReadComment() {
    if (in_.substr(pos_, 3) == "!--") {
      const size_t body = pos_ + 3;
      size_t end = in_.find("-->", body);
      const size_t alt = in_.find("--!>", body);
      if (alt < end) end = alt;
      if (end == std::string_view::npos) {
        scan_.comments.emplace_back(in_.substr(body));
        pos_ = in_.size();
        return;
      }
      scan_.comments.emplace_back(in_.substr(body, end - body));
      pos_ = end + (in_[end + 2] == '!' ? 4 : 3);
      return;
    }
    // Bogus comments: <!DOCTYPE ...>, <![CDATA[ ... ]]>, <?xml ...?>, </ 1>
    const size_t close = in_.find('>', pos_);
    const size_t end = close == std::string_view::npos ? in_.size() : close;
    scan_.comments.emplace_back(in_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = close == std::string_view::npos ? in_.size() : close + 1;
  }

  void ReadTag(bool end_tag) {
    HtmlTag tag;
    tag.end_tag = end_tag;
    while (pos_ < in_.size() && !IsHtmlSpace(in_[pos_]) && in_[pos_] != '/' && in_[pos_] != '>') {
      if (in_[pos_] == '\0') {
        tag.had_nul = true;
      } else {
        tag.name.push_back(Lower(in_[pos_]));
      }
      ++pos_;
    }
    ReadAttributes(tag);
    scan_.tags.push_back(std::move(tag));
    AfterTag(scan_.tags.back());
  }

  void AfterTag(HtmlTag& tag) {
    // Inside <svg> and <math>, <style> and friends hold markup, not text.
    if (tag.name == "svg" || tag.name == "math") {
      if (tag.end_tag) {
        if (foreign_depth_ > 0) --foreign_depth_;
      } else if (tag.complete) {
        ++foreign_depth_;
      }
    }
    if (tag.end_tag || !tag.complete || !IsRawText(tag.name)) return;
    if (foreign_depth_ > 0 && tag.name != "script") return;
    if (tag.name == "plaintext") {
      tag.raw_text = std::string(in_.substr(pos_));
      pos_ = in_.size();
      return;
    }
    // Up to "</name", case-insensitively.
    for (size_t i = pos_; i + 1 < in_.size(); ++i) {
      if (in_[i] != '<' || in_[i + 1] != '/') continue;
      bool match = i + 2 + tag.name.size() <= in_.size();
      for (size_t k = 0; match && k < tag.name.size(); ++k) match = Lower(in_[i + 2 + k]) == tag.name[k];
      if (!match) continue;
      tag.raw_text = std::string(in_.substr(pos_, i - pos_));
      pos_ = i;
      return;
    }
    tag.raw_text = std::string(in_.substr(pos_));
    pos_ = in_.size();
  }

  // Attributes up to and including '>', per the standard's attribute states.
  void ReadAttributes(HtmlTag& tag) {
    while (pos_ < in_.size()) {
      const char c = in_[pos_];
      if (IsHtmlSpace(c) || c == '/') {
        ++pos_;
        continue;
      }
      if (c == '>') {
        ++pos_;
        tag.complete = true;
        return;
      }
      HtmlAttribute attribute;
      // A leading '=' belongs to the name.
      do {
        if (in_[pos_] != '\0') attribute.name.push_back(Lower(in_[pos_]));
        ++pos_;
      } while (pos_ < in_.size() && !IsHtmlSpace(in_[pos_]) && in_[pos_] != '/' && in_[pos_] != '>' &&
               in_[pos_] != '=');
      size_t look = pos_;
      while (look < in_.size() && IsHtmlSpace(in_[look])) ++look;
      if (At(look) == '=') {
        pos_ = look + 1;
        while (pos_ < in_.size() && IsHtmlSpace(in_[pos_])) ++pos_;
        attribute.has_value = true;
        ReadValue(attribute.value);
      }
      // Past the cap attributes are read but not kept: a bound on memory
      // for junk like "' or 1=1 ' or 1=1 ...".
      if (tag.attributes.size() < kMaxAttributes) tag.attributes.push_back(std::move(attribute));
    }
  }

  void ReadValue(std::string& value) {
    const char c = At(pos_);
    if (c == '"' || c == '\'' || c == '`') {  // old IE took backticks as quotes too
      const size_t close = in_.find(c, pos_ + 1);
      const size_t end = close == std::string_view::npos ? in_.size() : close;
      value = std::string(in_.substr(pos_ + 1, end - pos_ - 1));
      pos_ = close == std::string_view::npos ? in_.size() : close + 1;
      return;
    }
    const size_t begin = pos_;
    while (pos_ < in_.size() && !IsHtmlSpace(in_[pos_]) && in_[pos_] != '>') ++pos_;
    value = std::string(in_.substr(begin, pos_ - begin));
  }

  std::string_view in_;
  size_t pos_ = 0;
  int foreign_depth_ = 0;
  HtmlScan scan_;
};

}  // namespace

HtmlScan TokenizeHtml(std::string_view input, HtmlStart start) { return Tokenizer(input).Run(start); }

}  // namespace rampart::attacks

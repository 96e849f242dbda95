// An HTML5-style tokenizer for judging user input: it finds the tags,
// attributes and comments a browser would find, following the standard's
// rules where they matter for attacks ('/' separates attributes, a tag needs
// a letter after '<', script and style hold raw text, NUL bytes vanish from
// names). It does not build a tree and never fails.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::attacks {

// Where the input lands in the page.
enum class HtmlStart : uint8_t {
  kText,                     // between tags
  kDoubleQuotedAttribute,    // inside value="..."
  kSingleQuotedAttribute,    // inside value='...'
  kUnquotedAttribute,        // inside value=...
  kInsideTag,                // between a tag's attributes: <div INPUT>
};

struct HtmlAttribute {
  std::string name;   // lower case, NUL bytes removed
  std::string value;  // as written: character references not decoded
  bool has_value = false;
};

struct HtmlTag {
  // Lower case, NUL bytes removed. Empty for the tag the application opened
  // when the input starts inside one of its attributes.
  std::string name;
  bool end_tag = false;
  bool complete = false;  // its '>' was seen
  bool had_nul = false;   // a NUL byte sat in its name
  std::vector<HtmlAttribute> attributes;  // the first 256
  std::string raw_text;   // script, style and other raw-text elements: the text up to the end tag
};

struct HtmlScan {
  std::vector<HtmlTag> tags;
  std::vector<std::string> comments;  // bodies of <!-- -->, <! > and <? > comments
};

// Costs one pass over the input.
HtmlScan TokenizeHtml(std::string_view input, HtmlStart start);

}  // namespace rampart::attacks

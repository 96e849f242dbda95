// A text the prefilter scans, with the named fields inside it when it has
// structure (JSON members, form or query parameters, headers, cookies), so a
// match can be given its key for context and its path for the finding's
// location.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/http/message.h"

namespace rampart::dlp {

class Document {
 public:
  struct Field {
    uint32_t key_begin = 0, key_end = 0;  // empty for array elements and unnamed values
    uint32_t value_begin = 0, value_end = 0;
    int32_t parent = -1;       // JSON: the enclosing object or array; -1 at top level
    int32_t array_index = -1;  // JSON: position in the enclosing array
  };

  // Unstructured text: context comes from nearby words only.
  static Document PlainText(std::string_view text);
  // Indexed lazily by IndexUpTo; the walk tolerates truncated and malformed
  // JSON (a body cut at the parser's cap still yields the fields before the
  // cut) and newline-delimited JSON.
  static Document Json(std::string_view text);
  // "name=value" pairs split on `separator` ('&' for forms and queries, ';'
  // for cookies), percent-decoded; '+' becomes a space when `plus_is_space`.
  // Decoded pairs are laid out as "name=value\n", so the text scanned is
  // what the application sees, not its URL encoding.
  static Document Pairs(std::string_view encoded, char separator, bool plus_is_space);
  // Unstructured text after percent-decoding (a request path).
  static Document PercentDecoded(std::string_view encoded);
  // One field per header, laid out as "name: value\n".
  static Document Headers(const std::vector<const http::Header*>& headers);

  std::string_view text() const { return owned_ ? std::string_view(storage_) : external_; }
  bool is_json() const { return json_; }

  // JSON: walks the text until every value that starts at or before `offset`
  // is indexed (and the first one after it, so a key's value is found). Other
  // documents are indexed when built. Cost: linear in the part walked.
  void IndexUpTo(size_t offset);

  // The scalar field whose value contains `offset`, or nullptr.
  const Field* FieldContaining(size_t offset) const;
  // The field whose key (name) contains `offset`, or nullptr.
  const Field* FieldNamedAt(size_t offset) const;
  // Fields that share `field`'s enclosing JSON object, `field` included.
  std::vector<const Field*> Siblings(const Field& field) const;

  std::string_view KeyOf(const Field& field) const;
  std::string_view ValueOf(const Field& field) const;
  // Names of the enclosing JSON members, nearest first, at most `max`. For an
  // array element without a key the first is the array's own name.
  std::vector<std::string_view> OuterKeys(const Field& field, size_t max) const;
  // "$.customer.cards[2].number" for JSON, the name otherwise. Names that
  // could themselves be data (an address, a long number, a random string) are
  // shown as "*": a location never carries plaintext.
  std::string PathOf(const Field& field) const;

 private:
  struct Container {
    uint32_t key_begin = 0, key_end = 0;
    int32_t parent = -1;
    int32_t array_index = -1;
    bool is_array = false;
  };
  struct Frame {
    int32_t container;
    int32_t next_index = 0;
    bool has_key = false;
    uint32_t key_begin = 0, key_end = 0;
  };

  Document() = default;
  void WalkJson(size_t limit);
  void AddJsonValue(uint32_t begin, uint32_t end);
  int32_t OpenContainer(bool is_array);

  std::string storage_;
  std::string_view external_;
  bool owned_ = false;
  bool json_ = false;
  std::vector<Field> fields_;  // in text order of their values
  std::vector<Container> containers_;
  // JSON walk state, so IndexUpTo can resume.
  std::vector<Frame> stack_;
  size_t walked_ = 0;
  bool walk_done_ = false;
};

// A name fit for a finding's location, or "*" when it could be data.
std::string SafeName(std::string_view name);

}  // namespace rampart::dlp

// A text the prefilter scans, with the named fields inside it when it has
// structure (JSON members, form or query parameters, headers, cookies), so a
// match can be given its key for context and its path for the finding's
// location.
#pragma once

#include <cstdint>
#include <span>
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
  // The same, reusing the index memory of a JSON document no longer needed,
  // so that a scanner reading one body after another does not allocate and
  // fault in a fresh index each time.
  static Document Json(std::string_view text, Document&& spare);
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

  // [begin, end) of the text.
  struct Span {
    uint32_t begin = 0, end = 0;
  };
  // JSON: like IndexUpTo(the end of the last span), but keeps only the
  // fields whose key or value (quotes included) overlaps one of `spans`,
  // which are ordered by begin; the enclosing objects and arrays are all
  // kept, so paths and outer keys are complete. A scanner asks only about
  // fields that hold a prefilter match, and a full index is as large as the
  // body. Once per document, before any IndexUpTo.
  void IndexTouching(const std::vector<Span>& spans);

  // The scalar field whose value contains `offset`, or nullptr.
  const Field* FieldContaining(size_t offset) const;
  // The field whose key (name) contains `offset`, or nullptr.
  const Field* FieldNamedAt(size_t offset) const;
  // Fields that share `field`'s enclosing JSON object, `field` included.
  std::vector<const Field*> Siblings(const Field& field) const;

  std::string_view KeyOf(const Field& field) const;
  std::string_view ValueOf(const Field& field) const;
  // Names of the enclosing JSON members, nearest first, at most out.size(),
  // written to `out`; returns how many. For an array element without a key
  // the first is the array's own name.
  size_t OuterKeys(const Field& field, std::span<std::string_view> out) const;
  std::vector<std::string_view> OuterKeys(const Field& field, size_t max) const;
  // "$.customer.cards[2].number" for JSON, the name otherwise. Names that
  // could themselves be data (an address, a long number, a random string) are
  // shown as "*": a location never carries plaintext.
  std::string PathOf(const Field& field) const;
  // The same, appended to `out`.
  void AppendPathOf(const Field& field, std::string& out) const;

 private:
  struct Container {
    uint32_t key_begin = 0, key_end = 0;
    int32_t parent = -1;
    int32_t array_index = -1;
    bool is_array = false;
  };
  // An open object or array. Its Container is written only once a kept
  // field lies inside it: most containers of a body hold no match.
  struct Frame {
    int32_t container = -1;  // -1 until written
    bool is_array = false;
    // Objects: a key was read whose value has not come yet.
    bool has_key = false;
    uint32_t key_begin = 0, key_end = 0;
    // Arrays: commas read, the index of the current element.
    int32_t element = 0;
    // For the Container: where '{' or '[' is (its member name is read back
    // from there) and the position in the enclosing array.
    uint32_t open = 0;
    int32_t index_in_parent = -1;
  };

  // SkipTo's pass over whole 64-byte blocks (document.cc).
  struct BlockSkipper;

  Document() = default;
  void WalkJson(size_t limit);
  // The walk's steps: the string whose quotes are at `open` and `close`, and
  // whatever starts at `i` outside a string. Both return where the walk goes
  // on and set `stop` once a value starting past `limit` is indexed.
  size_t OnString(size_t open, size_t close, size_t limit, bool& stop);
  size_t OnToken(size_t i, size_t limit, bool& stop);
  // From `i` (outside a string) to the last '{', '[', '}', ']' or ','
  // before `until`, reading only those: returns the position after it.
  size_t SkipTo(size_t i, size_t until);
  void OpenFrame(size_t at, bool is_array);
  void CloseFrame();
  void Comma();
  // `extent_begin`: where the field starts in the text, its key's quote or
  // its value's.
  void AddJsonValue(uint32_t begin, uint32_t end, uint32_t extent_begin);
  // Whether the field spanning [extent_begin, extent_end) is kept.
  bool Touched(uint32_t extent_begin, uint32_t extent_end);
  // Writes the Containers of the open frames that have none.
  void WriteContainers();
  // The member name before the '{' or '[' at `open`, found by reading back.
  std::pair<uint32_t, uint32_t> KeyBefore(uint32_t open, uint32_t floor) const;
  // The index of the first field whose value begins after `offset`
  // (fields_.size() if none): where FieldContaining and FieldNamedAt look.
  size_t FirstValueAfter(size_t offset) const;

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
  static constexpr size_t kNoValue = ~size_t{0};
  size_t last_value_begin_ = kNoValue;  // of the last value walked, kept or not
  // IndexTouching: the spans, the next one not yet compared, and the
  // furthest end of those compared.
  const std::vector<Span>* touching_ = nullptr;
  size_t touching_next_ = 0;
  uint32_t touching_end_ = 0;
  // The last FirstValueAfter answer. Lookups come nearly in text order
  // (matches by end, then the detections made of them), so the next answer
  // is usually a few fields on, found without a binary search over a large
  // index.
  mutable size_t lookup_hint_ = 0;
};

// A name fit for a finding's location, or "*" when it could be data.
std::string SafeName(std::string_view name);
// The same without a copy: `name` itself, or a literal.
std::string_view SafeNameView(std::string_view name);

}  // namespace rampart::dlp

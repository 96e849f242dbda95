#include "agent/dlp/document.h"

#include <algorithm>
#include <cstring>

#include "agent/dlp/validators.h"

namespace rampart::dlp {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendDecoded(std::string& out, std::string_view in, bool plus_is_space) {
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
}

// The quote that ends the JSON string starting at `from`, or the text size.
size_t ClosingQuote(std::string_view t, size_t from) {
  size_t at = from;
  while (at < t.size()) {
    const void* quote = std::memchr(t.data() + at, '"', t.size() - at);
    if (quote == nullptr) return t.size();
    at = static_cast<size_t>(static_cast<const char*>(quote) - t.data());
    size_t backslashes = 0;
    while (at - backslashes > from && t[at - 1 - backslashes] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return at;
    ++at;
  }
  return t.size();
}

std::string_view TrimLeadingSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

}  // namespace

std::string SafeName(std::string_view name) {
  if (name.empty()) return "";
  if (name.size() > 48) return "*";
  size_t digits = 0;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x21 || u >= 0x7F || c == '"' || c == '\\' || c == '@') return "*";
    if (IsDigit(c)) ++digits;
  }
  if (digits >= 5) return "*";
  if (name.size() >= 16 && LooksRandom(name)) return "*";
  return std::string(name);
}

Document Document::PlainText(std::string_view text) {
  Document doc;
  doc.external_ = text;
  return doc;
}

Document Document::Json(std::string_view text) {
  Document doc;
  doc.external_ = text;
  doc.json_ = true;
  // About one value per 24 bytes in API payloads; growth copies are the
  // walk's largest cost otherwise.
  doc.fields_.reserve(text.size() / 24);
  return doc;
}

Document Document::PercentDecoded(std::string_view encoded) {
  Document doc;
  doc.owned_ = true;
  AppendDecoded(doc.storage_, encoded, false);
  return doc;
}

Document Document::Pairs(std::string_view encoded, char separator, bool plus_is_space) {
  Document doc;
  doc.owned_ = true;
  doc.storage_.reserve(encoded.size() + 16);
  while (!encoded.empty()) {
    size_t cut = encoded.find(separator);
    std::string_view pair = TrimLeadingSpace(encoded.substr(0, cut));
    encoded.remove_prefix(cut == std::string_view::npos ? encoded.size() : cut + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    Field field;
    field.key_begin = static_cast<uint32_t>(doc.storage_.size());
    if (eq != std::string_view::npos) AppendDecoded(doc.storage_, pair.substr(0, eq), plus_is_space);
    field.key_end = static_cast<uint32_t>(doc.storage_.size());
    doc.storage_.push_back('=');
    field.value_begin = static_cast<uint32_t>(doc.storage_.size());
    AppendDecoded(doc.storage_, eq == std::string_view::npos ? pair : pair.substr(eq + 1), plus_is_space);
    field.value_end = static_cast<uint32_t>(doc.storage_.size());
    doc.storage_.push_back('\n');
    doc.fields_.push_back(field);
  }
  return doc;
}

Document Document::Headers(const std::vector<const http::Header*>& headers) {
  Document doc;
  doc.owned_ = true;
  for (const http::Header* h : headers) {
    Field field;
    field.key_begin = static_cast<uint32_t>(doc.storage_.size());
    doc.storage_ += h->name;
    field.key_end = static_cast<uint32_t>(doc.storage_.size());
    doc.storage_ += ": ";
    field.value_begin = static_cast<uint32_t>(doc.storage_.size());
    doc.storage_ += h->value;
    field.value_end = static_cast<uint32_t>(doc.storage_.size());
    doc.storage_.push_back('\n');
    doc.fields_.push_back(field);
  }
  return doc;
}

void Document::IndexUpTo(size_t offset) {
  if (json_ && !walk_done_) WalkJson(offset);
}

int32_t Document::OpenContainer(bool is_array) {
  Container container;
  container.is_array = is_array;
  if (!stack_.empty()) {
    Frame& frame = stack_.back();
    container.parent = frame.container;
    if (containers_[frame.container].is_array) {
      container.array_index = frame.next_index++;
    } else if (frame.has_key) {
      container.key_begin = frame.key_begin;
      container.key_end = frame.key_end;
      frame.has_key = false;
    }
  }
  containers_.push_back(container);
  return static_cast<int32_t>(containers_.size() - 1);
}

void Document::AddJsonValue(uint32_t begin, uint32_t end) {
  Field field;
  field.value_begin = begin;
  field.value_end = end;
  if (!stack_.empty()) {
    Frame& frame = stack_.back();
    field.parent = frame.container;
    if (containers_[frame.container].is_array) {
      field.array_index = frame.next_index++;
    } else if (frame.has_key) {
      field.key_begin = frame.key_begin;
      field.key_end = frame.key_end;
      frame.has_key = false;
    }
  }
  fields_.push_back(field);
}

void Document::WalkJson(size_t limit) {
  const std::string_view t = text();
  const size_t n = t.size();
  size_t i = walked_;
  while (i < n) {
    if (!fields_.empty() && fields_.back().value_begin > limit) break;
    const char c = t[i];
    if (c == '{' || c == '[') {
      int32_t id = OpenContainer(c == '[');
      stack_.push_back(Frame{id});
      ++i;
    } else if (c == '}' || c == ']') {
      if (!stack_.empty()) stack_.pop_back();
      ++i;
    } else if (c == ',') {
      if (!stack_.empty()) stack_.back().has_key = false;
      ++i;
    } else if (c == '"') {
      const size_t end = ClosingQuote(t, i + 1);
      const bool is_key =
          !stack_.empty() && !containers_[stack_.back().container].is_array && !stack_.back().has_key;
      if (is_key) {
        Frame& frame = stack_.back();
        frame.has_key = true;
        frame.key_begin = static_cast<uint32_t>(i + 1);
        frame.key_end = static_cast<uint32_t>(end);
      } else {
        AddJsonValue(static_cast<uint32_t>(i + 1), static_cast<uint32_t>(end));
      }
      i = end + 1;
    } else if (c == '-' || IsDigit(c)) {
      size_t end = i + 1;
      while (end < n && (IsDigit(t[end]) || t[end] == '.' || t[end] == 'e' || t[end] == 'E' || t[end] == '+' ||
                         t[end] == '-')) {
        ++end;
      }
      AddJsonValue(static_cast<uint32_t>(i), static_cast<uint32_t>(end));
      i = end;
    } else if (IsAlpha(c)) {
      // true, false, null, or garbage: a value that carries nothing to scan.
      while (i < n && IsAlpha(t[i])) ++i;
      if (!stack_.empty()) {
        Frame& frame = stack_.back();
        if (containers_[frame.container].is_array) ++frame.next_index;
        frame.has_key = false;
      }
    } else {
      ++i;
    }
  }
  walked_ = std::min(i, n);
  walk_done_ = walked_ >= n;
}

const Document::Field* Document::FieldContaining(size_t offset) const {
  auto it = std::upper_bound(fields_.begin(), fields_.end(), offset,
                             [](size_t off, const Field& f) { return off < f.value_begin; });
  if (it == fields_.begin()) return nullptr;
  --it;
  return offset < it->value_end ? &*it : nullptr;
}

const Document::Field* Document::FieldNamedAt(size_t offset) const {
  auto it = std::upper_bound(fields_.begin(), fields_.end(), offset,
                             [](size_t off, const Field& f) { return off < f.value_begin; });
  if (it == fields_.end()) return nullptr;
  return it->key_begin <= offset && offset < it->key_end ? &*it : nullptr;
}

std::vector<const Document::Field*> Document::Siblings(const Field& field) const {
  if (field.parent < 0) return {&field};
  std::vector<const Field*> out;
  const size_t at = static_cast<size_t>(&field - fields_.data());
  constexpr size_t kReach = 512;
  const size_t from = at > kReach ? at - kReach : 0;
  const size_t to = std::min(fields_.size(), at + kReach);
  for (size_t i = from; i < to; ++i) {
    if (fields_[i].parent == field.parent) out.push_back(&fields_[i]);
  }
  return out;
}

std::string_view Document::KeyOf(const Field& field) const {
  return text().substr(field.key_begin, field.key_end - field.key_begin);
}

std::string_view Document::ValueOf(const Field& field) const {
  return text().substr(field.value_begin, field.value_end - field.value_begin);
}

std::vector<std::string_view> Document::OuterKeys(const Field& field, size_t max) const {
  std::vector<std::string_view> keys;
  for (int32_t c = field.parent; c >= 0 && keys.size() < max; c = containers_[c].parent) {
    const Container& container = containers_[c];
    if (container.key_end > container.key_begin) {
      keys.push_back(text().substr(container.key_begin, container.key_end - container.key_begin));
    }
  }
  return keys;
}

std::string Document::PathOf(const Field& field) const {
  if (!json_) return SafeName(KeyOf(field));
  std::vector<std::string> segments;
  auto segment = [&](uint32_t key_begin, uint32_t key_end, int32_t array_index) {
    if (key_end > key_begin) {
      segments.push_back("." + SafeName(text().substr(key_begin, key_end - key_begin)));
    } else if (array_index >= 0) {
      segments.push_back("[" + std::to_string(array_index) + "]");
    }
  };
  segment(field.key_begin, field.key_end, field.array_index);
  for (int32_t c = field.parent; c >= 0; c = containers_[c].parent) {
    segment(containers_[c].key_begin, containers_[c].key_end, containers_[c].array_index);
  }
  std::string path = "$";
  for (auto it = segments.rbegin(); it != segments.rend(); ++it) path += *it;
  return path;
}

}  // namespace rampart::dlp

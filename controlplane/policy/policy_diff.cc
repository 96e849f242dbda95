#include "controlplane/policy/policy_diff.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <string_view>
#include <utility>

#include "agent/common/strings.h"

namespace rampart::cp {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Beyond this many line pairs the diff of one policy stops looking for the
// longest common subsequence (a 2,000 x 2,000 table of 16-bit cells is 8 MB).
constexpr size_t kMaxDiffCells = 4'000'000;

// `value` in double quotes; '"', '\\' and every control byte escaped, so that a
// value never breaks its line. `all_bytes` also escapes bytes >= 0x80 (bytes fields).
std::string Quoted(std::string_view value, bool all_bytes = false) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : value) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f || (all_bytes && c >= 0x80)) {
          out += "\\x";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

// A map key or element name inside a path: bare when it is made of
// [A-Za-z0-9_-] alone (the spelling of policy::MapEntryPath), quoted otherwise.
bool IsPlainKey(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string MapEntryPath(const std::string& map_path, std::string_view key) {
  if (IsPlainKey(key)) return StrCat(map_path, ".", key);
  return StrCat(map_path, "[", Quoted(key), "]");
}

// "DefaultAction" -> "DEFAULT_ACTION_", the prefix its values carry.
std::string EnumValuePrefix(const EnumDescriptor& type) {
  std::string prefix;
  for (char c : type.name()) {
    if (c >= 'A' && c <= 'Z' && !prefix.empty()) prefix.push_back('_');
    prefix.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c));
  }
  return prefix + "_";
}

// DEFAULT_ACTION_DENY -> "deny", as the policy YAML spells it; a number the
// schema does not know stays a number.
std::string EnumText(const EnumDescriptor& type, int number) {
  const EnumValueDescriptor* value = type.FindValueByNumber(number);
  if (value == nullptr) return StrCat(number);
  std::string_view name = value->name();
  const std::string prefix = EnumValuePrefix(type);
  if (name.size() > prefix.size() && name.substr(0, prefix.size()) == prefix) name.remove_prefix(prefix.size());
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

template <typename Float>
std::string FloatText(Float value) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  return ec == std::errc() ? std::string(buf, end) : "nan";
}

// The value of a singular field (index < 0) or of one element of a repeated one.
std::string ScalarText(const Message& message, const FieldDescriptor& field, int index) {
  const Reflection& r = *message.GetReflection();
  const bool repeated = index >= 0;
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return StrCat(repeated ? r.GetRepeatedInt32(message, &field, index) : r.GetInt32(message, &field));
    case FieldDescriptor::CPPTYPE_INT64:
      return StrCat(repeated ? r.GetRepeatedInt64(message, &field, index) : r.GetInt64(message, &field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return StrCat(repeated ? r.GetRepeatedUInt32(message, &field, index) : r.GetUInt32(message, &field));
    case FieldDescriptor::CPPTYPE_UINT64:
      return StrCat(repeated ? r.GetRepeatedUInt64(message, &field, index) : r.GetUInt64(message, &field));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return FloatText(repeated ? r.GetRepeatedDouble(message, &field, index) : r.GetDouble(message, &field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return FloatText(repeated ? r.GetRepeatedFloat(message, &field, index) : r.GetFloat(message, &field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return (repeated ? r.GetRepeatedBool(message, &field, index) : r.GetBool(message, &field)) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return EnumText(*field.enum_type(),
                      repeated ? r.GetRepeatedEnumValue(message, &field, index) : r.GetEnumValue(message, &field));
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& value = repeated ? r.GetRepeatedStringReference(message, &field, index, &scratch)
                                          : r.GetStringReference(message, &field, &scratch);
      return Quoted(value, field.type() == FieldDescriptor::TYPE_BYTES);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return "?";
}

// A map key as it appears in a path, unquoted: the sort key of the entry.
std::string RawMapKey(const Message& entry, const FieldDescriptor& key_field) {
  if (key_field.cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    return entry.GetReflection()->GetString(entry, &key_field);
  }
  return ScalarText(entry, key_field, -1);
}

// "[name=http]" for an element with a name, "[3]" otherwise.
std::string ElementKey(const Message& element, int index) {
  const FieldDescriptor* name = element.GetDescriptor()->FindFieldByName("name");
  if (name != nullptr && !name->is_repeated() && name->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    std::string value = element.GetReflection()->GetString(element, name);
    if (!value.empty()) return StrCat("[name=", IsPlainKey(value) ? value : Quoted(value), "]");
  }
  return StrCat("[", index, "]");
}

void RenderMessage(const Message& message, const std::string& prefix, const FieldDescriptor* skip,
                   std::vector<std::string>& out);

void RenderValue(const Message& message, const FieldDescriptor& field, int index, const std::string& path,
                 std::vector<std::string>& out) {
  const Reflection& r = *message.GetReflection();
  if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    RenderMessage(index >= 0 ? r.GetRepeatedMessage(message, &field, index) : r.GetMessage(message, &field), path,
                  nullptr, out);
  } else {
    out.push_back(StrCat(path, ": ", ScalarText(message, field, index)));
  }
}

void RenderMessage(const Message& message, const std::string& prefix, const FieldDescriptor* skip,
                   std::vector<std::string>& out) {
  const Descriptor& type = *message.GetDescriptor();
  const Reflection& r = *message.GetReflection();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    if (&field == skip) continue;
    const std::string path = prefix.empty() ? field.json_name() : StrCat(prefix, ".", field.json_name());
    if (field.is_map()) {
      const FieldDescriptor& key = *field.message_type()->map_key();
      const FieldDescriptor& value = *field.message_type()->map_value();
      std::vector<std::pair<std::string, const Message*>> entries;
      for (int j = 0; j < r.FieldSize(message, &field); ++j) {
        const Message& entry = r.GetRepeatedMessage(message, &field, j);
        entries.emplace_back(RawMapKey(entry, key), &entry);
      }
      std::sort(entries.begin(), entries.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      for (const auto& [raw_key, entry] : entries) RenderValue(*entry, value, -1, MapEntryPath(path, raw_key), out);
    } else if (field.is_repeated()) {
      for (int j = 0; j < r.FieldSize(message, &field); ++j) {
        if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          RenderValue(message, field, j, path + ElementKey(r.GetRepeatedMessage(message, &field, j), j), out);
        } else {
          RenderValue(message, field, j, path + "[]", out);
        }
      }
    } else if (r.HasField(message, &field)) {
      // A set but empty message renders nothing, like an absent one: the node
      // reads both as defaults.
      RenderValue(message, field, -1, path, out);
    }
  }
}

// The lines of `b` against those of `a`: "- " for lines only in a, "+ " for
// lines only in b, common lines left out. Removals come before additions
// where both are possible, so the result is a function of (a, b) alone.
std::vector<std::string> LineDiff(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  size_t head = 0;
  while (head < a.size() && head < b.size() && a[head] == b[head]) ++head;
  size_t tail = 0;
  while (tail < a.size() - head && tail < b.size() - head && a[a.size() - 1 - tail] == b[b.size() - 1 - tail]) ++tail;
  const size_t n = a.size() - head - tail, m = b.size() - head - tail;
  auto A = [&](size_t i) -> const std::string& { return a[head + i]; };
  auto B = [&](size_t j) -> const std::string& { return b[head + j]; };

  std::vector<std::string> out;
  if (n == 0 || m == 0 || (n + 1) * (m + 1) > kMaxDiffCells) {
    for (size_t i = 0; i < n; ++i) out.push_back("- " + A(i));
    for (size_t j = 0; j < m; ++j) out.push_back("+ " + B(j));
    return out;
  }
  // lcs[i][j]: length of the longest common subsequence of A[i..] and B[j..];
  // bounded by min(n, m) <= 2,000, so 16 bits hold it.
  std::vector<uint16_t> lcs((n + 1) * (m + 1), 0);
  auto at = [&](size_t i, size_t j) -> uint16_t& { return lcs[i * (m + 1) + j]; };
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      at(i, j) = A(i) == B(j) ? static_cast<uint16_t>(at(i + 1, j + 1) + 1) : std::max(at(i + 1, j), at(i, j + 1));
    }
  }
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && A(i) == B(j)) {
      ++i, ++j;
    } else if (j == m || (i < n && at(i + 1, j) >= at(i, j + 1))) {
      out.push_back("- " + A(i++));
    } else {
      out.push_back("+ " + B(j++));
    }
  }
  return out;
}

std::vector<std::string> Prefixed(const std::vector<std::string>& lines, const char* marker) {
  std::vector<std::string> out;
  out.reserve(lines.size());
  for (const std::string& line : lines) out.push_back(marker + line);
  return out;
}

}  // namespace

std::vector<std::string> CanonicalLines(const v1::Policy& policy) {
  std::vector<std::string> lines;
  RenderMessage(policy, "", v1::Policy::descriptor()->FindFieldByName("source"), lines);
  return lines;
}

std::string ContentDigest(const google::protobuf::RepeatedPtrField<v1::Policy>& policies) {
  // Lines never hold a newline and always hold ": ", so "---" separates
  // policies unambiguously.
  std::string text;
  for (const v1::Policy& policy : policies) {
    for (const std::string& line : CanonicalLines(policy)) text += line + "\n";
    text += "---\n";
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : digest) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 0xf]);
  }
  return hex;
}

std::vector<v1::Policy> SortedByName(std::vector<v1::Policy> policies) {
  std::stable_sort(policies.begin(), policies.end(), [](const v1::Policy& a, const v1::Policy& b) {
    return a.metadata().name() < b.metadata().name();
  });
  return policies;
}

v1::PolicyDiff DiffPolicies(const v1::PolicyVersion& from, const std::vector<v1::Policy>& desired) {
  // name -> {lines before, lines after}; a side is missing when the policy is.
  struct Sides {
    const v1::Policy* before = nullptr;
    const v1::Policy* after = nullptr;
  };
  std::map<std::string, Sides> by_name;
  for (const v1::Policy& p : from.policies()) by_name[p.metadata().name()].before = &p;
  for (const v1::Policy& p : desired) by_name[p.metadata().name()].after = &p;

  v1::PolicyDiff diff;
  diff.set_from_version(from.version());
  for (const auto& [name, sides] : by_name) {
    v1::PolicyChange change;
    change.set_name(name);
    std::vector<std::string> lines;
    if (sides.before == nullptr) {
      change.set_kind(v1::PolicyChange::KIND_ADDED);
      lines = Prefixed(CanonicalLines(*sides.after), "+ ");
    } else if (sides.after == nullptr) {
      change.set_kind(v1::PolicyChange::KIND_REMOVED);
      lines = Prefixed(CanonicalLines(*sides.before), "- ");
    } else {
      lines = LineDiff(CanonicalLines(*sides.before), CanonicalLines(*sides.after));
      if (lines.empty()) {
        diff.set_unchanged(diff.unchanged() + 1);
        continue;
      }
      change.set_kind(v1::PolicyChange::KIND_CHANGED);
    }
    for (std::string& line : lines) change.add_lines(std::move(line));
    *diff.add_changes() = std::move(change);
  }
  return diff;
}

bool HasChanges(const v1::PolicyDiff& diff) { return diff.changes_size() > 0; }

std::string DiffSummary(const v1::PolicyDiff& diff) {
  int added = 0, removed = 0, changed = 0;
  for (const v1::PolicyChange& change : diff.changes()) {
    switch (change.kind()) {
      case v1::PolicyChange::KIND_ADDED: ++added; break;
      case v1::PolicyChange::KIND_REMOVED: ++removed; break;
      default: ++changed; break;
    }
  }
  return StrCat(changed, " changed, ", added, " added, ", removed, " removed; from version ", diff.from_version());
}

std::string RenderDiff(const v1::PolicyDiff& diff) {
  std::string out;
  for (const v1::PolicyChange& change : diff.changes()) {
    const char* marker = change.kind() == v1::PolicyChange::KIND_ADDED     ? "+ "
                         : change.kind() == v1::PolicyChange::KIND_REMOVED ? "- "
                                                                            : "~ ";
    out += StrCat(marker, change.name(), "\n");
    for (const std::string& line : change.lines()) out += StrCat("    ", line, "\n");
  }
  out += DiffSummary(diff) + "\n";
  return out;
}

}  // namespace rampart::cp

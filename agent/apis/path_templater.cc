#include "agent/apis/path_templater.h"

#include <algorithm>

#include "agent/common/strings.h"

namespace rampart::apis {
namespace {

bool IsHexDigit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !IsHexDigit(s[i])) return false;
  }
  return true;
}

bool IsParameterName(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// Calls fn(segment) for each non-empty segment of `path`.
template <typename Fn>
void ForEachSegment(std::string_view path, Fn&& fn) {
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > pos) fn(path.substr(pos, slash - pos), slash);
    pos = slash + 1;
  }
}

void AppendParameter(TemplatedPath& out, std::string_view value, SegmentKind kind) {
  out.values.push_back(value);
  out.kinds.push_back(kind);
  out.text += out.values.size() == 1 ? "/{id}" : rampart::StrCat("/{id", out.values.size(), "}");
}

}  // namespace

std::string_view SegmentKindName(SegmentKind kind) {
  switch (kind) {
    case SegmentKind::kStatic:
      return "static";
    case SegmentKind::kNumber:
      return "number";
    case SegmentKind::kUuid:
      return "uuid";
    case SegmentKind::kHex:
      return "hex";
    case SegmentKind::kHash:
      return "hash";
    case SegmentKind::kData:
      return "data";
    case SegmentKind::kCardinality:
      return "cardinality";
  }
  return "unknown";
}

SegmentKind ClassifySegment(std::string_view s) {
  if (s.empty()) return SegmentKind::kStatic;
  size_t digits = 0, lower = 0, upper = 0, hex = 0;
  bool token_chars = true;  // base64 / base64url / prefixed-id alphabet
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x21 || b >= 0x7f || c == '@' || c == '%') return SegmentKind::kData;
    if (IsDigit(c)) ++digits;
    if (IsLower(c)) ++lower;
    if (IsUpper(c)) ++upper;
    if (IsHexDigit(c)) ++hex;
    if (!IsDigit(c) && !IsLower(c) && !IsUpper(c) && c != '-' && c != '_' && c != '+' && c != '=' && c != '.' &&
        c != '~') {
      token_chars = false;
    }
  }
  if (digits == s.size()) return SegmentKind::kNumber;
  if (IsUuid(s)) return SegmentKind::kUuid;
  if (hex == s.size()) {
    const size_t n = s.size();
    if (n == 32 || n == 40 || n == 64 || n == 128) return SegmentKind::kHash;
    if (n >= 8 && digits > 0) return SegmentKind::kHex;
  }
  if (s.size() > 64 || digits >= 5) return SegmentKind::kData;
  const size_t letters = lower + upper;
  if (token_chars && s.size() >= 16 && digits > 0 &&
      ((lower > 0 && upper > 0) || (letters > 0 && digits * 4 >= s.size()))) {
    return SegmentKind::kHash;
  }
  return SegmentKind::kStatic;
}

SplitTargetResult SplitTarget(std::string_view target) {
  // Absolute form (a request to a proxy): drop scheme and authority.
  if (!target.empty() && target.front() != '/' && target != "*") {
    const size_t scheme_end = target.find("://");
    if (scheme_end != std::string_view::npos) {
      const size_t path_start = target.find_first_of("/?#", scheme_end + 3);
      target = path_start == std::string_view::npos ? std::string_view() : target.substr(path_start);
    }
  }
  if (const size_t hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  SplitTargetResult out;
  const size_t q = target.find('?');
  out.path = target.substr(0, q);
  if (q != std::string_view::npos) out.query = target.substr(q + 1);
  if (out.path.empty()) out.path = "/";
  return out;
}

std::vector<std::string> QueryParameterNames(std::string_view query, size_t* skipped) {
  constexpr size_t kMaxNames = 64;
  constexpr size_t kMaxNameBytes = 40;
  std::vector<std::string> names;
  size_t refused = 0;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view field = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::string_view raw = field.substr(0, field.find('='));
    if (raw.empty()) continue;
    std::string name;
    bool ok = raw.size() <= 3 * kMaxNameBytes;
    size_t digits = 0;
    for (size_t i = 0; ok && i < raw.size(); ++i) {
      char c = raw[i];
      if (c == '%' && i + 2 < raw.size() && IsHexDigit(raw[i + 1]) && IsHexDigit(raw[i + 2])) {
        const auto hexval = [](char h) { return IsDigit(h) ? h - '0' : (h | 0x20) - 'a' + 10; };
        c = static_cast<char>(hexval(raw[i + 1]) * 16 + hexval(raw[i + 2]));
        i += 2;
      } else if (c == '+') {
        c = ' ';
      }
      const bool allowed =
          IsDigit(c) || IsLower(c) || IsUpper(c) || c == '_' || c == '.' || c == '-' || c == '[' || c == ']';
      if (!allowed) ok = false;
      if (IsDigit(c)) ++digits;
      name.push_back(c);
    }
    if (!ok || name.size() > kMaxNameBytes || digits >= 5) {
      ++refused;
      continue;
    }
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    if (names.size() >= kMaxNames) {
      ++refused;
      continue;
    }
    names.push_back(std::move(name));
  }
  if (skipped) *skipped = refused;
  return names;
}

struct PathTemplater::Node {
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::unique_ptr<Node>, Hash, std::equal_to<>> children;
  std::unique_ptr<Node> param;
  uint64_t hits = 0;      // requests that passed through this node
  bool promoted = false;  // new static values under this node are parameters
  bool pinned = false;    // a named route: never folds
};

PathTemplater::PathTemplater(TemplaterLimits limits) : limits_(limits), root_(std::make_unique<Node>()) {}
PathTemplater::~PathTemplater() = default;
PathTemplater::PathTemplater(PathTemplater&&) noexcept = default;
PathTemplater& PathTemplater::operator=(PathTemplater&&) noexcept = default;

TemplatedPath PathTemplater::Learn(std::string_view path, bool* promoted) {
  if (promoted) *promoted = false;
  TemplatedPath out;
  Node* node = root_.get();
  ++node->hits;
  size_t count = 0;
  ForEachSegment(path, [&](std::string_view segment, size_t end) {
    if (node == nullptr) return;  // the tail was taken as one parameter
    if (++count > limits_.max_segments) {
      // Everything from here on is one parameter.
      const size_t start = static_cast<size_t>(segment.data() - path.data());
      AppendParameter(out, path.substr(start), SegmentKind::kData);
      node = nullptr;
      return;
    }
    SegmentKind kind = IsParameterName(segment) ? SegmentKind::kCardinality : ClassifySegment(segment);
    if (kind == SegmentKind::kStatic) {
      auto it = node->children.find(segment);
      if (it == node->children.end() && !node->promoted) {
        if (nodes_ >= limits_.max_nodes) {
          ++node_limit_hits_;
        } else {
          it = node->children.emplace(std::string(segment), std::make_unique<Node>()).first;
          ++nodes_;
          if (node->children.size() > limits_.param_threshold) {
            Promote(*node);
            if (promoted) *promoted = true;
            it = node->children.find(segment);
          }
        }
      }
      if (it != node->children.end()) {
        node = it->second.get();
        ++node->hits;
        out.text += '/';
        out.text += segment;
        return;
      }
      kind = SegmentKind::kCardinality;
    }
    if (!node->param) {
      node->param = std::make_unique<Node>();
      ++nodes_;
    }
    node = node->param.get();
    ++node->hits;
    AppendParameter(out, segment, kind);
  });
  if (out.text.empty()) out.text = "/";
  return out;
}

TemplatedPath PathTemplater::Apply(std::string_view path) const {
  TemplatedPath out;
  const Node* node = root_.get();
  size_t count = 0;
  bool tail = false;
  ForEachSegment(path, [&](std::string_view segment, size_t) {
    if (tail) return;
    if (++count > limits_.max_segments) {
      const size_t start = static_cast<size_t>(segment.data() - path.data());
      AppendParameter(out, path.substr(start), SegmentKind::kData);
      tail = true;
      return;
    }
    SegmentKind kind = IsParameterName(segment) ? SegmentKind::kCardinality : ClassifySegment(segment);
    if (kind == SegmentKind::kStatic) {
      if (node != nullptr) {
        const auto it = node->children.find(segment);
        if (it != node->children.end()) {
          node = it->second.get();
          out.text += '/';
          out.text += segment;
          return;
        }
      }
      if (node == nullptr || !node->promoted) {
        // A value never learned: it stays what it looks like.
        node = nullptr;
        out.text += '/';
        out.text += segment;
        return;
      }
      kind = SegmentKind::kCardinality;
    }
    node = node ? node->param.get() : nullptr;
    AppendParameter(out, segment, kind);
  });
  if (out.text.empty()) out.text = "/";
  return out;
}

void PathTemplater::Pin(std::string_view path_template) {
  Node* node = root_.get();
  ForEachSegment(path_template, [&](std::string_view segment, size_t) {
    if (IsParameterName(segment) || segment.find('{') != std::string_view::npos) {
      // "{id}", or a segment with a parameter inside ("{name}.json"): any value.
      if (!node->param) {
        node->param = std::make_unique<Node>();
        ++nodes_;
      }
      node = node->param.get();
      return;
    }
    auto it = node->children.find(segment);
    if (it == node->children.end()) {
      it = node->children.emplace(std::string(segment), std::make_unique<Node>()).first;
      ++nodes_;
    }
    node = it->second.get();
    node->pinned = true;
  });
}

void PathTemplater::Promote(Node& node) {
  node.promoted = true;
  ++promotions_;
  uint64_t total = 0;
  for (const auto& [name, child] : node.children) total += child->hits;
  if (!node.param) {
    node.param = std::make_unique<Node>();
    ++nodes_;
  }
  for (auto it = node.children.begin(); it != node.children.end();) {
    Node& child = *it->second;
    const bool weighty = static_cast<double>(child.hits) >= limits_.keep_share * static_cast<double>(total);
    if (child.pinned || (weighty && child.hits > 1)) {
      ++it;
      continue;
    }
    nodes_ -= MergeInto(*node.param, child) + 1;
    it = node.children.erase(it);
  }
}

size_t PathTemplater::MergeInto(Node& into, Node& from) {
  size_t freed = 0;
  into.hits += from.hits;
  into.promoted = into.promoted || from.promoted;
  into.pinned = into.pinned || from.pinned;
  for (auto& [name, child] : from.children) {
    auto it = into.children.find(name);
    if (it == into.children.end()) {
      into.children.emplace(name, std::move(child));
    } else {
      freed += MergeInto(*it->second, *child) + 1;
    }
  }
  if (from.param) {
    if (!into.param) {
      into.param = std::move(from.param);
    } else {
      freed += MergeInto(*into.param, *from.param) + 1;
    }
  }
  return freed;
}

}  // namespace rampart::apis

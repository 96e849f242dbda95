// Turns request paths into endpoint templates: /users/42/orders/7f3c... ->
// /users/{id}/orders/{id2}. A segment becomes a parameter when it looks like
// an identifier or data by itself (ClassifySegment), or when its position has
// too many distinct values: the templater keeps a trie of the static segments
// seen under each parent, which is the bounded set of distinct values per
// position, and once a position holds more than `param_threshold` of them it
// is promoted: its rarely used children fold into one parameter and new values
// go there directly. Segments that carry weight (/users/me next to
// /users/{id}) or that an OpenAPI spec names (Pin) stay static.
//
// A template never holds a segment that looks like data (numbers, UUIDs,
// hashes, e-mail addresses, percent-encoded or long text), so templates may
// appear in findings and the inventory; parameter values never leave the call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rampart::apis {

enum class SegmentKind : uint8_t {
  kStatic = 0,
  kNumber,       // digits only
  kUuid,         // 8-4-4-4-12 hex digits
  kHex,          // 8+ hex digits with a digit among them
  kHash,         // hex digest lengths (32, 40, 64, 128), or a base64-like token of 16+ characters
  kData,         // e-mail, percent-encoded, non-ASCII or control bytes, 5+ digits, over 64 bytes
  kCardinality,  // a static-looking value at a position with too many distinct values
};

std::string_view SegmentKindName(SegmentKind kind);  // "static", "number", ...

// How one segment looks by itself (no position context): kStatic or one of
// the parameter kinds other than kCardinality.
SegmentKind ClassifySegment(std::string_view segment);

// "/users/42?x=1" -> path "/users/42", query "x=1". An absolute-form target
// ("https://host/a?b") gives its path ("/a"); an empty path reads as "/".
struct SplitTargetResult {
  std::string_view path;
  std::string_view query;  // without '?'; empty when there is none
};
SplitTargetResult SplitTarget(std::string_view target);

// The distinct parameter names of a query string ("a=1&b&a=2" -> a, b), in
// order, percent-decoded. A name is kept only when it looks like a name: at
// most 40 characters of [A-Za-z0-9_.-] and brackets, fewer than 5 digits:
// names that could themselves be data (an e-mail, an id used as a key) are
// skipped and counted in *skipped. At most 64 names per query.
std::vector<std::string> QueryParameterNames(std::string_view query, size_t* skipped = nullptr);

struct TemplaterLimits {
  // Distinct static values under one parent past which the position becomes a
  // parameter.
  size_t param_threshold = 50;
  // On promotion, a child keeps its static name when it drew at least this
  // share of the position's requests (a route like /users/me among ids).
  double keep_share = 0.05;
  // Trie nodes (distinct static segments, all positions together). Past it a
  // new static segment becomes a parameter, counted in node_limit_hits().
  size_t max_nodes = 8192;
  // Segments past this many are one parameter ({tail}).
  size_t max_segments = 24;
};

struct TemplatedPath {
  std::string text;  // "/users/{id}/orders/{id2}"
  // The values that became parameters and their kinds, in order. Views into
  // the path given; they must not outlive it (nor be stored: they are data).
  std::vector<std::string_view> values;
  std::vector<SegmentKind> kinds;
};

// Not thread-safe: the inventory holds one per service under its lock.
class PathTemplater {
 public:
  explicit PathTemplater(TemplaterLimits limits = {});
  ~PathTemplater();
  PathTemplater(PathTemplater&&) noexcept;
  PathTemplater& operator=(PathTemplater&&) noexcept;

  // Templates `path` (no query) and learns from it. `*promoted` is set when
  // this call promoted a position: templates produced earlier may then
  // template differently, and holders should pass them through Apply again.
  TemplatedPath Learn(std::string_view path, bool* promoted = nullptr);

  // Templates without learning. Segments written "{name}" are parameters, so
  // a template gives its current form: Apply("/users/alice") after /users
  // was promoted is "/users/{id}".
  TemplatedPath Apply(std::string_view path) const;

  // Marks the static segments of `path_template` (an OpenAPI path such as
  // "/v1/users/me"; "{name}" segments are parameters) as routes that never
  // fold into a parameter. Pinned segments may exceed max_nodes.
  void Pin(std::string_view path_template);

  size_t nodes() const { return nodes_; }
  uint64_t promotions() const { return promotions_; }
  uint64_t node_limit_hits() const { return node_limit_hits_; }

 private:
  struct Node;
  void Promote(Node& node);
  size_t MergeInto(Node& into, Node& from);  // returns the nodes freed

  TemplaterLimits limits_;
  std::unique_ptr<Node> root_;
  size_t nodes_ = 0;
  uint64_t promotions_ = 0;
  uint64_t node_limit_hits_ = 0;
};

}  // namespace rampart::apis

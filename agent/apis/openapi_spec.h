// An OpenAPI 3 document (YAML or JSON: yaml-cpp reads both), reduced to what
// traffic is checked against: the path templates under each server base
// path, the operations on each, whether an operation is deprecated, and the
// query parameters it declares (its own and its path item's, $refs to
// #/components/parameters resolved).
//
// Load errors are one line naming the file, the line where known, the JSON
// pointer of the offending value and what is wrong:
//   users.yaml:14: /paths/~1users~1{id}/get/deprecated: expected true or false, got a string "yes"
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace rampart::apis {

struct SpecOperation {
  std::string method;  // lower case: "get", "post", ...
  bool deprecated = false;
  std::set<std::string> query_parameters;  // declared names (operation and path item)
  // A declared object parameter exploded into the query (style form, the
  // default) takes any name: nothing is undocumented then.
  bool any_query_parameter = false;
};

struct SpecPath {
  std::string path_template;  // as written: "/users/{userId}"
  std::vector<SpecOperation> operations;

  const SpecOperation* Find(std::string_view lower_method) const;
};

struct SpecMatch {
  // The template of `operation` when there is one; else the most specific
  // template that matches the path; nullptr: none does (a shadow endpoint).
  const SpecPath* path = nullptr;
  // The operation for the method on the most specific template that has it;
  // nullptr when no matching template has the method (also a shadow endpoint).
  const SpecOperation* operation = nullptr;
};

class OpenApiSpec {
 public:
  // Reads and parses `file`; errors name it.
  static absl::StatusOr<OpenApiSpec> Load(const std::string& file);
  // `source` names the text in errors.
  static absl::StatusOr<OpenApiSpec> Parse(std::string_view text, std::string_view source);

  // Matches a request path (no query) or an inventory template: path
  // template parameters ("/users/{userId}") match any one segment, including
  // an inventory parameter ("/users/{id}"); static segments must be equal;
  // the path must sit under a server base path (servers[].url, variables at
  // their defaults; "/" without servers). Concrete templates win over
  // templated ones, left to right (OpenAPI 3 "Path Templating Matching").
  // HEAD falls back to GET; OPTIONS (CORS preflight) to any operation of the
  // path. Linear in the number of paths.
  SpecMatch Match(std::string_view method, std::string_view path) const;

  // Every route as base path + template, for PathTemplater::Pin.
  std::vector<std::string> RouteTemplates() const;

  const std::string& source() const { return source_; }
  const std::vector<SpecPath>& paths() const { return paths_; }
  const std::vector<std::string>& base_paths() const { return base_paths_; }  // "" for the root

  // A template segment as matched: literal pieces and parameters
  // ("{name}.json" is a parameter then ".json"); a lone parameter matches
  // any segment.
  struct Piece {
    bool parameter = false;
    std::string literal;
  };
  using Segment = std::vector<Piece>;

 private:
  friend class SpecReader;

  std::string source_;
  std::vector<SpecPath> paths_;
  std::vector<std::vector<Segment>> patterns_;  // parallel to paths_
  std::vector<std::string> base_paths_;
  SpecOperation options_fallback_;
};

// The names among `names` (QueryParameterNames) that `operation` does not
// declare. "filter[status]" and "ids[]" count as declared when "filter" and
// "ids" are (deepObject and array styles).
std::vector<std::string> UndocumentedQueryParameters(const SpecOperation& operation,
                                                     const std::vector<std::string>& names);

}  // namespace rampart::apis

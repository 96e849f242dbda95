#include "agent/apis/openapi_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "agent/common/strings.h"
#include "agent/policy/yaml_describe.h"
#include "agent/policy/validate.h"

namespace rampart::apis {
namespace {

constexpr std::string_view kMethods[] = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};
constexpr int kMaxRefDepth = 16;

// Member `key` of a map, read through the const operator[]: the non-const
// one inserts the key into the document.
YAML::Node At(const YAML::Node& node, const std::string& key) { return node[key]; }

// RFC 6901: '~' -> "~0", '/' -> "~1".
std::string PointerToken(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Segments of a path, empty ones skipped.
std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > pos) out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

std::string TrimSlashes(std::string path) {
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path;
}

}  // namespace

// Reads one document into an OpenApiSpec, failing with the JSON pointer of
// the first thing that is wrong.
class SpecReader {
 public:
  SpecReader(std::string_view source, const YAML::Node& root) : source_(source), root_(root) {}

  absl::StatusOr<OpenApiSpec> Read() {
    OpenApiSpec spec;
    spec.source_ = source_;
    if (!root_.IsMap())
      return Fail(root_, "", rampart::StrCat("expected an OpenAPI document (a map), got ", policy::DescribeYaml(root_, 40)));
    if (At(root_, "swagger")) {
      return Fail(At(root_, "swagger"), "/swagger", "Swagger 2.0 is not supported: convert the spec to OpenAPI 3");
    }
    const YAML::Node version = At(root_, "openapi");
    if (!version) return Fail(root_, "/openapi", "required field is missing (expected e.g. \"3.0.3\")");
    if (!version.IsScalar() || !std::string_view(version.Scalar()).starts_with("3.")) {
      return Fail(version, "/openapi", rampart::StrCat("unsupported version: expected 3.x, got ", policy::DescribeYaml(version, 40)));
    }
    if (auto s = Servers(spec); !s.ok()) return s;
    const YAML::Node paths = At(root_, "paths");
    if (paths && !paths.IsNull()) {
      if (!paths.IsMap())
        return Fail(paths, "/paths", rampart::StrCat("expected a map of paths, got ", policy::DescribeYaml(paths, 40)));
      std::set<std::string> seen;
      for (auto it = paths.begin(); it != paths.end(); ++it) {
        if (!it->first.IsScalar()) return Fail(it->first, "/paths", "path keys must be strings");
        const std::string key = it->first.Scalar();
        const std::string pointer = rampart::StrCat("/paths/", PointerToken(key));
        if (key.empty() || key.front() != '/') {
          return Fail(it->first, pointer, rampart::StrCat("path ", policy::Quote(key), " must start with \"/\""));
        }
        if (!seen.insert(key).second) return Fail(it->first, pointer, "duplicate path");
        auto path = PathItem(it->second, pointer, key);
        if (!path.ok()) return path.status();
        spec.patterns_.push_back(Compile(key));
        spec.paths_.push_back(std::move(*path));
      }
    }
    spec.options_fallback_.method = "options";
    spec.options_fallback_.any_query_parameter = true;
    return spec;
  }

 private:
  absl::Status Fail(const YAML::Node& node, std::string_view pointer, std::string_view message) {
    return policy::FieldError(source_, policy::YamlLine(node), pointer, message);
  }

  // Follows a local $ref ("#/components/parameters/limit") until a value
  // that is not a reference; `pointer` becomes the target's.
  absl::StatusOr<YAML::Node> Resolve(YAML::Node node, std::string& pointer) {
    for (int depth = 0; node.IsMap() && At(node, "$ref"); ++depth) {
      const YAML::Node ref = At(node, "$ref");
      const std::string at = rampart::StrCat(pointer, "/$ref");
      if (depth >= kMaxRefDepth) return Fail(ref, at, "$ref chain too long (a cycle?)");
      if (!ref.IsScalar()) return Fail(ref, at, rampart::StrCat("expected a string, got ", policy::DescribeYaml(ref, 40)));
      const std::string target = ref.Scalar();
      if (!target.starts_with("#/")) {
        return Fail(ref, at,
                    rampart::StrCat("$ref ", policy::Quote(target),
                                    " is not a local reference: bundle the spec into one file"));
      }
      YAML::Node cursor;
      cursor.reset(root_);
      std::string_view rest = std::string_view(target).substr(2);
      while (true) {
        const size_t slash = rest.find('/');
        std::string token(rest.substr(0, slash));
        std::string decoded;
        for (size_t i = 0; i < token.size(); ++i) {
          if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
            decoded.push_back(token[i + 1] == '0' ? '~' : '/');
            ++i;
          } else {
            decoded.push_back(token[i]);
          }
        }
        // A missing key gives an invalid node, which reset() refuses: test
        // before rebinding.
        const YAML::Node next =
            cursor.IsMap() ? At(cursor, decoded)
            : cursor.IsSequence() && !decoded.empty() && decoded.size() < 9 &&
                    std::all_of(decoded.begin(), decoded.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                    std::stoul(decoded) < cursor.size()
                ? std::as_const(cursor)[std::stoul(decoded)]
                : YAML::Node();
        if (!next || next.IsNull()) {
          return Fail(ref, at, rampart::StrCat("$ref ", policy::Quote(target), " points to nothing"));
        }
        cursor.reset(next);
        if (slash == std::string_view::npos) break;
        rest = rest.substr(slash + 1);
      }
      node.reset(cursor);
      pointer = target.substr(1);
    }
    return node;
  }

  absl::Status Servers(OpenApiSpec& spec) {
    const YAML::Node servers = At(root_, "servers");
    if (servers && !servers.IsNull()) {
      if (!servers.IsSequence())
        return Fail(servers, "/servers", rampart::StrCat("expected a list, got ", policy::DescribeYaml(servers, 40)));
      for (size_t i = 0; i < servers.size(); ++i) {
        const std::string pointer = rampart::StrCat("/servers/", i);
        const YAML::Node server = servers[i];
        if (!server.IsMap()) return Fail(server, pointer, rampart::StrCat("expected a map, got ", policy::DescribeYaml(server, 40)));
        const YAML::Node url = At(server, "url");
        if (!url || !url.IsScalar()) {
          return Fail(url ? url : server, rampart::StrCat(pointer, "/url"),
                      url ? rampart::StrCat("expected a string, got ", policy::DescribeYaml(url, 40)) : "required field is missing");
        }
        auto base = BasePath(url.Scalar(), server, pointer);
        if (!base.ok()) return base.status();
        if (std::find(spec.base_paths_.begin(), spec.base_paths_.end(), *base) == spec.base_paths_.end()) {
          spec.base_paths_.push_back(*base);
        }
      }
    }
    if (spec.base_paths_.empty()) spec.base_paths_.push_back("");
    return absl::OkStatus();
  }

  // "https://{region}.example.com/v1/" -> "/v1", with variables at their defaults.
  absl::StatusOr<std::string> BasePath(const std::string& url, const YAML::Node& server, const std::string& pointer) {
    std::string expanded;
    for (size_t i = 0; i < url.size(); ++i) {
      if (url[i] != '{') {
        expanded.push_back(url[i]);
        continue;
      }
      const size_t close = url.find('}', i);
      if (close == std::string::npos) {
        return Fail(At(server, "url"), rampart::StrCat(pointer, "/url"), "unbalanced \"{\" in server URL");
      }
      const std::string name = url.substr(i + 1, close - i - 1);
      const YAML::Node variables = At(server, "variables");
      const YAML::Node variable = variables && variables.IsMap() ? At(variables, name) : YAML::Node();
      const YAML::Node value = variable && variable.IsMap() ? At(variable, "default") : YAML::Node();
      if (!value || !value.IsScalar()) {
        return Fail(At(server, "url"), rampart::StrCat(pointer, "/variables/", PointerToken(name), "/default"),
                    rampart::StrCat("server variable ", policy::Quote(name), " has no default"));
      }
      expanded += value.Scalar();
      i = close;
    }
    std::string_view path = expanded;
    if (const size_t scheme = path.find("://"); scheme != std::string_view::npos) {
      const size_t slash = path.find('/', scheme + 3);
      path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
    }
    path = path.substr(0, path.find_first_of("?#"));
    std::string base(path);
    if (!base.empty() && base.front() != '/') base.insert(base.begin(), '/');  // relative: "v1"
    return TrimSlashes(std::move(base));
  }

  absl::StatusOr<SpecPath> PathItem(YAML::Node node, std::string pointer, const std::string& key) {
    auto resolved = Resolve(node, pointer);
    if (!resolved.ok()) return resolved.status();
    node.reset(*resolved);
    SpecPath path;
    path.path_template = key;
    if (node.IsNull()) return path;
    if (!node.IsMap())
      return Fail(node, pointer, rampart::StrCat("expected a path item (a map), got ", policy::DescribeYaml(node, 40)));
    SpecOperation shared;
    if (auto s = Parameters(At(node, "parameters"), rampart::StrCat(pointer, "/parameters"), shared); !s.ok()) return s;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string name = it->first.IsScalar() ? it->first.Scalar() : std::string();
      if (std::find(std::begin(kMethods), std::end(kMethods), name) == std::end(kMethods)) continue;
      std::string op_pointer = rampart::StrCat(pointer, "/", name);
      auto op_node = Resolve(it->second, op_pointer);
      if (!op_node.ok()) return op_node.status();
      if (!op_node->IsMap()) {
        return Fail(*op_node, op_pointer, rampart::StrCat("expected an operation (a map), got ", policy::DescribeYaml(*op_node, 40)));
      }
      SpecOperation op = shared;
      op.method = name;
      if (const YAML::Node deprecated = At(*op_node, "deprecated"); deprecated && !deprecated.IsNull()) {
        const std::string at = rampart::StrCat(op_pointer, "/deprecated");
        if (!deprecated.IsScalar() || (deprecated.Scalar() != "true" && deprecated.Scalar() != "false")) {
          return Fail(deprecated, at, rampart::StrCat("expected true or false, got ", policy::DescribeYaml(deprecated, 40)));
        }
        op.deprecated = deprecated.Scalar() == "true";
      }
      if (auto s = Parameters(At(*op_node, "parameters"), rampart::StrCat(op_pointer, "/parameters"), op); !s.ok()) {
        return s;
      }
      path.operations.push_back(std::move(op));
    }
    return path;
  }

  absl::Status Parameters(const YAML::Node& list, const std::string& pointer, SpecOperation& op) {
    if (!list || list.IsNull()) return absl::OkStatus();
    if (!list.IsSequence())
      return Fail(list, pointer, rampart::StrCat("expected a list of parameters, got ", policy::DescribeYaml(list, 40)));
    for (size_t i = 0; i < list.size(); ++i) {
      std::string at = rampart::StrCat(pointer, "/", i);
      auto param = Resolve(list[i], at);
      if (!param.ok()) return param.status();
      if (!param->IsMap())
        return Fail(*param, at, rampart::StrCat("expected a parameter (a map), got ", policy::DescribeYaml(*param, 40)));
      const YAML::Node name = At(*param, "name");
      const YAML::Node in = At(*param, "in");
      if (!name || !name.IsScalar()) {
        return Fail(name ? name : *param, rampart::StrCat(at, "/name"),
                    name ? rampart::StrCat("expected a string, got ", policy::DescribeYaml(name, 40)) : "required field is missing");
      }
      if (!in || !in.IsScalar()) {
        return Fail(in ? in : *param, rampart::StrCat(at, "/in"),
                    in ? rampart::StrCat("expected a string, got ", policy::DescribeYaml(in, 40)) : "required field is missing");
      }
      const std::string where = in.Scalar();
      if (where != "query" && where != "header" && where != "path" && where != "cookie") {
        return Fail(
            in, rampart::StrCat(at, "/in"),
            rampart::StrCat("bad location ", policy::Quote(where), " (expected query, header, path or cookie)"));
      }
      if (where != "query") continue;
      op.query_parameters.insert(name.Scalar());
      // A free-form object exploded into the query (style form, the
      // default for query) takes whatever names the client sends.
      std::string schema_at = rampart::StrCat(at, "/schema");
      YAML::Node schema = At(*param, "schema");
      if (schema) {
        auto resolved = Resolve(schema, schema_at);
        if (!resolved.ok()) return resolved.status();
        schema.reset(*resolved);
      }
      const YAML::Node style = At(*param, "style");
      const YAML::Node explode = At(*param, "explode");
      const bool form = !style || (style.IsScalar() && style.Scalar() == "form");
      const bool exploded = !explode || (explode.IsScalar() && explode.Scalar() == "true");
      const bool object = schema && schema.IsMap() && At(schema, "type") && At(schema, "type").IsScalar() &&
                          At(schema, "type").Scalar() == "object";
      if (object && form && exploded) op.any_query_parameter = true;
    }
    return absl::OkStatus();
  }

  static std::vector<OpenApiSpec::Segment> Compile(std::string_view path_template) {
    std::vector<OpenApiSpec::Segment> out;
    for (std::string_view segment : Segments(path_template)) {
      OpenApiSpec::Segment pieces;
      size_t i = 0;
      while (i < segment.size()) {
        const size_t open = segment.find('{', i);
        const size_t close = open == std::string_view::npos ? open : segment.find('}', open);
        if (open == std::string_view::npos || close == std::string_view::npos) {
          pieces.push_back({false, std::string(segment.substr(i))});
          break;
        }
        if (open > i) pieces.push_back({false, std::string(segment.substr(i, open - i))});
        pieces.push_back({true, {}});
        i = close + 1;
      }
      out.push_back(std::move(pieces));
    }
    return out;
  }

  std::string source_;
  const YAML::Node root_;
};

namespace {

// Glob match of one segment against literal pieces and parameters (each
// parameter takes one or more characters).
bool MatchPieces(const std::vector<OpenApiSpec::Piece>& pieces, size_t index, std::string_view text) {
  if (index == pieces.size()) return text.empty();
  const auto& piece = pieces[index];
  if (!piece.parameter) {
    return text.starts_with(piece.literal) && MatchPieces(pieces, index + 1, text.substr(piece.literal.size()));
  }
  for (size_t take = 1; take <= text.size(); ++take) {
    if (MatchPieces(pieces, index + 1, text.substr(take))) return true;
  }
  return false;
}

}  // namespace

const SpecOperation* SpecPath::Find(std::string_view lower_method) const {
  for (const auto& op : operations) {
    if (op.method == lower_method) return &op;
  }
  return nullptr;
}

absl::StatusOr<OpenApiSpec> OpenApiSpec::Load(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(rampart::StrCat(file, ": cannot open: ", std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::InvalidArgumentError(rampart::StrCat(file, ": cannot read: ", std::strerror(errno)));
  return Parse(text.str(), file);
}

absl::StatusOr<OpenApiSpec> OpenApiSpec::Parse(std::string_view text, std::string_view source) {
  YAML::Node root;
  try {
    root.reset(YAML::Load(std::string(text)));
  } catch (const YAML::Exception& e) {
    const int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    return policy::FieldError(source, line, "", rampart::StrCat("malformed YAML or JSON: ", e.msg));
  }
  try {
    SpecReader reader(source, root);
    return reader.Read();
  } catch (const YAML::Exception& e) {
    return policy::FieldError(source, 0, "", rampart::StrCat("cannot read the spec: ", e.msg));
  }
}

SpecMatch OpenApiSpec::Match(std::string_view method, std::string_view path) const {
  const std::string lower = ToLower(method);
  const std::vector<std::string_view> segments = Segments(path);
  SpecMatch best;
  // Specificity per segment: 2 literal, 1 literal with parameters, 0 a lone
  // parameter; compared left to right.
  std::vector<int> best_score, best_op_score;
  const SpecPath* op_path = nullptr;
  for (const std::string& base : base_paths_) {
    const std::vector<std::string_view> base_segments = Segments(base);
    if (base_segments.size() > segments.size() ||
        !std::equal(base_segments.begin(), base_segments.end(), segments.begin())) {
      continue;
    }
    const size_t skip = base_segments.size();
    for (size_t p = 0; p < paths_.size(); ++p) {
      const auto& pattern = patterns_[p];
      if (pattern.size() != segments.size() - skip) continue;
      std::vector<int> score;
      bool ok = true;
      for (size_t i = 0; ok && i < pattern.size(); ++i) {
        const Segment& seg = pattern[i];
        const std::string_view text = segments[skip + i];
        const bool lone_parameter = seg.size() == 1 && seg[0].parameter;
        const bool text_is_parameter = text.size() >= 2 && text.front() == '{' && text.back() == '}';
        if (lone_parameter) {
          score.push_back(0);
        } else if (text_is_parameter) {
          ok = false;  // an inventory parameter matches only a lone parameter
        } else if (seg.size() == 1) {
          ok = seg[0].literal == text;
          score.push_back(2);
        } else {
          ok = MatchPieces(seg, 0, text);
          score.push_back(1);
        }
      }
      if (!ok) continue;
      if (best.path == nullptr || score > best_score) {
        best.path = &paths_[p];
        best_score = score;
      }
      const SpecOperation* op = paths_[p].Find(lower);
      if (op == nullptr && lower == "head") op = paths_[p].Find("get");
      if (op == nullptr && lower == "options" && !paths_[p].operations.empty()) op = &options_fallback_;
      if (op != nullptr && (best.operation == nullptr || score > best_op_score)) {
        best.operation = op;
        best_op_score = score;
        op_path = &paths_[p];
      }
    }
  }
  if (best.operation != nullptr) best.path = op_path;
  return best;
}

std::vector<std::string> OpenApiSpec::RouteTemplates() const {
  std::vector<std::string> out;
  for (const std::string& base : base_paths_) {
    for (const SpecPath& path : paths_) out.push_back(TrimSlashes(base + path.path_template));
  }
  return out;
}

std::vector<std::string> UndocumentedQueryParameters(const SpecOperation& operation,
                                                     const std::vector<std::string>& names) {
  std::vector<std::string> out;
  if (operation.any_query_parameter) return out;
  for (const std::string& name : names) {
    if (operation.query_parameters.contains(name)) continue;
    const size_t bracket = name.find('[');
    if (bracket != std::string::npos && bracket > 0 && operation.query_parameters.contains(name.substr(0, bracket))) {
      continue;
    }
    out.push_back(name);
  }
  return out;
}

}  // namespace rampart::apis

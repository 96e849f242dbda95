#include "agent/policy/loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "agent/apis/policy_section.h"
#include "agent/common/strings.h"
#include "agent/policy/types.h"
#include "agent/policy/validate.h"
#include "agent/policy/yaml_describe.h"

namespace rampart::policy {
namespace {

namespace fs = std::filesystem;

// The loader refuses a misplaced key even when its list is empty, which the
// model cannot show; validate.cc words the same rule alike for the model.
constexpr std::string_view kFromOnlyIngress = "\"from\" is only valid in ingress rules (egress rules use \"to\")";
constexpr std::string_view kToOnlyEgress = "\"to\" is only valid in egress rules (ingress rules use \"from\")";
constexpr std::string_view kUnitOnlyEgress = "\"unit\" is only valid in egress rules";
constexpr std::string_view kCgroupOnlyEgress = "\"cgroup\" is only valid in egress rules";

// A known key that this version refuses, with the reason.
struct Rejected {
  std::string_view key;
  std::string_view message;
};

// "node_selector" and "NodeSelector" both normalize to "nodeselector".
std::string Normalized(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c != '_' && c != '-') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

// Converts the YAML of one document into the policy model, checking structure,
// types and field names, and records the line of every field it sees.
class DocumentReader {
 public:
  DocumentReader(std::string_view source, FieldLines& lines) : source_(source), lines_(lines) {}

  absl::Status Read(const YAML::Node& doc, v1::Policy& policy) {
    lines_[""] = YamlLine(doc);
    if (!doc.IsMap()) return Fail("", rampart::StrCat("expected a policy (a map), got ", DescribeYaml(doc)));
    auto fields = Fields(doc, "", {"apiVersion", "kind", "metadata", "spec"});
    if (!fields.ok()) return fields.status();
    for (const Field& f : *fields) {
      absl::Status s;
      if (f.key == "apiVersion") {
        s = String(f.value, f.path, policy.mutable_api_version());
      } else if (f.key == "kind") {
        s = String(f.value, f.path, policy.mutable_kind());
      } else if (f.key == "metadata") {
        s = Metadata(f.value, f.path, *policy.mutable_metadata());
      } else if (f.key == "spec") {
        s = Spec(f.value, f.path, *policy.mutable_spec());
      }
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  struct Field {
    std::string key;
    std::string path;
    YAML::Node value;
  };

  // The entries of a map field in document order. A null value reads as an
  // empty map. Refuses non-string and duplicate keys, keys in `rejected`, and
  // keys not in `known`.
  absl::StatusOr<std::vector<Field>> Fields(const YAML::Node& node, const std::string& path,
                                            std::initializer_list<std::string_view> known,
                                            std::initializer_list<Rejected> rejected = {}) {
    std::vector<Field> fields;
    if (node.IsNull()) return fields;
    if (!node.IsMap()) return Fail(path, rampart::StrCat("expected a map, got ", DescribeYaml(node)));
    std::map<std::string, int> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) {
        return FailAt(path, YamlLine(it->first),
                      rampart::StrCat("field names must be strings, got ", DescribeYaml(it->first)));
      }
      std::string key = it->first.Scalar();
      std::string child = MapEntryPath(path, key);
      if (path.empty() && child.front() == '.') child.erase(0, 1);
      if (auto [first, inserted] = seen.emplace(key, YamlLine(it->first)); !inserted) {
        return FailAt(child, YamlLine(it->first),
                      rampart::StrCat("duplicate field ", Quote(key), " (first at line ", first->second, ")"));
      }
      lines_[child] = YamlLine(it->first);
      for (const Rejected& r : rejected) {
        if (key == r.key) return Fail(child, r.message);
      }
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string message = rampart::StrCat("unknown field ", Quote(key));
        for (std::string_view k : known) {
          if (Normalized(k) == Normalized(key)) message += rampart::StrCat(" (did you mean ", Quote(k), "?)");
        }
        return Fail(child, message);
      }
      fields.push_back({std::move(key), std::move(child), it->second});
    }
    return fields;
  }

  // A null value reads as "".
  absl::Status String(const YAML::Node& node, const std::string& path, std::string* out) {
    if (node.IsNull()) return absl::OkStatus();
    if (!node.IsScalar()) return Fail(path, rampart::StrCat("expected a string, got ", DescribeYaml(node)));
    *out = node.Scalar();
    return absl::OkStatus();
  }

  // A null value reads as an empty list.
  absl::Status StringList(const YAML::Node& node, const std::string& path,
                          google::protobuf::RepeatedPtrField<std::string>* out) {
    if (node.IsNull()) return absl::OkStatus();
    if (!node.IsSequence()) return Fail(path, rampart::StrCat("expected a list of strings, got ", DescribeYaml(node)));
    for (size_t i = 0; i < node.size(); ++i) {
      std::string item_path = rampart::StrCat(path, "[", i, "]");
      lines_[item_path] = YamlLine(node[i]);
      if (!node[i].IsScalar()) return Fail(item_path, rampart::StrCat("expected a string, got ", DescribeYaml(node[i])));
      out->Add(std::string(node[i].Scalar()));
    }
    return absl::OkStatus();
  }

  // A map of strings to strings (labels, selectors). A null value reads as "".
  absl::Status StringMap(const YAML::Node& node, const std::string& path,
                         google::protobuf::Map<std::string, std::string>* out) {
    if (node.IsNull()) return absl::OkStatus();
    if (!node.IsMap()) return Fail(path, rampart::StrCat("expected a map of strings, got ", DescribeYaml(node)));
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) {
        return FailAt(path, YamlLine(it->first), rampart::StrCat("keys must be strings, got ", DescribeYaml(it->first)));
      }
      const std::string& key = it->first.Scalar();
      std::string child = MapEntryPath(path, key);
      if (out->contains(key)) {
        return FailAt(child, YamlLine(it->first),
                      rampart::StrCat("duplicate key ", Quote(key), " (first at line ", lines_[child], ")"));
      }
      lines_[child] = YamlLine(it->first);
      std::string value;
      if (auto s = String(it->second, child, &value); !s.ok()) return s;
      (*out)[key] = std::move(value);
    }
    return absl::OkStatus();
  }

  absl::Status Metadata(const YAML::Node& node, const std::string& path, v1::Metadata& metadata) {
    auto fields = Fields(node, path, {"name", "labels"});
    if (!fields.ok()) return fields.status();
    for (const Field& f : *fields) {
      absl::Status s = f.key == "name" ? String(f.value, f.path, metadata.mutable_name())
                                       : StringMap(f.value, f.path, metadata.mutable_labels());
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Spec(const YAML::Node& node, const std::string& path, v1::PolicySpec& spec) {
    auto fields = Fields(node, path, {"nodeSelector", "interfaces", "segmentation", "rateLimits", "inspection"});
    if (!fields.ok()) return fields.status();
    for (const Field& f : *fields) {
      absl::Status s;
      if (f.key == "nodeSelector") {
        s = StringMap(f.value, f.path, spec.mutable_node_selector());
      } else if (f.key == "interfaces") {
        s = StringList(f.value, f.path, spec.mutable_interfaces());
      } else if (f.key == "segmentation") {
        s = Segmentation(f.value, f.path, *spec.mutable_segmentation());
      } else if (f.key == "inspection") {
        s = Inspection(f.value, f.path, *spec.mutable_inspection());
      } else {
        s = RateLimits(f.value, f.path, spec.mutable_rate_limits());
      }
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Inspection(const YAML::Node& node, const std::string& path, v1::Inspection& inspection) {
    auto fields = Fields(node, path, {"capture", "dlp", "attacks", "jwt", "apis"},
                         {{"identities", "client identities are configured under apis.identity"},
                          {"openapi", "OpenAPI specs are bound to services under apis.openapi"}});
    if (!fields.ok()) return fields.status();
    for (const Field& f : *fields) {
      absl::Status s;
      if (f.key == "capture") {
        s = Capture(f.value, f.path, *inspection.mutable_capture());
      } else if (f.key == "dlp") {
        s = Dlp(f.value, f.path, *inspection.mutable_dlp());
      } else if (f.key == "attacks") {
        s = Attacks(f.value, f.path, *inspection.mutable_attacks());
      } else if (f.key == "apis") {
        // The section's own parser, with the file's lines (agent/apis/config.h).
        s = apis::ApiInspectionFromYaml(f.value, source_, f.path, *inspection.mutable_apis());
      } else {
        s = Jwt(f.value, f.path, *inspection.mutable_jwt());
      }
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Capture(const YAML::Node& node, const std::string& path, v1::CaptureSelection& capture) {
    auto capture_fields = Fields(node, path, {"processes", "units", "all", "directions"});
    if (!capture_fields.ok()) return capture_fields.status();
    for (const Field& c : *capture_fields) {
      absl::Status s;
      if (c.key == "processes") {
        s = StringList(c.value, c.path, capture.mutable_processes());
      } else if (c.key == "units") {
        s = StringList(c.value, c.path, capture.mutable_units());
      } else if (c.key == "directions") {
        s = StringList(c.value, c.path, capture.mutable_directions());
      } else {
        bool all = false;
        s = Bool(c.value, c.path, all);
        capture.set_all(all);
      }
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Bool(const YAML::Node& node, const std::string& path, bool& out) {
    std::string text;
    if (auto s = String(node, path, &text); !s.ok()) return s;
    if (text != "true" && text != "false") return Fail(path, rampart::StrCat("expected true or false, got ", Quote(text)));
    out = text == "true";
    return absl::OkStatus();
  }

  // The verdict fields every detector family shares: action, minSeverity, blockTtl.
  absl::Status VerdictField(const Field& f, v1::Verdict& verdict) {
    std::string text;
    if (auto s = String(f.value, f.path, &text); !s.ok()) return s;
    if (f.key == "action") {
      if (text == "monitor") {
        verdict.set_action(v1::VERDICT_ACTION_MONITOR);
      } else if (text == "block") {
        verdict.set_action(v1::VERDICT_ACTION_BLOCK);
      } else {
        return Fail(f.path, rampart::StrCat("bad action ", Quote(text), " (expected monitor or block)"));
      }
    } else if (f.key == "minSeverity") {
      static const char* kSeverities[] = {"info", "low", "medium", "high", "critical"};
      if (std::find(std::begin(kSeverities), std::end(kSeverities), text) == std::end(kSeverities)) {
        return Fail(f.path, rampart::StrCat("bad severity ", Quote(text),
                                            " (expected info, low, medium, high or critical)"));
      }
      verdict.set_min_severity(text);
    } else {  // blockTtl
      auto seconds = ParseDurationSeconds(text);
      if (!seconds.ok()) return Fail(f.path, MessageOf(seconds.status()));
      if (*seconds == 0) return Fail(f.path, "must be at least 1s (leave the field out for 10m)");
      verdict.set_block_ttl_seconds(static_cast<uint32_t>(*seconds));
    }
    return absl::OkStatus();
  }

  static bool IsVerdictField(const std::string& key) {
    return key == "action" || key == "minSeverity" || key == "blockTtl";
  }

  absl::Status Dlp(const YAML::Node& node, const std::string& path, v1::DlpInspection& dlp) {
    auto fields = Fields(node, path, {"action", "minSeverity", "blockTtl", "detectors", "blockWhen"});
    if (!fields.ok()) return fields.status();
    for (const Field& f : *fields) {
      absl::Status s;
      if (IsVerdictField(f.key)) {
        s = VerdictField(f, *dlp.mutable_verdict());
      } else if (f.key == "detectors") {
        s = StringList(f.value, f.path, dlp.mutable_detectors());
      } else {  // blockWhen
        auto when = Fields(f.value, f.path, {"findingsPerResponse"});
        if (!when.ok()) return when.status();
        for (const Field& w : *when) {
          uint64_t n = 0;
          s = Count(w.value, w.path, false, "5", n);
          if (s.ok() && n > 10000) s = Fail(w.path, rampart::StrCat("at most 10000, got ", n));
          dlp.set_bulk_card_threshold(static_cast<uint32_t>(n));
        }
      }
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Attacks(const YAML::Node& node, const std::string& path, v1::AttackInspection& attacks) {
    auto fields = Fields(node, path, {"action", "minSeverity", "blockTtl", "maxHeaderBytes", "maxBodyBytes"});
    if (!fields.ok()) return fields.status();
    for (const Field& f : *fields) {
      absl::Status s;
      if (IsVerdictField(f.key)) {
        s = VerdictField(f, *attacks.mutable_verdict());
      } else {
        uint64_t n = 0;
        s = Count(f.value, f.path, true, "the default", n);
        if (s.ok() && n > (uint64_t{1} << 30)) s = Fail(f.path, rampart::StrCat("at most 1Gi, got ", n));
        if (f.key == "maxHeaderBytes") {
          attacks.set_max_header_bytes(static_cast<uint32_t>(n));
        } else {
          attacks.set_max_body_bytes(static_cast<uint32_t>(n));
        }
      }
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Jwt(const YAML::Node& node, const std::string& path, v1::JwtInspection& jwt) {
    auto fields = Fields(node, path,
                         {"action", "minSeverity", "blockTtl", "jwks", "keys", "algorithms", "leeway", "replayWindow"});
    if (!fields.ok()) return fields.status();
    for (const Field& f : *fields) {
      absl::Status s;
      if (IsVerdictField(f.key)) {
        s = VerdictField(f, *jwt.mutable_verdict());
      } else if (f.key == "jwks") {
        s = StringList(f.value, f.path, jwt.mutable_jwks_files());
      } else if (f.key == "keys") {
        s = StringList(f.value, f.path, jwt.mutable_pem_files());
      } else if (f.key == "algorithms") {
        s = StringList(f.value, f.path, jwt.mutable_allowed_algorithms());
      } else {
        std::string text;
        s = String(f.value, f.path, &text);
        if (!s.ok()) return s;
        auto seconds = ParseDurationSeconds(text);
        if (!seconds.ok()) return Fail(f.path, MessageOf(seconds.status()));
        if (f.key == "leeway") {
          jwt.set_leeway_seconds(static_cast<uint32_t>(*seconds));
        } else {
          jwt.set_replay_window_seconds(static_cast<uint32_t>(*seconds));
        }
      }
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Segmentation(const YAML::Node& node, const std::string& path, v1::Segmentation& segmentation) {
    auto fields = Fields(node, path, {"ingress", "egress"});
    if (!fields.ok()) return fields.status();
    for (const Field& f : *fields) {
      bool ingress = f.key == "ingress";
      auto* direction = ingress ? segmentation.mutable_ingress() : segmentation.mutable_egress();
      if (auto s = Direction(f.value, f.path, ingress, *direction); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Direction(const YAML::Node& node, const std::string& path, bool ingress,
                         v1::SegmentationDirection& direction) {
    auto fields = Fields(node, path, {"default", "allow"});
    if (!fields.ok()) return fields.status();
    for (const Field& f : *fields) {
      if (f.key == "default") {
        std::string action;
        if (auto s = String(f.value, f.path, &action); !s.ok()) return s;
        if (action == "allow") {
          direction.set_default_action(v1::DEFAULT_ACTION_ALLOW);
        } else if (action == "deny") {
          direction.set_default_action(v1::DEFAULT_ACTION_DENY);
        } else if (!action.empty()) {
          return Fail(f.path, rampart::StrCat("bad default action ", Quote(action), " (expected allow or deny)"));
        }
        continue;
      }
      if (f.value.IsNull()) continue;
      if (!f.value.IsSequence()) {
        return Fail(f.path, rampart::StrCat("expected a list of rules, got ", DescribeYaml(f.value)));
      }
      for (size_t i = 0; i < f.value.size(); ++i) {
        std::string rule_path = rampart::StrCat(f.path, "[", i, "]");
        lines_[rule_path] = YamlLine(f.value[i]);
        if (!f.value[i].IsMap()) {
          return Fail(rule_path, rampart::StrCat("expected a rule (a map), got ", DescribeYaml(f.value[i])));
        }
        if (auto s = Rule(f.value[i], rule_path, ingress, *direction.add_allow()); !s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }

  absl::Status Rule(const YAML::Node& node, const std::string& path, bool ingress, v1::SegmentationRule& rule) {
    auto fields = ingress ? Fields(node, path, {"name", "from", "ports"},
                                   {{"to", kToOnlyEgress}, {"unit", kUnitOnlyEgress}, {"cgroup", kCgroupOnlyEgress}})
                          : Fields(node, path, {"name", "to", "ports", "unit", "cgroup"}, {{"from", kFromOnlyIngress}});
    if (!fields.ok()) return fields.status();
    for (const Field& f : *fields) {
      absl::Status s;
      if (f.key == "name") {
        s = String(f.value, f.path, rule.mutable_name());
      } else if (f.key == "from") {
        s = StringList(f.value, f.path, rule.mutable_from());
      } else if (f.key == "to") {
        s = StringList(f.value, f.path, rule.mutable_to());
      } else if (f.key == "ports") {
        s = StringList(f.value, f.path, rule.mutable_ports());
      } else if (f.key == "unit") {
        s = String(f.value, f.path, rule.mutable_unit());
      } else {
        s = String(f.value, f.path, rule.mutable_cgroup());
      }
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status RateLimits(const YAML::Node& node, const std::string& path,
                          google::protobuf::RepeatedPtrField<v1::RateLimit>* out) {
    if (node.IsNull()) return absl::OkStatus();
    if (!node.IsSequence()) {
      return Fail(path, rampart::StrCat("expected a list of rate limits, got ", DescribeYaml(node)));
    }
    for (size_t i = 0; i < node.size(); ++i) {
      std::string item_path = rampart::StrCat(path, "[", i, "]");
      lines_[item_path] = YamlLine(node[i]);
      if (!node[i].IsMap()) {
        return Fail(item_path, rampart::StrCat("expected a rate limit (a map), got ", DescribeYaml(node[i])));
      }
      if (auto s = RateLimit(node[i], item_path, *out->Add()); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // Ranges, names and the pairing of bursts with rates are validate.cc's; here
  // only what the model cannot show: the spelling of numbers and explicit
  // zeros (0 means absent in the model).
  absl::Status RateLimit(const YAML::Node& node, const std::string& path, v1::RateLimit& limit) {
    auto fields = Fields(node, path,
                         {"name", "match", "key", "packetsPerSecond", "bytesPerSecond", "burst", "burstBytes"});
    if (!fields.ok()) return fields.status();
    for (const Field& f : *fields) {
      absl::Status s;
      if (f.key == "name") {
        s = String(f.value, f.path, limit.mutable_name());
      } else if (f.key == "match") {
        s = Match(f.value, f.path, *limit.mutable_match());
      } else if (f.key == "key") {
        std::string key;
        s = String(f.value, f.path, &key);
        if (s.ok() && key == "source") {
          limit.set_key(v1::RATE_LIMIT_KEY_SOURCE);
        } else if (s.ok() && key == "flow") {
          limit.set_key(v1::RATE_LIMIT_KEY_FLOW);
        } else if (s.ok() && !key.empty()) {
          s = Fail(f.path, rampart::StrCat("bad key ", Quote(key), " (expected source or flow)"));
        }
      } else if (f.key == "packetsPerSecond") {
        uint64_t value = 0;
        s = Count(f.value, f.path, /*quantity=*/false, "no packet limit", value);
        limit.set_packets_per_second(value);
      } else if (f.key == "bytesPerSecond") {
        uint64_t value = 0;
        s = Count(f.value, f.path, /*quantity=*/true, "no byte limit", value);
        limit.set_bytes_per_second(value);
      } else if (f.key == "burst") {
        uint64_t value = 0;
        s = Count(f.value, f.path, /*quantity=*/false, "one second's worth of packetsPerSecond", value);
        limit.set_burst(value);
      } else {
        uint64_t value = 0;
        s = Count(f.value, f.path, /*quantity=*/true, "one second's worth of bytesPerSecond", value);
        limit.set_burst_bytes(value);
      }
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Match(const YAML::Node& node, const std::string& path, v1::RateLimitMatch& match) {
    auto fields = Fields(node, path, {"ports"});
    if (!fields.ok()) return fields.status();
    for (const Field& f : *fields) {
      if (auto s = StringList(f.value, f.path, match.mutable_ports()); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // A positive whole number: plain digits, or with `quantity` also digits and a
  // unit (ParseQuantity: 10Mi, 500K). A null value reads as absent (0); an
  // explicit 0 is refused, since the model would read it as absent, with what
  // leaving the field out means (`absent`).
  absl::Status Count(const YAML::Node& node, const std::string& path, bool quantity, std::string_view absent,
                     uint64_t& out) {
    if (node.IsNull()) return absl::OkStatus();
    if (!node.IsScalar()) {
      return Fail(path, rampart::StrCat(quantity ? "expected a number of bytes (e.g. 10Mi), got "
                                                 : "expected a whole number, got ",
                                        DescribeYaml(node)));
    }
    const std::string& text = node.Scalar();
    uint64_t value = 0;
    if (quantity) {
      auto parsed = ParseQuantity(text);
      if (!parsed.ok()) return Fail(path, MessageOf(parsed.status()));
      value = *parsed;
    } else {
      bool digits = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!digits) {
        return Fail(path, rampart::StrCat("bad number ", Quote(text), ": expected a whole number, e.g. 2000"));
      }
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc() || end != text.data() + text.size()) {
        return Fail(path, rampart::StrCat("bad number ", Quote(text), ": too large"));
      }
    }
    if (value == 0) {
      return Fail(path, rampart::StrCat("must be at least 1, got 0 (leave the field out for ", absent, ")"));
    }
    out = value;
    return absl::OkStatus();
  }

  absl::Status Fail(const std::string& path, std::string_view message) {
    auto it = lines_.find(path);
    return FailAt(path, it == lines_.end() ? 0 : it->second, message);
  }

  absl::Status FailAt(const std::string& path, int line, std::string_view message) {
    return FieldError(source_, line, path, message);
  }

  std::string source_;
  FieldLines& lines_;
};

int CountLines(std::string_view text) {
  int n = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  if (!text.empty() && text.back() != '\n') ++n;
  return n;
}

// Parses every document of `text` into `policies`/`lines` without semantic
// validation. Empty documents are skipped.
absl::Status ParseDocuments(std::string_view text, std::string_view source, std::vector<v1::Policy>& policies,
                            std::vector<FieldLines>& lines) {
  std::string display = source.empty() ? "<input>" : std::string(source);
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) return FieldError(display, 0, "", rampart::StrCat("malformed YAML: ", e.msg));
    // yaml-cpp reports some errors found at end of input one line past it.
    int last = std::max(1, CountLines(text));
    int line = e.mark.line + 1;
    if (line > last) return FieldError(display, last, "", rampart::StrCat("malformed YAML: ", e.msg));
    return FieldError(display, line, "",
                      rampart::StrCat("malformed YAML: ", e.msg, " (column ", e.mark.column + 1, ")"));
  }
  for (const YAML::Node& doc : docs) {
    if (doc.IsNull()) continue;
    v1::Policy policy;
    FieldLines doc_lines;
    try {
      DocumentReader reader(display, doc_lines);
      if (auto s = reader.Read(doc, policy); !s.ok()) return s;
    } catch (const YAML::Exception& e) {
      return FieldError(display, YamlLine(doc), "", rampart::StrCat("cannot read policy: ", e.msg));
    }
    policy.set_source(std::string(source));
    policies.push_back(std::move(policy));
    lines.push_back(std::move(doc_lines));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(rampart::StrCat(path, ": cannot open: ", std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::InvalidArgumentError(rampart::StrCat(path, ": cannot read: ", std::strerror(errno)));
  return text.str();
}

bool IsPolicyFileName(const std::string& name) {
  if (name.empty() || name.front() == '.') return false;
  return std::string_view(name).ends_with(".yaml") || std::string_view(name).ends_with(".yml");
}

}  // namespace

absl::StatusOr<std::vector<v1::Policy>> ParsePolicyYaml(std::string_view text, std::string_view source) {
  std::vector<v1::Policy> policies;
  std::vector<FieldLines> lines;
  if (auto s = ParseDocuments(text, source, policies, lines); !s.ok()) return s;
  if (auto s = ValidatePolicySet(policies, &lines); !s.ok()) return s;
  return policies;
}

absl::StatusOr<std::vector<v1::Policy>> LoadPolicyPath(const std::string& path) {
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) {
    std::string why = ec && ec != std::errc::no_such_file_or_directory ? ec.message() : "no such file or directory";
    return absl::NotFoundError(rampart::StrCat(path, ": ", why));
  }
  std::vector<std::string> files;
  if (fs::is_directory(status)) {
    std::vector<std::string> names;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      std::string name = it->path().filename().string();
      std::error_code type_ec;
      if (IsPolicyFileName(name) && it->is_regular_file(type_ec)) names.push_back(std::move(name));
    }
    if (ec) return absl::InvalidArgumentError(rampart::StrCat(path, ": cannot list directory: ", ec.message()));
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) files.push_back((fs::path(path) / name).string());
    if (files.empty()) {
      return absl::InvalidArgumentError(rampart::StrCat(path, ": no policy files (*.yaml, *.yml) in directory"));
    }
  } else if (fs::is_regular_file(status)) {
    files.push_back(path);
  } else {
    return absl::InvalidArgumentError(rampart::StrCat(path, ": not a regular file or a directory"));
  }

  std::vector<v1::Policy> policies;
  std::vector<FieldLines> lines;
  for (const std::string& file : files) {
    auto text = ReadFile(file);
    if (!text.ok()) return text.status();
    if (auto s = ParseDocuments(*text, file, policies, lines); !s.ok()) return s;
  }
  if (policies.empty()) {
    return absl::InvalidArgumentError(rampart::StrCat(path, ": no policies found (every document is empty)"));
  }
  if (auto s = ValidatePolicySet(policies, &lines); !s.ok()) return s;
  return policies;
}

}  // namespace rampart::policy

#include "agent/policy/validate.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "agent/apis/policy_section.h"
#include "agent/common/strings.h"
#include "agent/policy/types.h"

namespace rampart::policy {
namespace {

constexpr std::string_view kApiVersion = "rampart/v1";
constexpr std::string_view kKind = "Policy";
constexpr size_t kMaxNameLength = 63;
constexpr size_t kMaxInterfaceLength = 15;  // IFNAMSIZ - 1
constexpr size_t kMaxUnitLength = 255;      // systemd's UNIT_NAME_MAX
constexpr size_t kMaxCgroupLength = 4095;   // PATH_MAX - 1

// Rate limits. A node holds at most kMaxRateLimits, merged over its policies
// (RP_MAX_RATE_LIMITS), so one policy with more could never be enforced. The
// rate bounds keep the datapath's per-token interval (1e12 / rate picoseconds)
// at 100 ps or more, so rounding it costs under 1%; bursts of at most an hour
// keep its tolerance (burst * interval) well inside 64 bits.
constexpr int kMaxRateLimits = 16;
constexpr uint64_t kMaxPacketsPerSecond = 100'000'000;
constexpr uint64_t kMaxBytesPerSecond = 10'000'000'000;
constexpr uint64_t kMaxBurstSeconds = 3600;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

// An RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
bool IsDnsLabel(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameLength) return false;
  if (!IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsLowerAlnum(c) || c == '-'; });
}

bool IsDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  while (true) {
    size_t dot = s.find('.');
    if (!IsDnsLabel(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

// A Kubernetes label name (and non-empty label value):
// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63 characters.
bool IsLabelName(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameLength) return false;
  if (!IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

std::string_view NameRule() {
  return "must be 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit";
}

// Map entries in key order, so the first error reported does not depend on
// protobuf's map iteration order.
std::vector<std::pair<std::string, std::string>> Sorted(const google::protobuf::Map<std::string, std::string>& map) {
  std::vector<std::pair<std::string, std::string>> entries(map.begin(), map.end());
  std::sort(entries.begin(), entries.end());
  return entries;
}

// Where a component of a field path starts: "a.b[0]" -> {1, 3} ("." and "[").
// Brackets that hold a quoted map key are skipped as a whole.
std::vector<size_t> ComponentStarts(std::string_view path) {
  std::vector<size_t> starts;
  bool quoted = false;
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '.' || c == '[') {
      starts.push_back(i);
    }
  }
  return starts;
}

class Checker {
 public:
  Checker(const v1::Policy& policy, const FieldLines* lines) : policy_(policy), lines_(lines) {}

  absl::Status Check() {
    if (auto s = CheckHeader(); !s.ok()) return s;
    if (auto s = CheckMetadata(); !s.ok()) return s;
    const v1::PolicySpec& spec = policy_.spec();
    if (auto s = CheckLabels(spec.node_selector(), "spec.nodeSelector"); !s.ok()) return s;
    if (auto s = CheckInterfaces(spec); !s.ok()) return s;
    if (auto s = CheckDirection(spec.segmentation().ingress(), /*ingress=*/true); !s.ok()) return s;
    if (auto s = CheckDirection(spec.segmentation().egress(), /*ingress=*/false); !s.ok()) return s;
    if (auto s = CheckCapture(spec.inspection().capture()); !s.ok()) return s;
    if (spec.inspection().has_apis()) {
      // The same parser the loader ran on the YAML; a section that came as a
      // proto has no lines to cite.
      auto apis = apis::ApiConfigFromProto(spec.inspection().apis(), Source());
      if (!apis.ok()) return apis.status();
    }
    return CheckRateLimits(spec);
  }

  // Process names are matched against comm, which the kernel cuts at 15
  // characters: a longer name could never match.
  absl::Status CheckCapture(const v1::CaptureSelection& capture) const {
    for (int i = 0; i < capture.processes_size(); ++i) {
      const std::string& name = capture.processes(i);
      const std::string path = rampart::StrCat("spec.inspection.capture.processes[", i, "]");
      if (name.empty() || name.size() > 15 || name.find('/') != std::string::npos) {
        return Fail(path, rampart::StrCat("bad process name ", Quote(name),
                                          ": a process name (comm) of 1-15 characters without '/'"));
      }
    }
    for (int i = 0; i < capture.units_size(); ++i) {
      const std::string& unit = capture.units(i);
      const std::string path = rampart::StrCat("spec.inspection.capture.units[", i, "]");
      absl::Status s = !unit.empty() && unit[0] == '/' ? CheckCgroup(unit, path) : CheckUnit(unit, path);
      if (!s.ok()) return s;
    }
    for (int i = 0; i < capture.directions_size(); ++i) {
      const std::string& direction = capture.directions(i);
      if (direction != "read" && direction != "write") {
        return Fail(rampart::StrCat("spec.inspection.capture.directions[", i, "]"),
                    rampart::StrCat("unknown direction ", Quote(direction),
                                    ": read (the plaintext a process receives) or write (what it sends)"));
      }
    }
    return absl::OkStatus();
  }

  // The 1-based line of `path`, else of its nearest enclosing field that has
  // one; 0 when none is known.
  int LineOf(std::string_view path) const {
    if (lines_ == nullptr) return 0;
    if (auto it = lines_->find(std::string(path)); it != lines_->end()) return it->second;
    std::vector<size_t> starts = ComponentStarts(path);
    for (auto cut = starts.rbegin(); cut != starts.rend(); ++cut) {
      if (auto it = lines_->find(std::string(path.substr(0, *cut))); it != lines_->end()) return it->second;
    }
    if (auto it = lines_->find(""); it != lines_->end()) return it->second;
    return 0;
  }

  std::string Source() const {
    if (!policy_.source().empty()) return policy_.source();
    if (!policy_.metadata().name().empty()) return rampart::StrCat("policy ", policy_.metadata().name());
    return "unnamed policy";
  }

  absl::Status Fail(std::string_view path, std::string_view message) const {
    return FieldError(Source(), LineOf(path), path, message);
  }

 private:
  absl::Status CheckHeader() const {
    if (policy_.api_version().empty()) {
      return Fail("apiVersion", rampart::StrCat("required field is missing (expected ", Quote(kApiVersion), ")"));
    }
    if (policy_.api_version() != kApiVersion) {
      return Fail("apiVersion", rampart::StrCat("unsupported apiVersion ", Quote(policy_.api_version()), " (expected ",
                                                Quote(kApiVersion), ")"));
    }
    if (policy_.kind().empty()) {
      return Fail("kind", rampart::StrCat("required field is missing (expected ", Quote(kKind), ")"));
    }
    if (policy_.kind() != kKind) {
      return Fail("kind",
                  rampart::StrCat("unsupported kind ", Quote(policy_.kind()), " (expected ", Quote(kKind), ")"));
    }
    return absl::OkStatus();
  }

  absl::Status CheckMetadata() const {
    const std::string& name = policy_.metadata().name();
    if (name.empty()) return Fail("metadata.name", "required field is missing");
    if (!IsDnsLabel(name)) return Fail("metadata.name", rampart::StrCat("bad name ", Quote(name), ": ", NameRule()));
    return CheckLabels(policy_.metadata().labels(), "metadata.labels");
  }

  // Kubernetes label syntax, so node labels and selectors read as operators
  // expect: key = [DNS-subdomain "/"] name, value = "" or name.
  absl::Status CheckLabels(const google::protobuf::Map<std::string, std::string>& labels,
                           std::string_view map_path) const {
    for (const auto& [key, value] : Sorted(labels)) {
      std::string path = MapEntryPath(map_path, key);
      std::string_view prefix, name = key;
      if (auto slash = name.rfind('/'); slash != std::string_view::npos) {
        prefix = name.substr(0, slash);
        name = name.substr(slash + 1);
        if (!IsDnsSubdomain(prefix)) {
          return Fail(path, rampart::StrCat("bad label key ", Quote(key),
                                            ": the prefix before '/' must be a lowercase DNS subdomain"));
        }
      }
      if (!IsLabelName(name)) {
        return Fail(path, rampart::StrCat("bad label key ", Quote(key),
                                          ": the name must be 1-63 characters of A-Z, a-z, 0-9, '-', '_' and '.', "
                                          "starting and ending with a letter or digit"));
      }
      if (!value.empty() && !IsLabelName(value)) {
        return Fail(path, rampart::StrCat("bad label value ", Quote(value),
                                          ": must be empty or 1-63 characters of A-Z, a-z, 0-9, '-', '_' and '.', "
                                          "starting and ending with a letter or digit"));
      }
    }
    return absl::OkStatus();
  }

  // The kernel's dev_valid_name(): 1..15 bytes, not "." or "..", no '/', ':'
  // or whitespace.
  absl::Status CheckInterfaces(const v1::PolicySpec& spec) const {
    std::map<std::string_view, int> seen;
    for (int i = 0; i < spec.interfaces_size(); ++i) {
      const std::string& name = spec.interfaces(i);
      std::string path = rampart::StrCat("spec.interfaces[", i, "]");
      std::string bad = rampart::StrCat("bad interface name ", Quote(name), ": ");
      if (name.empty()) return Fail(path, rampart::StrCat(bad, "is empty"));
      if (name.size() > kMaxInterfaceLength) {
        return Fail(path, rampart::StrCat(bad, "longer than ", kMaxInterfaceLength, " characters"));
      }
      if (name == "." || name == "..") return Fail(path, rampart::StrCat(bad, "not a device name"));
      for (char c : name) {
        unsigned char u = static_cast<unsigned char>(c);
        if (c == '/' || c == ':' || c == ' ' || u < 0x20 || u == 0x7f) {
          return Fail(path, rampart::StrCat(bad, "must not contain '/', ':', whitespace or control characters"));
        }
      }
      if (auto [it, inserted] = seen.emplace(name, i); !inserted) {
        return Fail(path,
                    rampart::StrCat("duplicate interface ", Quote(name), " (first at spec.interfaces[", it->second, "]",
                                    LineSuffix(rampart::StrCat("spec.interfaces[", it->second, "]")), ")"));
      }
    }
    return absl::OkStatus();
  }

  absl::Status CheckDirection(const v1::SegmentationDirection& direction, bool ingress) const {
    std::string dir_path = rampart::StrCat("spec.segmentation.", ingress ? "ingress" : "egress");
    if (!v1::DefaultAction_IsValid(direction.default_action())) {
      return Fail(rampart::StrCat(dir_path, ".default"),
                  rampart::StrCat("bad default action ", static_cast<int>(direction.default_action()),
                                  " (expected allow or deny)"));
    }
    std::map<std::string_view, int> names;
    for (int i = 0; i < direction.allow_size(); ++i) {
      const v1::SegmentationRule& rule = direction.allow(i);
      std::string path = rampart::StrCat(dir_path, ".allow[", i, "]");
      if (auto s = CheckRuleName(rule, path, dir_path, names, i); !s.ok()) return s;
      if (auto s = ingress ? CheckIngressRule(rule, path) : CheckEgressRule(rule, path); !s.ok()) return s;
      if (auto s = CheckPorts(rule, path); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status CheckRuleName(const v1::SegmentationRule& rule, const std::string& path, const std::string& dir_path,
                             std::map<std::string_view, int>& names, int index) const {
    std::string name_path = rampart::StrCat(path, ".name");
    if (rule.name().empty()) return Fail(name_path, "required field is missing");
    if (!IsDnsLabel(rule.name())) {
      return Fail(name_path, rampart::StrCat("bad rule name ", Quote(rule.name()), ": ", NameRule()));
    }
    if (auto [it, inserted] = names.emplace(rule.name(), index); !inserted) {
      std::string first = rampart::StrCat(dir_path, ".allow[", it->second, "]");
      return Fail(name_path, rampart::StrCat("duplicate rule name ", Quote(rule.name()), " (first used by allow[",
                                             it->second, "]", LineSuffix(rampart::StrCat(first, ".name")), ")"));
    }
    return absl::OkStatus();
  }

  absl::Status CheckIngressRule(const v1::SegmentationRule& rule, const std::string& path) const {
    if (rule.to_size() > 0) {
      return Fail(rampart::StrCat(path, ".to"), "\"to\" is only valid in egress rules (ingress rules use \"from\")");
    }
    if (!rule.unit().empty()) return Fail(rampart::StrCat(path, ".unit"), "\"unit\" is only valid in egress rules");
    if (!rule.cgroup().empty())
      return Fail(rampart::StrCat(path, ".cgroup"), "\"cgroup\" is only valid in egress rules");
    return CheckPrefixes(rule.from(), rampart::StrCat(path, ".from"), "source");
  }

  absl::Status CheckEgressRule(const v1::SegmentationRule& rule, const std::string& path) const {
    if (rule.from_size() > 0) {
      return Fail(rampart::StrCat(path, ".from"), "\"from\" is only valid in ingress rules (egress rules use \"to\")");
    }
    if (!rule.unit().empty()) {
      if (auto s = CheckUnit(rule.unit(), rampart::StrCat(path, ".unit")); !s.ok()) return s;
    }
    if (!rule.cgroup().empty()) {
      std::string cgroup_path = rampart::StrCat(path, ".cgroup");
      if (!rule.unit().empty()) {
        return Fail(cgroup_path, "\"unit\" and \"cgroup\" are mutually exclusive: scope the rule with one of them");
      }
      if (auto s = CheckCgroup(rule.cgroup(), cgroup_path); !s.ok()) return s;
    }
    return CheckPrefixes(rule.to(), rampart::StrCat(path, ".to"), "destination");
  }

  absl::Status CheckRateLimits(const v1::PolicySpec& spec) const {
    if (spec.rate_limits_size() > kMaxRateLimits) {
      return Fail(rampart::StrCat("spec.rateLimits[", kMaxRateLimits, "]"),
                  rampart::StrCat("too many rate limits: ", spec.rate_limits_size(), " (a node holds at most ",
                                  kMaxRateLimits, ", counting every policy it enforces)"));
    }
    std::map<std::string_view, int> names;
    for (int i = 0; i < spec.rate_limits_size(); ++i) {
      if (auto s = CheckRateLimit(spec.rate_limits(i), i, names); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // The YAML loader refuses explicit zeros ("must be at least 1, got 0"); in
  // the model 0 means absent, so only the upper bounds are checked here.
  absl::Status CheckRateLimit(const v1::RateLimit& limit, int index, std::map<std::string_view, int>& names) const {
    std::string path = rampart::StrCat("spec.rateLimits[", index, "]");
    std::string name_path = rampart::StrCat(path, ".name");
    if (limit.name().empty()) return Fail(name_path, "required field is missing");
    if (!IsDnsLabel(limit.name())) {
      return Fail(name_path, rampart::StrCat("bad rate limit name ", Quote(limit.name()), ": ", NameRule()));
    }
    if (auto [it, inserted] = names.emplace(limit.name(), index); !inserted) {
      std::string first = rampart::StrCat("spec.rateLimits[", it->second, "].name");
      return Fail(name_path, rampart::StrCat("duplicate rate limit name ", Quote(limit.name()),
                                             " (first used by rateLimits[", it->second, "]", LineSuffix(first), ")"));
    }

    std::string match_path = rampart::StrCat(path, ".match");
    if (!limit.has_match()) return Fail(match_path, "required field is missing (e.g. match: {ports: [\"tcp/443\"]})");
    if (auto s = CheckPortList(limit.match().ports(), rampart::StrCat(match_path, ".ports")); !s.ok()) return s;

    if (!v1::RateLimitKey_IsValid(limit.key())) {
      return Fail(rampart::StrCat(path, ".key"),
                  rampart::StrCat("bad key ", static_cast<int>(limit.key()), " (expected source or flow)"));
    }

    const uint64_t pps = limit.packets_per_second();
    const uint64_t bps = limit.bytes_per_second();
    if (pps > kMaxPacketsPerSecond) {
      return Fail(rampart::StrCat(path, ".packetsPerSecond"),
                  rampart::StrCat("must be at most ", kMaxPacketsPerSecond, " packets per second, got ", pps));
    }
    if (bps > kMaxBytesPerSecond) {
      return Fail(rampart::StrCat(path, ".bytesPerSecond"),
                  rampart::StrCat("must be at most ", kMaxBytesPerSecond, " bytes per second, got ", bps));
    }
    if (pps == 0 && bps == 0) return Fail(path, "at least one of packetsPerSecond and bytesPerSecond is required");
    if (auto s = CheckBurst(limit.burst(), pps, path, "burst", "packetsPerSecond", "packets"); !s.ok()) return s;
    return CheckBurst(limit.burst_bytes(), bps, path, "burstBytes", "bytesPerSecond", "bytes");
  }

  // A burst of 1 up to kMaxBurstSeconds of its rate; 0 (absent) means one
  // second's worth.
  absl::Status CheckBurst(uint64_t burst, uint64_t rate, const std::string& path, std::string_view field,
                          std::string_view rate_field, std::string_view unit) const {
    if (burst == 0) return absl::OkStatus();
    std::string burst_path = rampart::StrCat(path, ".", field);
    if (rate == 0) {
      return Fail(burst_path,
                  rampart::StrCat("\"", field, "\" is only valid with \"", rate_field, "\", which is not set"));
    }
    const uint64_t max = kMaxBurstSeconds * rate;
    if (burst > max) {
      return Fail(burst_path, rampart::StrCat("must be at most ", max, " ", unit, " (", kMaxBurstSeconds,
                                              " seconds at ", rate_field, " ", rate, "), got ", burst));
    }
    return absl::OkStatus();
  }

  absl::Status CheckPrefixes(const google::protobuf::RepeatedPtrField<std::string>& prefixes, const std::string& path,
                             std::string_view what) const {
    if (prefixes.empty()) return Fail(path, rampart::StrCat("at least one ", what, " prefix is required"));
    for (int j = 0; j < prefixes.size(); ++j) {
      if (auto parsed = IpPrefix::Parse(prefixes[j]); !parsed.ok()) {
        return Fail(rampart::StrCat(path, "[", j, "]"), MessageOf(parsed.status()));
      }
    }
    return absl::OkStatus();
  }

  absl::Status CheckPorts(const v1::SegmentationRule& rule, const std::string& rule_path) const {
    return CheckPortList(rule.ports(), rampart::StrCat(rule_path, ".ports"));
  }

  absl::Status CheckPortList(const google::protobuf::RepeatedPtrField<std::string>& ports,
                             const std::string& path) const {
    if (ports.empty()) return Fail(path, "at least one port is required (e.g. \"tcp/443\")");
    for (int j = 0; j < ports.size(); ++j) {
      if (auto parsed = PortRange::Parse(ports[j]); !parsed.ok()) {
        return Fail(rampart::StrCat(path, "[", j, "]"), MessageOf(parsed.status()));
      }
    }
    return absl::OkStatus();
  }

  // NAME.service, NAME.scope, NAME.slice or NAME.socket, NAME in systemd's unit
  // name alphabet (templates such as getty@tty1.service included).
  absl::Status CheckUnit(const std::string& unit, const std::string& path) const {
    static constexpr std::string_view kSuffixes[] = {".service", ".scope", ".slice", ".socket"};
    std::string bad = rampart::StrCat("bad unit ", Quote(unit), ": ");
    std::string_view name;
    for (std::string_view suffix : kSuffixes) {
      if (unit.size() > suffix.size() && std::string_view(unit).ends_with(suffix)) {
        name = std::string_view(unit).substr(0, unit.size() - suffix.size());
      }
    }
    if (name.empty()) {
      return Fail(path, rampart::StrCat(bad, "expected NAME.service, NAME.scope, NAME.slice or NAME.socket"));
    }
    if (unit.size() > kMaxUnitLength) return Fail(path, rampart::StrCat(bad, "longer than 255 characters"));
    for (char c : name) {
      if (!(IsAlnum(c) || c == ':' || c == '_' || c == '.' || c == '-' || c == '@' || c == '\\')) {
        return Fail(path, rampart::StrCat(bad, "unit names use only A-Z, a-z, 0-9, ':', '_', '.', '-', '@' and '\\'"));
      }
    }
    return absl::OkStatus();
  }

  // An absolute path in the cgroup v2 hierarchy, as /proc/PID/cgroup spells it.
  absl::Status CheckCgroup(const std::string& cgroup, const std::string& path) const {
    std::string bad = rampart::StrCat("bad cgroup ", Quote(cgroup), ": ");
    if (cgroup.front() != '/') {
      return Fail(path, rampart::StrCat(bad, "must be an absolute cgroup v2 path starting with '/'"));
    }
    if (cgroup.size() > kMaxCgroupLength) return Fail(path, rampart::StrCat(bad, "longer than 4095 characters"));
    if (cgroup == "/") return absl::OkStatus();
    std::string_view rest = std::string_view(cgroup).substr(1);
    while (true) {
      size_t slash = rest.find('/');
      std::string_view component = rest.substr(0, slash);
      if (component.empty()) return Fail(path, rampart::StrCat(bad, "empty path component (\"//\" or a trailing '/')"));
      if (component == "." || component == "..") {
        return Fail(path, rampart::StrCat(bad, "\".\" and \"..\" components are not allowed"));
      }
      for (char c : component) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          return Fail(path, rampart::StrCat(bad, "control characters are not allowed"));
        }
      }
      if (slash == std::string_view::npos) return absl::OkStatus();
      rest.remove_prefix(slash + 1);
    }
  }

  std::string LineSuffix(std::string_view path) const {
    int line = LineOf(path);
    return line > 0 ? rampart::StrCat(" at line ", line) : "";
  }

  const v1::Policy& policy_;
  const FieldLines* lines_;
};

std::string Location(const v1::Policy& policy, const FieldLines* lines) {
  Checker checker(policy, lines);
  int line = checker.LineOf("metadata.name");
  return line > 0 ? rampart::StrCat(checker.Source(), ":", line) : checker.Source();
}

}  // namespace

std::string MapEntryPath(std::string_view map_path, std::string_view key) {
  bool plain =
      !key.empty() && std::all_of(key.begin(), key.end(), [](char c) { return IsAlnum(c) || c == '_' || c == '-'; });
  if (plain) return rampart::StrCat(map_path, ".", key);
  return rampart::StrCat(map_path, "[", Quote(key), "]");
}

std::string Quote(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

absl::Status FieldError(std::string_view source, int line, std::string_view path, std::string_view message) {
  std::string text(source);
  if (line > 0) text += rampart::StrCat(":", line);
  if (!path.empty()) text += rampart::StrCat(": ", path);
  text += rampart::StrCat(": ", message);
  std::string one_line;
  one_line.reserve(text.size());
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\n') {
      one_line += "\\n";
    } else if (c == '\r') {
      one_line += "\\r";
    } else if (c == '\t') {
      one_line += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof(buf), "\\x%02x", u);
      one_line += buf;
    } else {
      one_line.push_back(c);
    }
  }
  return absl::InvalidArgumentError(one_line);
}

absl::Status ValidatePolicy(const v1::Policy& policy, const FieldLines* lines) {
  return Checker(policy, lines).Check();
}

absl::Status ValidatePolicySet(const std::vector<v1::Policy>& policies, const std::vector<FieldLines>* lines) {
  auto lines_of = [&](size_t i) -> const FieldLines* {
    return lines != nullptr && i < lines->size() ? &(*lines)[i] : nullptr;
  };
  std::map<std::string_view, size_t> names;
  for (size_t i = 0; i < policies.size(); ++i) {
    if (auto s = ValidatePolicy(policies[i], lines_of(i)); !s.ok()) return s;
    const std::string& name = policies[i].metadata().name();
    if (auto [it, inserted] = names.emplace(name, i); !inserted) {
      Checker checker(policies[i], lines_of(i));
      return checker.Fail("metadata.name", rampart::StrCat("duplicate policy name ", Quote(name), " (first defined in ",
                                                           Location(policies[it->second], lines_of(it->second)), ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace rampart::policy

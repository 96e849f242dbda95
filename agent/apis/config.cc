#include "agent/apis/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <map>
#include <utility>

#include "agent/common/strings.h"
#include "agent/http/text.h"
#include "agent/policy/types.h"
#include "agent/policy/validate.h"
#include "agent/policy/yaml_describe.h"

namespace rampart::apis {
namespace {

using policy::DescribeYaml;
using policy::Quote;
using policy::YamlLine;

std::string Normalized(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c != '_' && c != '-') out.push_back(http::AsciiLower(c));
  }
  return out;
}

class ConfigReader {
 public:
  explicit ConfigReader(std::string_view source) : source_(source) {}

  absl::Status Read(const YAML::Node& node, const std::string& path, ApiAnalyticsConfig& config) {
    auto fields =
        Fields(node, path,
               {"openapi", "identity", "rateLimits", "bola", "bulkExtraction", "inventory", "alerts", "realertAfter"});
    if (!fields.ok()) return fields.status();
    for (const Field& f : *fields) {
      absl::Status s;
      if (f.key == "openapi") {
        s = OpenApi(f, config.openapi);
      } else if (f.key == "identity") {
        s = Identity(f, config.identity);
      } else if (f.key == "rateLimits") {
        s = RateLimits(f, config);
      } else if (f.key == "bola") {
        s = Bola(f, config.bola);
      } else if (f.key == "bulkExtraction") {
        s = Bulk(f, config.bulk);
      } else if (f.key == "inventory") {
        s = Inventory(f, config.inventory);
      } else if (f.key == "alerts") {
        s = Alerts(f, config.alerts);
      } else {
        uint64_t seconds = 0;
        s = Duration(f, 1, 7 * 86400, seconds);
        if (s.ok() && seconds != 0) config.realert_after = std::chrono::seconds(seconds);
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

  absl::Status Fail(const YAML::Node& node, std::string_view path, std::string_view message) const {
    return policy::FieldError(source_, YamlLine(node), path, message);
  }

  absl::StatusOr<std::vector<Field>> Fields(const YAML::Node& node, const std::string& path,
                                            std::initializer_list<std::string_view> known) {
    std::vector<Field> out;
    if (!node || node.IsNull()) return out;
    if (!node.IsMap()) return Fail(node, path, rampart::StrCat("expected a map, got ", DescribeYaml(node)));
    std::map<std::string, int> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) {
        return Fail(it->first, path, rampart::StrCat("field names must be strings, got ", DescribeYaml(it->first)));
      }
      std::string key = it->first.Scalar();
      std::string child = policy::MapEntryPath(path, key);
      if (auto [first, inserted] = seen.emplace(key, YamlLine(it->first)); !inserted) {
        return Fail(it->first, child,
                    rampart::StrCat("duplicate field ", Quote(key), " (first at line ", first->second, ")"));
      }
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string message = rampart::StrCat("unknown field ", Quote(key));
        for (std::string_view k : known) {
          if (Normalized(k) == Normalized(key)) message += rampart::StrCat(" (did you mean ", Quote(k), "?)");
        }
        return Fail(it->first, child, message);
      }
      out.push_back({std::move(key), std::move(child), it->second});
    }
    return out;
  }

  absl::Status String(const Field& f, std::string& out) {
    if (f.value.IsNull()) return absl::OkStatus();
    if (!f.value.IsScalar())
      return Fail(f.value, f.path, rampart::StrCat("expected a string, got ", DescribeYaml(f.value)));
    out = f.value.Scalar();
    return absl::OkStatus();
  }

  absl::Status Bool(const Field& f, bool& out) {
    std::string text;
    if (auto s = String(f, text); !s.ok() || text.empty()) return s;
    if (text != "true" && text != "false") {
      return Fail(f.value, f.path, rampart::StrCat("expected true or false, got ", Quote(text)));
    }
    out = text == "true";
    return absl::OkStatus();
  }

  // A whole number in [min, max]; null leaves `out` alone.
  absl::Status Number(const Field& f, uint64_t min, uint64_t max, uint64_t& out) {
    std::string text;
    if (auto s = String(f, text); !s.ok() || text.empty()) return s;
    uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return Fail(f.value, f.path, rampart::StrCat("bad number ", Quote(text), ": expected a whole number"));
    }
    if (value < min || value > max) {
      return Fail(f.value, f.path, rampart::StrCat("must be ", min, " to ", max, ", got ", value));
    }
    out = value;
    return absl::OkStatus();
  }

  // A decimal number ("5", "2.5") in [min, max].
  absl::Status Decimal(const Field& f, double min, double max, double& out) {
    std::string text;
    if (auto s = String(f, text); !s.ok() || text.empty()) return s;
    const bool shape =
        !text.empty() && text.front() >= '0' && text.front() <= '9' &&
        std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; }) &&
        std::count(text.begin(), text.end(), '.') <= 1 && text.back() != '.';
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (!shape || ec != std::errc() || end != text.data() + text.size()) {
      return Fail(f.value, f.path,
                  rampart::StrCat("bad number ", Quote(text), ": expected a decimal number, e.g. 2.5"));
    }
    if (value < min || value > max) {
      return Fail(f.value, f.path,
                  rampart::StrCat("must be ", std::to_string(min), " to ", std::to_string(max), ", got ", Quote(text)));
    }
    out = value;
    return absl::OkStatus();
  }

  absl::Status Duration(const Field& f, uint64_t min_seconds, uint64_t max_seconds, uint64_t& out) {
    std::string text;
    if (auto s = String(f, text); !s.ok() || text.empty()) return s;
    auto seconds = policy::ParseDurationSeconds(text);
    if (!seconds.ok()) return Fail(f.value, f.path, MessageOf(seconds.status()));
    if (*seconds < min_seconds || *seconds > max_seconds) {
      return Fail(f.value, f.path,
                  rampart::StrCat("must be ", min_seconds, "s to ", max_seconds, "s, got ", Quote(text)));
    }
    out = *seconds;
    return absl::OkStatus();
  }

  // Header names: HTTP tokens, kept lower-cased; duplicates dropped.
  absl::Status HeaderList(const Field& f, std::vector<std::string>& out) {
    if (f.value.IsNull()) return absl::OkStatus();
    if (!f.value.IsSequence()) {
      return Fail(f.value, f.path, rampart::StrCat("expected a list of header names, got ", DescribeYaml(f.value)));
    }
    out.clear();
    for (size_t i = 0; i < f.value.size(); ++i) {
      const YAML::Node item = f.value[i];
      const std::string at = rampart::StrCat(f.path, "[", i, "]");
      if (!item.IsScalar()) return Fail(item, at, rampart::StrCat("expected a header name, got ", DescribeYaml(item)));
      if (!http::IsToken(item.Scalar()) || item.Scalar().size() > 64) {
        return Fail(item, at,
                    rampart::StrCat("bad header name ", Quote(item.Scalar()),
                                    ": expected 1-64 token characters (e.g. x-api-key)"));
      }
      std::string name;
      http::AssignLower(name, item.Scalar());
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
    }
    return absl::OkStatus();
  }

  absl::Status OpenApi(const Field& f, std::vector<OpenApiBinding>& out) {
    if (f.value.IsNull()) return absl::OkStatus();
    if (!f.value.IsSequence()) {
      return Fail(f.value, f.path,
                  rampart::StrCat("expected a list of {process, host, port, spec}, got ", DescribeYaml(f.value)));
    }
    for (size_t i = 0; i < f.value.size(); ++i) {
      const std::string at = rampart::StrCat(f.path, "[", i, "]");
      auto fields = Fields(f.value[i], at, {"process", "host", "port", "spec"});
      if (!fields.ok()) return fields.status();
      if (!f.value[i].IsMap())
        return Fail(f.value[i], at, rampart::StrCat("expected a map, got ", DescribeYaml(f.value[i])));
      OpenApiBinding binding;
      for (const Field& b : *fields) {
        absl::Status s;
        if (b.key == "process") {
          s = String(b, binding.process);
          if (s.ok() && (binding.process.size() > 15 || binding.process.find('/') != std::string::npos)) {
            s = Fail(b.value, b.path,
                     rampart::StrCat("bad process name ", Quote(binding.process), ": 1-15 characters, no \"/\""));
          }
        } else if (b.key == "host") {
          std::string host;
          s = String(b, host);
          http::AssignLower(binding.host, host);
        } else if (b.key == "port") {
          uint64_t port = 0;
          s = Number(b, 1, 65535, port);
          binding.port = static_cast<uint16_t>(port);
        } else {
          s = String(b, binding.spec_file);
          if (s.ok() && (binding.spec_file.empty() || binding.spec_file.front() != '/')) {
            s = Fail(b.value, b.path,
                     rampart::StrCat("expected an absolute path on the node, got ", Quote(binding.spec_file)));
          }
        }
        if (!s.ok()) return s;
      }
      if (binding.spec_file.empty()) return Fail(f.value[i], rampart::StrCat(at, ".spec"), "required field is missing");
      out.push_back(std::move(binding));
    }
    return absl::OkStatus();
  }

  absl::Status Identity(const Field& f, IdentityOptions& out) {
    auto fields = Fields(f.value, f.path, {"apiKeyHeaders", "jwt", "mtlsHeaders", "mtlsPeer", "addressFallback"});
    if (!fields.ok()) return fields.status();
    for (const Field& g : *fields) {
      absl::Status s;
      if (g.key == "apiKeyHeaders") {
        s = HeaderList(g, out.api_key_headers);
      } else if (g.key == "mtlsHeaders") {
        s = HeaderList(g, out.mtls_headers);
      } else if (g.key == "mtlsPeer") {
        std::string text;
        s = String(g, text);
        if (s.ok() && !text.empty() && !ParseMtlsPeerMode(text, out.mtls_peer)) {
          s = Fail(g.value, g.path, rampart::StrCat("expected auto, subject, san or off, got ", Quote(text)));
        }
      } else if (g.key == "jwt") {
        s = Bool(g, out.jwt);
      } else {
        s = Bool(g, out.address_fallback);
      }
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status RateLimits(const Field& f, ApiAnalyticsConfig& config) {
    auto fields = Fields(f.value, f.path, {"reads", "writes", "maxIdentities"});
    if (!fields.ok()) return fields.status();
    for (const Field& g : *fields) {
      if (g.key == "maxIdentities") {
        uint64_t n = 0;
        if (auto s = Number(g, 1, 10'000'000, n); !s.ok()) return s;
        if (n != 0) config.max_identities = n;
        continue;
      }
      std::string text;
      if (auto s = String(g, text); !s.ok()) return s;
      if (text.empty()) continue;
      auto limit = ParseRateLimit(text);
      if (!limit.ok()) return Fail(g.value, g.path, MessageOf(limit.status()));
      (g.key == "reads" ? config.rate_limits.reads : config.rate_limits.writes) = *limit;
    }
    return absl::OkStatus();
  }

  absl::Status Bola(const Field& f, ObjectAccessOptions& out) {
    auto fields = Fields(f.value, f.path, {"window", "minDistinct", "baselineFactor", "precision", "maxTracked"});
    if (!fields.ok()) return fields.status();
    for (const Field& g : *fields) {
      absl::Status s;
      uint64_t n = 0;
      if (g.key == "window") {
        s = Duration(g, 10, 86400, n);
        if (n != 0) out.window = std::chrono::seconds(n);
      } else if (g.key == "minDistinct") {
        s = Number(g, 1, 1'000'000, n);
        if (n != 0) out.min_distinct = n;
      } else if (g.key == "baselineFactor") {
        s = Decimal(g, 1, 1000, out.baseline_factor);
      } else if (g.key == "precision") {
        s = Number(g, 10, 12, n);
        if (n != 0) out.hll_precision = static_cast<int>(n);
      } else {
        s = Number(g, 1, 10'000'000, n);
        if (n != 0) out.max_tracked = n;
      }
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Bulk(const Field& f, BulkOptions& out) {
    auto fields = Fields(f.value, f.path, {"warmup", "factor", "minRecords", "minBytes", "maxTracked"});
    if (!fields.ok()) return fields.status();
    for (const Field& g : *fields) {
      absl::Status s;
      uint64_t n = 0;
      if (g.key == "warmup") {
        s = Number(g, 1, 100000, n);
        if (n != 0) out.warmup = static_cast<uint32_t>(n);
      } else if (g.key == "factor") {
        s = Decimal(g, 1, 10000, out.factor);
      } else if (g.key == "minRecords") {
        s = Number(g, 1, 1'000'000'000, n);
        if (n != 0) out.min_records = n;
      } else if (g.key == "minBytes") {
        std::string text;
        s = String(g, text);
        if (s.ok() && !text.empty()) {
          auto bytes = policy::ParseQuantity(text);
          if (!bytes.ok()) {
            s = Fail(g.value, g.path, MessageOf(bytes.status()));
          } else if (*bytes == 0) {
            s = Fail(g.value, g.path, "must be at least 1");
          } else {
            out.min_bytes = *bytes;
          }
        }
      } else {
        s = Number(g, 1, 10'000'000, n);
        if (n != 0) out.max_tracked = n;
      }
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Inventory(const Field& f, InventoryLimits& out) {
    auto fields = Fields(f.value, f.path, {"maxServices", "maxEndpointsPerService", "paramThreshold"});
    if (!fields.ok()) return fields.status();
    for (const Field& g : *fields) {
      uint64_t n = 0;
      absl::Status s;
      if (g.key == "maxServices") {
        s = Number(g, 1, 4096, n);
        if (n != 0) out.max_services = n;
      } else if (g.key == "maxEndpointsPerService") {
        s = Number(g, 1, 100000, n);
        if (n != 0) out.max_endpoints_per_service = n;
      } else {
        s = Number(g, 2, 100000, n);
        if (n != 0) out.templater.param_threshold = n;
      }
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Alerts(const Field& f, ApiAlerts& out) {
    auto fields =
        Fields(f.value, f.path,
               {"shadowEndpoint", "zombieEndpoint", "undocumentedParameter", "rateLimit", "bola", "bulkExtraction"});
    if (!fields.ok()) return fields.status();
    for (const Field& g : *fields) {
      AlertAction* action = g.key == "shadowEndpoint"          ? &out.shadow_endpoint
                            : g.key == "zombieEndpoint"        ? &out.zombie_endpoint
                            : g.key == "undocumentedParameter" ? &out.undocumented_parameter
                            : g.key == "rateLimit"             ? &out.rate_limit
                            : g.key == "bola"                  ? &out.bola
                                                               : &out.bulk_extraction;
      if (auto s = Alert(g, *action); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // "monitor", "block", or {action, blockTtl}.
  absl::Status Alert(const Field& f, AlertAction& out) {
    if (f.value.IsScalar()) return Action(f, out);
    auto fields = Fields(f.value, f.path, {"action", "blockTtl"});
    if (!fields.ok()) return fields.status();
    for (const Field& g : *fields) {
      absl::Status s;
      if (g.key == "action") {
        s = Action(g, out);
      } else {
        uint64_t seconds = 0;
        s = Duration(g, 1, uint64_t{1} << 31, seconds);
        out.block_ttl = std::chrono::seconds(seconds);
      }
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Action(const Field& f, AlertAction& out) {
    std::string text;
    if (auto s = String(f, text); !s.ok() || text.empty()) return s;
    if (text != "monitor" && text != "block") {
      return Fail(f.value, f.path, rampart::StrCat("bad action ", Quote(text), " (expected monitor or block)"));
    }
    out.block = text == "block";
    return absl::OkStatus();
  }

  std::string source_;
};

}  // namespace

bool OpenApiBinding::Matches(const ServiceKey& service) const {
  return (process.empty() || process == service.process) && (host.empty() || host == service.host) &&
         (port == 0 || port == service.port);
}

absl::StatusOr<ApiAnalyticsConfig> ParseApiAnalyticsConfig(const YAML::Node& node, std::string_view source,
                                                           std::string_view path) {
  ApiAnalyticsConfig config;
  try {
    ConfigReader reader(source);
    if (auto s = reader.Read(node, std::string(path), config); !s.ok()) return s;
  } catch (const YAML::Exception& e) {
    return policy::FieldError(source, 0, path, rampart::StrCat("cannot read: ", e.msg));
  }
  return config;
}

absl::StatusOr<ApiAnalyticsConfig> ParseApiAnalyticsYaml(std::string_view text, std::string_view source,
                                                         std::string_view path) {
  YAML::Node node;
  try {
    node.reset(YAML::Load(std::string(text)));
  } catch (const YAML::Exception& e) {
    const int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    return policy::FieldError(source, line, "", rampart::StrCat("malformed YAML: ", e.msg));
  }
  return ParseApiAnalyticsConfig(node, source, path);
}

}  // namespace rampart::apis

// Configuration of API analytics: the `apis` section a policy would carry
// under spec.inspection (docs/apis.md, docs/policy-reference.md), parsed from
// YAML with the policy loader's conventions: unknown fields refused (with a
// did-you-mean), repeated keys refused, null means absent, and every error is
// one line naming the source, the line, the field path and the value:
//   web.yaml:21: spec.inspection.apis.rateLimits.reads: bad rate "100/minutes": unknown unit "minutes" (...)
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/apis/api_inventory.h"
#include "agent/apis/bulk_extraction.h"
#include "agent/apis/identity.h"
#include "agent/apis/object_access.h"
#include "agent/apis/rate_limiter.h"

namespace YAML {
class Node;
}

namespace rampart::apis {

// What one kind of alert does.
struct AlertAction {
  bool block = false;  // false: monitor (record the finding only)
  // How long a block lasts. 0: the default, 10 minutes; for rate limits, until
  // the window that was exceeded ends.
  std::chrono::seconds block_ttl{0};
};

// Which services an OpenAPI spec describes: every field given must match
// (none given: every service).
struct OpenApiBinding {
  std::string process;  // comm
  std::string host;     // Host / :authority, lower case
  uint16_t port = 0;    // local port
  std::string spec_file;

  bool Matches(const ServiceKey& service) const;
};

struct ApiAlerts {
  AlertAction shadow_endpoint;
  AlertAction zombie_endpoint;
  AlertAction undocumented_parameter;
  AlertAction rate_limit;
  AlertAction bola;
  AlertAction bulk_extraction;
};

struct ApiAnalyticsConfig {
  std::vector<OpenApiBinding> openapi;  // the first binding that matches a service applies
  IdentityOptions identity;
  RateLimits rate_limits;  // none: no L7 limits
  size_t max_identities = 100000;
  ObjectAccessOptions bola;
  BulkOptions bulk;
  // For the ApiInventory the agent owns: it outlives configurations, so a
  // change takes effect when the agent next creates it.
  InventoryLimits inventory;
  ApiAlerts alerts;
  // A monitoring alert is raised once per identity, endpoint and kind within
  // this time; a blocking one on every request.
  std::chrono::seconds realert_after{600};
};

// `node` is the value of the `apis` key; `path` its field path for errors,
// `source` the file. A null node is the default configuration.
absl::StatusOr<ApiAnalyticsConfig> ParseApiAnalyticsConfig(const YAML::Node& node, std::string_view source,
                                                           std::string_view path = "spec.inspection.apis");

// The same from YAML text whose top level is the section's content.
absl::StatusOr<ApiAnalyticsConfig> ParseApiAnalyticsYaml(std::string_view text, std::string_view source,
                                                         std::string_view path = "spec.inspection.apis");

}  // namespace rampart::apis

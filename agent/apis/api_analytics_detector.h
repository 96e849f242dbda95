// The "apis" detector family: API analytics on every parsed request and
// response of the services the agent captures (docs/apis.md). For each
// message served by a captured process it
//   - records the endpoint in the inventory (ApiInventory);
//   - checks requests against the service's OpenAPI spec:
//     api.shadow_endpoint, api.zombie_endpoint, api.undocumented_parameter;
//   - counts the request against its identity's L7 limits: api.rate_limit;
//   - counts distinct object ids per identity and templated endpoint: api.bola;
//   - compares response record counts and sizes with the identity's
//     baseline: api.bulk_extraction;
//   - learns from the DLP findings on responses which data types each
//     endpoint returns (AfterInspection).
// Messages where the captured process is the client are not analysed: the
// inventory describes the services this node serves.
//
// Request/response pairing: a response carries the method and target of the
// request it answers (http::Message; the HTTP/1.x parser pairs in order, the
// HTTP/2 parser by stream), which gives the endpoint. The identity lives in
// the request's headers, so the detector keeps, per connection and stream,
// the identity of requests awaiting a response (bounded: 4096, least
// recently seen dropped; a response without one is not used for bulk
// extraction and is counted in unpaired_responses).
//
// Verdicts: each alert kind has its own action (config.alerts); VerdictFor
// answers per finding with RP_BLOCK_BY_API. Rate-limit blocks last until the
// window that was exceeded ends, unless a blockTtl is set.
//
// Findings hold no plaintext: identities are masked (identity.h), endpoints
// are templates (path_templater.h), object ids and parameter values are never
// shown, parameter names only when they look like names.
//
// Thread-safe (one lock; the pipeline calls from the capture thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/apis/api_inventory.h"
#include "agent/apis/bounded_lru.h"
#include "agent/apis/bulk_extraction.h"
#include "agent/apis/config.h"
#include "agent/apis/identity.h"
#include "agent/apis/object_access.h"
#include "agent/apis/openapi_spec.h"
#include "agent/apis/rate_limiter.h"
#include "agent/inspect/detector.h"

namespace rampart::apis {

// Detector ids.
inline constexpr std::string_view kShadowEndpoint = "api.shadow_endpoint";
inline constexpr std::string_view kZombieEndpoint = "api.zombie_endpoint";
inline constexpr std::string_view kUndocumentedParameter = "api.undocumented_parameter";
inline constexpr std::string_view kRateLimit = "api.rate_limit";
inline constexpr std::string_view kBola = "api.bola";
inline constexpr std::string_view kBulkExtraction = "api.bulk_extraction";

struct ApiAnalyticsStats {
  uint64_t requests = 0;
  uint64_t responses = 0;
  uint64_t client_side_skipped = 0;  // messages where the captured process was the client
  uint64_t unpaired_responses = 0;   // responses whose request's identity was not known
  uint64_t alerts_suppressed = 0;    // monitoring alerts within realert_after of the same one
  uint64_t findings = 0;
  InventoryStats inventory;
  RateLimiterStats rate_limiter;
  ObjectAccessStats object_access;
  BulkStats bulk;
};

class ApiAnalyticsDetector final : public inspect::Detector {
 public:
  // Loads the spec of each config.openapi binding. `inventory` (required) is
  // the agent's, which outlives detectors. Errors name the binding's
  // field and carry the spec's own one-line error:
  //   spec.inspection.apis.openapi[0].spec: users.yaml:14: /paths/~1users/get/deprecated: expected true or false, ...
  static absl::StatusOr<std::unique_ptr<ApiAnalyticsDetector>> Create(
      const ApiAnalyticsConfig& config, std::shared_ptr<ApiInventory> inventory,
      std::string_view config_path = "spec.inspection.apis");

  // With the specs already loaded, parallel to config.openapi. `seed` keys
  // the hashes of identities and object ids (Create takes a random one).
  ApiAnalyticsDetector(ApiAnalyticsConfig config, std::vector<std::shared_ptr<const OpenApiSpec>> specs,
                       std::shared_ptr<ApiInventory> inventory, uint64_t seed);
  ~ApiAnalyticsDetector() override;

  std::string_view family() const override { return "apis"; }
  void Inspect(const http::Message& message, const inspect::MessageContext& context,
               std::vector<findings::Finding>& out) override;
  inspect::FamilyVerdict VerdictFor(const findings::Finding& finding,
                                    const inspect::FamilyVerdict& family) const override;
  void AfterInspection(const http::Message& message, const inspect::MessageContext& context,
                       const std::vector<findings::Finding>& all) override;

  ApiAnalyticsStats stats() const;
  const ApiInventory& inventory() const { return *inventory_; }
  const ApiAnalyticsConfig& config() const { return config_; }

 private:
  struct Pending {
    uint64_t identity = 0;
    std::string masked;
  };

  void OnRequest(const http::Message& request, const inspect::MessageContext& context,
                 std::vector<findings::Finding>& out);
  void OnResponse(const http::Message& response, const inspect::MessageContext& context,
                  std::vector<findings::Finding>& out);
  // Whether an alert of `kind` for `subject` should be raised now: always
  // when it blocks; else once per realert_after.
  bool ShouldAlert(std::string_view kind, uint64_t subject, bool blocks, std::chrono::system_clock::time_point now);
  const OpenApiSpec* SpecFor(const ServiceKey& service);
  uint64_t PendingKey(const http::Message& message, const inspect::MessageContext& context) const;

  const ApiAnalyticsConfig config_;
  const std::vector<std::shared_ptr<const OpenApiSpec>> specs_;
  const std::shared_ptr<ApiInventory> inventory_;
  const uint64_t seed_;
  const IdentityResolver identities_;

  mutable std::mutex mu_;
  L7RateLimiter rate_limiter_;
  ObjectAccessTracker objects_;
  BulkExtractionDetector bulk_;
  BoundedLru<uint64_t, Pending> pending_;
  BoundedLru<uint64_t, std::chrono::system_clock::time_point> alerted_;
  BoundedLru<uint64_t, bool> pinned_;  // services whose spec routes are pinned in the inventory
  // The TTL of the rate-limit finding just reported (VerdictFor is asked
  // right after Inspect, on the same thread).
  std::chrono::seconds rate_limit_ttl_{1};
  ApiAnalyticsStats stats_;
};

}  // namespace rampart::apis

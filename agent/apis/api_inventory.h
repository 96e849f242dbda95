// The API inventory: per service (host:port and process), the endpoints seen
// in traffic (method and path template) with what was observed about each:
// status codes, auth schemes, content types, sizes, first and last seen, the
// query parameter names, the sensitive data types its responses carried (DLP
// detector ids), and how it stands against the service's OpenAPI spec.
//
// Memory is bounded: at most `max_services` services and
// `max_endpoints_per_service` endpoints each (requests past a cap are counted,
// not recorded: an inventory keeps what it saw first rather than churning),
// a bounded templater per service, and small caps on every per-endpoint set.
// Holds no plaintext: templates never contain data-looking segments
// (path_templater.h), names are filtered, values are not kept.
//
// Thread-safe. It outlives detectors (a new policy builds a new
// ApiAnalyticsDetector but the inventory carries on), so the agent owns it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/apis/path_templater.h"

namespace rampart::apis {

struct ServiceKey {
  std::string process;  // comm of the serving process
  std::string host;     // Host / :authority without port, lower-cased; else the local address
  uint16_t port = 0;    // the local port; 0 when unknown
  auto operator<=>(const ServiceKey&) const = default;
};

// "api.example.com:8443 (nginx)"
std::string ServiceName(const ServiceKey& key);

// Authentication seen on requests, as bits.
enum AuthScheme : uint32_t {
  kAuthNone = 1u << 0,
  kAuthBasic = 1u << 1,
  kAuthBearer = 1u << 2,  // an opaque bearer token
  kAuthJwt = 1u << 3,     // a bearer (or configured header) JWT
  kAuthApiKey = 1u << 4,  // a configured API key header
  kAuthMtls = 1u << 5,    // a client certificate: a configured header (set by the TLS terminator) or the handshake's
  kAuthCookie = 1u << 6,
};
std::vector<std::string> AuthSchemeNames(uint32_t schemes);  // {"basic", "jwt", ...}

enum class SpecStatus : uint8_t {
  kNoSpec = 0,  // the service has no spec
  kDocumented,  // the spec has the operation
  kShadow,      // not in the spec (path, or method on the path)
  kZombie,      // in the spec, deprecated
};
std::string_view SpecStatusName(SpecStatus status);  // "no spec", "documented", "shadow", "zombie"

// Body sizes in bytes on the wire (Content-Length, else what was read).
struct SizeStats {
  // Bucket i counts sizes below 256 * 4^i bytes (256 B, 1 KiB, ... 1 MiB,
  // 4 MiB); the last bucket takes the rest.
  static constexpr size_t kBuckets = 8;
  uint64_t count = 0;
  uint64_t min = 0;
  uint64_t max = 0;
  uint64_t sum = 0;
  std::array<uint64_t, kBuckets> buckets{};

  void Add(uint64_t bytes);
  void Merge(const SizeStats& other);
  double mean() const { return count == 0 ? 0 : static_cast<double>(sum) / static_cast<double>(count); }
};

struct EndpointStats {
  // Caps on the per-endpoint sets; values past them are counted in dropped_values.
  static constexpr size_t kMaxStatuses = 32;
  static constexpr size_t kMaxContentTypes = 8;
  static constexpr size_t kMaxQueryParameters = 32;
  static constexpr size_t kMaxSensitiveData = 32;

  std::string method;         // "GET"
  std::string path_template;  // "/users/{id}"
  // Per parameter of the template, in order: bit (1 << SegmentKind) for each
  // kind of value seen there.
  std::vector<uint8_t> parameter_kinds;
  uint64_t requests = 0;
  uint64_t responses = 0;
  std::map<int, uint64_t> statuses;
  uint32_t auth_schemes = 0;                    // AuthScheme bits
  std::set<std::string> request_content_types;  // media types, lower-cased
  std::set<std::string> response_content_types;
  std::set<std::string> query_parameters;  // names (QueryParameterNames)
  std::set<std::string> sensitive_data;    // DLP detector ids found in responses
  SizeStats request_bytes;
  SizeStats response_bytes;
  std::chrono::system_clock::time_point first_seen;
  std::chrono::system_clock::time_point last_seen;
  SpecStatus spec = SpecStatus::kNoSpec;  // as of the last request
  uint64_t dropped_values = 0;
};

struct ServiceInventory {
  ServiceKey key;
  std::vector<EndpointStats> endpoints;  // by template, then method
  uint64_t dropped_requests = 0;         // requests for endpoints past the cap
  size_t templater_nodes = 0;
  uint64_t promotions = 0;  // positions that became parameters by cardinality
};

struct InventoryLimits {
  size_t max_services = 64;
  size_t max_endpoints_per_service = 2000;
  TemplaterLimits templater;
};

struct InventoryStats {
  size_t services = 0;
  size_t endpoints = 0;
  uint64_t dropped_service_requests = 0;   // requests of services past max_services
  uint64_t dropped_endpoint_requests = 0;  // requests of endpoints past max_endpoints_per_service
};

// What the detector knows about a request when it records it.
struct RequestFacts {
  std::string_view method;
  std::string_view path;  // without the query (SplitTarget)
  const std::vector<std::string>* query_parameters = nullptr;
  uint32_t auth_schemes = 0;
  std::string_view content_type;  // the header value; "" when absent
  uint64_t bytes = 0;
  SpecStatus spec = SpecStatus::kNoSpec;
};

struct ResponseFacts {
  std::string_view method;  // of the request it answers
  std::string_view path;
  int status = 0;
  std::string_view content_type;
  uint64_t bytes = 0;
};

struct RecordedRequest {
  bool recorded = false;  // false: a cap refused it (the template is still given)
  TemplatedPath path;     // the template, and the parameter values as views into facts.path
};

class ApiInventory {
 public:
  explicit ApiInventory(InventoryLimits limits = {});
  ~ApiInventory();

  RecordedRequest RecordRequest(const ServiceKey& service, const RequestFacts& facts,
                                std::chrono::system_clock::time_point now);
  // Returns the endpoint's template; "" when the service is not in the
  // inventory (a response is recorded only for a known service).
  std::string RecordResponse(const ServiceKey& service, const ResponseFacts& facts,
                             std::chrono::system_clock::time_point now);
  // DLP detector ids found in a response to `method` `path`.
  void RecordSensitiveData(const ServiceKey& service, std::string_view method, std::string_view path,
                           const std::vector<std::string>& detector_ids);
  // Pins the routes of a spec in the service's templater (PathTemplater::Pin),
  // creating the service when there is room.
  void Pin(const ServiceKey& service, const std::vector<std::string>& path_templates);

  std::vector<ServiceInventory> Snapshot() const;
  InventoryStats stats() const;
  const InventoryLimits& limits() const { return limits_; }

 private:
  struct Service;
  Service* ServiceFor(const ServiceKey& key, bool count_refusal);
  void Retemplate(Service& service);

  const InventoryLimits limits_;
  mutable std::mutex mu_;
  std::map<ServiceKey, std::unique_ptr<Service>> services_;
  uint64_t dropped_service_requests_ = 0;
};

}  // namespace rampart::apis

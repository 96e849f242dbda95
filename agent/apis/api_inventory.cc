#include "agent/apis/api_inventory.h"

#include <algorithm>
#include <utility>

#include "agent/common/strings.h"

namespace rampart::apis {
namespace {

using Clock = std::chrono::system_clock;

// "application/json; charset=utf-8" -> "application/json"; "" unless it is
// type "/" subtype in token characters, at most 64 bytes.
std::string MediaType(std::string_view value) {
  value = value.substr(0, value.find(';'));
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty() || value.size() > 64) return {};
  const size_t slash = value.find('/');
  if (slash == 0 || slash == std::string_view::npos || slash + 1 == value.size()) return {};
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    const bool token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       std::string_view("!#$&^_.+-").find(c) != std::string_view::npos;
    if (!token && !(c == '/' && i == slash)) return {};
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out.push_back(c);
  }
  return out;
}

// A method as the inventory keys it: a token of at most 16 characters
// (upper-cased), else "OTHER".
std::string MethodKey(std::string_view method) {
  if (method.empty() || method.size() > 16) return "OTHER";
  std::string out;
  for (char c : method) {
    const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (!letter && c != '-' && c != '_') return "OTHER";
    out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

void InsertCapped(std::set<std::string>& set, std::string value, size_t cap, uint64_t& dropped) {
  if (value.empty() || set.contains(value)) return;
  if (set.size() >= cap) {
    ++dropped;
    return;
  }
  set.insert(std::move(value));
}

void MergeEndpoint(EndpointStats& into, const EndpointStats& from) {
  into.requests += from.requests;
  into.responses += from.responses;
  for (const auto& [status, n] : from.statuses) {
    if (into.statuses.contains(status) || into.statuses.size() < EndpointStats::kMaxStatuses) {
      into.statuses[status] += n;
    } else {
      into.dropped_values += n;
    }
  }
  into.auth_schemes |= from.auth_schemes;
  for (const auto& v : from.request_content_types) {
    InsertCapped(into.request_content_types, v, EndpointStats::kMaxContentTypes, into.dropped_values);
  }
  for (const auto& v : from.response_content_types) {
    InsertCapped(into.response_content_types, v, EndpointStats::kMaxContentTypes, into.dropped_values);
  }
  for (const auto& v : from.query_parameters) {
    InsertCapped(into.query_parameters, v, EndpointStats::kMaxQueryParameters, into.dropped_values);
  }
  for (const auto& v : from.sensitive_data) {
    InsertCapped(into.sensitive_data, v, EndpointStats::kMaxSensitiveData, into.dropped_values);
  }
  into.request_bytes.Merge(from.request_bytes);
  into.response_bytes.Merge(from.response_bytes);
  if (from.requests + from.responses > 0) {
    if (into.first_seen == Clock::time_point{} || from.first_seen < into.first_seen) into.first_seen = from.first_seen;
    if (from.last_seen > into.last_seen) {
      into.last_seen = from.last_seen;
      into.spec = from.spec;
    }
  }
  into.dropped_values += from.dropped_values;
  if (into.parameter_kinds.size() < from.parameter_kinds.size())
    into.parameter_kinds.resize(from.parameter_kinds.size());
  for (size_t i = 0; i < from.parameter_kinds.size(); ++i) into.parameter_kinds[i] |= from.parameter_kinds[i];
}

void Touch(EndpointStats& e, Clock::time_point now) {
  if (e.first_seen == Clock::time_point{} || now < e.first_seen) e.first_seen = now;
  if (now > e.last_seen) e.last_seen = now;
}

}  // namespace

std::string ServiceName(const ServiceKey& key) {
  std::string host = key.host.find(':') != std::string::npos ? rampart::StrCat("[", key.host, "]") : key.host;
  return rampart::StrCat(host.empty() ? std::string("?") : host, ":", key.port, " (", key.process, ")");
}

std::vector<std::string> AuthSchemeNames(uint32_t schemes) {
  static constexpr std::pair<AuthScheme, const char*> kNames[] = {
      {kAuthNone, "none"},      {kAuthBasic, "basic"}, {kAuthBearer, "bearer"}, {kAuthJwt, "jwt"},
      {kAuthApiKey, "api_key"}, {kAuthMtls, "mtls"},   {kAuthCookie, "cookie"}};
  std::vector<std::string> out;
  for (const auto& [bit, name] : kNames) {
    if (schemes & bit) out.emplace_back(name);
  }
  return out;
}

std::string_view SpecStatusName(SpecStatus status) {
  switch (status) {
    case SpecStatus::kNoSpec:
      return "no spec";
    case SpecStatus::kDocumented:
      return "documented";
    case SpecStatus::kShadow:
      return "shadow";
    case SpecStatus::kZombie:
      return "zombie";
  }
  return "unknown";
}

void SizeStats::Add(uint64_t bytes) {
  min = count == 0 ? bytes : std::min(min, bytes);
  max = std::max(max, bytes);
  ++count;
  sum += bytes;
  size_t bucket = 0;
  uint64_t limit = 256;
  while (bucket + 1 < kBuckets && bytes >= limit) {
    ++bucket;
    limit *= 4;
  }
  ++buckets[bucket];
}

void SizeStats::Merge(const SizeStats& other) {
  if (other.count == 0) return;
  min = count == 0 ? other.min : std::min(min, other.min);
  max = std::max(max, other.max);
  count += other.count;
  sum += other.sum;
  for (size_t i = 0; i < kBuckets; ++i) buckets[i] += other.buckets[i];
}

struct ApiInventory::Service {
  explicit Service(const TemplaterLimits& limits) : templater(limits) {}
  PathTemplater templater;
  std::map<std::pair<std::string, std::string>, EndpointStats> endpoints;  // (template, method)
  uint64_t dropped_requests = 0;
};

ApiInventory::ApiInventory(InventoryLimits limits) : limits_(limits) {}
ApiInventory::~ApiInventory() = default;

ApiInventory::Service* ApiInventory::ServiceFor(const ServiceKey& key, bool count_refusal) {
  auto it = services_.find(key);
  if (it != services_.end()) return it->second.get();
  if (services_.size() >= limits_.max_services) {
    if (count_refusal) ++dropped_service_requests_;
    return nullptr;
  }
  return services_.emplace(key, std::make_unique<Service>(limits_.templater)).first->second.get();
}

RecordedRequest ApiInventory::RecordRequest(const ServiceKey& key, const RequestFacts& facts, Clock::time_point now) {
  std::lock_guard lock(mu_);
  RecordedRequest out;
  Service* service = ServiceFor(key, /*count_refusal=*/true);
  if (service == nullptr) {
    // Still template the path, with a throwaway templater, so the caller
    // gets parameters (its BOLA and limits do not depend on the inventory).
    PathTemplater scratch(limits_.templater);
    TemplatedPath shape = scratch.Learn(facts.path);
    out.path = std::move(shape);
    return out;
  }
  bool promoted = false;
  out.path = service->templater.Learn(facts.path, &promoted);
  if (promoted) Retemplate(*service);
  auto endpoint_key = std::make_pair(out.path.text, MethodKey(facts.method));
  auto it = service->endpoints.find(endpoint_key);
  if (it == service->endpoints.end()) {
    if (service->endpoints.size() >= limits_.max_endpoints_per_service) {
      ++service->dropped_requests;
      return out;
    }
    it = service->endpoints.emplace(endpoint_key, EndpointStats{}).first;
    it->second.path_template = endpoint_key.first;
    it->second.method = endpoint_key.second;
  }
  out.recorded = true;
  EndpointStats& e = it->second;
  ++e.requests;
  Touch(e, now);
  e.spec = facts.spec;
  e.auth_schemes |= facts.auth_schemes;
  if (e.parameter_kinds.size() < out.path.kinds.size()) e.parameter_kinds.resize(out.path.kinds.size());
  for (size_t i = 0; i < out.path.kinds.size(); ++i) {
    e.parameter_kinds[i] |= static_cast<uint8_t>(1u << static_cast<unsigned>(out.path.kinds[i]));
  }
  if (!facts.content_type.empty()) {
    InsertCapped(e.request_content_types, MediaType(facts.content_type), EndpointStats::kMaxContentTypes,
                 e.dropped_values);
  }
  if (facts.query_parameters) {
    for (const auto& name : *facts.query_parameters) {
      InsertCapped(e.query_parameters, name, EndpointStats::kMaxQueryParameters, e.dropped_values);
    }
  }
  e.request_bytes.Add(facts.bytes);
  return out;
}

std::string ApiInventory::RecordResponse(const ServiceKey& key, const ResponseFacts& facts, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto sit = services_.find(key);
  if (sit == services_.end()) return {};
  Service& service = *sit->second;
  const TemplatedPath path = service.templater.Apply(facts.path);
  auto endpoint_key = std::make_pair(path.text, MethodKey(facts.method));
  auto it = service.endpoints.find(endpoint_key);
  if (it == service.endpoints.end()) {
    if (service.endpoints.size() >= limits_.max_endpoints_per_service) {
      ++service.dropped_requests;
      return path.text;
    }
    it = service.endpoints.emplace(endpoint_key, EndpointStats{}).first;
    it->second.path_template = endpoint_key.first;
    it->second.method = endpoint_key.second;
  }
  EndpointStats& e = it->second;
  ++e.responses;
  Touch(e, now);
  if (e.statuses.contains(facts.status) || e.statuses.size() < EndpointStats::kMaxStatuses) {
    ++e.statuses[facts.status];
  } else {
    ++e.dropped_values;
  }
  if (!facts.content_type.empty()) {
    InsertCapped(e.response_content_types, MediaType(facts.content_type), EndpointStats::kMaxContentTypes,
                 e.dropped_values);
  }
  e.response_bytes.Add(facts.bytes);
  return path.text;
}

void ApiInventory::RecordSensitiveData(const ServiceKey& key, std::string_view method, std::string_view path,
                                       const std::vector<std::string>& detector_ids) {
  std::lock_guard lock(mu_);
  auto sit = services_.find(key);
  if (sit == services_.end()) return;
  Service& service = *sit->second;
  auto it = service.endpoints.find(std::make_pair(service.templater.Apply(path).text, MethodKey(method)));
  if (it == service.endpoints.end()) return;
  for (const auto& id : detector_ids) {
    InsertCapped(it->second.sensitive_data, id, EndpointStats::kMaxSensitiveData, it->second.dropped_values);
  }
}

void ApiInventory::Pin(const ServiceKey& key, const std::vector<std::string>& path_templates) {
  std::lock_guard lock(mu_);
  Service* service = ServiceFor(key, /*count_refusal=*/false);
  if (service == nullptr) return;
  for (const auto& t : path_templates) service->templater.Pin(t);
}

// After a promotion, endpoints recorded under values that folded into a
// parameter merge into the parameter's endpoint.
void ApiInventory::Retemplate(Service& service) {
  std::map<std::pair<std::string, std::string>, EndpointStats> rebuilt;
  for (auto& [key, stats] : service.endpoints) {
    const TemplatedPath now = service.templater.Apply(key.first);
    if (now.text == key.first) {
      auto [it, inserted] = rebuilt.try_emplace(key);
      if (inserted) {
        it->second = std::move(stats);
      } else {
        MergeEndpoint(it->second, stats);
      }
      continue;
    }
    // Parameters that were parameters before keep their kinds; a folded
    // value's position is a cardinality parameter.
    EndpointStats moved = std::move(stats);
    std::vector<uint8_t> kinds;
    size_t old_index = 0;
    for (size_t i = 0; i < now.values.size(); ++i) {
      const bool was_parameter = !now.values[i].empty() && now.values[i].front() == '{';
      if (was_parameter && old_index < moved.parameter_kinds.size()) {
        kinds.push_back(moved.parameter_kinds[old_index++]);
      } else {
        kinds.push_back(static_cast<uint8_t>(1u << static_cast<unsigned>(SegmentKind::kCardinality)));
      }
    }
    moved.parameter_kinds = std::move(kinds);
    moved.path_template = now.text;
    auto [it, inserted] = rebuilt.try_emplace(std::make_pair(now.text, key.second));
    if (inserted) {
      it->second = std::move(moved);
    } else {
      MergeEndpoint(it->second, moved);
    }
  }
  service.endpoints = std::move(rebuilt);
}

std::vector<ServiceInventory> ApiInventory::Snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<ServiceInventory> out;
  for (const auto& [key, service] : services_) {
    ServiceInventory s;
    s.key = key;
    s.dropped_requests = service->dropped_requests;
    s.templater_nodes = service->templater.nodes();
    s.promotions = service->templater.promotions();
    for (const auto& [k, e] : service->endpoints) s.endpoints.push_back(e);
    out.push_back(std::move(s));
  }
  return out;
}

InventoryStats ApiInventory::stats() const {
  std::lock_guard lock(mu_);
  InventoryStats s;
  s.services = services_.size();
  s.dropped_service_requests = dropped_service_requests_;
  for (const auto& [key, service] : services_) {
    s.endpoints += service->endpoints.size();
    s.dropped_endpoint_requests += service->dropped_requests;
  }
  return s;
}

}  // namespace rampart::apis

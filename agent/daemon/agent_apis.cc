// The agent's side of API analytics (docs/apis.md): the inventory served to
// `rampartctl apis`, and the apis family's counters in status.
#include <string>

#include "absl/status/status.h"
#include "agent/apis/api_analytics_detector.h"
#include "agent/apis/api_inventory.h"
#include "agent/apis/openapi_export.h"
#include "agent/common/strings.h"
#include "agent/common/utc_time.h"
#include "agent/daemon/agent.h"

namespace rampart::agent {
namespace {

void FillSizes(const apis::SizeStats& in, v1::ApiBodySizes& out) {
  out.set_count(in.count);
  out.set_min(in.min);
  out.set_max(in.max);
  out.set_sum(in.sum);
  for (uint64_t b : in.buckets) out.add_buckets(b);
}

// "number|uuid" from the bits (1 << SegmentKind) of one parameter.
std::string KindNames(uint8_t bits) {
  std::string out;
  for (int kind = 0; kind < 8; ++kind) {
    if ((bits & (1u << kind)) == 0) continue;
    if (!out.empty()) out += "|";
    out += apis::SegmentKindName(static_cast<apis::SegmentKind>(kind));
  }
  return out;
}

// A service by its name, host, host:port or process.
bool ServiceMatches(const apis::ServiceKey& key, const std::string& wanted) {
  return wanted == apis::ServiceName(key) || wanted == key.host || wanted == key.process ||
         wanted == rampart::StrCat(key.host, ":", key.port);
}

void FillService(const apis::ServiceInventory& in, v1::ApiService& out) {
  out.set_name(apis::ServiceName(in.key));
  out.set_process(in.key.process);
  out.set_host(in.key.host);
  out.set_port(in.key.port);
  out.set_dropped_requests(in.dropped_requests);
  out.set_templater_nodes(in.templater_nodes);
  out.set_promotions(in.promotions);
  for (const apis::EndpointStats& e : in.endpoints) {
    v1::ApiEndpoint* endpoint = out.add_endpoints();
    endpoint->set_method(e.method);
    endpoint->set_path_template(e.path_template);
    for (uint8_t bits : e.parameter_kinds) endpoint->add_parameter_kinds(KindNames(bits));
    endpoint->set_requests(e.requests);
    endpoint->set_responses(e.responses);
    for (const auto& [status, count] : e.statuses) (*endpoint->mutable_statuses())[static_cast<uint32_t>(status)] = count;
    for (const std::string& scheme : apis::AuthSchemeNames(e.auth_schemes)) endpoint->add_auth_schemes(scheme);
    for (const std::string& type : e.request_content_types) endpoint->add_request_content_types(type);
    for (const std::string& type : e.response_content_types) endpoint->add_response_content_types(type);
    for (const std::string& name : e.query_parameters) endpoint->add_query_parameters(name);
    for (const std::string& id : e.sensitive_data) endpoint->add_sensitive_data(id);
    FillSizes(e.request_bytes, *endpoint->mutable_request_bytes());
    FillSizes(e.response_bytes, *endpoint->mutable_response_bytes());
    endpoint->set_first_seen_unix_ms(UnixMs(e.first_seen));
    endpoint->set_last_seen_unix_ms(UnixMs(e.last_seen));
    endpoint->set_spec(std::string(apis::SpecStatusName(e.spec)));
    endpoint->set_dropped_values(e.dropped_values);
  }
}

std::string ActionName(const apis::AlertAction& action) { return action.block ? "block" : "monitor"; }

}  // namespace

absl::StatusOr<v1::ApiInventoryReply> Agent::ListApis(const v1::ListApisRequest& request) {
  const std::string& format = request.openapi();
  if (!format.empty() && format != "yaml" && format != "json") {
    return absl::InvalidArgumentError(rampart::StrCat("bad OpenAPI format \"", format, "\" (expected yaml or json)"));
  }
  std::shared_ptr<apis::ApiInventory> inventory;
  {
    std::lock_guard lock(mu_);
    inventory = api_inventory_;
  }
  if (inventory == nullptr) {
    return absl::FailedPreconditionError(
        "API analytics is off on this node: no policy applied here has spec.inspection.apis");
  }
  v1::ApiInventoryReply reply;
  bool enabled = false;
  pipeline_->VisitDetectors([&](const inspect::Detector& detector) { enabled |= detector.family() == "apis"; });
  reply.set_enabled(enabled);
  std::string names;
  for (const apis::ServiceInventory& service : inventory->Snapshot()) {
    names += rampart::StrCat(names.empty() ? "" : ", ", apis::ServiceName(service.key));
    if (!request.service().empty() && !ServiceMatches(service.key, request.service())) continue;
    v1::ApiService* out = reply.add_services();
    FillService(service, *out);
    if (!format.empty()) {
      out->set_openapi(apis::RenderOpenApi(service, format == "yaml" ? apis::OpenApiFormat::kYaml
                                                                      : apis::OpenApiFormat::kJson));
    }
  }
  if (!request.service().empty() && reply.services().empty()) {
    return absl::NotFoundError(rampart::StrCat("no service matches \"", request.service(), "\" (services: ",
                                               names.empty() ? "none yet" : names, ")"));
  }
  return reply;
}

void Agent::FillApiAnalyticsStatus(v1::InspectionStatus& out) {
  pipeline_->VisitDetectors([&](const inspect::Detector& detector) {
    const auto* analytics = dynamic_cast<const apis::ApiAnalyticsDetector*>(&detector);
    if (analytics == nullptr) return;
    const apis::ApiAnalyticsStats s = analytics->stats();
    v1::ApiAnalyticsStatus* a = out.mutable_apis();
    a->set_requests(s.requests);
    a->set_responses(s.responses);
    a->set_client_side_skipped(s.client_side_skipped);
    a->set_unpaired_responses(s.unpaired_responses);
    a->set_alerts_suppressed(s.alerts_suppressed);
    a->set_findings(s.findings);
    a->set_services(s.inventory.services);
    a->set_endpoints(s.inventory.endpoints);
    a->set_dropped_service_requests(s.inventory.dropped_service_requests);
    a->set_dropped_endpoint_requests(s.inventory.dropped_endpoint_requests);
    a->set_rate_limit_identities(s.rate_limiter.identities);
    a->set_rate_limit_evicted(s.rate_limiter.evicted);
    a->set_rate_limit_refused(s.rate_limiter.refused);
    a->set_bola_tracked(s.object_access.tracked);
    a->set_bola_evicted(s.object_access.evicted);
    a->set_bola_flagged_windows(s.object_access.flagged_windows);
    a->set_bola_sketch_bytes(s.object_access.sketch_bytes);
    a->set_bulk_tracked(s.bulk.tracked);
    a->set_bulk_evicted(s.bulk.evicted);
    a->set_bulk_flagged(s.bulk.flagged);
    const apis::ApiAlerts& alerts = analytics->config().alerts;
    auto& actions = *a->mutable_alerts();
    actions["shadowEndpoint"] = ActionName(alerts.shadow_endpoint);
    actions["zombieEndpoint"] = ActionName(alerts.zombie_endpoint);
    actions["undocumentedParameter"] = ActionName(alerts.undocumented_parameter);
    actions["rateLimit"] = ActionName(alerts.rate_limit);
    actions["bola"] = ActionName(alerts.bola);
    actions["bulkExtraction"] = ActionName(alerts.bulk_extraction);
  });
}

}  // namespace rampart::agent

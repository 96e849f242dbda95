#include "agent/apis/policy_section.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <string>

#include "agent/apis/rate_limiter.h"
#include "agent/common/strings.h"
#include "agent/policy/validate.h"

namespace rampart::apis {
namespace {

// Whether `map` gives `key` a value (a null value is absent).
bool Given(const YAML::Node& map, const char* key) {
  if (!map || !map.IsMap()) return false;
  const YAML::Node value = map[key];
  return value.IsDefined() && !value.IsNull();
}

YAML::Node Child(const YAML::Node& map, const char* key) {
  if (!map || !map.IsMap()) return YAML::Node();
  return map[key];
}

void SetAlert(const AlertAction& action, v1::ApiAlert& out) {
  out.set_action(action.block ? v1::VERDICT_ACTION_BLOCK : v1::VERDICT_ACTION_MONITOR);
  out.set_block_ttl_seconds(static_cast<uint32_t>(action.block_ttl.count()));
}

std::string DecimalText(double value) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::fixed);
  return ec == std::errc() ? std::string(buf, end) : "0";
}

YAML::Node Text(const std::string& value) { return YAML::Node(value); }

YAML::Node Seconds(uint64_t seconds) { return Text(rampart::StrCat(seconds, "s")); }

YAML::Node Number(uint64_t value) { return Text(rampart::StrCat(value)); }

YAML::Node StringList(const google::protobuf::RepeatedPtrField<std::string>& items) {
  YAML::Node list(YAML::NodeType::Sequence);
  for (const std::string& item : items) list.push_back(item);
  return list;
}

YAML::Node AlertNode(const v1::ApiAlert& alert) {
  YAML::Node node(YAML::NodeType::Map);
  node["action"] = alert.action() == v1::VERDICT_ACTION_BLOCK ? "block" : "monitor";
  if (alert.block_ttl_seconds() != 0) node["blockTtl"] = Seconds(alert.block_ttl_seconds());
  return node;
}

// The section as the YAML it was read from (fields left out stay out).
YAML::Node ToYaml(const v1::ApiInspection& in) {
  YAML::Node root(YAML::NodeType::Map);
  if (in.openapi_size() > 0) {
    YAML::Node list(YAML::NodeType::Sequence);
    for (const auto& b : in.openapi()) {
      YAML::Node binding(YAML::NodeType::Map);
      if (!b.process().empty()) binding["process"] = b.process();
      if (!b.host().empty()) binding["host"] = b.host();
      if (b.port() != 0) binding["port"] = Number(b.port());
      binding["spec"] = b.spec();
      list.push_back(binding);
    }
    root["openapi"] = list;
  }
  if (in.has_identity()) {
    YAML::Node identity(YAML::NodeType::Map);
    identity["apiKeyHeaders"] = StringList(in.identity().api_key_headers());
    identity["jwt"] = in.identity().jwt() ? "true" : "false";
    identity["mtlsHeaders"] = StringList(in.identity().mtls_headers());
    if (!in.identity().mtls_peer().empty()) identity["mtlsPeer"] = in.identity().mtls_peer();
    identity["addressFallback"] = in.identity().address_fallback() ? "true" : "false";
    root["identity"] = identity;
  }
  if (in.has_rate_limits()) {
    YAML::Node limits(YAML::NodeType::Map);
    const auto& r = in.rate_limits();
    if (!r.reads().empty()) limits["reads"] = r.reads();
    if (!r.writes().empty()) limits["writes"] = r.writes();
    if (r.max_identities() != 0) limits["maxIdentities"] = Number(r.max_identities());
    root["rateLimits"] = limits;
  }
  if (in.has_bola()) {
    YAML::Node bola(YAML::NodeType::Map);
    const auto& b = in.bola();
    if (b.window_seconds() != 0) bola["window"] = Seconds(b.window_seconds());
    if (b.min_distinct() != 0) bola["minDistinct"] = Number(b.min_distinct());
    if (b.baseline_factor() != 0) bola["baselineFactor"] = DecimalText(b.baseline_factor());
    if (b.precision() != 0) bola["precision"] = Number(b.precision());
    if (b.max_tracked() != 0) bola["maxTracked"] = Number(b.max_tracked());
    root["bola"] = bola;
  }
  if (in.has_bulk_extraction()) {
    YAML::Node bulk(YAML::NodeType::Map);
    const auto& b = in.bulk_extraction();
    if (b.warmup() != 0) bulk["warmup"] = Number(b.warmup());
    if (b.factor() != 0) bulk["factor"] = DecimalText(b.factor());
    if (b.min_records() != 0) bulk["minRecords"] = Number(b.min_records());
    if (b.min_bytes() != 0) bulk["minBytes"] = Number(b.min_bytes());
    if (b.max_tracked() != 0) bulk["maxTracked"] = Number(b.max_tracked());
    root["bulkExtraction"] = bulk;
  }
  if (in.has_inventory()) {
    YAML::Node inventory(YAML::NodeType::Map);
    const auto& i = in.inventory();
    if (i.max_services() != 0) inventory["maxServices"] = Number(i.max_services());
    if (i.max_endpoints_per_service() != 0) inventory["maxEndpointsPerService"] = Number(i.max_endpoints_per_service());
    if (i.param_threshold() != 0) inventory["paramThreshold"] = Number(i.param_threshold());
    root["inventory"] = inventory;
  }
  if (in.has_alerts()) {
    YAML::Node alerts(YAML::NodeType::Map);
    const auto& a = in.alerts();
    if (a.has_shadow_endpoint()) alerts["shadowEndpoint"] = AlertNode(a.shadow_endpoint());
    if (a.has_zombie_endpoint()) alerts["zombieEndpoint"] = AlertNode(a.zombie_endpoint());
    if (a.has_undocumented_parameter()) alerts["undocumentedParameter"] = AlertNode(a.undocumented_parameter());
    if (a.has_rate_limit()) alerts["rateLimit"] = AlertNode(a.rate_limit());
    if (a.has_bola()) alerts["bola"] = AlertNode(a.bola());
    if (a.has_bulk_extraction()) alerts["bulkExtraction"] = AlertNode(a.bulk_extraction());
    root["alerts"] = alerts;
  }
  if (in.realert_after_seconds() != 0) root["realertAfter"] = Seconds(in.realert_after_seconds());
  return root;
}

void AddUnique(const google::protobuf::RepeatedPtrField<std::string>& from,
               google::protobuf::RepeatedPtrField<std::string>* into) {
  for (const auto& item : from) {
    if (std::find(into->begin(), into->end(), item) == into->end()) into->Add(std::string(item));
  }
}

// Block wins; among the blocking alerts, the longest TTL given.
void MergeAlert(const v1::ApiAlert& from, v1::ApiAlert& into) {
  const bool from_blocks = from.action() == v1::VERDICT_ACTION_BLOCK;
  const bool into_blocks = into.action() == v1::VERDICT_ACTION_BLOCK;
  if (from_blocks && !into_blocks) {
    into = from;
  } else if (from_blocks) {
    into.set_block_ttl_seconds(std::max(into.block_ttl_seconds(), from.block_ttl_seconds()));
  } else if (into.action() == v1::VERDICT_ACTION_UNSPECIFIED) {
    into.set_action(v1::VERDICT_ACTION_MONITOR);
  }
}

// Each field of `into` still at 0 or "" takes `from`'s.
template <typename T>
void FirstSet(const T& from, T& into) {
  const auto* descriptor = T::descriptor();
  const auto* reflection = T::GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* field = descriptor->field(i);
    if (reflection->HasField(into, field) || !reflection->HasField(from, field)) continue;
    using google::protobuf::FieldDescriptor;
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_UINT32:
        reflection->SetUInt32(&into, field, reflection->GetUInt32(from, field));
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        reflection->SetUInt64(&into, field, reflection->GetUInt64(from, field));
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        reflection->SetDouble(&into, field, reflection->GetDouble(from, field));
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        reflection->SetString(&into, field, reflection->GetString(from, field));
        break;
      default:
        break;  // the threshold messages hold numbers and strings only
    }
  }
}

}  // namespace

absl::Status ApiInspectionFromYaml(const YAML::Node& node, std::string_view source, std::string_view path,
                                   v1::ApiInspection& out) {
  auto parsed = ParseApiAnalyticsConfig(node, source, path);
  if (!parsed.ok()) return parsed.status();
  const ApiAnalyticsConfig& config = *parsed;
  out.Clear();
  for (const OpenApiBinding& b : config.openapi) {
    auto* binding = out.add_openapi();
    binding->set_process(b.process);
    binding->set_host(b.host);
    binding->set_port(b.port);
    binding->set_spec(b.spec_file);
  }
  if (Given(node, "identity")) {
    auto* identity = out.mutable_identity();
    for (const std::string& h : config.identity.api_key_headers) identity->add_api_key_headers(h);
    identity->set_jwt(config.identity.jwt);
    for (const std::string& h : config.identity.mtls_headers) identity->add_mtls_headers(h);
    identity->set_mtls_peer(std::string(MtlsPeerModeName(config.identity.mtls_peer)));
    identity->set_address_fallback(config.identity.address_fallback);
  }
  if (const YAML::Node limits = Child(node, "rateLimits"); Given(node, "rateLimits")) {
    auto* r = out.mutable_rate_limits();
    if (config.rate_limits.reads) r->set_reads(FormatRateLimit(*config.rate_limits.reads));
    if (config.rate_limits.writes) r->set_writes(FormatRateLimit(*config.rate_limits.writes));
    if (Given(limits, "maxIdentities")) r->set_max_identities(config.max_identities);
  }
  if (const YAML::Node bola = Child(node, "bola"); Given(node, "bola")) {
    auto* b = out.mutable_bola();
    if (Given(bola, "window")) b->set_window_seconds(static_cast<uint32_t>(config.bola.window.count()));
    if (Given(bola, "minDistinct")) b->set_min_distinct(config.bola.min_distinct);
    if (Given(bola, "baselineFactor")) b->set_baseline_factor(config.bola.baseline_factor);
    if (Given(bola, "precision")) b->set_precision(static_cast<uint32_t>(config.bola.hll_precision));
    if (Given(bola, "maxTracked")) b->set_max_tracked(config.bola.max_tracked);
  }
  if (const YAML::Node bulk = Child(node, "bulkExtraction"); Given(node, "bulkExtraction")) {
    auto* b = out.mutable_bulk_extraction();
    if (Given(bulk, "warmup")) b->set_warmup(config.bulk.warmup);
    if (Given(bulk, "factor")) b->set_factor(config.bulk.factor);
    if (Given(bulk, "minRecords")) b->set_min_records(config.bulk.min_records);
    if (Given(bulk, "minBytes")) b->set_min_bytes(config.bulk.min_bytes);
    if (Given(bulk, "maxTracked")) b->set_max_tracked(config.bulk.max_tracked);
  }
  if (const YAML::Node inventory = Child(node, "inventory"); Given(node, "inventory")) {
    auto* i = out.mutable_inventory();
    if (Given(inventory, "maxServices")) i->set_max_services(static_cast<uint32_t>(config.inventory.max_services));
    if (Given(inventory, "maxEndpointsPerService")) {
      i->set_max_endpoints_per_service(static_cast<uint32_t>(config.inventory.max_endpoints_per_service));
    }
    if (Given(inventory, "paramThreshold")) {
      i->set_param_threshold(static_cast<uint32_t>(config.inventory.templater.param_threshold));
    }
  }
  if (const YAML::Node alerts = Child(node, "alerts"); Given(node, "alerts")) {
    auto* a = out.mutable_alerts();
    const ApiAlerts& c = config.alerts;
    if (Given(alerts, "shadowEndpoint")) SetAlert(c.shadow_endpoint, *a->mutable_shadow_endpoint());
    if (Given(alerts, "zombieEndpoint")) SetAlert(c.zombie_endpoint, *a->mutable_zombie_endpoint());
    if (Given(alerts, "undocumentedParameter")) {
      SetAlert(c.undocumented_parameter, *a->mutable_undocumented_parameter());
    }
    if (Given(alerts, "rateLimit")) SetAlert(c.rate_limit, *a->mutable_rate_limit());
    if (Given(alerts, "bola")) SetAlert(c.bola, *a->mutable_bola());
    if (Given(alerts, "bulkExtraction")) SetAlert(c.bulk_extraction, *a->mutable_bulk_extraction());
  }
  if (Given(node, "realertAfter")) out.set_realert_after_seconds(static_cast<uint32_t>(config.realert_after.count()));
  return absl::OkStatus();
}

absl::StatusOr<ApiAnalyticsConfig> ApiConfigFromProto(const v1::ApiInspection& section, std::string_view source,
                                                      std::string_view path) {
  YAML::Node node;
  try {
    node = ToYaml(section);
  } catch (const YAML::Exception& e) {
    return policy::FieldError(source, 0, path, rampart::StrCat("cannot read: ", e.msg));
  }
  return ParseApiAnalyticsConfig(node, source, path);
}

v1::ApiInspection MergeApiInspections(const std::vector<const v1::ApiInspection*>& sections) {
  v1::ApiInspection merged;
  const IdentityOptions defaults;
  auto* identity = merged.mutable_identity();
  bool identity_set = false;
  for (const v1::ApiInspection* in : sections) {
    for (const auto& binding : in->openapi()) {
      const bool seen = std::any_of(merged.openapi().begin(), merged.openapi().end(), [&](const auto& b) {
        return b.process() == binding.process() && b.host() == binding.host() && b.port() == binding.port() &&
               b.spec() == binding.spec();
      });
      if (!seen) *merged.add_openapi() = binding;
    }
    if (in->has_identity()) {
      AddUnique(in->identity().api_key_headers(), identity->mutable_api_key_headers());
      AddUnique(in->identity().mtls_headers(), identity->mutable_mtls_headers());
      if (!identity_set) {
        identity->set_jwt(in->identity().jwt());
        identity->set_address_fallback(in->identity().address_fallback());
        identity->set_mtls_peer(in->identity().mtls_peer());
        identity_set = true;
      }
    } else {
      for (const std::string& h : defaults.api_key_headers) {
        if (std::find(identity->api_key_headers().begin(), identity->api_key_headers().end(), h) ==
            identity->api_key_headers().end()) {
          identity->add_api_key_headers(h);
        }
      }
      for (const std::string& h : defaults.mtls_headers) {
        if (std::find(identity->mtls_headers().begin(), identity->mtls_headers().end(), h) ==
            identity->mtls_headers().end()) {
          identity->add_mtls_headers(h);
        }
      }
    }
    if (in->has_rate_limits()) FirstSet(in->rate_limits(), *merged.mutable_rate_limits());
    if (in->has_bola()) FirstSet(in->bola(), *merged.mutable_bola());
    if (in->has_bulk_extraction()) FirstSet(in->bulk_extraction(), *merged.mutable_bulk_extraction());
    if (in->has_inventory()) FirstSet(in->inventory(), *merged.mutable_inventory());
    if (in->has_alerts()) {
      const auto& a = in->alerts();
      auto* m = merged.mutable_alerts();
      if (a.has_shadow_endpoint()) MergeAlert(a.shadow_endpoint(), *m->mutable_shadow_endpoint());
      if (a.has_zombie_endpoint()) MergeAlert(a.zombie_endpoint(), *m->mutable_zombie_endpoint());
      if (a.has_undocumented_parameter()) {
        MergeAlert(a.undocumented_parameter(), *m->mutable_undocumented_parameter());
      }
      if (a.has_rate_limit()) MergeAlert(a.rate_limit(), *m->mutable_rate_limit());
      if (a.has_bola()) MergeAlert(a.bola(), *m->mutable_bola());
      if (a.has_bulk_extraction()) MergeAlert(a.bulk_extraction(), *m->mutable_bulk_extraction());
    }
    if (merged.realert_after_seconds() == 0) merged.set_realert_after_seconds(in->realert_after_seconds());
  }
  if (!identity_set) {
    identity->set_jwt(defaults.jwt);
    identity->set_address_fallback(defaults.address_fallback);
    identity->set_mtls_peer(std::string(MtlsPeerModeName(defaults.mtls_peer)));
  }
  return merged;
}

}  // namespace rampart::apis

#include "controlplane/events/fleet_inventory.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "agent/common/strings.h"

namespace rampart::cp {
namespace {

int SpecRank(const std::string& spec) {
  if (spec == "zombie") return 3;
  if (spec == "shadow") return 2;
  if (spec == "documented") return 1;
  return 0;
}

void MergeSizes(v1::ApiBodySizes& into, const v1::ApiBodySizes& from) {
  if (from.count() == 0) return;
  into.set_min(into.count() == 0 ? from.min() : std::min(into.min(), from.min()));
  into.set_max(std::max(into.max(), from.max()));
  into.set_count(into.count() + from.count());
  into.set_sum(into.sum() + from.sum());
  while (into.buckets_size() < from.buckets_size()) into.add_buckets(0);
  for (int i = 0; i < from.buckets_size(); ++i) into.set_buckets(i, into.buckets(i) + from.buckets(i));
}

// Adds the values of `from` not yet in `into`, keeping the result sorted.
void Unite(google::protobuf::RepeatedPtrField<std::string>& into,
           const google::protobuf::RepeatedPtrField<std::string>& from) {
  std::set<std::string> all(into.begin(), into.end());
  all.insert(from.begin(), from.end());
  into.Clear();
  for (const auto& v : all) *into.Add() = v;
}

void MergeEndpoint(v1::ApiEndpoint& into, const v1::ApiEndpoint& from) {
  into.set_requests(into.requests() + from.requests());
  into.set_responses(into.responses() + from.responses());
  for (const auto& [status, count] : from.statuses()) (*into.mutable_statuses())[status] += count;
  Unite(*into.mutable_auth_schemes(), from.auth_schemes());
  Unite(*into.mutable_request_content_types(), from.request_content_types());
  Unite(*into.mutable_response_content_types(), from.response_content_types());
  Unite(*into.mutable_query_parameters(), from.query_parameters());
  Unite(*into.mutable_sensitive_data(), from.sensitive_data());
  MergeSizes(*into.mutable_request_bytes(), from.request_bytes());
  MergeSizes(*into.mutable_response_bytes(), from.response_bytes());
  if (from.first_seen_unix_ms() != 0 &&
      (into.first_seen_unix_ms() == 0 || from.first_seen_unix_ms() < into.first_seen_unix_ms())) {
    into.set_first_seen_unix_ms(from.first_seen_unix_ms());
  }
  into.set_last_seen_unix_ms(std::max(into.last_seen_unix_ms(), from.last_seen_unix_ms()));
  if (SpecRank(from.spec()) > SpecRank(into.spec())) into.set_spec(from.spec());
  into.set_dropped_values(into.dropped_values() + from.dropped_values());
  // Parameter kinds: per position, the union of the kinds' names.
  for (int i = 0; i < from.parameter_kinds_size(); ++i) {
    if (i >= into.parameter_kinds_size()) {
      into.add_parameter_kinds(from.parameter_kinds(i));
    } else if (into.parameter_kinds(i) != from.parameter_kinds(i)) {
      std::set<std::string> kinds;
      for (const auto* list : {&into.parameter_kinds(i), &from.parameter_kinds(i)}) {
        size_t start = 0;
        while (start <= list->size()) {
          size_t bar = list->find('|', start);
          if (bar == std::string::npos) bar = list->size();
          if (bar > start) kinds.insert(list->substr(start, bar - start));
          start = bar + 1;
        }
      }
      std::string joined;
      for (const auto& k : kinds) joined += (joined.empty() ? "" : "|") + k;
      into.set_parameter_kinds(i, joined);
    }
  }
}

bool Selected(const v1::ListFleetApisRequest& request, const v1::ApiService& service) {
  const std::string& want = request.service();
  if (want.empty()) return true;
  return want == service.name() || want == service.host() || want == service.process() ||
         want == rampart::StrCat(service.host(), ":", service.port());
}

}  // namespace

bool FleetInventory::Update(const std::string& node, const v1::ApiInventoryReply& inventory,
                            std::chrono::system_clock::time_point received) {
  std::lock_guard lock(mu_);
  if (!reports_.count(node) && reports_.size() >= kMaxNodes) return false;
  Report& report = reports_[node];
  report.inventory = inventory;
  for (auto& service : *report.inventory.mutable_services()) service.clear_openapi();  // not merged
  report.received_unix_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(received.time_since_epoch()).count();
  return true;
}

void FleetInventory::Forget(const std::string& node) {
  std::lock_guard lock(mu_);
  reports_.erase(node);
}

v1::FleetApis FleetInventory::Merged(const v1::ListFleetApisRequest& request) const {
  struct Merging {
    v1::FleetApiService service;
    std::set<std::string> nodes;
    std::map<std::pair<std::string, std::string>, std::pair<v1::ApiEndpoint, std::set<std::string>>> endpoints;
  };
  std::map<std::string, Merging> services;  // by name
  v1::FleetApis out;
  std::lock_guard lock(mu_);
  for (const auto& [node, report] : reports_) {
    if (out.oldest_report_unix_ms() == 0 || report.received_unix_ms < out.oldest_report_unix_ms()) {
      out.set_oldest_report_unix_ms(report.received_unix_ms);
    }
    for (const v1::ApiService& service : report.inventory.services()) {
      if (!Selected(request, service)) continue;
      Merging& m = services[service.name()];
      if (m.service.name().empty()) {
        m.service.set_name(service.name());
        m.service.set_process(service.process());
        m.service.set_host(service.host());
        m.service.set_port(service.port());
      }
      m.nodes.insert(node);
      for (const v1::ApiEndpoint& endpoint : service.endpoints()) {
        auto& [merged, nodes] = m.endpoints[{endpoint.path_template(), endpoint.method()}];
        if (nodes.empty()) {
          merged = endpoint;
        } else {
          MergeEndpoint(merged, endpoint);
        }
        nodes.insert(node);
      }
    }
  }
  out.set_nodes_reporting(static_cast<uint32_t>(reports_.size()));
  for (auto& [name, m] : services) {
    for (const auto& n : m.nodes) m.service.add_nodes(n);
    for (auto& [key, value] : m.endpoints) {
      auto* e = m.service.add_endpoints();
      *e->mutable_endpoint() = std::move(value.first);
      for (const auto& n : value.second) e->add_nodes(n);
    }
    *out.add_services() = std::move(m.service);
  }
  return out;
}

}  // namespace rampart::cp

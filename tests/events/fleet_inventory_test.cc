// The fleet's API inventory: each node's newest report, merged per service and
// endpoint: counts added, sets united, first/last seen widened, the worst spec
// status kept, and the nodes that serve each endpoint listed.
#include "controlplane/events/fleet_inventory.h"

#include <gtest/gtest.h>

#include "controlplane/events/event_store.h"

namespace rampart::cp {
namespace {

using namespace std::chrono_literals;

v1::ApiEndpoint Endpoint(const std::string& method, const std::string& path, uint64_t requests, int64_t first,
                         int64_t last, const std::string& spec, std::vector<std::string> auth) {
  v1::ApiEndpoint e;
  e.set_method(method);
  e.set_path_template(path);
  e.set_requests(requests);
  e.set_responses(requests);
  (*e.mutable_statuses())[200] = requests;
  e.set_first_seen_unix_ms(first);
  e.set_last_seen_unix_ms(last);
  e.set_spec(spec);
  for (auto& a : auth) e.add_auth_schemes(a);
  e.mutable_response_bytes()->set_count(requests);
  e.mutable_response_bytes()->set_min(100);
  e.mutable_response_bytes()->set_max(100 * requests);
  e.mutable_response_bytes()->set_sum(1000);
  return e;
}

v1::ApiInventoryReply Inventory(std::vector<v1::ApiEndpoint> endpoints, const std::string& host = "api.local") {
  v1::ApiInventoryReply reply;
  reply.set_enabled(true);
  auto* s = reply.add_services();
  s->set_name(host + ":443 (nginx)");
  s->set_host(host);
  s->set_port(443);
  s->set_process("nginx");
  for (auto& e : endpoints) *s->add_endpoints() = std::move(e);
  return reply;
}

const auto kNow = std::chrono::system_clock::time_point(1'800'000'000s);

TEST(FleetInventory, MergesOneServiceAcrossNodes) {
  FleetInventory fleet;
  fleet.Update("web-1", Inventory({Endpoint("GET", "/users/{id}", 10, 5000, 9000, "documented", {"jwt"}),
                                   Endpoint("GET", "/debug", 1, 7000, 7000, "shadow", {"none"})}),
               kNow);
  fleet.Update("web-2", Inventory({Endpoint("GET", "/users/{id}", 4, 3000, 8000, "zombie", {"api_key"})}), kNow);

  v1::FleetApis apis = fleet.Merged({});

  EXPECT_EQ(apis.nodes_reporting(), 2u);
  ASSERT_EQ(apis.services_size(), 1);
  const auto& service = apis.services(0);
  EXPECT_EQ(service.name(), "api.local:443 (nginx)");
  ASSERT_EQ(service.nodes_size(), 2);
  ASSERT_EQ(service.endpoints_size(), 2);
  const auto& debug = service.endpoints(0);  // sorted by path
  EXPECT_EQ(debug.endpoint().path_template(), "/debug");
  EXPECT_EQ(debug.endpoint().spec(), "shadow");
  ASSERT_EQ(debug.nodes_size(), 1);
  EXPECT_EQ(debug.nodes(0), "web-1");
  const auto& users = service.endpoints(1).endpoint();
  EXPECT_EQ(users.requests(), 14u);
  EXPECT_EQ(users.statuses().at(200), 14u);
  EXPECT_EQ(users.first_seen_unix_ms(), 3000);
  EXPECT_EQ(users.last_seen_unix_ms(), 9000);
  EXPECT_EQ(users.spec(), "zombie");  // the worst any node saw
  ASSERT_EQ(users.auth_schemes_size(), 2);
  EXPECT_EQ(users.auth_schemes(0), "api_key");
  EXPECT_EQ(users.auth_schemes(1), "jwt");
  EXPECT_EQ(users.response_bytes().count(), 14u);
  EXPECT_EQ(users.response_bytes().max(), 1000u);
  EXPECT_EQ(service.endpoints(1).nodes_size(), 2);
}

TEST(FleetInventory, ANewReportReplacesTheNodesPreviousOne) {
  FleetInventory fleet;
  fleet.Update("web-1", Inventory({Endpoint("GET", "/old", 5, 1, 2, "no spec", {})}), kNow);
  fleet.Update("web-1", Inventory({Endpoint("GET", "/new", 7, 3, 4, "no spec", {})}), kNow + 60s);
  v1::FleetApis apis = fleet.Merged({});
  ASSERT_EQ(apis.services_size(), 1);
  ASSERT_EQ(apis.services(0).endpoints_size(), 1);
  EXPECT_EQ(apis.services(0).endpoints(0).endpoint().path_template(), "/new");
}

TEST(FleetInventory, ForgetsADeletedNodeAndFiltersByService) {
  FleetInventory fleet;
  fleet.Update("web-1", Inventory({Endpoint("GET", "/a", 1, 1, 1, "", {})}, "api.local"), kNow);
  fleet.Update("web-2", Inventory({Endpoint("GET", "/b", 1, 1, 1, "", {})}, "shop.local"), kNow);
  v1::ListFleetApisRequest shop;
  shop.set_service("shop.local:443");
  ASSERT_EQ(fleet.Merged(shop).services_size(), 1);
  EXPECT_EQ(fleet.Merged(shop).services(0).host(), "shop.local");

  fleet.Forget("web-2");
  EXPECT_EQ(fleet.Merged(shop).services_size(), 0);
  EXPECT_EQ(fleet.Merged({}).nodes_reporting(), 1u);
}

TEST(FleetInventory, ReachesTheFleetViewThroughTheEventStreamNotTheEventLog) {
  FleetInventory fleet;
  EventStore store({}, std::chrono::system_clock::now, &fleet);
  v1::EventReport report;
  report.set_run_id("run");
  auto* event = report.add_events();
  event->set_seq(1);
  *event->mutable_api_inventory() = Inventory({Endpoint("POST", "/orders", 3, 1, 2, "documented", {"jwt"})});

  EXPECT_EQ(store.Add("web-1", report).acked_seq, 1u);

  EXPECT_TRUE(store.Recent({}, 100).empty());  // not an event for followers
  ASSERT_EQ(fleet.Merged({}).services_size(), 1);
  EXPECT_EQ(fleet.Merged({}).services(0).endpoints(0).endpoint().method(), "POST");
}

}  // namespace
}  // namespace rampart::cp

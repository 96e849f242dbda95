#include "agent/apis/api_inventory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/apis/test_support.h"

namespace rampart::apis {
namespace {

using ::testing::ElementsAre;
using testing::T0;
using ::testing::UnorderedElementsAre;

ResponseFacts Answer(std::string_view method, std::string_view path, int status, std::string_view type = "",
                     uint64_t bytes = 0) {
  return ResponseFacts{.method = method, .path = path, .status = status, .content_type = type, .bytes = bytes};
}
const ServiceKey kUsers{.process = "api-server", .host = "api.example.com", .port = 443};

RequestFacts Get(std::string_view path, uint32_t auth = kAuthJwt) {
  RequestFacts f;
  f.method = "GET";
  f.path = path;
  f.auth_schemes = auth;
  return f;
}

const EndpointStats* Find(const ServiceInventory& s, std::string_view method, std::string_view path_template) {
  for (const auto& e : s.endpoints) {
    if (e.method == method && e.path_template == path_template) return &e;
  }
  return nullptr;
}

TEST(ApiInventoryTest, RecordsWhatEachEndpointShows) {
  ApiInventory inventory;
  const std::vector<std::string> query = {"fields"};
  RequestFacts post;
  post.method = "POST";
  post.path = "/v1/users";
  post.auth_schemes = kAuthApiKey;
  post.content_type = "application/json; charset=utf-8";
  post.bytes = 300;
  inventory.RecordRequest(kUsers, post, T0());
  inventory.RecordResponse(kUsers, Answer("POST", "/v1/users", 201, "application/json", 80), T0());
  for (int i = 1; i <= 3; ++i) {
    RequestFacts get = Get("/v1/users/7");
    get.query_parameters = &query;
    inventory.RecordRequest(kUsers, get, T0() + std::chrono::seconds(i));
    inventory.RecordResponse(kUsers, Answer("GET", "/v1/users/7", i == 3 ? 404 : 200, "application/json", 1000u * i),
                             T0() + std::chrono::seconds(i));
  }
  inventory.RecordRequest(kUsers, Get("/v1/users/8", kAuthBasic), T0() + std::chrono::seconds(9));
  inventory.RecordSensitiveData(kUsers, "GET", "/v1/users/7", {"dlp.email", "dlp.phone"});

  const auto snapshot = inventory.Snapshot();
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(ServiceName(snapshot[0].key), "api.example.com:443 (api-server)");
  const EndpointStats* get = Find(snapshot[0], "GET", "/v1/users/{id}");
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(get->requests, 4u);
  EXPECT_EQ(get->responses, 3u);
  EXPECT_THAT(get->statuses,
              ElementsAre(std::pair<const int, uint64_t>(200, 2), std::pair<const int, uint64_t>(404, 1)));
  EXPECT_THAT(AuthSchemeNames(get->auth_schemes), ElementsAre("basic", "jwt"));
  EXPECT_THAT(get->response_content_types, ElementsAre("application/json"));
  EXPECT_THAT(get->query_parameters, ElementsAre("fields"));
  EXPECT_THAT(get->sensitive_data, ElementsAre("dlp.email", "dlp.phone"));
  EXPECT_EQ(get->response_bytes.count, 3u);
  EXPECT_EQ(get->response_bytes.min, 1000u);
  EXPECT_EQ(get->response_bytes.max, 3000u);
  EXPECT_DOUBLE_EQ(get->response_bytes.mean(), 2000.0);
  EXPECT_EQ(get->response_bytes.buckets[1], 1u);  // 256 B .. 1 KiB
  EXPECT_EQ(get->response_bytes.buckets[2], 2u);  // 1 KiB .. 4 KiB
  EXPECT_EQ(get->first_seen, T0() + std::chrono::seconds(1));
  EXPECT_EQ(get->last_seen, T0() + std::chrono::seconds(9));
  EXPECT_THAT(get->parameter_kinds, ElementsAre(1u << static_cast<unsigned>(SegmentKind::kNumber)));

  const EndpointStats* created = Find(snapshot[0], "POST", "/v1/users");
  ASSERT_NE(created, nullptr);
  EXPECT_THAT(created->request_content_types, ElementsAre("application/json"));
  EXPECT_EQ(created->request_bytes.max, 300u);
  EXPECT_THAT(AuthSchemeNames(created->auth_schemes), ElementsAre("api_key"));
}

TEST(ApiInventoryTest, PromotionMergesTheEndpointsOfFoldedValues) {
  InventoryLimits limits;
  limits.templater.param_threshold = 10;
  ApiInventory inventory(limits);
  for (int i = 0; i < 30; ++i) inventory.RecordRequest(kUsers, Get("/v1/users/me"), T0());
  for (int i = 0; i < 25; ++i) {
    const std::string slug = "user-" + std::string(1, static_cast<char>('a' + i));
    inventory.RecordRequest(kUsers, Get("/v1/users/" + slug), T0());
    inventory.RecordRequest(kUsers, Get("/v1/users/" + slug + "/posts/" + std::to_string(i)), T0());
  }
  const auto snapshot = inventory.Snapshot();
  ASSERT_EQ(snapshot.size(), 1u);
  std::vector<std::string> templates;
  for (const auto& e : snapshot[0].endpoints) templates.push_back(e.method + " " + e.path_template);
  EXPECT_THAT(templates,
              UnorderedElementsAre("GET /v1/users/me", "GET /v1/users/{id}", "GET /v1/users/{id}/posts/{id2}"));
  const EndpointStats* posts = Find(snapshot[0], "GET", "/v1/users/{id}/posts/{id2}");
  ASSERT_NE(posts, nullptr);
  EXPECT_EQ(posts->requests, 25u) << "the requests recorded under each slug before the promotion are kept";
  EXPECT_THAT(posts->parameter_kinds, ElementsAre(1u << static_cast<unsigned>(SegmentKind::kCardinality),
                                                  1u << static_cast<unsigned>(SegmentKind::kNumber)));
  EXPECT_EQ(Find(snapshot[0], "GET", "/v1/users/{id}")->requests, 25u);
  EXPECT_EQ(snapshot[0].promotions, 1u);
}

TEST(ApiInventoryTest, ServiceAndEndpointCapsHoldAndCountWhatWasDropped) {
  InventoryLimits limits;
  limits.max_services = 2;
  limits.max_endpoints_per_service = 3;
  ApiInventory inventory(limits);
  for (uint16_t port = 1; port <= 5; ++port) {
    const ServiceKey service{.process = "api-server", .host = "h", .port = port};
    for (int i = 0; i < 10; ++i) {
      const std::string path = "/collection" + std::to_string(i);
      RequestFacts f = Get(path);
      const RecordedRequest r = inventory.RecordRequest(service, f, T0());
      EXPECT_EQ(r.recorded, port <= 2 && i < 3) << "port " << port << " endpoint " << i;
      EXPECT_EQ(r.path.text, "/collection" + std::to_string(i)) << "the template is given even when not recorded";
    }
  }
  const InventoryStats stats = inventory.stats();
  EXPECT_EQ(stats.services, 2u);
  EXPECT_EQ(stats.endpoints, 6u);
  EXPECT_EQ(stats.dropped_service_requests, 30u);
  EXPECT_EQ(stats.dropped_endpoint_requests, 14u);
}

TEST(ApiInventoryTest, PerEndpointSetsAreCapped) {
  ApiInventory inventory;
  for (int i = 0; i < 100; ++i) {
    const std::vector<std::string> query = {"p" + std::to_string(i)};
    RequestFacts f = Get("/search");
    f.query_parameters = &query;
    const std::string type = "application/x-" + std::to_string(i);
    f.content_type = type;
    inventory.RecordRequest(kUsers, f, T0());
    inventory.RecordResponse(kUsers, Answer("GET", "/search", 100 + i), T0());
  }
  const auto snapshot = inventory.Snapshot();
  const EndpointStats* e = Find(snapshot[0], "GET", "/search");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->query_parameters.size(), EndpointStats::kMaxQueryParameters);
  EXPECT_EQ(e->request_content_types.size(), EndpointStats::kMaxContentTypes);
  EXPECT_EQ(e->statuses.size(), EndpointStats::kMaxStatuses);
  EXPECT_EQ(e->dropped_values, (100 - 32) + (100 - 8) + (100 - 32));
}

TEST(ApiInventoryTest, MediaTypesThatAreNotMediaTypesAreNotKept) {
  ApiInventory inventory;
  RequestFacts f = Get("/x");
  f.content_type = "text/html<script>";
  inventory.RecordRequest(kUsers, f, T0());
  f.content_type = "Application/JSON";
  inventory.RecordRequest(kUsers, f, T0());
  EXPECT_THAT(Find(inventory.Snapshot()[0], "GET", "/x")->request_content_types, ElementsAre("application/json"));
}

}  // namespace
}  // namespace rampart::apis

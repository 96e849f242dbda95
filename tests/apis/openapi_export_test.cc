#include "agent/apis/openapi_export.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "agent/apis/openapi_spec.h"
#include "agent/jwt/json.h"
#include "tests/apis/test_support.h"

namespace rampart::apis {
namespace {

using ::testing::HasSubstr;
using testing::T0;

ResponseFacts Answer(std::string_view method, std::string_view path, int status, std::string_view type = "",
                     uint64_t bytes = 0) {
  return ResponseFacts{.method = method, .path = path, .status = status, .content_type = type, .bytes = bytes};
}
const ServiceKey kService{.process = "api-server", .host = "api.example.com", .port = 8443};

// An inventory with a few endpoints, recorded as the detector would.
ServiceInventory Observed() {
  ApiInventory inventory;
  auto request = [&](std::string_view method, std::string_view path, std::vector<std::string> query = {},
                     uint32_t auth = kAuthJwt) {
    RequestFacts f;
    f.method = method;
    f.path = path;
    f.query_parameters = &query;
    f.auth_schemes = auth;
    f.content_type = method == "POST" ? "application/json" : "";
    inventory.RecordRequest(kService, f, T0());
  };
  request("GET", "/v1/users", {"limit", "cursor"});
  request("POST", "/v1/users", {}, kAuthApiKey);
  request("GET", "/v1/users/42");
  request("GET", "/v1/users/me");
  request("DELETE", "/v1/users/43");
  request("GET", "/v1/users/9f1c2b4e-8d3a-4c6b-9e2f-1a2b3c4d5e6f/orders/507f1f77bcf86cd799439011");
  request("PROPFIND", "/dav");
  inventory.RecordResponse(kService, Answer("GET", "/v1/users/42", 200, "application/json", 512), T0());
  inventory.RecordResponse(kService, Answer("GET", "/v1/users/42", 404), T0());
  inventory.RecordSensitiveData(kService, "GET", "/v1/users/42", {"dlp.email"});
  return inventory.Snapshot().at(0);
}

TEST(OpenApiExportTest, TheYamlDocumentLoadsBackAndDocumentsEveryObservedEndpoint) {
  const ServiceInventory observed = Observed();
  const std::string yaml = RenderOpenApi(observed, OpenApiFormat::kYaml);
  auto spec = OpenApiSpec::Parse(yaml, "export.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status() << "\n" << yaml;
  for (const auto& e : observed.endpoints) {
    if (e.method == "PROPFIND") continue;  // not an OpenAPI operation: kept as x-method-propfind
    const SpecMatch m = spec->Match(e.method, e.path_template);
    EXPECT_NE(m.operation, nullptr) << e.method << " " << e.path_template;
  }
  const SpecMatch users = spec->Match("GET", "/v1/users");
  ASSERT_NE(users.operation, nullptr);
  EXPECT_THAT(users.operation->query_parameters, ::testing::ElementsAre("cursor", "limit"));
  EXPECT_EQ(spec->Match("GET", "/v1/users/me").path->path_template, "/v1/users/me");
  EXPECT_THAT(yaml, HasSubstr("/v1/users/{id}/orders/{id2}:"));
  EXPECT_THAT(yaml, HasSubstr("\"200\":"));
  EXPECT_THAT(yaml, HasSubstr("x-method-propfind:"));
  EXPECT_THAT(yaml, HasSubstr("dlp.email"));
  EXPECT_THAT(yaml, HasSubstr("url: \"https://api.example.com:8443\""));
}

TEST(OpenApiExportTest, PathParametersAreTypedByTheValuesSeen) {
  const std::string yaml = RenderOpenApi(Observed(), OpenApiFormat::kYaml);
  // /v1/users/{id}: numbers only; the first parameter of the orders path: UUIDs.
  const size_t users = yaml.find("/v1/users/{id}:");
  ASSERT_NE(users, std::string::npos);
  EXPECT_THAT(yaml.substr(users, 200), HasSubstr("type: \"integer\""));
  const size_t orders = yaml.find("/v1/users/{id}/orders/{id2}:");
  ASSERT_NE(orders, std::string::npos);
  EXPECT_THAT(yaml.substr(orders, 400), HasSubstr("format: \"uuid\""));
}

TEST(OpenApiExportTest, TheJsonDocumentIsStrictJsonAndLoadsBack) {
  const ServiceInventory observed = Observed();
  const std::string json = RenderOpenApi(observed, OpenApiFormat::kJson);
  auto parsed = jwt::ParseJson(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << json;
  ASSERT_NE(parsed->Find("paths"), nullptr);
  EXPECT_NE(parsed->Find("paths")->Find("/v1/users/{id}"), nullptr);
  auto spec = OpenApiSpec::Parse(json, "export.json");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_NE(spec->Match("DELETE", "/v1/users/{id}").operation, nullptr);
  EXPECT_EQ(spec->Match("PUT", "/v1/users/{id}").operation, nullptr);
}

TEST(OpenApiExportTest, AnEmptyInventoryIsAValidDocument) {
  ServiceInventory empty;
  empty.key = kService;
  for (auto format : {OpenApiFormat::kYaml, OpenApiFormat::kJson}) {
    auto spec = OpenApiSpec::Parse(RenderOpenApi(empty, format), "empty");
    ASSERT_TRUE(spec.ok()) << spec.status();
    EXPECT_TRUE(spec->paths().empty());
  }
}

}  // namespace
}  // namespace rampart::apis

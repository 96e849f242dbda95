#include "agent/apis/openapi_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/apis/test_support.h"

namespace rampart::apis {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::TestData;

class UsersSpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = OpenApiSpec::Load(TestData("users-api.yaml"));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    spec_ = std::move(*loaded);
  }
  // The spec template the request matches and its operation's method, or
  // "shadow" / "shadow method".
  std::string MatchOf(std::string_view method, std::string_view path) {
    const SpecMatch m = spec_.Match(method, path);
    if (m.path == nullptr) return "shadow";
    if (m.operation == nullptr) return "shadow method on " + m.path->path_template;
    return m.operation->method + " " + m.path->path_template + (m.operation->deprecated ? " (deprecated)" : "");
  }
  OpenApiSpec spec_;
};

TEST_F(UsersSpecTest, ServerBasePathWithVariablesAtTheirDefaults) {
  EXPECT_THAT(spec_.base_paths(), ElementsAre("/v1"));
  EXPECT_EQ(MatchOf("GET", "/users"), "shadow") << "outside the base path";
  EXPECT_EQ(MatchOf("GET", "/v1/users"), "get /users");
}

TEST_F(UsersSpecTest, TemplatesMatchTrafficAndInventoryTemplates) {
  EXPECT_EQ(MatchOf("GET", "/v1/users/42"), "get /users/{userId}");
  EXPECT_EQ(MatchOf("GET", "/v1/users/{id}"), "get /users/{userId}") << "the inventory's parameter";
  EXPECT_EQ(MatchOf("DELETE", "/v1/users/42"), "delete /users/{userId}");
  EXPECT_EQ(MatchOf("GET", "/v1/users/42/orders"), "get /users/{userId}/orders (deprecated)");
  EXPECT_EQ(MatchOf("GET", "/v1/files/report.json"), "get /files/{name}.json");
  EXPECT_EQ(MatchOf("GET", "/v1/files/report.csv"), "shadow");
  EXPECT_EQ(MatchOf("GET", "/v1/files/{id}"), "shadow") << "a parameter cannot be told to end in .json";
}

TEST_F(UsersSpecTest, ConcretePathsWinOverTemplates) {
  EXPECT_EQ(MatchOf("GET", "/v1/users/me"), "get /users/me");
  // /users/me has no DELETE, /users/{userId} does: the method decides.
  EXPECT_EQ(MatchOf("DELETE", "/v1/users/me"), "delete /users/{userId}");
}

TEST_F(UsersSpecTest, ShadowPathsAndMethods) {
  EXPECT_EQ(MatchOf("GET", "/v1/internal/debug"), "shadow");
  EXPECT_EQ(MatchOf("GET", "/v1/users/42/orders/7"), "shadow");
  EXPECT_EQ(MatchOf("PUT", "/v1/users/42"), "shadow method on /users/{userId}");
}

TEST_F(UsersSpecTest, HeadFallsBackToGetAndOptionsToThePath) {
  EXPECT_EQ(MatchOf("HEAD", "/v1/users/42"), "get /users/{userId}");
  EXPECT_EQ(MatchOf("OPTIONS", "/v1/users/42"), "options /users/{userId}");
  EXPECT_EQ(MatchOf("OPTIONS", "/v1/nowhere"), "shadow");
}

TEST_F(UsersSpecTest, DeclaredQueryParametersIncludePathItemRefsAndStyles) {
  const SpecMatch users = spec_.Match("GET", "/v1/users");
  ASSERT_NE(users.operation, nullptr);
  EXPECT_THAT(users.operation->query_parameters, ElementsAre("cursor", "limit")) << "limit comes by $ref";
  EXPECT_THAT(UndocumentedQueryParameters(*users.operation, {"limit", "cursor", "debug", "admin"}),
              ElementsAre("debug", "admin"));
  const SpecMatch search = spec_.Match("GET", "/v1/search");
  EXPECT_THAT(UndocumentedQueryParameters(*search.operation, {"filter[status]", "filter[owner]", "sort"}),
              ElementsAre("sort"));
  const SpecMatch reports = spec_.Match("GET", "/v1/reports");
  EXPECT_TRUE(reports.operation->any_query_parameter) << "an exploded object ($ref schema) takes any name";
  EXPECT_THAT(UndocumentedQueryParameters(*reports.operation, {"from", "to"}), IsEmpty());
}

TEST_F(UsersSpecTest, RouteTemplatesCarryTheBasePath) {
  const auto routes = spec_.RouteTemplates();
  EXPECT_THAT(routes, ::testing::Contains("/v1/users/{userId}/orders"));
  EXPECT_THAT(routes, ::testing::Contains("/v1/users/me"));
}

TEST(OpenApiSpecJsonTest, JsonSpecsLoadToo) {
  auto spec = OpenApiSpec::Load(TestData("payments-api.json"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(spec->base_paths(), ElementsAre("/api"));
  const SpecMatch get = spec->Match("GET", "/api/payments/pay_123");
  ASSERT_NE(get.operation, nullptr);
  EXPECT_FALSE(get.operation->deprecated);
  const SpecMatch patch = spec->Match("PATCH", "/api/payments/pay_123");
  ASSERT_NE(patch.operation, nullptr);
  EXPECT_TRUE(patch.operation->deprecated);
}

struct BadSpec {
  const char* name;
  const char* text;
  const char* error;
};

TEST(OpenApiSpecErrorTest, ErrorsAreOneLineWithFileLineAndPointer) {
  const BadSpec cases[] = {
      {"not a map", "- a\n- b\n", "s.yaml:1: expected an OpenAPI document (a map), got a list"},
      {"swagger 2", "swagger: \"2.0\"\npaths: {}\n",
       "s.yaml:1: /swagger: Swagger 2.0 is not supported: convert the spec to OpenAPI 3"},
      {"no version", "paths: {}\n", "s.yaml:1: /openapi: required field is missing (expected e.g. \"3.0.3\")"},
      {"bad deprecated", "openapi: 3.0.0\npaths:\n  /users/{id}:\n    get:\n      deprecated: yes\n",
       "s.yaml:5: /paths/~1users~1{id}/get/deprecated: expected true or false, got a string \"yes\""},
      {"dangling ref",
       "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      parameters:\n        - $ref: '#/components/parameters/nope'\n",
       "s.yaml:6: /paths/~1a/get/parameters/0/$ref: $ref \"#/components/parameters/nope\" points to nothing"},
      {"external ref", "openapi: 3.0.0\npaths:\n  /a:\n    $ref: 'other.yaml#/paths/a'\n",
       "s.yaml:4: /paths/~1a/$ref: $ref \"other.yaml#/paths/a\" is not a local reference: bundle the spec into one "
       "file"},
      {"parameter without in", "openapi: 3.0.0\npaths:\n  /a:\n    parameters:\n      - name: q\n",
       "s.yaml:5: /paths/~1a/parameters/0/in: required field is missing"},
      {"relative path", "openapi: 3.0.0\npaths:\n  users: {}\n",
       "s.yaml:3: /paths/users: path \"users\" must start with \"/\""},
      {"server variable", "openapi: 3.0.0\nservers:\n  - url: https://{host}/v1\npaths: {}\n",
       "s.yaml:3: /servers/0/variables/host/default: server variable \"host\" has no default"},
      {"malformed", "openapi: 3.0.0\npaths: {\n", "s.yaml:"},
  };
  for (const auto& c : cases) {
    auto spec = OpenApiSpec::Parse(c.text, "s.yaml");
    ASSERT_FALSE(spec.ok()) << c.name;
    const std::string message(spec.status().message());
    if (std::string_view(c.error) == "s.yaml:") {
      EXPECT_THAT(message, ::testing::StartsWith("s.yaml:")) << c.name;
    } else {
      EXPECT_EQ(message, c.error) << c.name;
    }
    EXPECT_EQ(message.find('\n'), std::string::npos) << c.name;
  }
}

TEST(OpenApiSpecErrorTest, AMissingFileNamesIt) {
  auto spec = OpenApiSpec::Load("/nonexistent/spec.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(spec.status().message(), HasSubstr("/nonexistent/spec.yaml: cannot open"));
}

TEST(OpenApiSpecErrorTest, ARefCycleIsRefused) {
  auto spec = OpenApiSpec::Parse(
      "openapi: 3.0.0\npaths:\n  /a:\n    $ref: '#/components/pathItems/b'\n"
      "components:\n  pathItems:\n    b:\n      $ref: '#/components/pathItems/b'\n",
      "s.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(spec.status().message(), HasSubstr("$ref chain too long"));
}

}  // namespace
}  // namespace rampart::apis

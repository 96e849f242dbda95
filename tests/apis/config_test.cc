#include "agent/apis/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace rampart::apis {
namespace {

using ::testing::ElementsAre;

TEST(ApiAnalyticsConfigTest, DefaultsWhenEmpty) {
  auto config = ParseApiAnalyticsYaml("", "policy.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->openapi.empty());
  EXPECT_THAT(config->identity.api_key_headers, ElementsAre("x-api-key"));
  EXPECT_TRUE(config->identity.jwt);
  EXPECT_EQ(config->identity.mtls_peer, MtlsPeerMode::kAuto);
  EXPECT_FALSE(config->rate_limits.reads.has_value());
  EXPECT_FALSE(config->alerts.bola.block);
  EXPECT_EQ(config->bola.min_distinct, 100u);
  EXPECT_EQ(config->realert_after, std::chrono::seconds(600));
}

TEST(ApiAnalyticsConfigTest, EveryField) {
  auto config = ParseApiAnalyticsYaml(R"(
openapi:
  - process: api-server
    port: 8443
    host: API.example.com
    spec: /etc/rampart/openapi/users.yaml
  - spec: /etc/rampart/openapi/default.json
identity:
  apiKeyHeaders: [X-Api-Key, x-partner-key]
  jwt: false
  mtlsHeaders: [x-forwarded-client-cert]
  mtlsPeer: san
  addressFallback: false
rateLimits:
  reads: 100/minute
  writes: 10/second
  maxIdentities: 5000
bola: {window: 2m, minDistinct: 200, baselineFactor: 2.5, precision: 12, maxTracked: 1000}
bulkExtraction: {warmup: 10, factor: 20, minRecords: 500, minBytes: 2Mi, maxTracked: 3000}
inventory: {maxServices: 8, maxEndpointsPerService: 300, paramThreshold: 25}
alerts:
  shadowEndpoint: monitor
  zombieEndpoint: {action: block, blockTtl: 1h}
  undocumentedParameter: {action: monitor}
  rateLimit: block
  bola: {action: block, blockTtl: 30m}
  bulkExtraction: block
realertAfter: 1h
)",
                                      "policy.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->openapi.size(), 2u);
  EXPECT_EQ(config->openapi[0].process, "api-server");
  EXPECT_EQ(config->openapi[0].port, 8443);
  EXPECT_EQ(config->openapi[0].host, "api.example.com");
  EXPECT_TRUE(config->openapi[0].Matches({.process = "api-server", .host = "api.example.com", .port = 8443}));
  EXPECT_FALSE(config->openapi[0].Matches({.process = "api-server", .host = "api.example.com", .port = 443}));
  EXPECT_TRUE(config->openapi[1].Matches({.process = "other", .host = "x", .port = 1}));
  EXPECT_THAT(config->identity.api_key_headers, ElementsAre("x-api-key", "x-partner-key"));
  EXPECT_FALSE(config->identity.jwt);
  EXPECT_THAT(config->identity.mtls_headers, ElementsAre("x-forwarded-client-cert"));
  EXPECT_EQ(config->identity.mtls_peer, MtlsPeerMode::kSan);
  EXPECT_FALSE(config->identity.address_fallback);
  EXPECT_EQ(*config->rate_limits.reads, (RateLimit{100, std::chrono::seconds(60)}));
  EXPECT_EQ(*config->rate_limits.writes, (RateLimit{10, std::chrono::seconds(1)}));
  EXPECT_EQ(config->max_identities, 5000u);
  EXPECT_EQ(config->bola.window, std::chrono::seconds(120));
  EXPECT_EQ(config->bola.min_distinct, 200u);
  EXPECT_DOUBLE_EQ(config->bola.baseline_factor, 2.5);
  EXPECT_EQ(config->bola.hll_precision, 12);
  EXPECT_EQ(config->bola.max_tracked, 1000u);
  EXPECT_EQ(config->bulk.warmup, 10u);
  EXPECT_DOUBLE_EQ(config->bulk.factor, 20);
  EXPECT_EQ(config->bulk.min_records, 500u);
  EXPECT_EQ(config->bulk.min_bytes, 2u << 20);
  EXPECT_EQ(config->bulk.max_tracked, 3000u);
  EXPECT_EQ(config->inventory.max_services, 8u);
  EXPECT_EQ(config->inventory.max_endpoints_per_service, 300u);
  EXPECT_EQ(config->inventory.templater.param_threshold, 25u);
  EXPECT_FALSE(config->alerts.shadow_endpoint.block);
  EXPECT_TRUE(config->alerts.zombie_endpoint.block);
  EXPECT_EQ(config->alerts.zombie_endpoint.block_ttl, std::chrono::seconds(3600));
  EXPECT_TRUE(config->alerts.rate_limit.block);
  EXPECT_EQ(config->alerts.rate_limit.block_ttl, std::chrono::seconds(0)) << "until the window ends";
  EXPECT_TRUE(config->alerts.bola.block);
  EXPECT_TRUE(config->alerts.bulk_extraction.block);
  EXPECT_EQ(config->realert_after, std::chrono::seconds(3600));
}

TEST(ApiAnalyticsConfigTest, ErrorsAreOneLineNamingFileLineFieldAndValue) {
  struct Case {
    const char* yaml;
    const char* error;
  };
  const Case cases[] = {
      {"rateLimits:\n  reads: 100/minutes\n",
       "policy.yaml:2: spec.inspection.apis.rateLimits.reads: bad rate \"100/minutes\": unknown unit \"minutes\" "
       "(expected COUNT/UNIT, e.g. 100/minute; units second, minute, hour, day)"},
      {"ratelimits: {}\n",
       "policy.yaml:1: spec.inspection.apis.ratelimits: unknown field \"ratelimits\" (did you "
       "mean \"rateLimits\"?)"},
      {"alerts:\n  bola: deny\n",
       "policy.yaml:2: spec.inspection.apis.alerts.bola: bad action \"deny\" (expected monitor or block)"},
      {"alerts:\n  bola: {action: block, blockTtl: 10}\n",
       "policy.yaml:2: spec.inspection.apis.alerts.bola.blockTtl: bad duration \"10\": missing unit: s, m, h or d "
       "(e.g. 10m)"},
      {"openapi:\n  - process: api-server\n",
       "policy.yaml:2: spec.inspection.apis.openapi[0].spec: required field is missing"},
      {"openapi:\n  - spec: specs/users.yaml\n",
       "policy.yaml:2: spec.inspection.apis.openapi[0].spec: expected an absolute path on the node, got "
       "\"specs/users.yaml\""},
      {"openapi:\n  - {spec: /a.yaml, port: 70000}\n",
       "policy.yaml:2: spec.inspection.apis.openapi[0].port: must be 1 to 65535, got 70000"},
      {"bola:\n  precision: 16\n", "policy.yaml:2: spec.inspection.apis.bola.precision: must be 10 to 12, got 16"},
      {"bola:\n  baselineFactor: lots\n",
       "policy.yaml:2: spec.inspection.apis.bola.baselineFactor: bad number \"lots\": expected a decimal number, e.g. "
       "2.5"},
      {"bulkExtraction:\n  minBytes: 1Mb\n",
       "policy.yaml:2: spec.inspection.apis.bulkExtraction.minBytes: bad quantity \"1Mb\": unknown unit \"Mb\": "
       "expected K, M, G or T (x1000), or Ki, Mi, Gi or Ti (x1024)"},
      {"identity:\n  apiKeyHeaders: [\"x api key\"]\n",
       "policy.yaml:2: spec.inspection.apis.identity.apiKeyHeaders[0]: bad header name \"x api key\": expected 1-64 "
       "token characters (e.g. x-api-key)"},
      {"identity:\n  jwt: yes\n",
       "policy.yaml:2: spec.inspection.apis.identity.jwt: expected true or false, got \"yes\""},
      {"identity:\n  mtlsPeer: cn\n",
       "policy.yaml:2: spec.inspection.apis.identity.mtlsPeer: expected auto, subject, san or off, got \"cn\""},
      {"bola: {}\nbola: {}\n", "policy.yaml:2: spec.inspection.apis.bola: duplicate field \"bola\" (first at line 1)"},
      {"- a\n", "policy.yaml:1: spec.inspection.apis: expected a map, got a list"},
      {"bola: {\n", "policy.yaml:"},
  };
  for (const auto& c : cases) {
    auto config = ParseApiAnalyticsYaml(c.yaml, "policy.yaml");
    ASSERT_FALSE(config.ok()) << c.yaml;
    const std::string message(config.status().message());
    if (std::string_view(c.error) == "policy.yaml:") {
      EXPECT_THAT(message, ::testing::StartsWith("policy.yaml:")) << c.yaml;
    } else {
      EXPECT_EQ(message, c.error) << c.yaml;
    }
    EXPECT_EQ(message.find('\n'), std::string::npos);
  }
}

}  // namespace
}  // namespace rampart::apis

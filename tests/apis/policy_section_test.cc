// The `apis` section in the policy model: YAML to proto as the loader does
// it, back to the detector's configuration through the same parser, and the
// merge of several policies' sections.
#include "agent/apis/policy_section.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>

namespace rampart::apis {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::ApiInspection FromYaml(const std::string& yaml) {
  v1::ApiInspection out;
  const absl::Status s = ApiInspectionFromYaml(YAML::Load(yaml), "web.yaml", "spec.inspection.apis", out);
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

v1::ApiInspection FromText(const std::string& text) {
  v1::ApiInspection out;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &out)) << text;
  return out;
}

constexpr char kEveryField[] = R"(
openapi:
  - {process: api-server, host: API.example.com, port: 8443, spec: /etc/rampart/users.yaml}
  - {spec: /etc/rampart/default.json}
identity: {apiKeyHeaders: [X-Api-Key, x-partner-key], jwt: false, mtlsHeaders: [x-forwarded-client-cert], mtlsPeer: subject}
rateLimits: {reads: 100/m, writes: 10/second, maxIdentities: 5000}
bola: {window: 2m, minDistinct: 40, baselineFactor: 2.5, precision: 11, maxTracked: 1000}
bulkExtraction: {warmup: 5, factor: 4, minRecords: 50, minBytes: 2Mi, maxTracked: 300}
inventory: {maxServices: 8, maxEndpointsPerService: 100, paramThreshold: 20}
alerts:
  shadowEndpoint: monitor
  zombieEndpoint: {action: block, blockTtl: 1h}
  rateLimit: block
  bola: {action: block}
realertAfter: 30s
)";

TEST(ApiPolicySectionTest, TheModelHoldsWhatTheYamlSays) {
  const v1::ApiInspection section = FromYaml(kEveryField);
  const v1::ApiInspection expected = FromText(R"pb(
    openapi { process: "api-server" host: "api.example.com" port: 8443 spec: "/etc/rampart/users.yaml" }
    openapi { spec: "/etc/rampart/default.json" }
    identity {
      api_key_headers: "x-api-key"
      api_key_headers: "x-partner-key"
      jwt: false
      mtls_headers: "x-forwarded-client-cert"
      address_fallback: true
      mtls_peer: "subject"
    }
    rate_limits { reads: "100/minute" writes: "10/second" max_identities: 5000 }
    bola { window_seconds: 120 min_distinct: 40 baseline_factor: 2.5 precision: 11 max_tracked: 1000 }
    bulk_extraction { warmup: 5 factor: 4 min_records: 50 min_bytes: 2097152 max_tracked: 300 }
    inventory { max_services: 8 max_endpoints_per_service: 100 param_threshold: 20 }
    alerts {
      shadow_endpoint { action: VERDICT_ACTION_MONITOR }
      zombie_endpoint { action: VERDICT_ACTION_BLOCK block_ttl_seconds: 3600 }
      rate_limit { action: VERDICT_ACTION_BLOCK }
      bola { action: VERDICT_ACTION_BLOCK }
    }
    realert_after_seconds: 30
  )pb");
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(expected, section)) << diff;
}

TEST(ApiPolicySectionTest, FieldsLeftOutStayOutOfTheModel) {
  const v1::ApiInspection section = FromYaml("rateLimits: {reads: 50/minute}\nbola: {minDistinct: 20}\n");
  EXPECT_EQ(section.rate_limits().reads(), "50/minute");
  EXPECT_EQ(section.rate_limits().max_identities(), 0u);
  EXPECT_EQ(section.bola().min_distinct(), 20u);
  EXPECT_EQ(section.bola().window_seconds(), 0u);
  EXPECT_FALSE(section.has_identity());
  EXPECT_FALSE(section.has_alerts());
  EXPECT_FALSE(section.has_inventory());
  EXPECT_TRUE(FromYaml("").ByteSizeLong() == 0) << "an empty section is the default configuration";
}

TEST(ApiPolicySectionTest, TheModelReadsBackAsTheSameConfiguration) {
  for (const std::string yaml : {std::string(kEveryField), std::string(""), std::string("identity: {}\n"),
                                 std::string("identity: {apiKeyHeaders: []}\nalerts: {bulkExtraction: block}\n")}) {
    auto direct = ParseApiAnalyticsConfig(YAML::Load(yaml), "web.yaml");
    ASSERT_TRUE(direct.ok()) << direct.status();
    auto via_model = ApiConfigFromProto(FromYaml(yaml), "web.yaml");
    ASSERT_TRUE(via_model.ok()) << via_model.status();
    const ApiAnalyticsConfig& a = *direct;
    const ApiAnalyticsConfig& b = *via_model;
    ASSERT_EQ(a.openapi.size(), b.openapi.size()) << yaml;
    for (size_t i = 0; i < a.openapi.size(); ++i) {
      EXPECT_EQ(a.openapi[i].process, b.openapi[i].process);
      EXPECT_EQ(a.openapi[i].host, b.openapi[i].host);
      EXPECT_EQ(a.openapi[i].port, b.openapi[i].port);
      EXPECT_EQ(a.openapi[i].spec_file, b.openapi[i].spec_file);
    }
    EXPECT_EQ(a.identity.api_key_headers, b.identity.api_key_headers) << yaml;
    EXPECT_EQ(a.identity.mtls_headers, b.identity.mtls_headers);
    EXPECT_EQ(a.identity.jwt, b.identity.jwt);
    EXPECT_EQ(a.identity.address_fallback, b.identity.address_fallback);
    EXPECT_EQ(a.identity.mtls_peer, b.identity.mtls_peer) << yaml;
    EXPECT_EQ(a.rate_limits.reads, b.rate_limits.reads);
    EXPECT_EQ(a.rate_limits.writes, b.rate_limits.writes);
    EXPECT_EQ(a.max_identities, b.max_identities);
    EXPECT_EQ(a.bola.window, b.bola.window);
    EXPECT_EQ(a.bola.min_distinct, b.bola.min_distinct);
    EXPECT_EQ(a.bola.baseline_factor, b.bola.baseline_factor);
    EXPECT_EQ(a.bola.hll_precision, b.bola.hll_precision);
    EXPECT_EQ(a.bola.max_tracked, b.bola.max_tracked);
    EXPECT_EQ(a.bulk.warmup, b.bulk.warmup);
    EXPECT_EQ(a.bulk.factor, b.bulk.factor);
    EXPECT_EQ(a.bulk.min_records, b.bulk.min_records);
    EXPECT_EQ(a.bulk.min_bytes, b.bulk.min_bytes);
    EXPECT_EQ(a.bulk.max_tracked, b.bulk.max_tracked);
    EXPECT_EQ(a.inventory.max_services, b.inventory.max_services);
    EXPECT_EQ(a.inventory.max_endpoints_per_service, b.inventory.max_endpoints_per_service);
    EXPECT_EQ(a.inventory.templater.param_threshold, b.inventory.templater.param_threshold);
    for (auto [x, y] : {std::pair{a.alerts.shadow_endpoint, b.alerts.shadow_endpoint},
                        std::pair{a.alerts.zombie_endpoint, b.alerts.zombie_endpoint},
                        std::pair{a.alerts.undocumented_parameter, b.alerts.undocumented_parameter},
                        std::pair{a.alerts.rate_limit, b.alerts.rate_limit}, std::pair{a.alerts.bola, b.alerts.bola},
                        std::pair{a.alerts.bulk_extraction, b.alerts.bulk_extraction}}) {
      EXPECT_EQ(x.block, y.block) << yaml;
      EXPECT_EQ(x.block_ttl, y.block_ttl) << yaml;
    }
    EXPECT_EQ(a.realert_after, b.realert_after);
  }
}

TEST(ApiPolicySectionTest, AnEmptyApiKeyHeaderListIsKeptApartFromTheDefault) {
  auto none = ApiConfigFromProto(FromYaml("identity: {apiKeyHeaders: []}\n"), "web.yaml");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->identity.api_key_headers.empty());
  auto defaults = ApiConfigFromProto(FromYaml("rateLimits: {reads: 1/s}\n"), "web.yaml");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_THAT(defaults->identity.api_key_headers, ElementsAre("x-api-key"));
}

TEST(ApiPolicySectionTest, BadYamlIsRefusedWithTheParsersOneLineError) {
  v1::ApiInspection out;
  const absl::Status s = ApiInspectionFromYaml(YAML::Load("rateLimits:\n  reads: 100/minutes\n"), "web.yaml",
                                               "spec.inspection.apis", out);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("web.yaml:2: spec.inspection.apis.rateLimits.reads: bad rate \"100/minutes\""));
}

TEST(ApiPolicySectionTest, ABadModelIsRefusedByTheSameParser) {
  auto bad = ApiConfigFromProto(FromText(R"pb(rate_limits { reads: "fast" })pb"), "policy web");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("policy web: spec.inspection.apis.rateLimits.reads: bad rate \"fast\""));
  auto precision = ApiConfigFromProto(FromText(R"pb(bola { precision: 16 })pb"), "policy web");
  ASSERT_FALSE(precision.ok());
  EXPECT_THAT(std::string(precision.status().message()),
              HasSubstr("spec.inspection.apis.bola.precision: must be 10 to 12, got 16"));
  auto relative = ApiConfigFromProto(FromText(R"pb(openapi { spec: "users.yaml" })pb"), "policy web");
  ASSERT_FALSE(relative.ok());
  EXPECT_THAT(std::string(relative.status().message()), HasSubstr("openapi[0].spec: expected an absolute path"));
}

TEST(ApiPolicySectionTest, MergeBlockWinsPerAlertWithTheLongestTtl) {
  const v1::ApiInspection a = FromYaml("alerts: {bola: monitor, rateLimit: {action: block, blockTtl: 5m}}\n");
  const v1::ApiInspection b =
      FromYaml("alerts: {bola: {action: block, blockTtl: 1m}, rateLimit: {action: block, blockTtl: 1h}}\n");
  const v1::ApiInspection c = FromYaml("alerts: {shadowEndpoint: monitor}\n");
  const v1::ApiInspection merged = MergeApiInspections({&a, &b, &c});
  EXPECT_EQ(merged.alerts().bola().action(), v1::VERDICT_ACTION_BLOCK);
  EXPECT_EQ(merged.alerts().bola().block_ttl_seconds(), 60u);
  EXPECT_EQ(merged.alerts().rate_limit().action(), v1::VERDICT_ACTION_BLOCK);
  EXPECT_EQ(merged.alerts().rate_limit().block_ttl_seconds(), 3600u);
  EXPECT_EQ(merged.alerts().shadow_endpoint().action(), v1::VERDICT_ACTION_MONITOR);
  EXPECT_FALSE(merged.alerts().has_zombie_endpoint());
  auto config = ApiConfigFromProto(merged, "merged");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->alerts.bola.block);
  EXPECT_FALSE(config->alerts.zombie_endpoint.block);
}

TEST(ApiPolicySectionTest, MergeTakesEachThresholdFromTheFirstPolicyThatSetsIt) {
  const v1::ApiInspection a = FromYaml("rateLimits: {reads: 50/minute}\nbola: {minDistinct: 20}\n");
  const v1::ApiInspection b =
      FromYaml("rateLimits: {reads: 10/second, writes: 5/second}\nbola: {minDistinct: 500, window: 1m}\n"
               "realertAfter: 1m\n");
  const v1::ApiInspection merged = MergeApiInspections({&a, &b});
  EXPECT_EQ(merged.rate_limits().reads(), "50/minute");
  EXPECT_EQ(merged.rate_limits().writes(), "5/second");
  EXPECT_EQ(merged.bola().min_distinct(), 20u);
  EXPECT_EQ(merged.bola().window_seconds(), 60u);
  EXPECT_EQ(merged.realert_after_seconds(), 60u);
  EXPECT_EQ(MergeApiInspections({&b, &a}).rate_limits().reads(), "10/second");
}

TEST(ApiPolicySectionTest, MergeUnitesListsInPolicyOrder) {
  const v1::ApiInspection a = FromYaml(
      "openapi: [{port: 8443, spec: /etc/rampart/a.yaml}]\nidentity: {apiKeyHeaders: [x-a], jwt: false, mtlsPeer: off}\n");
  const v1::ApiInspection b = FromYaml(
      "openapi: [{spec: /etc/rampart/b.yaml}, {port: 8443, spec: /etc/rampart/a.yaml}]\n"
      "identity: {apiKeyHeaders: [x-b, x-a], mtlsHeaders: [x-cert]}\n");
  const v1::ApiInspection c = FromYaml("rateLimits: {reads: 1/second}\n");  // no identity: the default header
  const v1::ApiInspection merged = MergeApiInspections({&a, &b, &c});
  ASSERT_EQ(merged.openapi_size(), 2);
  EXPECT_EQ(merged.openapi(0).spec(), "/etc/rampart/a.yaml");
  EXPECT_EQ(merged.openapi(1).spec(), "/etc/rampart/b.yaml");
  EXPECT_THAT(merged.identity().api_key_headers(), ElementsAre("x-a", "x-b", "x-api-key"));
  EXPECT_THAT(merged.identity().mtls_headers(), ElementsAre("x-cert"));
  EXPECT_FALSE(merged.identity().jwt()) << "from the first policy with an identity section";
  EXPECT_TRUE(merged.identity().address_fallback());
  EXPECT_EQ(merged.identity().mtls_peer(), "off") << "from the first policy with an identity section";
  const v1::ApiInspection only_defaults = MergeApiInspections({&c});
  EXPECT_THAT(only_defaults.identity().api_key_headers(), ElementsAre("x-api-key"));
  EXPECT_TRUE(only_defaults.identity().jwt());
  EXPECT_EQ(only_defaults.identity().mtls_peer(), "auto");
}

}  // namespace
}  // namespace rampart::apis

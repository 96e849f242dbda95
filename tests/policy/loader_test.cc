// The YAML policy loader: what it accepts, what it refuses, and how its errors
// read. Every error is one line: SOURCE:LINE: FIELD.PATH: message.
#include "agent/policy/loader.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "agent/common/strings.h"

namespace rampart::policy {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

v1::Policy PolicyFromText(const std::string& text) {
  v1::Policy policy;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &policy)) << text;
  return policy;
}

std::vector<v1::Policy> MustParse(std::string_view yaml, std::string_view source = "web.yaml") {
  auto policies = ParsePolicyYaml(yaml, source);
  EXPECT_TRUE(policies.ok()) << policies.status();
  return policies.ok() ? *policies : std::vector<v1::Policy>{};
}

// The error ParsePolicyYaml gives for `yaml`, checked to be a single line.
std::string ParseError(std::string_view yaml, std::string_view source = "web.yaml") {
  auto policies = ParsePolicyYaml(yaml, source);
  if (policies.ok()) {
    ADD_FAILURE() << "expected an error for:\n" << yaml;
    return "";
  }
  std::string message(policies.status().message());
  EXPECT_EQ(message.find('\n'), std::string::npos) << "error is not one line: " << message;
  return message;
}

// Lines 1-4: a policy header named "web". The caller's text starts at line 5.
std::string WithHeader(std::string_view rest) {
  return rampart::StrCat(
      "apiVersion: rampart/v1\n"
      "kind: Policy\n"
      "metadata:\n"
      "  name: web\n",
      rest);
}

// Lines 1-8: a policy up to spec.segmentation.ingress.allow. The rules start at line 9.
std::string IngressRules(std::string_view rules) {
  return WithHeader(
      rampart::StrCat("spec:\n"
                      "  segmentation:\n"
                      "    ingress:\n"
                      "      allow:\n",
                      rules));
}

// Lines 1-8: a policy up to spec.segmentation.egress.allow. The rules start at line 9.
std::string EgressRules(std::string_view rules) {
  return WithHeader(
      rampart::StrCat("spec:\n"
                      "  segmentation:\n"
                      "    egress:\n"
                      "      allow:\n",
                      rules));
}

// Lines 1-6: a policy up to spec.rateLimits. The rate limits start at line 7.
std::string RateLimits(std::string_view limits) {
  return WithHeader(rampart::StrCat("spec:\n"
                                    "  rateLimits:\n",
                                    limits));
}

// One rate limit at line 7 with a name and a match (lines 7-8); `rest`, at the
// same indentation, starts at line 9.
std::string OneRateLimit(std::string_view rest) {
  return RateLimits(rampart::StrCat("    - name: https\n"
                                    "      match: {ports: [tcp/443]}\n",
                                    rest));
}

// --- What is accepted ---

TEST(LoaderTest, FullPolicyReadsEveryFieldIntoTheModel) {
  auto policies = MustParse(R"(# Payments API
apiVersion: rampart/v1
kind: Policy
metadata:
  name: payments-api
  labels: {team: payments, app.kubernetes.io/part-of: shop}
spec:
  nodeSelector: {role: payments}
  interfaces: [eth0, ens5]
  segmentation:
    ingress:
      default: deny
      allow:
        - name: partners-https
          from: [203.0.113.0/24, "2001:db8::/32"]
          ports: ["tcp/443", "tcp/8443-8445"]
        - name: dns
          from: [0.0.0.0/0]
          ports: [udp/53]
    egress:
      default: allow
      allow:
        - name: payments-to-db
          unit: payments.service
          to: [10.20.0.0/16]
          ports: ["tcp/5432"]
        - name: batch-to-db
          cgroup: /system.slice/batch.service
          to: ["fd00::/8"]
          ports: [tcp/5432]
)",
                            "policies/payments.yaml");
  ASSERT_EQ(policies.size(), 1u);
  v1::Policy want = PolicyFromText(R"pb(
    api_version: "rampart/v1"
    kind: "Policy"
    source: "policies/payments.yaml"
    metadata {
      name: "payments-api"
      labels { key: "team" value: "payments" }
      labels { key: "app.kubernetes.io/part-of" value: "shop" }
    }
    spec {
      node_selector { key: "role" value: "payments" }
      interfaces: [ "eth0", "ens5" ]
      segmentation {
        ingress {
          default_action: DEFAULT_ACTION_DENY
          allow {
            name: "partners-https"
            from: [ "203.0.113.0/24", "2001:db8::/32" ]
            ports: [ "tcp/443", "tcp/8443-8445" ]
          }
          allow { name: "dns" from: "0.0.0.0/0" ports: "udp/53" }
        }
        egress {
          default_action: DEFAULT_ACTION_ALLOW
          allow { name: "payments-to-db" unit: "payments.service" to: "10.20.0.0/16" ports: "tcp/5432" }
          allow { name: "batch-to-db" cgroup: "/system.slice/batch.service" to: "fd00::/8" ports: "tcp/5432" }
        }
      }
    }
  )pb");
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(want, policies[0])) << diff;
}

TEST(LoaderTest, HeaderAndNameAloneMakeAValidPolicy) {
  auto policies = MustParse(WithHeader(""));
  ASSERT_EQ(policies.size(), 1u);
  EXPECT_EQ(policies[0].metadata().name(), "web");
  EXPECT_EQ(policies[0].source(), "web.yaml");
}

TEST(LoaderTest, AbsentDefaultActionIsUnspecified) {
  auto policies =
      MustParse(IngressRules("        - name: https\n"
                             "          from: [10.0.0.0/8]\n"
                             "          ports: [tcp/443]\n"));
  ASSERT_EQ(policies.size(), 1u);
  EXPECT_EQ(policies[0].spec().segmentation().ingress().default_action(), v1::DEFAULT_ACTION_UNSPECIFIED);
  EXPECT_EQ(policies[0].spec().segmentation().egress().default_action(), v1::DEFAULT_ACTION_UNSPECIFIED);
}

TEST(LoaderTest, EmptyInterfaceListIsAllowed) {
  auto policies = MustParse(WithHeader("spec:\n  interfaces: []\n"));
  ASSERT_EQ(policies.size(), 1u);
  EXPECT_TRUE(policies[0].spec().interfaces().empty());
}

TEST(LoaderTest, MultipleDocumentsBecomeMultiplePoliciesInOrder) {
  auto policies = MustParse(R"(---
apiVersion: rampart/v1
kind: Policy
metadata: {name: web}
---
apiVersion: rampart/v1
kind: Policy
metadata: {name: db}
)");
  ASSERT_EQ(policies.size(), 2u);
  EXPECT_EQ(policies[0].metadata().name(), "web");
  EXPECT_EQ(policies[1].metadata().name(), "db");
  EXPECT_EQ(policies[0].source(), "web.yaml");
  EXPECT_EQ(policies[1].source(), "web.yaml");
}

TEST(LoaderTest, EmptyDocumentsAreSkipped) {
  auto policies = MustParse(R"(---
---
apiVersion: rampart/v1
kind: Policy
metadata: {name: web}
---
# nothing here
---
)");
  ASSERT_EQ(policies.size(), 1u);
  EXPECT_EQ(policies[0].metadata().name(), "web");
}

TEST(LoaderTest, TextWithoutDocumentsGivesNoPolicies) {
  EXPECT_TRUE(MustParse("").empty());
  EXPECT_TRUE(MustParse("# just a comment\n").empty());
}

TEST(LoaderTest, SameRuleNameMayBeUsedOnceInEachDirection) {
  auto policies = MustParse(WithHeader(R"(spec:
  segmentation:
    ingress:
      allow: [{name: db, from: [10.0.0.0/8], ports: [tcp/5432]}]
    egress:
      allow: [{name: db, to: [10.0.0.0/8], ports: [tcp/5432]}]
)"));
  EXPECT_EQ(policies.size(), 1u);
}

// --- Malformed YAML ---

TEST(LoaderTest, MalformedYamlCitesFileAndLine) {
  EXPECT_EQ(ParseError(R"(apiVersion: rampart/v1
kind: Policy
metadata:
  name: web: api
)"),
            "web.yaml:4: malformed YAML: illegal map value (column 12)");
}

TEST(LoaderTest, MalformedYamlAtEndOfInputCitesTheLastLine) {
  EXPECT_EQ(ParseError(WithHeader("spec:\n  interfaces: [eth0\n")),
            "web.yaml:6: malformed YAML: end of sequence flow not found");
}

TEST(LoaderTest, MalformedYamlInALaterDocumentCitesTheFileLine) {
  EXPECT_THAT(ParseError(R"(apiVersion: rampart/v1
kind: Policy
metadata: {name: web}
---
apiVersion: rampart/v1
kind: Policy
metadata: {name: *missing}
)"),
              HasSubstr("web.yaml:7: malformed YAML: the referenced anchor is not defined"));
}

TEST(LoaderTest, DocumentThatIsNotAMapIsRefused) {
  EXPECT_EQ(ParseError("- apiVersion: rampart/v1\n"), "web.yaml:1: expected a policy (a map), got a list");
}

// --- Unknown and unsupported fields ---

TEST(LoaderTest, UnknownTopLevelFieldIsRefused) {
  EXPECT_EQ(ParseError(WithHeader("status: {}\n")), R"(web.yaml:5: status: unknown field "status")");
}

TEST(LoaderTest, UnknownSpecFieldIsRefused) {
  EXPECT_EQ(ParseError(WithHeader("spec:\n  interfaces: [eth0]\n  foo: 1\n")),
            R"(web.yaml:7: spec.foo: unknown field "foo")");
}

TEST(LoaderTest, UnknownRuleFieldIsRefused) {
  EXPECT_EQ(ParseError(IngressRules("        - name: https\n"
                                    "          from: [10.0.0.0/8]\n"
                                    "          port: [tcp/443]\n")),
            R"(web.yaml:11: spec.segmentation.ingress.allow[0].port: unknown field "port")");
}

TEST(LoaderTest, UnknownFieldSpelledInAnotherCaseSuggestsTheRightSpelling) {
  EXPECT_EQ(ParseError(WithHeader("spec:\n  node_selector: {role: web}\n")),
            R"(web.yaml:6: spec.node_selector: unknown field "node_selector" (did you mean "nodeSelector"?))");
}

TEST(LoaderTest, FieldNamesAreCaseSensitive) {
  EXPECT_EQ(ParseError("APIVersion: rampart/v1\n"),
            R"(web.yaml:1: APIVersion: unknown field "APIVersion" (did you mean "apiVersion"?))");
}

TEST(LoaderTest, UnknownFieldWithAnOddNameIsQuotedInThePath) {
  EXPECT_EQ(ParseError(WithHeader("spec:\n  \"a.b\": 1\n")), R"(web.yaml:6: spec["a.b"]: unknown field "a.b")");
}

TEST(LoaderTest, DuplicateFieldIsRefused) {
  EXPECT_EQ(ParseError(WithHeader("  name: api\n")),
            R"(web.yaml:5: metadata.name: duplicate field "name" (first at line 4))");
}

TEST(LoaderTest, DuplicateLabelIsRefused) {
  EXPECT_EQ(ParseError(WithHeader("  labels:\n    team: a\n    team: b\n")),
            R"(web.yaml:7: metadata.labels.team: duplicate key "team" (first at line 6))");
}

TEST(LoaderTest, OpenapiAndIdentitiesOutsideTheApisSectionPointToIt) {
  EXPECT_EQ(ParseError(WithHeader("spec:\n  inspection: {openapi: {spec: a.yaml}}\n")),
            "web.yaml:6: spec.inspection.openapi: OpenAPI specs are bound to services under apis.openapi");
  EXPECT_EQ(ParseError(WithHeader("spec:\n  inspection:\n    identities: []\n")),
            "web.yaml:7: spec.inspection.identities: client identities are configured under apis.identity");
}

TEST(LoaderTest, ApisSectionIsReadIntoTheModel) {
  auto policies = MustParse(WithHeader(
      "spec:\n  inspection:\n    capture: {processes: [nginx]}\n    apis:\n"
      "      openapi: [{process: nginx, port: 8443, spec: /etc/rampart/users.yaml}]\n"
      "      rateLimits: {reads: 50/m}\n"
      "      bola: {minDistinct: 20, window: 1m}\n"
      "      alerts: {rateLimit: block, zombieEndpoint: {action: block, blockTtl: 1h}}\n"));
  ASSERT_EQ(policies.size(), 1u);
  ASSERT_TRUE(policies[0].spec().inspection().has_apis());
  const v1::ApiInspection& apis = policies[0].spec().inspection().apis();
  ASSERT_EQ(apis.openapi_size(), 1);
  EXPECT_EQ(apis.openapi(0).process(), "nginx");
  EXPECT_EQ(apis.openapi(0).port(), 8443u);
  EXPECT_EQ(apis.openapi(0).spec(), "/etc/rampart/users.yaml");
  EXPECT_EQ(apis.rate_limits().reads(), "50/minute");
  EXPECT_EQ(apis.bola().min_distinct(), 20u);
  EXPECT_EQ(apis.bola().window_seconds(), 60u);
  EXPECT_EQ(apis.alerts().rate_limit().action(), v1::VERDICT_ACTION_BLOCK);
  EXPECT_EQ(apis.alerts().zombie_endpoint().block_ttl_seconds(), 3600u);
  EXPECT_FALSE(apis.has_identity());
  // An empty section turns API analytics on with its defaults.
  auto empty = MustParse(WithHeader("spec:\n  inspection: {apis: {}}\n"));
  ASSERT_EQ(empty.size(), 1u);
  EXPECT_TRUE(empty[0].spec().inspection().has_apis());
}

TEST(LoaderTest, ApisSectionErrorsNameTheFileLineAndField) {
  EXPECT_EQ(ParseError(WithHeader("spec:\n  inspection:\n    apis:\n      rateLimits:\n        reads: 50/minutes\n")),
            "web.yaml:9: spec.inspection.apis.rateLimits.reads: bad rate \"50/minutes\": unknown unit \"minutes\" "
            "(expected COUNT/UNIT, e.g. 100/minute; units second, minute, hour, day)");
  EXPECT_EQ(ParseError(WithHeader("spec:\n  inspection:\n    apis:\n      bola: {minDistinct: 0}\n")),
            "web.yaml:8: spec.inspection.apis.bola.minDistinct: must be 1 to 1000000, got 0");
  EXPECT_EQ(ParseError(WithHeader("spec:\n  inspection:\n    apis:\n      ratelimits: {}\n")),
            "web.yaml:8: spec.inspection.apis.ratelimits: unknown field \"ratelimits\" (did you mean \"rateLimits\"?)");
  EXPECT_EQ(ParseError(WithHeader("spec:\n  inspection:\n    apis:\n      openapi: [{spec: users.yaml}]\n")),
            "web.yaml:8: spec.inspection.apis.openapi[0].spec: expected an absolute path on the node, got \"users.yaml\"");
}

TEST(LoaderTest, DetectorFamiliesReadTheirVerdictAndSettings) {
  auto policies = MustParse(WithHeader(
      "spec:\n  inspection:\n"
      "    dlp: {action: block, minSeverity: critical, blockTtl: 5m, detectors: [credit_card, us_ssn],\n"
      "          blockWhen: {findingsPerResponse: 3}}\n"
      "    attacks: {action: monitor, maxHeaderBytes: 8Ki, maxBodyBytes: 1Mi}\n"
      "    jwt: {action: block, jwks: [/etc/rampart/jwks.json], keys: [/etc/rampart/pub.pem],\n"
      "          algorithms: [RS256], leeway: 30s, replayWindow: 10m}\n"));
  ASSERT_EQ(policies.size(), 1u);
  const auto& inspection = policies[0].spec().inspection();
  EXPECT_EQ(inspection.dlp().verdict().action(), v1::VERDICT_ACTION_BLOCK);
  EXPECT_EQ(inspection.dlp().verdict().min_severity(), "critical");
  EXPECT_EQ(inspection.dlp().verdict().block_ttl_seconds(), 300u);
  EXPECT_THAT(inspection.dlp().detectors(), ::testing::ElementsAre("credit_card", "us_ssn"));
  EXPECT_EQ(inspection.dlp().bulk_card_threshold(), 3u);
  EXPECT_EQ(inspection.attacks().verdict().action(), v1::VERDICT_ACTION_MONITOR);
  EXPECT_EQ(inspection.attacks().max_header_bytes(), 8192u);
  EXPECT_EQ(inspection.attacks().max_body_bytes(), 1048576u);
  EXPECT_THAT(inspection.jwt().jwks_files(), ::testing::ElementsAre("/etc/rampart/jwks.json"));
  EXPECT_THAT(inspection.jwt().pem_files(), ::testing::ElementsAre("/etc/rampart/pub.pem"));
  EXPECT_THAT(inspection.jwt().allowed_algorithms(), ::testing::ElementsAre("RS256"));
  EXPECT_EQ(inspection.jwt().leeway_seconds(), 30u);
  EXPECT_EQ(inspection.jwt().replay_window_seconds(), 600u);
}

TEST(LoaderTest, BadVerdictSettingsNameTheFieldAndTheValue) {
  EXPECT_EQ(ParseError(WithHeader("spec:\n  inspection: {attacks: {action: drop}}\n")),
            R"(web.yaml:6: spec.inspection.attacks.action: bad action "drop" (expected monitor or block))");
  EXPECT_EQ(ParseError(WithHeader("spec:\n  inspection: {dlp: {minSeverity: urgent}}\n")),
            R"(web.yaml:6: spec.inspection.dlp.minSeverity: bad severity "urgent" (expected info, low, medium, high or critical))");
  EXPECT_EQ(ParseError(WithHeader("spec:\n  inspection: {jwt: {leeway: 30}}\n")),
            R"(web.yaml:6: spec.inspection.jwt.leeway: bad duration "30": missing unit: s, m, h or d (e.g. 10m))");
  EXPECT_EQ(ParseError(WithHeader("spec:\n  inspection: {dlp: {blockTtl: 0s}}\n")),
            "web.yaml:6: spec.inspection.dlp.blockTtl: must be at least 1s (leave the field out for 10m)");
}

TEST(LoaderTest, CaptureSelectionReadsProcessesUnitsAndAll) {
  auto policies = MustParse(WithHeader(
      "spec:\n  inspection:\n    capture:\n      processes: [nginx, python3]\n"
      "      units: [payments.service, /system.slice/x]\n      all: true\n"));
  ASSERT_EQ(policies.size(), 1u);
  const auto& capture = policies[0].spec().inspection().capture();
  EXPECT_THAT(capture.processes(), ::testing::ElementsAre("nginx", "python3"));
  EXPECT_THAT(capture.units(), ::testing::ElementsAre("payments.service", "/system.slice/x"));
  EXPECT_TRUE(capture.all());
}

TEST(LoaderTest, CaptureDirectionsAreReadAndWriteAndNothingElse) {
  auto policies = MustParse(WithHeader("spec:\n  inspection:\n    capture:\n      processes: [nginx]\n"
                                       "      directions: [read]\n"));
  ASSERT_EQ(policies.size(), 1u);
  EXPECT_THAT(policies[0].spec().inspection().capture().directions(), ::testing::ElementsAre("read"));
  EXPECT_EQ(ParseError(WithHeader("spec:\n  inspection:\n    capture:\n      processes: [nginx]\n"
                                  "      directions: [read, responses]\n")),
            "web.yaml:9: spec.inspection.capture.directions[1]: unknown direction \"responses\": read (the "
            "plaintext a process receives) or write (what it sends)");
}

TEST(LoaderTest, CaptureSelectionRefusesNamesThatCanNeverMatch) {
  EXPECT_EQ(ParseError(WithHeader("spec:\n  inspection:\n    capture:\n      processes: [a-very-long-process-name]\n")),
            "web.yaml:8: spec.inspection.capture.processes[0]: bad process name \"a-very-long-process-name\": a "
            "process name (comm) of 1-15 characters without '/'");
  EXPECT_NE(ParseError(WithHeader("spec:\n  inspection:\n    capture:\n      all: maybe\n")).find("expected true or false"),
            std::string::npos);
  EXPECT_NE(ParseError(WithHeader("spec:\n  inspection:\n    capture:\n      units: [payments]\n")).find("bad unit"),
            std::string::npos);
}

// --- Rate limits ---

TEST(LoaderRateLimitTest, FullRateLimitsReadIntoTheModelWithQuantitiesExpanded) {
  auto policies = MustParse(WithHeader(R"(spec:
  segmentation:
    ingress:
      default: deny
      allow:
        - name: https
          from: [0.0.0.0/0]
          ports: ["tcp/443"]
  rateLimits:
    - name: https-per-source
      match: {ports: ["tcp/443"]}
      key: source
      packetsPerSecond: 2000
      bytesPerSecond: 10Mi
      burst: 4000
      burstBytes: 1Mi
    - name: dns-per-flow
      match:
        ports: [udp/53, "tcp/53"]
      key: flow
      bytesPerSecond: 500K
    - name: api
      match: {ports: [tcp/8443-8445]}
      packetsPerSecond: 100
)"));
  ASSERT_EQ(policies.size(), 1u);
  v1::PolicySpec want_spec;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
    rate_limits {
      name: "https-per-source"
      match { ports: "tcp/443" }
      key: RATE_LIMIT_KEY_SOURCE
      packets_per_second: 2000
      bytes_per_second: 10485760
      burst: 4000
      burst_bytes: 1048576
    }
    rate_limits {
      name: "dns-per-flow"
      match { ports: [ "udp/53", "tcp/53" ] }
      key: RATE_LIMIT_KEY_FLOW
      bytes_per_second: 500000
    }
    rate_limits {
      name: "api"
      match { ports: "tcp/8443-8445" }
      key: RATE_LIMIT_KEY_UNSPECIFIED
      packets_per_second: 100
    }
  )pb",
                                                            &want_spec));
  v1::PolicySpec got_spec = policies[0].spec();
  got_spec.clear_segmentation();
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(want_spec, got_spec)) << diff;
}

TEST(LoaderRateLimitTest, QuantitiesMayBeQuotedOrPlainNumbers) {
  auto policies = MustParse(OneRateLimit("      bytesPerSecond: \"2G\"\n"
                                         "      burstBytes: 1500\n"
                                         "      packetsPerSecond: \"10\"\n"));
  ASSERT_EQ(policies.size(), 1u);
  const v1::RateLimit& limit = policies[0].spec().rate_limits(0);
  EXPECT_EQ(limit.bytes_per_second(), 2'000'000'000u);
  EXPECT_EQ(limit.burst_bytes(), 1500u);
  EXPECT_EQ(limit.packets_per_second(), 10u);
}

TEST(LoaderRateLimitTest, NullRateLimitsAndNullFieldsReadAsAbsent) {
  auto policies = MustParse(WithHeader("spec:\n  rateLimits:\n"));
  ASSERT_EQ(policies.size(), 1u);
  EXPECT_TRUE(policies[0].spec().rate_limits().empty());
  policies = MustParse(OneRateLimit("      key:\n"
                                    "      packetsPerSecond: 5\n"
                                    "      burst:\n"));
  ASSERT_EQ(policies.size(), 1u);
  EXPECT_EQ(policies[0].spec().rate_limits(0).key(), v1::RATE_LIMIT_KEY_UNSPECIFIED);
  EXPECT_EQ(policies[0].spec().rate_limits(0).burst(), 0u);
}

TEST(LoaderRateLimitTest, BadQuantitiesAreRefusedWithFieldAndLine) {
  EXPECT_EQ(
      ParseError(OneRateLimit("      bytesPerSecond: 10Mb\n")),
      R"(web.yaml:9: spec.rateLimits[0].bytesPerSecond: bad quantity "10Mb": unknown unit "Mb": expected K, M, G or T (x1000), or Ki, Mi, Gi or Ti (x1024))");
  EXPECT_EQ(ParseError(OneRateLimit("      bytesPerSecond: -1\n")),
            R"(web.yaml:9: spec.rateLimits[0].bytesPerSecond: bad quantity "-1": must not be negative)");
  EXPECT_EQ(
      ParseError(OneRateLimit("      bytesPerSecond: 10Mi\n"
                              "      burstBytes: 1.5Mi\n")),
      R"(web.yaml:10: spec.rateLimits[0].burstBytes: bad quantity "1.5Mi": fractions are not allowed: use a smaller unit (1536Ki, not 1.5Mi))");
}

TEST(LoaderRateLimitTest, PacketCountsArePlainWholeNumbers) {
  EXPECT_EQ(ParseError(OneRateLimit("      packetsPerSecond: 2K\n")),
            R"(web.yaml:9: spec.rateLimits[0].packetsPerSecond: bad number "2K": expected a whole number, e.g. 2000)");
  EXPECT_EQ(ParseError(OneRateLimit("      packetsPerSecond: -1\n")),
            R"(web.yaml:9: spec.rateLimits[0].packetsPerSecond: bad number "-1": expected a whole number, e.g. 2000)");
  EXPECT_EQ(ParseError(OneRateLimit("      packetsPerSecond: 10\n"
                                    "      burst: 1.5\n")),
            R"(web.yaml:10: spec.rateLimits[0].burst: bad number "1.5": expected a whole number, e.g. 2000)");
  EXPECT_EQ(ParseError(OneRateLimit("      packetsPerSecond: 99999999999999999999\n")),
            R"(web.yaml:9: spec.rateLimits[0].packetsPerSecond: bad number "99999999999999999999": too large)");
}

TEST(LoaderRateLimitTest, ExplicitZeroIsRefusedWithWhatLeavingItOutMeans) {
  EXPECT_EQ(
      ParseError(OneRateLimit("      packetsPerSecond: 0\n")),
      "web.yaml:9: spec.rateLimits[0].packetsPerSecond: must be at least 1, got 0 (leave the field out for no packet "
      "limit)");
  EXPECT_EQ(ParseError(OneRateLimit("      bytesPerSecond: 0Mi\n")),
            "web.yaml:9: spec.rateLimits[0].bytesPerSecond: must be at least 1, got 0 (leave the field out for no byte "
            "limit)");
  EXPECT_EQ(ParseError(OneRateLimit("      packetsPerSecond: 10\n"
                                    "      burst: 0\n")),
            "web.yaml:10: spec.rateLimits[0].burst: must be at least 1, got 0 (leave the field out for one second's "
            "worth of packetsPerSecond)");
  EXPECT_EQ(ParseError(OneRateLimit("      bytesPerSecond: 10K\n"
                                    "      burstBytes: 0\n")),
            "web.yaml:10: spec.rateLimits[0].burstBytes: must be at least 1, got 0 (leave the field out for one "
            "second's worth of bytesPerSecond)");
}

TEST(LoaderRateLimitTest, RatesAboveTheirBoundsAreRefused) {
  EXPECT_EQ(ParseError(OneRateLimit("      packetsPerSecond: 100000001\n")),
            "web.yaml:9: spec.rateLimits[0].packetsPerSecond: must be at most 100000000 packets per second, got "
            "100000001");
  EXPECT_EQ(ParseError(OneRateLimit("      bytesPerSecond: 10Gi\n")),
            "web.yaml:9: spec.rateLimits[0].bytesPerSecond: must be at most 10000000000 bytes per second, got "
            "10737418240");
  auto policies = MustParse(OneRateLimit("      bytesPerSecond: 10G\n"
                                         "      packetsPerSecond: 100000000\n"));
  ASSERT_EQ(policies.size(), 1u);
  EXPECT_EQ(policies[0].spec().rate_limits(0).bytes_per_second(), 10'000'000'000u);
}

TEST(LoaderRateLimitTest, BurstWithoutPacketsPerSecondIsRefused) {
  EXPECT_EQ(
      ParseError(OneRateLimit("      bytesPerSecond: 10Mi\n"
                              "      burst: 100\n")),
      R"(web.yaml:10: spec.rateLimits[0].burst: "burst" is only valid with "packetsPerSecond", which is not set)");
}

TEST(LoaderRateLimitTest, BurstBytesWithoutBytesPerSecondIsRefused) {
  EXPECT_EQ(
      ParseError(OneRateLimit("      packetsPerSecond: 100\n"
                              "      burstBytes: 1Mi\n")),
      R"(web.yaml:10: spec.rateLimits[0].burstBytes: "burstBytes" is only valid with "bytesPerSecond", which is not set)");
}

TEST(LoaderRateLimitTest, BurstAboveAnHourOfItsRateIsRefused) {
  EXPECT_EQ(ParseError(OneRateLimit("      bytesPerSecond: 1K\n"
                                    "      burstBytes: 4Mi\n")),
            "web.yaml:10: spec.rateLimits[0].burstBytes: must be at most 3600000 bytes (3600 seconds at "
            "bytesPerSecond 1000), got 4194304");
}

TEST(LoaderRateLimitTest, NeitherRateIsRefusedAtTheRateLimit) {
  EXPECT_EQ(ParseError(OneRateLimit("      key: flow\n")),
            "web.yaml:7: spec.rateLimits[0]: at least one of packetsPerSecond and bytesPerSecond is required");
}

TEST(LoaderRateLimitTest, DuplicateNamesCiteTheFirstUse) {
  EXPECT_EQ(ParseError(RateLimits("    - name: https\n"
                                  "      match: {ports: [tcp/443]}\n"
                                  "      packetsPerSecond: 10\n"
                                  "    - name: https\n"
                                  "      match: {ports: [tcp/8443]}\n"
                                  "      packetsPerSecond: 10\n")),
            R"(web.yaml:10: spec.rateLimits[1].name: duplicate rate limit name "https" (first used by rateLimits[0] at line 7))");
}

TEST(LoaderRateLimitTest, NameIsRequiredAndFollowsTheRuleNameRules) {
  EXPECT_EQ(ParseError(RateLimits("    - match: {ports: [tcp/443]}\n"
                                  "      packetsPerSecond: 10\n")),
            "web.yaml:7: spec.rateLimits[0].name: required field is missing");
  EXPECT_EQ(
      ParseError(RateLimits("    - name: HTTPS\n"
                            "      match: {ports: [tcp/443]}\n"
                            "      packetsPerSecond: 10\n")),
      R"(web.yaml:7: spec.rateLimits[0].name: bad rate limit name "HTTPS": must be 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit)");
}

TEST(LoaderRateLimitTest, MatchIsRequiredWithAtLeastOneGoodPort) {
  EXPECT_EQ(
      ParseError(RateLimits("    - name: https\n"
                            "      packetsPerSecond: 10\n")),
      R"(web.yaml:7: spec.rateLimits[0].match: required field is missing (e.g. match: {ports: ["tcp/443"]}))");
  EXPECT_EQ(ParseError(RateLimits("    - name: https\n"
                                  "      match: {}\n"
                                  "      packetsPerSecond: 10\n")),
            R"(web.yaml:8: spec.rateLimits[0].match.ports: at least one port is required (e.g. "tcp/443"))");
  EXPECT_EQ(ParseError(RateLimits("    - name: https\n"
                                  "      match:\n"
                                  "        ports:\n"
                                  "          - tcp/443\n"
                                  "          - tcp/0\n"
                                  "      packetsPerSecond: 10\n")),
            R"(web.yaml:11: spec.rateLimits[0].match.ports[1]: bad port "tcp/0": port 0 is out of range 1-65535)");
}

TEST(LoaderRateLimitTest, BadKeyIsRefused) {
  EXPECT_EQ(ParseError(OneRateLimit("      key: destination\n"
                                    "      packetsPerSecond: 10\n")),
            R"(web.yaml:9: spec.rateLimits[0].key: bad key "destination" (expected source or flow))");
}

TEST(LoaderRateLimitTest, UnknownFieldsInsideARateLimitAreRefused) {
  EXPECT_EQ(ParseError(OneRateLimit("      packetsPerSecond: 10\n"
                                    "      rate: 10\n")),
            R"(web.yaml:10: spec.rateLimits[0].rate: unknown field "rate")");
  EXPECT_EQ(
      ParseError(OneRateLimit("      packets_per_second: 10\n")),
      R"(web.yaml:9: spec.rateLimits[0].packets_per_second: unknown field "packets_per_second" (did you mean "packetsPerSecond"?))");
  EXPECT_EQ(ParseError(RateLimits("    - name: https\n"
                                  "      match: {port: [tcp/443]}\n")),
            R"(web.yaml:8: spec.rateLimits[0].match.port: unknown field "port")");
}

TEST(LoaderRateLimitTest, WrongYamlTypesAreRefused) {
  EXPECT_EQ(ParseError(WithHeader("spec:\n  rateLimits: {name: https}\n")),
            "web.yaml:6: spec.rateLimits: expected a list of rate limits, got a map");
  EXPECT_EQ(ParseError(RateLimits("    - https\n")),
            R"(web.yaml:7: spec.rateLimits[0]: expected a rate limit (a map), got a string "https")");
  EXPECT_EQ(ParseError(OneRateLimit("      packetsPerSecond: [10]\n")),
            "web.yaml:9: spec.rateLimits[0].packetsPerSecond: expected a whole number, got a list");
  EXPECT_EQ(ParseError(OneRateLimit("      bytesPerSecond: {value: 10Mi}\n")),
            "web.yaml:9: spec.rateLimits[0].bytesPerSecond: expected a number of bytes (e.g. 10Mi), got a map");
  EXPECT_EQ(ParseError(RateLimits("    - name: https\n"
                                  "      match: [tcp/443]\n")),
            "web.yaml:8: spec.rateLimits[0].match: expected a map, got a list");
  EXPECT_EQ(ParseError(RateLimits("    - name: https\n"
                                  "      match: {ports: tcp/443}\n")),
            R"(web.yaml:8: spec.rateLimits[0].match.ports: expected a list of strings, got a string "tcp/443")");
  EXPECT_EQ(ParseError(OneRateLimit("      key: [source]\n")),
            "web.yaml:9: spec.rateLimits[0].key: expected a string, got a list");
}

// --- Wrong YAML types ---

TEST(LoaderTest, MapWhereAListIsExpectedIsRefused) {
  EXPECT_EQ(ParseError(WithHeader("spec:\n  interfaces: {eth0: true}\n")),
            "web.yaml:6: spec.interfaces: expected a list of strings, got a map");
}

TEST(LoaderTest, StringWhereAListIsExpectedIsRefused) {
  EXPECT_EQ(
      ParseError(IngressRules("        - name: https\n"
                              "          from: 10.0.0.0/8\n"
                              "          ports: [tcp/443]\n")),
      R"(web.yaml:10: spec.segmentation.ingress.allow[0].from: expected a list of strings, got a string "10.0.0.0/8")");
}

TEST(LoaderTest, ListWhereAStringIsExpectedIsRefused) {
  EXPECT_EQ(ParseError("apiVersion: rampart/v1\nkind: Policy\nmetadata:\n  name: [web]\n"),
            "web.yaml:4: metadata.name: expected a string, got a list");
}

TEST(LoaderTest, ListItemOfTheWrongTypeIsRefused) {
  EXPECT_EQ(ParseError(IngressRules("        - name: https\n"
                                    "          from:\n"
                                    "            - 10.0.0.0/8\n"
                                    "            - {cidr: 10.1.0.0/16}\n"
                                    "          ports: [tcp/443]\n")),
            "web.yaml:12: spec.segmentation.ingress.allow[0].from[1]: expected a string, got a map");
}

TEST(LoaderTest, ListWhereAMapIsExpectedIsRefused) {
  EXPECT_EQ(ParseError("apiVersion: rampart/v1\nkind: Policy\nmetadata: [web]\n"),
            "web.yaml:3: metadata: expected a map, got a list");
}

TEST(LoaderTest, AllowMustBeAListOfRules) {
  EXPECT_EQ(ParseError(WithHeader("spec:\n  segmentation:\n    ingress:\n      allow: {name: https}\n")),
            "web.yaml:8: spec.segmentation.ingress.allow: expected a list of rules, got a map");
}

TEST(LoaderTest, EachRuleMustBeAMap) {
  EXPECT_EQ(ParseError(IngressRules("        - https\n")),
            R"(web.yaml:9: spec.segmentation.ingress.allow[0]: expected a rule (a map), got a string "https")");
}

TEST(LoaderTest, LabelValuesMustBeStrings) {
  EXPECT_EQ(ParseError(WithHeader("  labels:\n    team: [a, b]\n")),
            "web.yaml:6: metadata.labels.team: expected a string, got a list");
}

// --- Header and names ---

TEST(LoaderTest, MissingApiVersionIsRefused) {
  EXPECT_EQ(ParseError("kind: Policy\nmetadata: {name: web}\n"),
            R"(web.yaml:1: apiVersion: required field is missing (expected "rampart/v1"))");
}

TEST(LoaderTest, OtherApiVersionIsRefused) {
  EXPECT_EQ(ParseError("apiVersion: rampart/v2\nkind: Policy\nmetadata: {name: web}\n"),
            R"(web.yaml:1: apiVersion: unsupported apiVersion "rampart/v2" (expected "rampart/v1"))");
}

TEST(LoaderTest, MissingKindIsRefused) {
  EXPECT_EQ(ParseError("apiVersion: rampart/v1\nmetadata: {name: web}\n"),
            R"(web.yaml:1: kind: required field is missing (expected "Policy"))");
}

TEST(LoaderTest, OtherKindIsRefused) {
  EXPECT_EQ(ParseError("apiVersion: rampart/v1\nkind: NetworkPolicy\nmetadata: {name: web}\n"),
            R"(web.yaml:2: kind: unsupported kind "NetworkPolicy" (expected "Policy"))");
}

TEST(LoaderTest, MissingMetadataNameCitesTheMetadataLine) {
  EXPECT_EQ(ParseError("apiVersion: rampart/v1\nkind: Policy\nmetadata:\n  labels: {team: a}\n"),
            "web.yaml:3: metadata.name: required field is missing");
}

TEST(LoaderTest, MissingMetadataCitesTheDocument) {
  EXPECT_EQ(ParseError("apiVersion: rampart/v1\nkind: Policy\n"),
            "web.yaml:1: metadata.name: required field is missing");
}

TEST(LoaderTest, PolicyNameMustBeADnsLabel) {
  EXPECT_EQ(
      ParseError("apiVersion: rampart/v1\nkind: Policy\nmetadata:\n  name: Payments_API\n"),
      R"(web.yaml:4: metadata.name: bad name "Payments_API": must be 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit)");
}

TEST(LoaderTest, NullValuesReadAsAbsent) {
  EXPECT_EQ(ParseError("apiVersion: rampart/v1\nkind: Policy\nmetadata:\n  name:\n"),
            "web.yaml:4: metadata.name: required field is missing");
}

// --- Segmentation rules ---

TEST(LoaderTest, BadIpv4CidrNamesTheListItem) {
  EXPECT_EQ(
      ParseError(IngressRules("        - name: https\n"
                              "          from: [203.0.113.0/24, 10.0.0.300/8]\n"
                              "          ports: [tcp/443]\n")),
      R"(web.yaml:10: spec.segmentation.ingress.allow[0].from[1]: bad CIDR "10.0.0.300/8": not an IPv4 or IPv6 address)");
}

TEST(LoaderTest, BadIpv6CidrNamesTheListItem) {
  EXPECT_EQ(
      ParseError(IngressRules("        - name: https\n"
                              "          from:\n"
                              "            - \"2001:db8::/32\"\n"
                              "            - \"2001:db8:::1/64\"\n"
                              "          ports: [tcp/443]\n")),
      R"(web.yaml:12: spec.segmentation.ingress.allow[0].from[1]: bad CIDR "2001:db8:::1/64": not an IPv4 or IPv6 address)");
}

TEST(LoaderTest, CidrWithHostBitsSetIsRefused) {
  EXPECT_EQ(
      ParseError(EgressRules("        - name: db\n"
                             "          to: [10.20.0.1/16]\n"
                             "          ports: [tcp/5432]\n")),
      R"(web.yaml:10: spec.segmentation.egress.allow[0].to[0]: bad CIDR "10.20.0.1/16": host bits are set (did you mean 10.20.0.0/16?))");
}

TEST(LoaderTest, Ipv6CidrWithHostBitsSetIsRefused) {
  EXPECT_EQ(
      ParseError(IngressRules("        - name: https\n"
                              "          from: [\"2001:db8::1/32\"]\n"
                              "          ports: [tcp/443]\n")),
      R"(web.yaml:10: spec.segmentation.ingress.allow[0].from[0]: bad CIDR "2001:db8::1/32": host bits are set (did you mean 2001:db8::/32?))");
}

TEST(LoaderTest, PortZeroIsRefused) {
  EXPECT_EQ(
      ParseError(IngressRules("        - name: https\n"
                              "          from: [10.0.0.0/8]\n"
                              "          ports: [tcp/0]\n")),
      R"(web.yaml:11: spec.segmentation.ingress.allow[0].ports[0]: bad port "tcp/0": port 0 is out of range 1-65535)");
}

TEST(LoaderTest, Port65536IsRefused) {
  EXPECT_EQ(
      ParseError(IngressRules("        - name: https\n"
                              "          from: [10.0.0.0/8]\n"
                              "          ports: [tcp/443, tcp/65536]\n")),
      R"(web.yaml:11: spec.segmentation.ingress.allow[0].ports[1]: bad port "tcp/65536": port 65536 is out of range 1-65535)");
}

TEST(LoaderTest, ReversedPortRangeIsRefused) {
  EXPECT_EQ(
      ParseError(IngressRules("        - name: https\n"
                              "          from: [10.0.0.0/8]\n"
                              "          ports: [tcp/8445-8443]\n")),
      R"(web.yaml:11: spec.segmentation.ingress.allow[0].ports[0]: bad port "tcp/8445-8443": range starts after it ends)");
}

TEST(LoaderTest, UnknownProtocolIsRefused) {
  EXPECT_EQ(
      ParseError(IngressRules("        - name: https\n"
                              "          from: [10.0.0.0/8]\n"
                              "          ports:\n"
                              "            - sctp/443\n")),
      R"(web.yaml:12: spec.segmentation.ingress.allow[0].ports[0]: bad port "sctp/443": protocol "sctp" is not tcp or udp)");
}

TEST(LoaderTest, BarePortNumberIsRefused) {
  EXPECT_EQ(
      ParseError(IngressRules("        - name: https\n"
                              "          from: [10.0.0.0/8]\n"
                              "          ports: [443]\n")),
      R"(web.yaml:11: spec.segmentation.ingress.allow[0].ports[0]: bad port "443": expected PROTO/PORT or PROTO/FIRST-LAST, e.g. tcp/443)");
}

TEST(LoaderTest, DuplicateRuleNameCitesTheFirstUse) {
  EXPECT_EQ(
      ParseError(IngressRules("        - name: partners-https\n"
                              "          from: [203.0.113.0/24]\n"
                              "          ports: [tcp/443]\n"
                              "        - name: partners-https\n"
                              "          from: [198.51.100.0/24]\n"
                              "          ports: [tcp/443]\n")),
      R"(web.yaml:12: spec.segmentation.ingress.allow[1].name: duplicate rule name "partners-https" (first used by allow[0] at line 9))");
}

TEST(LoaderTest, RuleWithoutNameCitesTheRule) {
  EXPECT_EQ(ParseError(IngressRules("        - from: [10.0.0.0/8]\n"
                                    "          ports: [tcp/443]\n")),
            "web.yaml:9: spec.segmentation.ingress.allow[0].name: required field is missing");
}

TEST(LoaderTest, IngressRuleWithoutFromIsRefused) {
  EXPECT_EQ(ParseError(IngressRules("        - name: https\n"
                                    "          ports: [tcp/443]\n")),
            "web.yaml:9: spec.segmentation.ingress.allow[0].from: at least one source prefix is required");
}

TEST(LoaderTest, IngressRuleWithEmptyFromCitesTheFromLine) {
  EXPECT_EQ(ParseError(IngressRules("        - name: https\n"
                                    "          from: []\n"
                                    "          ports: [tcp/443]\n")),
            "web.yaml:10: spec.segmentation.ingress.allow[0].from: at least one source prefix is required");
}

TEST(LoaderTest, EgressRuleWithoutToIsRefused) {
  EXPECT_EQ(ParseError(EgressRules("        - name: db\n"
                                   "          unit: payments.service\n"
                                   "          ports: [tcp/5432]\n")),
            "web.yaml:9: spec.segmentation.egress.allow[0].to: at least one destination prefix is required");
}

TEST(LoaderTest, RuleWithoutPortsIsRefused) {
  EXPECT_EQ(ParseError(IngressRules("        - name: https\n"
                                    "          from: [10.0.0.0/8]\n")),
            R"(web.yaml:9: spec.segmentation.ingress.allow[0].ports: at least one port is required (e.g. "tcp/443"))");
}

TEST(LoaderTest, FromUnderEgressIsRefused) {
  EXPECT_EQ(
      ParseError(EgressRules("        - name: db\n"
                             "          from: [10.0.0.0/8]\n"
                             "          ports: [tcp/5432]\n")),
      R"(web.yaml:10: spec.segmentation.egress.allow[0].from: "from" is only valid in ingress rules (egress rules use "to"))");
}

TEST(LoaderTest, ToUnderIngressIsRefused) {
  EXPECT_EQ(
      ParseError(IngressRules("        - name: https\n"
                              "          to: [10.0.0.0/8]\n"
                              "          ports: [tcp/443]\n")),
      R"(web.yaml:10: spec.segmentation.ingress.allow[0].to: "to" is only valid in egress rules (ingress rules use "from"))");
}

TEST(LoaderTest, UnitUnderIngressIsRefused) {
  EXPECT_EQ(ParseError(IngressRules("        - name: https\n"
                                    "          unit: nginx.service\n")),
            R"(web.yaml:10: spec.segmentation.ingress.allow[0].unit: "unit" is only valid in egress rules)");
}

TEST(LoaderTest, UnitAndCgroupTogetherAreRefused) {
  EXPECT_EQ(
      ParseError(EgressRules("        - name: db\n"
                             "          unit: payments.service\n"
                             "          cgroup: /system.slice/payments.service\n"
                             "          to: [10.20.0.0/16]\n"
                             "          ports: [tcp/5432]\n")),
      R"(web.yaml:11: spec.segmentation.egress.allow[0].cgroup: "unit" and "cgroup" are mutually exclusive: scope the rule with one of them)");
}

TEST(LoaderTest, UnitMustNameAServiceScopeSliceOrSocket) {
  EXPECT_EQ(
      ParseError(EgressRules("        - name: db\n"
                             "          unit: payments\n"
                             "          to: [10.20.0.0/16]\n"
                             "          ports: [tcp/5432]\n")),
      R"(web.yaml:10: spec.segmentation.egress.allow[0].unit: bad unit "payments": expected NAME.service, NAME.scope, NAME.slice or NAME.socket)");
}

TEST(LoaderTest, CgroupMustBeAbsolute) {
  EXPECT_EQ(
      ParseError(EgressRules("        - name: db\n"
                             "          cgroup: system.slice/payments.service\n"
                             "          to: [10.20.0.0/16]\n"
                             "          ports: [tcp/5432]\n")),
      R"(web.yaml:10: spec.segmentation.egress.allow[0].cgroup: bad cgroup "system.slice/payments.service": must be an absolute cgroup v2 path starting with '/')");
}

TEST(LoaderTest, BadDefaultActionIsRefused) {
  EXPECT_EQ(ParseError(WithHeader("spec:\n  segmentation:\n    ingress:\n      default: block\n")),
            R"(web.yaml:8: spec.segmentation.ingress.default: bad default action "block" (expected allow or deny))");
}

TEST(LoaderTest, BadInterfaceNameIsRefused) {
  EXPECT_EQ(ParseError(WithHeader("spec:\n  interfaces:\n    - eth0\n    - a-very-long-interface\n")),
            R"(web.yaml:8: spec.interfaces[1]: bad interface name "a-very-long-interface": longer than 15 characters)");
}

TEST(LoaderTest, ErrorsInALaterDocumentCiteTheFileLine) {
  EXPECT_EQ(
      ParseError(R"(apiVersion: rampart/v1
kind: Policy
metadata: {name: web}
---
apiVersion: rampart/v1
kind: Policy
metadata: {name: db}
spec:
  interfaces: [eth0/1]
)"),
      R"(web.yaml:9: spec.interfaces[0]: bad interface name "eth0/1": must not contain '/', ':', whitespace or control characters)");
}

TEST(LoaderTest, MultiLineValueIsEscapedSoTheErrorStaysOneLine) {
  EXPECT_EQ(
      ParseError("apiVersion: rampart/v1\nkind: Policy\nmetadata:\n  name: |\n    web\n    api\n"),
      R"(web.yaml:4: metadata.name: bad name "web\napi\n": must be 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit)");
}

TEST(LoaderTest, DuplicatePolicyNamesInOneFileAreRefused) {
  EXPECT_EQ(ParseError(R"(apiVersion: rampart/v1
kind: Policy
metadata: {name: web}
---
apiVersion: rampart/v1
kind: Policy
metadata: {name: web}
)"),
            R"(web.yaml:7: metadata.name: duplicate policy name "web" (first defined in web.yaml:3))");
}

// --- LoadPolicyPath ---

class LoadPolicyPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rampart-policy-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, std::string_view text) {
    fs::path path = fs::path(dir_) / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }

  static std::string Policy(std::string_view name) {
    return rampart::StrCat("apiVersion: rampart/v1\nkind: Policy\nmetadata: {name: ", name, "}\n");
  }

  std::string LoadError(const std::string& path) {
    auto policies = LoadPolicyPath(path);
    if (policies.ok()) {
      ADD_FAILURE() << "expected an error loading " << path;
      return "";
    }
    std::string message(policies.status().message());
    EXPECT_EQ(message.find('\n'), std::string::npos) << "error is not one line: " << message;
    return message;
  }

  std::string dir_;
};

TEST_F(LoadPolicyPathTest, SingleFileIsLoadedWithItsPathAsSource) {
  std::string file = Write("web.yaml", Policy("web"));
  auto policies = LoadPolicyPath(file);
  ASSERT_TRUE(policies.ok()) << policies.status();
  ASSERT_EQ(policies->size(), 1u);
  EXPECT_EQ((*policies)[0].source(), file);
}

TEST_F(LoadPolicyPathTest, DirectoryLoadsYamlAndYmlFilesInNameOrder) {
  Write("b.yaml", Policy("bravo"));
  Write("a.yml", rampart::StrCat(Policy("alpha"), "---\n", Policy("alpha-two")));
  Write("c.yaml", Policy("charlie"));
  auto policies = LoadPolicyPath(dir_);
  ASSERT_TRUE(policies.ok()) << policies.status();
  ASSERT_EQ(policies->size(), 4u);
  EXPECT_EQ((*policies)[0].metadata().name(), "alpha");
  EXPECT_EQ((*policies)[1].metadata().name(), "alpha-two");
  EXPECT_EQ((*policies)[2].metadata().name(), "bravo");
  EXPECT_EQ((*policies)[3].metadata().name(), "charlie");
  EXPECT_EQ((*policies)[0].source(), dir_ + "/a.yml");
  EXPECT_EQ((*policies)[2].source(), dir_ + "/b.yaml");
}

TEST_F(LoadPolicyPathTest, DirectoryIgnoresOtherFilesHiddenFilesAndSubdirectories) {
  Write("web.yaml", Policy("web"));
  Write("README.md", "not yaml: [");
  Write("web.yaml.orig", "not yaml: [");
  Write(".web.yaml", "not yaml: [");
  Write("nested/db.yaml", "not yaml: [");
  auto policies = LoadPolicyPath(dir_);
  ASSERT_TRUE(policies.ok()) << policies.status();
  ASSERT_EQ(policies->size(), 1u);
  EXPECT_EQ((*policies)[0].metadata().name(), "web");
}

TEST_F(LoadPolicyPathTest, DirectoryPathMayEndInASlash) {
  Write("web.yaml", Policy("web"));
  auto policies = LoadPolicyPath(dir_ + "/");
  ASSERT_TRUE(policies.ok()) << policies.status();
  EXPECT_EQ((*policies)[0].source(), dir_ + "/web.yaml");
}

TEST_F(LoadPolicyPathTest, DuplicatePolicyNamesAcrossFilesNameBothFiles) {
  Write("a.yaml", Policy("web"));
  Write("b.yaml", rampart::StrCat(Policy("db"), "---\n", Policy("web")));
  EXPECT_EQ(LoadError(dir_),
            rampart::StrCat(dir_, "/b.yaml:7: metadata.name: duplicate policy name \"web\" (first defined in ", dir_,
                            "/a.yaml:3)"));
}

TEST_F(LoadPolicyPathTest, OneBadFileFailsTheWholeLoad) {
  Write("a.yaml", Policy("alpha"));
  Write("b.yaml", WithHeader("spec:\n  bogus: 1\n"));
  EXPECT_EQ(LoadError(dir_), rampart::StrCat(dir_, "/b.yaml:6: spec.bogus: unknown field \"bogus\""));
}

TEST_F(LoadPolicyPathTest, MalformedFileIsNamedInTheError) {
  Write("a.yaml", "apiVersion: [\n");
  EXPECT_THAT(LoadError(dir_), HasSubstr(rampart::StrCat(dir_, "/a.yaml:1: malformed YAML: ")));
}

TEST_F(LoadPolicyPathTest, MissingPathIsNamed) {
  std::string missing = dir_ + "/nope";
  EXPECT_EQ(LoadError(missing), rampart::StrCat(missing, ": no such file or directory"));
}

TEST_F(LoadPolicyPathTest, DirectoryWithoutPolicyFilesIsAnError) {
  Write("notes.txt", "hello");
  EXPECT_EQ(LoadError(dir_), rampart::StrCat(dir_, ": no policy files (*.yaml, *.yml) in directory"));
}

TEST_F(LoadPolicyPathTest, FilesWithOnlyEmptyDocumentsAreAnError) {
  Write("a.yaml", "# nothing yet\n---\n");
  EXPECT_EQ(LoadError(dir_), rampart::StrCat(dir_, ": no policies found (every document is empty)"));
}

}  // namespace
}  // namespace rampart::policy

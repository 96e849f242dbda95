// Semantic validation of the policy model, as the agent runs it on a bundle
// (no YAML, no lines) and as the loader runs it with a FieldLines map.
#include "agent/policy/validate.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "agent/common/strings.h"

namespace rampart::policy {
namespace {

// A valid policy with one rule in each direction and one rate limit; tests
// break one thing each.
constexpr char kValid[] = R"pb(
  api_version: "rampart/v1"
  kind: "Policy"
  source: "web.yaml"
  metadata {
    name: "web"
    labels { key: "team" value: "payments" }
  }
  spec {
    node_selector { key: "role" value: "web" }
    interfaces: [ "eth0", "ens5" ]
    segmentation {
      ingress {
        default_action: DEFAULT_ACTION_DENY
        allow {
          name: "https"
          from: [ "203.0.113.0/24", "2001:db8::/32" ]
          ports: [ "tcp/443", "tcp/8443-8445" ]
        }
      }
      egress {
        default_action: DEFAULT_ACTION_ALLOW
        allow { name: "db" unit: "payments.service" to: "10.20.0.0/16" ports: "tcp/5432" }
      }
    }
    rate_limits {
      name: "https-per-source"
      match { ports: [ "tcp/443", "tcp/8443-8445" ] }
      key: RATE_LIMIT_KEY_SOURCE
      packets_per_second: 2000
      bytes_per_second: 10485760
      burst: 4000
      burst_bytes: 1048576
    }
  }
)pb";

v1::Policy Valid() {
  v1::Policy policy;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(kValid, &policy));
  return policy;
}

v1::SegmentationRule& IngressRule(v1::Policy& p) {
  return *p.mutable_spec()->mutable_segmentation()->mutable_ingress()->mutable_allow(0);
}
v1::SegmentationRule& EgressRule(v1::Policy& p) {
  return *p.mutable_spec()->mutable_segmentation()->mutable_egress()->mutable_allow(0);
}
v1::RateLimit& Limit(v1::Policy& p, int i = 0) { return *p.mutable_spec()->mutable_rate_limits(i); }

// The error ValidatePolicy gives, checked to be a single line.
std::string Error(const v1::Policy& policy, const FieldLines* lines = nullptr) {
  absl::Status status = ValidatePolicy(policy, lines);
  if (status.ok()) {
    ADD_FAILURE() << "expected an error for " << policy.DebugString();
    return "";
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  std::string message(status.message());
  EXPECT_EQ(message.find('\n'), std::string::npos) << "error is not one line: " << message;
  return message;
}

std::string SetError(const std::vector<v1::Policy>& policies, const std::vector<FieldLines>* lines = nullptr) {
  absl::Status status = ValidatePolicySet(policies, lines);
  if (status.ok()) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return std::string(status.message());
}

// --- Acceptance ---

TEST(ValidateTest, ValidPolicyPasses) { EXPECT_TRUE(ValidatePolicy(Valid()).ok()) << ValidatePolicy(Valid()); }

TEST(ValidateTest, PolicyWithoutSpecPasses) {
  v1::Policy p = Valid();
  p.clear_spec();
  EXPECT_TRUE(ValidatePolicy(p).ok());
}

TEST(ValidateTest, CgroupScopedEgressRulePasses) {
  v1::Policy p = Valid();
  EgressRule(p).clear_unit();
  EgressRule(p).set_cgroup("/system.slice/payments.service");
  EXPECT_TRUE(ValidatePolicy(p).ok()) << ValidatePolicy(p);
}

TEST(ValidateTest, UnitsMayBeServicesScopesSlicesSocketsAndTemplateInstances) {
  for (const char* unit : {"a.service", "session-2.scope", "system-payments.slice", "payments.socket",
                           "getty@tty1.service", "dev-disk-by\\x2duuid.service"}) {
    v1::Policy p = Valid();
    EgressRule(p).set_unit(unit);
    EXPECT_TRUE(ValidatePolicy(p).ok()) << unit << ": " << ValidatePolicy(p);
  }
}

TEST(ValidateTest, NamesMayBeUpTo63Characters) {
  v1::Policy p = Valid();
  p.mutable_metadata()->set_name(std::string(63, 'a'));
  EXPECT_TRUE(ValidatePolicy(p).ok());
}

TEST(ValidateTest, KubernetesStyleLabelKeysWithPrefixesPass) {
  v1::Policy p = Valid();
  (*p.mutable_metadata()->mutable_labels())["app.kubernetes.io/part-of"] = "Shop_1.x";
  (*p.mutable_spec()->mutable_node_selector())["topology.kubernetes.io/zone"] = "";
  EXPECT_TRUE(ValidatePolicy(p).ok()) << ValidatePolicy(p);
}

// --- Error format without lines (the agent's view of a bundle) ---

TEST(ValidateTest, ErrorWithoutLinesIsSourceThenPath) {
  v1::Policy p = Valid();
  IngressRule(p).set_from(1, "10.0.0.300/8");
  EXPECT_EQ(
      Error(p),
      R"(web.yaml: spec.segmentation.ingress.allow[0].from[1]: bad CIDR "10.0.0.300/8": not an IPv4 or IPv6 address)");
}

TEST(ValidateTest, ErrorWithoutSourceNamesThePolicy) {
  v1::Policy p = Valid();
  p.clear_source();
  IngressRule(p).set_ports(0, "tcp/0");
  EXPECT_EQ(
      Error(p),
      R"(policy web: spec.segmentation.ingress.allow[0].ports[0]: bad port "tcp/0": port 0 is out of range 1-65535)");
}

TEST(ValidateTest, ErrorWithoutSourceOrNameSaysUnnamedPolicy) {
  v1::Policy p = Valid();
  p.clear_source();
  p.mutable_metadata()->clear_name();
  EXPECT_EQ(Error(p), "unnamed policy: metadata.name: required field is missing");
}

// --- Error format with lines ---

TEST(ValidateTest, ErrorCitesTheLineOfTheField) {
  v1::Policy p = Valid();
  IngressRule(p).set_from(1, "10.0.0.300/8");
  FieldLines lines = {
      {"", 1}, {"spec.segmentation.ingress.allow[0]", 9}, {"spec.segmentation.ingress.allow[0].from[1]", 10}};
  EXPECT_EQ(
      Error(p, &lines),
      R"(web.yaml:10: spec.segmentation.ingress.allow[0].from[1]: bad CIDR "10.0.0.300/8": not an IPv4 or IPv6 address)");
}

TEST(ValidateTest, ErrorOnAFieldWithoutALineCitesTheNearestEnclosingField) {
  v1::Policy p = Valid();
  IngressRule(p).clear_ports();
  FieldLines lines = {{"", 1}, {"spec", 5}, {"spec.segmentation.ingress.allow[0]", 9}};
  EXPECT_EQ(Error(p, &lines),
            R"(web.yaml:9: spec.segmentation.ingress.allow[0].ports: at least one port is required (e.g. "tcp/443"))");
}

TEST(ValidateTest, ErrorOnAQuotedMapKeyFindsItsLine) {
  v1::Policy p = Valid();
  (*p.mutable_metadata()->mutable_labels())["app.io/x"] = "bad value";
  FieldLines lines = {{"", 1}, {"metadata.labels", 5}, {R"(metadata.labels["app.io/x"])", 7}};
  EXPECT_EQ(
      Error(p, &lines),
      R"(web.yaml:7: metadata.labels["app.io/x"]: bad label value "bad value": must be empty or 1-63 characters of A-Z, a-z, 0-9, '-', '_' and '.', starting and ending with a letter or digit)");
}

// --- Header ---

TEST(ValidateTest, ApiVersionIsRequired) {
  v1::Policy p = Valid();
  p.clear_api_version();
  EXPECT_EQ(Error(p), R"(web.yaml: apiVersion: required field is missing (expected "rampart/v1"))");
}

TEST(ValidateTest, ApiVersionMustBeRampartV1) {
  v1::Policy p = Valid();
  p.set_api_version("rampart/v1beta1");
  EXPECT_EQ(Error(p), R"(web.yaml: apiVersion: unsupported apiVersion "rampart/v1beta1" (expected "rampart/v1"))");
}

TEST(ValidateTest, KindMustBePolicy) {
  v1::Policy p = Valid();
  p.set_kind("policy");
  EXPECT_EQ(Error(p), R"(web.yaml: kind: unsupported kind "policy" (expected "Policy"))");
}

// --- Names ---

TEST(ValidateTest, PolicyNameIsRequired) {
  v1::Policy p = Valid();
  p.mutable_metadata()->clear_name();
  EXPECT_EQ(Error(p), "web.yaml: metadata.name: required field is missing");
}

TEST(ValidateTest, PolicyNameMustBeLowercaseLettersDigitsAndDashes) {
  for (const char* bad : {"Web", "web_api", "web.api", "-web", "web-", "web api"}) {
    v1::Policy p = Valid();
    p.mutable_metadata()->set_name(bad);
    EXPECT_EQ(Error(p), rampart::StrCat("web.yaml: metadata.name: bad name \"", bad,
                                        "\": must be 1-63 characters of a-z, 0-9 and '-', starting and ending with a "
                                        "letter or digit"));
  }
}

TEST(ValidateTest, PolicyNameMayNotExceed63Characters) {
  v1::Policy p = Valid();
  p.mutable_metadata()->set_name(std::string(64, 'a'));
  EXPECT_THAT(Error(p), ::testing::StartsWith("web.yaml: metadata.name: bad name \"aaaa"));
}

TEST(ValidateTest, RuleNameFollowsThePolicyNameRules) {
  v1::Policy p = Valid();
  EgressRule(p).set_name("To DB");
  EXPECT_EQ(
      Error(p),
      R"(web.yaml: spec.segmentation.egress.allow[0].name: bad rule name "To DB": must be 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit)");
}

TEST(ValidateTest, RuleNameIsRequired) {
  v1::Policy p = Valid();
  EgressRule(p).clear_name();
  EXPECT_EQ(Error(p), "web.yaml: spec.segmentation.egress.allow[0].name: required field is missing");
}

TEST(ValidateTest, RuleNamesAreUniqueWithinADirection) {
  v1::Policy p = Valid();
  *p.mutable_spec()->mutable_segmentation()->mutable_ingress()->add_allow() = IngressRule(p);
  EXPECT_EQ(
      Error(p),
      R"(web.yaml: spec.segmentation.ingress.allow[1].name: duplicate rule name "https" (first used by allow[0]))");
}

TEST(ValidateTest, LabelKeysFollowKubernetesSyntax) {
  v1::Policy p = Valid();
  (*p.mutable_metadata()->mutable_labels())["Bad/key"] = "x";
  EXPECT_EQ(
      Error(p),
      R"(web.yaml: metadata.labels["Bad/key"]: bad label key "Bad/key": the prefix before '/' must be a lowercase DNS subdomain)");
}

TEST(ValidateTest, NodeSelectorKeysFollowLabelSyntax) {
  v1::Policy p = Valid();
  (*p.mutable_spec()->mutable_node_selector())[""] = "x";
  EXPECT_EQ(
      Error(p),
      R"(web.yaml: spec.nodeSelector[""]: bad label key "": the name must be 1-63 characters of A-Z, a-z, 0-9, '-', '_' and '.', starting and ending with a letter or digit)");
}

// --- Interfaces ---

TEST(ValidateTest, InterfaceNamesFollowTheKernelsRules) {
  struct Case {
    std::string name;
    std::string reason;
  };
  for (const Case& c : std::vector<Case>{{"", "is empty"},
                                         {"sixteen-chars-xx", "longer than 15 characters"},
                                         {"..", "not a device name"},
                                         {"eth0:1", "must not contain '/', ':', whitespace or control characters"},
                                         {"eth 0", "must not contain '/', ':', whitespace or control characters"}}) {
    v1::Policy p = Valid();
    p.mutable_spec()->set_interfaces(1, c.name);
    EXPECT_EQ(Error(p),
              rampart::StrCat("web.yaml: spec.interfaces[1]: bad interface name \"", c.name, "\": ", c.reason));
  }
}

TEST(ValidateTest, FifteenCharacterInterfaceNamePasses) {
  v1::Policy p = Valid();
  p.mutable_spec()->set_interfaces(0, "fifteen-chars-x");
  EXPECT_TRUE(ValidatePolicy(p).ok()) << ValidatePolicy(p);
}

TEST(ValidateTest, InterfacesAreListedOnce) {
  v1::Policy p = Valid();
  p.mutable_spec()->add_interfaces("eth0");
  EXPECT_EQ(Error(p), R"(web.yaml: spec.interfaces[2]: duplicate interface "eth0" (first at spec.interfaces[0]))");
}

// --- Directions ---

TEST(ValidateTest, DefaultActionMustBeAKnownValue) {
  v1::Policy p = Valid();
  p.mutable_spec()->mutable_segmentation()->mutable_egress()->set_default_action(static_cast<v1::DefaultAction>(7));
  EXPECT_EQ(Error(p), "web.yaml: spec.segmentation.egress.default: bad default action 7 (expected allow or deny)");
}

TEST(ValidateTest, FromInAnEgressRuleIsRefused) {
  v1::Policy p = Valid();
  EgressRule(p).add_from("10.0.0.0/8");
  EXPECT_EQ(
      Error(p),
      R"(web.yaml: spec.segmentation.egress.allow[0].from: "from" is only valid in ingress rules (egress rules use "to"))");
}

TEST(ValidateTest, ToInAnIngressRuleIsRefused) {
  v1::Policy p = Valid();
  IngressRule(p).add_to("10.0.0.0/8");
  EXPECT_EQ(
      Error(p),
      R"(web.yaml: spec.segmentation.ingress.allow[0].to: "to" is only valid in egress rules (ingress rules use "from"))");
}

TEST(ValidateTest, UnitAndCgroupInAnIngressRuleAreRefused) {
  v1::Policy p = Valid();
  IngressRule(p).set_unit("nginx.service");
  EXPECT_EQ(Error(p), R"(web.yaml: spec.segmentation.ingress.allow[0].unit: "unit" is only valid in egress rules)");
  p = Valid();
  IngressRule(p).set_cgroup("/system.slice");
  EXPECT_EQ(Error(p), R"(web.yaml: spec.segmentation.ingress.allow[0].cgroup: "cgroup" is only valid in egress rules)");
}

TEST(ValidateTest, IngressRuleNeedsASourcePrefix) {
  v1::Policy p = Valid();
  IngressRule(p).clear_from();
  EXPECT_EQ(Error(p), "web.yaml: spec.segmentation.ingress.allow[0].from: at least one source prefix is required");
}

TEST(ValidateTest, EgressRuleNeedsADestinationPrefix) {
  v1::Policy p = Valid();
  EgressRule(p).clear_to();
  EXPECT_EQ(Error(p), "web.yaml: spec.segmentation.egress.allow[0].to: at least one destination prefix is required");
}

TEST(ValidateTest, RuleNeedsAPort) {
  v1::Policy p = Valid();
  EgressRule(p).clear_ports();
  EXPECT_EQ(Error(p),
            R"(web.yaml: spec.segmentation.egress.allow[0].ports: at least one port is required (e.g. "tcp/443"))");
}

TEST(ValidateTest, DestinationPrefixesAreParsed) {
  v1::Policy p = Valid();
  EgressRule(p).add_to("fd00::1/8");
  EXPECT_EQ(
      Error(p),
      R"(web.yaml: spec.segmentation.egress.allow[0].to[1]: bad CIDR "fd00::1/8": host bits are set (did you mean fd00::/8?))");
}

TEST(ValidateTest, PortsAreParsed) {
  v1::Policy p = Valid();
  IngressRule(p).set_ports(1, "tcp/9000-8000");
  EXPECT_EQ(
      Error(p),
      R"(web.yaml: spec.segmentation.ingress.allow[0].ports[1]: bad port "tcp/9000-8000": range starts after it ends)");
}

// --- Egress scope: unit and cgroup ---

TEST(ValidateTest, UnitAndCgroupAreMutuallyExclusive) {
  v1::Policy p = Valid();
  EgressRule(p).set_cgroup("/system.slice/payments.service");
  EXPECT_EQ(
      Error(p),
      R"(web.yaml: spec.segmentation.egress.allow[0].cgroup: "unit" and "cgroup" are mutually exclusive: scope the rule with one of them)");
}

TEST(ValidateTest, UnitNeedsAKnownSuffixAndAName) {
  for (const char* bad : {"payments", "payments.timer", ".service"}) {
    v1::Policy p = Valid();
    EgressRule(p).set_unit(bad);
    EXPECT_EQ(Error(p), rampart::StrCat("web.yaml: spec.segmentation.egress.allow[0].unit: bad unit \"", bad,
                                        "\": expected NAME.service, NAME.scope, NAME.slice or NAME.socket"));
  }
}

TEST(ValidateTest, UnitNameUsesSystemdsAlphabet) {
  v1::Policy p = Valid();
  EgressRule(p).set_unit("pay ments.service");
  EXPECT_EQ(
      Error(p),
      R"(web.yaml: spec.segmentation.egress.allow[0].unit: bad unit "pay ments.service": unit names use only A-Z, a-z, 0-9, ':', '_', '.', '-', '@' and '\')");
}

TEST(ValidateTest, CgroupMustBeAnAbsoluteCleanPath) {
  struct Case {
    std::string cgroup;
    std::string reason;
  };
  for (const Case& c : std::vector<Case>{
           {"system.slice", "must be an absolute cgroup v2 path starting with '/'"},
           {"/system.slice/", "empty path component (\"//\" or a trailing '/')"},
           {"/system.slice//a.service", "empty path component (\"//\" or a trailing '/')"},
           {"/system.slice/../a", "\".\" and \"..\" components are not allowed"},
       }) {
    v1::Policy p = Valid();
    EgressRule(p).clear_unit();
    EgressRule(p).set_cgroup(c.cgroup);
    EXPECT_EQ(Error(p), rampart::StrCat("web.yaml: spec.segmentation.egress.allow[0].cgroup: bad cgroup \"", c.cgroup,
                                        "\": ", c.reason));
  }
}

TEST(ValidateTest, RootCgroupPasses) {
  v1::Policy p = Valid();
  EgressRule(p).clear_unit();
  EgressRule(p).set_cgroup("/");
  EXPECT_TRUE(ValidatePolicy(p).ok()) << ValidatePolicy(p);
}

// --- Rate limits ---

TEST(ValidateRateLimitTest, EitherRateAloneIsEnough) {
  v1::Policy p = Valid();
  Limit(p).clear_bytes_per_second();
  Limit(p).clear_burst_bytes();
  EXPECT_TRUE(ValidatePolicy(p).ok()) << ValidatePolicy(p);
  p = Valid();
  Limit(p).clear_packets_per_second();
  Limit(p).clear_burst();
  EXPECT_TRUE(ValidatePolicy(p).ok()) << ValidatePolicy(p);
}

TEST(ValidateRateLimitTest, AbsentKeyAndBurstsPass) {
  v1::Policy p = Valid();
  Limit(p).clear_key();
  Limit(p).clear_burst();
  Limit(p).clear_burst_bytes();
  EXPECT_TRUE(ValidatePolicy(p).ok()) << ValidatePolicy(p);
  Limit(p).set_key(v1::RATE_LIMIT_KEY_FLOW);
  EXPECT_TRUE(ValidatePolicy(p).ok()) << ValidatePolicy(p);
}

TEST(ValidateRateLimitTest, BoundsAreInclusive) {
  v1::Policy p = Valid();
  Limit(p).set_packets_per_second(100'000'000);
  Limit(p).set_bytes_per_second(10'000'000'000);
  Limit(p).set_burst(3600 * uint64_t{100'000'000});
  Limit(p).set_burst_bytes(3600 * uint64_t{10'000'000'000});
  EXPECT_TRUE(ValidatePolicy(p).ok()) << ValidatePolicy(p);
  p = Valid();
  Limit(p).set_packets_per_second(1);
  Limit(p).set_bytes_per_second(1);
  Limit(p).set_burst(1);
  Limit(p).set_burst_bytes(1);
  EXPECT_TRUE(ValidatePolicy(p).ok()) << ValidatePolicy(p);
}

TEST(ValidateRateLimitTest, NameIsRequired) {
  v1::Policy p = Valid();
  Limit(p).clear_name();
  EXPECT_EQ(Error(p), "web.yaml: spec.rateLimits[0].name: required field is missing");
}

TEST(ValidateRateLimitTest, NameFollowsThePolicyNameRules) {
  v1::Policy p = Valid();
  Limit(p).set_name("Per_Source");
  EXPECT_EQ(
      Error(p),
      R"(web.yaml: spec.rateLimits[0].name: bad rate limit name "Per_Source": must be 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit)");
}

TEST(ValidateRateLimitTest, NamesAreUniqueWithinThePolicyAndTheFirstUseIsCited) {
  v1::Policy p = Valid();
  *p.mutable_spec()->add_rate_limits() = Limit(p);
  EXPECT_EQ(Error(p),
            R"(web.yaml: spec.rateLimits[1].name: duplicate rate limit name "https-per-source" (first used by rateLimits[0]))");
  FieldLines lines = {{"", 1}, {"spec.rateLimits[0].name", 10}, {"spec.rateLimits[1].name", 18}};
  EXPECT_EQ(
      Error(p, &lines),
      R"(web.yaml:18: spec.rateLimits[1].name: duplicate rate limit name "https-per-source" (first used by rateLimits[0] at line 10))");
}

TEST(ValidateRateLimitTest, RateLimitMayShareANameWithARule) {
  v1::Policy p = Valid();
  Limit(p).set_name("https");
  EXPECT_TRUE(ValidatePolicy(p).ok()) << ValidatePolicy(p);
}

TEST(ValidateRateLimitTest, MatchIsRequired) {
  v1::Policy p = Valid();
  Limit(p).clear_match();
  EXPECT_EQ(Error(p), R"(web.yaml: spec.rateLimits[0].match: required field is missing (e.g. match: {ports: ["tcp/443"]}))");
}

TEST(ValidateRateLimitTest, MatchNeedsAPort) {
  v1::Policy p = Valid();
  Limit(p).mutable_match()->clear_ports();
  EXPECT_EQ(Error(p), R"(web.yaml: spec.rateLimits[0].match.ports: at least one port is required (e.g. "tcp/443"))");
}

TEST(ValidateRateLimitTest, MatchPortsAreParsed) {
  v1::Policy p = Valid();
  Limit(p).mutable_match()->set_ports(1, "443");
  EXPECT_EQ(
      Error(p),
      R"(web.yaml: spec.rateLimits[0].match.ports[1]: bad port "443": expected PROTO/PORT or PROTO/FIRST-LAST, e.g. tcp/443)");
}

TEST(ValidateRateLimitTest, KeyMustBeAKnownValue) {
  v1::Policy p = Valid();
  Limit(p).set_key(static_cast<v1::RateLimitKey>(9));
  EXPECT_EQ(Error(p), "web.yaml: spec.rateLimits[0].key: bad key 9 (expected source or flow)");
}

TEST(ValidateRateLimitTest, AtLeastOneRateIsRequired) {
  v1::Policy p = Valid();
  Limit(p).clear_packets_per_second();
  Limit(p).clear_bytes_per_second();
  Limit(p).clear_burst();
  Limit(p).clear_burst_bytes();
  FieldLines lines = {{"", 1}, {"spec.rateLimits[0]", 9}};
  EXPECT_EQ(Error(p, &lines),
            "web.yaml:9: spec.rateLimits[0]: at least one of packetsPerSecond and bytesPerSecond is required");
}

TEST(ValidateRateLimitTest, PacketRateIsAtMostAHundredMillion) {
  v1::Policy p = Valid();
  Limit(p).set_packets_per_second(100'000'001);
  EXPECT_EQ(Error(p),
            "web.yaml: spec.rateLimits[0].packetsPerSecond: must be at most 100000000 packets per second, got "
            "100000001");
}

TEST(ValidateRateLimitTest, ByteRateIsAtMostTenGigabytes) {
  v1::Policy p = Valid();
  Limit(p).set_bytes_per_second(10'000'000'001);
  EXPECT_EQ(Error(p),
            "web.yaml: spec.rateLimits[0].bytesPerSecond: must be at most 10000000000 bytes per second, got "
            "10000000001");
}

TEST(ValidateRateLimitTest, HugeRatesDoNotOverflowTheBurstBound) {
  v1::Policy p = Valid();
  Limit(p).set_packets_per_second(UINT64_MAX);
  EXPECT_THAT(Error(p), ::testing::HasSubstr("spec.rateLimits[0].packetsPerSecond: must be at most 100000000"));
}

TEST(ValidateRateLimitTest, BurstNeedsPacketsPerSecond) {
  v1::Policy p = Valid();
  Limit(p).clear_packets_per_second();
  EXPECT_EQ(Error(p),
            R"(web.yaml: spec.rateLimits[0].burst: "burst" is only valid with "packetsPerSecond", which is not set)");
}

TEST(ValidateRateLimitTest, BurstBytesNeedsBytesPerSecond) {
  v1::Policy p = Valid();
  Limit(p).clear_bytes_per_second();
  EXPECT_EQ(
      Error(p),
      R"(web.yaml: spec.rateLimits[0].burstBytes: "burstBytes" is only valid with "bytesPerSecond", which is not set)");
}

TEST(ValidateRateLimitTest, BurstIsAtMostAnHourOfItsRate) {
  v1::Policy p = Valid();
  Limit(p).set_packets_per_second(2);
  Limit(p).set_burst(7201);
  EXPECT_EQ(Error(p),
            "web.yaml: spec.rateLimits[0].burst: must be at most 7200 packets (3600 seconds at packetsPerSecond 2), "
            "got 7201");
  Limit(p).set_burst(7200);
  EXPECT_TRUE(ValidatePolicy(p).ok()) << ValidatePolicy(p);
}

TEST(ValidateRateLimitTest, BurstBytesIsAtMostAnHourOfItsRate) {
  v1::Policy p = Valid();
  Limit(p).set_bytes_per_second(1000);
  Limit(p).set_burst_bytes(3'600'001);
  EXPECT_EQ(Error(p),
            "web.yaml: spec.rateLimits[0].burstBytes: must be at most 3600000 bytes (3600 seconds at bytesPerSecond "
            "1000), got 3600001");
}

TEST(ValidateRateLimitTest, ErrorsNameTheRateLimitsIndex) {
  v1::Policy p = Valid();
  v1::RateLimit& second = *p.mutable_spec()->add_rate_limits();
  second = Limit(p);
  second.set_name("dns");
  second.mutable_match()->set_ports(0, "udp/0");
  EXPECT_EQ(Error(p), R"(web.yaml: spec.rateLimits[1].match.ports[0]: bad port "udp/0": port 0 is out of range 1-65535)");
}

TEST(ValidateRateLimitTest, SixteenRateLimitsFitButSeventeenCannot) {
  v1::Policy p = Valid();
  for (int i = 1; i < 16; ++i) {
    v1::RateLimit& limit = *p.mutable_spec()->add_rate_limits();
    limit = Limit(p);
    limit.set_name(rampart::StrCat("limit-", i));
  }
  EXPECT_TRUE(ValidatePolicy(p).ok()) << ValidatePolicy(p);
  v1::RateLimit& limit = *p.mutable_spec()->add_rate_limits();
  limit = Limit(p);
  limit.set_name("one-too-many");
  EXPECT_EQ(Error(p),
            "web.yaml: spec.rateLimits[16]: too many rate limits: 17 (a node holds at most 16, counting every policy "
            "it enforces)");
}

// --- Sets ---

TEST(ValidateSetTest, DistinctPoliciesPass) {
  v1::Policy a = Valid(), b = Valid();
  b.mutable_metadata()->set_name("db");
  EXPECT_TRUE(ValidatePolicySet({a, b}).ok());
  EXPECT_TRUE(ValidatePolicySet({}).ok());
}

TEST(ValidateSetTest, EachPolicyIsValidated) {
  v1::Policy a = Valid(), b = Valid();
  b.mutable_metadata()->set_name("db");
  b.set_source("db.yaml");
  b.set_kind("Other");
  EXPECT_EQ(SetError({a, b}), R"(db.yaml: kind: unsupported kind "Other" (expected "Policy"))");
}

TEST(ValidateSetTest, DuplicatePolicyNamesNameBothSources) {
  v1::Policy a = Valid(), b = Valid();
  b.set_source("other.yaml");
  EXPECT_EQ(SetError({a, b}), R"(other.yaml: metadata.name: duplicate policy name "web" (first defined in web.yaml))");
}

TEST(ValidateSetTest, DuplicatePolicyNamesCiteLinesWhenKnown) {
  v1::Policy a = Valid(), b = Valid();
  b.set_source("other.yaml");
  std::vector<FieldLines> lines = {{{"metadata.name", 4}}, {{"metadata.name", 12}}};
  EXPECT_EQ(SetError({a, b}, &lines),
            R"(other.yaml:12: metadata.name: duplicate policy name "web" (first defined in web.yaml:4))");
}

// --- Shared spelling helpers ---

// A bundle's apis section is checked by the parser the loader uses on YAML.
TEST(ValidateTest, ApisSectionIsCheckedByTheApisParser) {
  v1::Policy p = Valid();
  auto* apis = p.mutable_spec()->mutable_inspection()->mutable_apis();
  apis->mutable_rate_limits()->set_reads("100/minute");
  apis->mutable_bola()->set_min_distinct(20);
  apis->mutable_alerts()->mutable_rate_limit()->set_action(v1::VERDICT_ACTION_BLOCK);
  EXPECT_TRUE(ValidatePolicy(p).ok()) << ValidatePolicy(p);
  apis->mutable_rate_limits()->set_reads("lots");
  EXPECT_THAT(Error(p), ::testing::StartsWith("web.yaml: spec.inspection.apis.rateLimits.reads: bad rate \"lots\""));
  apis->mutable_rate_limits()->set_reads("100/minute");
  apis->add_openapi()->set_spec("relative.yaml");
  EXPECT_EQ(Error(p), "web.yaml: spec.inspection.apis.openapi[0].spec: expected an absolute path on the node, got "
                      "\"relative.yaml\"");
}

TEST(FieldPathTest, MapEntriesUseDotsForPlainKeysAndQuotedBracketsOtherwise) {
  EXPECT_EQ(MapEntryPath("metadata.labels", "team"), "metadata.labels.team");
  EXPECT_EQ(MapEntryPath("metadata.labels", "app.io/x"), R"(metadata.labels["app.io/x"])");
  EXPECT_EQ(MapEntryPath("metadata.labels", ""), R"(metadata.labels[""])");
  EXPECT_EQ(MapEntryPath("m", "a\"b"), R"(m["a\"b"])");
}

TEST(FieldPathTest, FieldErrorIsAlwaysOneLine) {
  EXPECT_EQ(FieldError("a.yaml", 3, "spec", "bad \"x\ny\"\t\x01").message(), R"(a.yaml:3: spec: bad "x\ny"\t\x01)");
  EXPECT_EQ(FieldError("a.yaml", 0, "spec", "m").message(), "a.yaml: spec: m");
  EXPECT_EQ(FieldError("a.yaml", 2, "", "m").message(), "a.yaml:2: m");
}

}  // namespace
}  // namespace rampart::policy

// What `rampartctl policy show` and `policy trace` print for a given reply.
#include "agent/cli/policy_view.h"

#include <google/protobuf/text_format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rampart::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

template <typename Message>
Message Parse(const std::string& text) {
  Message message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message)) << text;
  return message;
}

constexpr char kApplied[] = R"pb(
  version: 7 source: "control-plane"
  interfaces: "eth0" ingress_default: "deny" egress_default: "allow"
  bundle {
    version: 7
    policies {
      metadata { name: "payments-api" } source: "payments.yaml"
      spec {
        node_selector { key: "role" value: "payments" }
        interfaces: "eth0"
        segmentation {
          ingress { default_action: DEFAULT_ACTION_DENY
            allow { name: "partners-https" from: "203.0.113.0/24" from: "2001:db8::/32" ports: "tcp/443" ports: "tcp/8443-8445" } }
          egress { default_action: DEFAULT_ACTION_ALLOW
            allow { name: "payments-to-db" unit: "payments.service" to: "10.20.0.0/16" ports: "tcp/5432" }
            allow { name: "batch-out" cgroup: "/system.slice/batch.service" to: "10.30.0.0/16" ports: "tcp/443" } }
        }
        rate_limits { name: "https-per-source" match { ports: "tcp/443" } packets_per_second: 2000 bytes_per_second: 10485760 burst: 4000 }
      }
    }
  }
  scopes { policy: "payments-api" rule: "payments-to-db" kind: "unit" name: "payments.service" cgroup_id: 1234 }
  scopes { policy: "payments-api" rule: "batch-out" kind: "cgroup" name: "/system.slice/batch.service" }
  inspection { capture { processes: "nginx" } dlp { verdict { action: VERDICT_ACTION_BLOCK } } }
  families { family: "dlp" action: "block" min_severity: "high" block_ttl_seconds: 600 }
  warnings: "policy payments-api rule batch-out: cgroup /system.slice/batch.service has no cgroup on this node; its rule waits until it exists"
)pb";

TEST(PolicyShow, ListsRulesDefaultsScopesRateLimitsAndInspection) {
  const std::string out = RenderAppliedPolicy(Parse<v1::AppliedPolicy>(kApplied));
  EXPECT_THAT(out, HasSubstr("Policy version: 7 (from control-plane)\n"));
  EXPECT_THAT(out, HasSubstr("Interfaces:     eth0\n"));
  EXPECT_THAT(out, HasSubstr("Ingress: default deny\n"));
  EXPECT_THAT(out, HasSubstr("  payments-api  partners-https  203.0.113.0/24, 2001:db8::/32  tcp/443, tcp/8443-8445\n"));
  EXPECT_THAT(out, HasSubstr("Egress: default allow\n"));
  EXPECT_THAT(out, HasSubstr("unit payments.service = cgroup 1234"));
  EXPECT_THAT(out, HasSubstr("cgroup /system.slice/batch.service (not on this node: the rule waits)"));
  EXPECT_THAT(out, HasSubstr("https-per-source  tcp/443  source  2000 packets/s, 10485760 bytes/s  4000 packets, 10485760 bytes"));
  EXPECT_THAT(out, HasSubstr("payments-api  role=payments  eth0        deny     allow   payments.yaml"));
  EXPECT_THAT(out, HasSubstr("  capture: processes nginx\n"));
  EXPECT_THAT(out, HasSubstr("  dlp     block   high          600 s      detectors all; bulk at 5 cards"));
  EXPECT_THAT(out, HasSubstr("Warnings:\n  policy payments-api rule batch-out"));
}

TEST(PolicyShow, CaptureOfOneDirectionSaysWhich) {
  auto applied = Parse<v1::AppliedPolicy>(R"pb(
    version: 3
    inspection { capture { processes: "nginx" directions: "read" } }
  )pb");
  EXPECT_THAT(RenderAppliedPolicy(applied), HasSubstr("  capture: processes nginx; only what they receive (read)\n"));
  applied.mutable_inspection()->mutable_capture()->add_directions("write");
  EXPECT_THAT(RenderAppliedPolicy(applied), HasSubstr("  capture: processes nginx\n"));
}

TEST(PolicyShow, NoPolicyAllowsEverything) {
  EXPECT_EQ(RenderAppliedPolicy(v1::AppliedPolicy()),
            "Policy version: none (no policy applied: the datapath allows everything)\n");
  v1::AppliedPolicy refused;
  refused.set_last_error("version 3: web.yaml: spec.interfaces[0]: interface \"eth9\" does not exist on this node");
  EXPECT_THAT(RenderAppliedPolicy(refused), HasSubstr("Last refused:   version 3: web.yaml"));
}

TEST(PolicyTrace, StepsThenTheVerdict) {
  auto request = Parse<v1::TracePacketRequest>(
      R"pb(source: "10.0.0.5" destination: "10.0.0.1" protocol: "tcp" source_port: 40000 destination_port: 8080)pb");
  auto trace = Parse<v1::PacketTrace>(R"pb(
    policy_version: 7 verdict: "drop" reason: "drop_default"
    steps: "allowlist: source 10.0.0.5 matches prefix 10.0.0.0/8 (the longest that covers it): 1 port rule"
    steps: "  rule web/https tcp/443: port 8080 is outside 443"
    steps: "no rule admits tcp port 8080; ingress default: deny: dropped")pb");
  EXPECT_EQ(RenderPacketTrace(request, trace),
            "Trace: ingress tcp 10.0.0.5:40000 -> 10.0.0.1:8080, policy version 7\n"
            "  allowlist: source 10.0.0.5 matches prefix 10.0.0.0/8 (the longest that covers it): 1 port rule\n"
            "    rule web/https tcp/443: port 8080 is outside 443\n"
            "  no rule admits tcp port 8080; ingress default: deny: dropped\n"
            "Verdict: DROP (drop_default)\n");
  auto egress = Parse<v1::TracePacketRequest>(
      R"pb(direction: "egress" source: "2001:db8::1" destination: "2001:db8::53" protocol: "udp"
           destination_port: 53 unit: "payments.service" interface: "eth0")pb");
  EXPECT_EQ(DescribeTracedPacket(egress),
            "egress udp [2001:db8::1]:0 -> [2001:db8::53]:53 from unit payments.service on eth0");
  auto icmp = Parse<v1::TracePacketRequest>(
      R"pb(source: "fe80::1" destination: "ff02::1" protocol: "icmpv6" icmp_type: 135)pb");
  EXPECT_EQ(DescribeTracedPacket(icmp), "ingress icmpv6 [fe80::1] -> [ff02::1] type 135");
}

TEST(PolicyTraceHttp, EachFindingWithTheVerdictOfItsFamily) {
  auto trace = Parse<v1::HttpTrace>(R"pb(
    policy_version: 7 messages: 2
    families { family: "attacks" action: "monitor" min_severity: "high" block_ttl_seconds: 600 }
    families { family: "dlp" action: "block" min_severity: "high" block_ttl_seconds: 600 }
    findings { detector: "attack.sqli" severity: "high" family: "attacks" action: "monitor" family_action: "monitor"
               min_severity: "high" location: "request.query id" masked_value: "sqli fingerprint s&1o1c" is_request: true }
    findings { detector: "dlp.credit_card" severity: "high" family: "dlp" action: "block" family_action: "block"
               min_severity: "high" location: "response.body $.card" masked_value: "************6467" }
    findings { detector: "dlp.email" severity: "low" family: "dlp" action: "monitor" family_action: "block"
               min_severity: "high" location: "response.body $.mail" masked_value: "a***@example.com" })pb");
  const std::string out = RenderHttpTrace("leak.http", trace);
  EXPECT_THAT(out, HasSubstr("leak.http: 2 HTTP messages, policy version 7\n"));
  EXPECT_THAT(out, HasSubstr("Families: attacks monitor; dlp block at high or above (600 s)\n"));
  EXPECT_THAT(out, HasSubstr("attack.sqli      request   request.query id      sqli fingerprint s&1o1c  monitor (attacks monitors)"));
  EXPECT_THAT(out, HasSubstr("dlp.credit_card  response  response.body $.card  ************6467         block (dlp blocks at high+)"));
  EXPECT_THAT(out, HasSubstr("monitor (dlp blocks at high+ only)"));
  EXPECT_THAT(out, HasSubstr("Verdict: BLOCK (1 of 3 findings would block the peer)\n"));

  v1::HttpTrace none;
  none.set_messages(1);
  EXPECT_THAT(RenderHttpTrace("x.http", none), HasSubstr("No detector family is configured"));
  *none.add_families() = trace.families(0);
  EXPECT_THAT(RenderHttpTrace("x.http", none), HasSubstr("Verdict: nothing found\n"));
  EXPECT_THAT(RenderHttpTrace("x.http", none), Not(HasSubstr("SEVERITY")));
}

}  // namespace
}  // namespace rampart::cli

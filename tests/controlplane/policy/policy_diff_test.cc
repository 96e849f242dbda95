// Policy as code: the canonical form of a policy, its content digest, and the
// diff `rampart-cp policy diff` prints, which must read the same in every CI
// run for the same inputs.
#include "controlplane/policy/policy_diff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "agent/common/strings.h"
#include "agent/policy/loader.h"

namespace rampart::cp {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;

// Policies from YAML, through the agent's loader (which also validates them).
std::vector<v1::Policy> Yaml(const std::string& text, const std::string& source = "policies/test.yaml") {
  auto policies = policy::ParsePolicyYaml(text, source);
  EXPECT_TRUE(policies.ok()) << policies.status();
  return policies.ok() ? *policies : std::vector<v1::Policy>{};
}

v1::Policy OnePolicy(const std::string& text, const std::string& source = "policies/test.yaml") {
  std::vector<v1::Policy> policies = Yaml(text, source);
  EXPECT_EQ(policies.size(), 1u);
  return policies.empty() ? v1::Policy() : policies.front();
}

v1::PolicyVersion Version(uint64_t number, const std::vector<v1::Policy>& policies) {
  v1::PolicyVersion version;
  version.set_version(number);
  for (const v1::Policy& p : policies) *version.add_policies() = p;
  return version;
}

// A web policy; `ports` and `default_action` vary between tests.
std::string WebYaml(const std::string& ports = "\"tcp/8080\"", const std::string& default_action = "deny") {
  return StrCat("apiVersion: rampart/v1\nkind: Policy\nmetadata: {name: web}\nspec:\n  nodeSelector: {role: web}\n"
                "  interfaces: [eth0]\n  segmentation:\n    ingress:\n      default: ",
                default_action, "\n      allow:\n        - {name: http, from: [10.0.0.0/8], ports: [", ports, "]}\n");
}

std::string NamedYaml(const std::string& name, const std::string& role = "") {
  return StrCat("apiVersion: rampart/v1\nkind: Policy\nmetadata: {name: ", name, "}\nspec:\n",
                role.empty() ? "" : StrCat("  nodeSelector: {role: ", role, "}\n"),
                "  segmentation:\n    egress:\n      default: allow\n");
}

// --- the canonical form ---

TEST(CanonicalLinesTest, OneLinePerSetFieldWithJsonNamesAndPolicySpellingOfEnums) {
  EXPECT_THAT(CanonicalLines(OnePolicy(WebYaml())),
              ElementsAre("apiVersion: \"rampart/v1\"", "kind: \"Policy\"", "metadata.name: \"web\"",
                          "spec.nodeSelector.role: \"web\"", "spec.interfaces[]: \"eth0\"",
                          "spec.segmentation.ingress.defaultAction: deny",
                          "spec.segmentation.ingress.allow[name=http].name: \"http\"",
                          "spec.segmentation.ingress.allow[name=http].from[]: \"10.0.0.0/8\"",
                          "spec.segmentation.ingress.allow[name=http].ports[]: \"tcp/8080\""));
}

TEST(CanonicalLinesTest, TheSourceFileIsNotPartOfThePolicy) {
  EXPECT_EQ(CanonicalLines(OnePolicy(WebYaml(), "a/web.yaml")), CanonicalLines(OnePolicy(WebYaml(), "b/other.yaml")));
  EXPECT_THAT(CanonicalLines(OnePolicy(WebYaml(), "a/web.yaml")), Not(Contains(::testing::HasSubstr("web.yaml"))));
}

TEST(CanonicalLinesTest, MapEntriesAreSortedByKeyWhateverOrderTheyWereWrittenIn) {
  v1::Policy forward = OnePolicy(
      "apiVersion: rampart/v1\nkind: Policy\nmetadata: {name: m, labels: {a: '1', b: '2', c: '3', d: '4'}}\n"
      "spec:\n  nodeSelector: {zone: z1, role: web, rack: r7, app.io/tier: front}\n");
  v1::Policy backward = OnePolicy(
      "apiVersion: rampart/v1\nkind: Policy\nmetadata: {name: m, labels: {d: '4', c: '3', b: '2', a: '1'}}\n"
      "spec:\n  nodeSelector: {app.io/tier: front, rack: r7, role: web, zone: z1}\n");

  EXPECT_EQ(CanonicalLines(forward), CanonicalLines(backward));
  EXPECT_THAT(CanonicalLines(forward),
              ElementsAre("apiVersion: \"rampart/v1\"", "kind: \"Policy\"", "metadata.name: \"m\"",
                          "metadata.labels.a: \"1\"", "metadata.labels.b: \"2\"", "metadata.labels.c: \"3\"",
                          "metadata.labels.d: \"4\"", "spec.nodeSelector[\"app.io/tier\"]: \"front\"",
                          "spec.nodeSelector.rack: \"r7\"", "spec.nodeSelector.role: \"web\"",
                          "spec.nodeSelector.zone: \"z1\""));
}

TEST(CanonicalLinesTest, ControlCharactersAreEscapedSoEveryFieldStaysOnOneLine) {
  v1::Policy policy;
  policy.mutable_metadata()->set_name("x");
  (*policy.mutable_metadata()->mutable_labels())["note"] = "two\nlines \"quoted\"\t\x01";

  EXPECT_THAT(CanonicalLines(policy), Contains("metadata.labels.note: \"two\\nlines \\\"quoted\\\"\\t\\x01\""));
}

TEST(CanonicalLinesTest, ElementsWithoutANameAreKeyedByTheirIndex) {
  v1::Policy policy;
  policy.mutable_metadata()->set_name("x");
  policy.mutable_spec()->mutable_segmentation()->mutable_ingress()->add_allow()->add_ports("tcp/1");

  EXPECT_THAT(CanonicalLines(policy), Contains("spec.segmentation.ingress.allow[0].ports[]: \"tcp/1\""));
}

TEST(ContentDigestTest, EqualForTheSameContentReadFromAnotherFile) {
  v1::PolicyVersion a = Version(1, {OnePolicy(WebYaml(), "ci-run-1/web.yaml")});
  v1::PolicyVersion b = Version(2, {OnePolicy(WebYaml(), "ci-run-2/web.yaml")});

  EXPECT_EQ(ContentDigest(a.policies()), ContentDigest(b.policies()));
  EXPECT_EQ(ContentDigest(a.policies()).size(), 64u);
}

TEST(ContentDigestTest, DiffersWhenOneValueChanges) {
  v1::PolicyVersion a = Version(1, {OnePolicy(WebYaml("\"tcp/8080\""))});
  v1::PolicyVersion b = Version(1, {OnePolicy(WebYaml("\"tcp/8081\""))});

  EXPECT_NE(ContentDigest(a.policies()), ContentDigest(b.policies()));
}

TEST(ContentDigestTest, AnEmptyBundleHasADigestOfItsOwn) {
  v1::PolicyVersion empty = Version(1, {});
  v1::PolicyVersion one = Version(1, {OnePolicy(NamedYaml("a"))});
  v1::PolicyVersion two = Version(1, {OnePolicy(NamedYaml("a")), OnePolicy(NamedYaml("b"))});

  EXPECT_NE(ContentDigest(empty.policies()), ContentDigest(one.policies()));
  EXPECT_NE(ContentDigest(one.policies()), ContentDigest(two.policies()));
}

TEST(SortedByNameTest, OrdersByMetadataName) {
  std::vector<v1::Policy> sorted =
      SortedByName({OnePolicy(NamedYaml("zeta")), OnePolicy(NamedYaml("alpha")), OnePolicy(NamedYaml("mid"))});

  std::vector<std::string> names;
  for (const auto& p : sorted) names.push_back(p.metadata().name());
  EXPECT_THAT(names, ElementsAre("alpha", "mid", "zeta"));
}

// --- the diff ---

TEST(DiffPoliciesTest, IdenticalSetsHaveNoChanges) {
  v1::PolicyDiff diff = DiffPolicies(Version(7, {OnePolicy(WebYaml()), OnePolicy(NamedYaml("audit"))}),
                                     {OnePolicy(WebYaml()), OnePolicy(NamedYaml("audit"))});

  EXPECT_FALSE(HasChanges(diff));
  EXPECT_EQ(diff.unchanged(), 2u);
  EXPECT_EQ(RenderDiff(diff), "0 changed, 0 added, 0 removed; from version 7\n");
}

TEST(DiffPoliciesTest, ASetReadFromOtherFilesIsUnchanged) {
  v1::PolicyDiff diff = DiffPolicies(Version(3, {OnePolicy(WebYaml(), "old/web.yaml")}),
                                     {OnePolicy(WebYaml(), "/tmp/ci-checkout/policies/web.yaml")});

  EXPECT_FALSE(HasChanges(diff));
}

TEST(DiffPoliciesTest, AddedRemovedAndChangedPoliciesAreListedInNameOrderWithTheirFields) {
  v1::PolicyVersion stored = Version(7, {OnePolicy(NamedYaml("legacy")), OnePolicy(WebYaml("\"tcp/8080\""))});
  std::vector<v1::Policy> desired = {OnePolicy(WebYaml("\"tcp/8080\", \"tcp/8443\"", "allow")),
                                     OnePolicy(NamedYaml("audit", "db"))};

  EXPECT_EQ(RenderDiff(DiffPolicies(stored, desired)),
            "+ audit\n"
            "    + apiVersion: \"rampart/v1\"\n"
            "    + kind: \"Policy\"\n"
            "    + metadata.name: \"audit\"\n"
            "    + spec.nodeSelector.role: \"db\"\n"
            "    + spec.segmentation.egress.defaultAction: allow\n"
            "- legacy\n"
            "    - apiVersion: \"rampart/v1\"\n"
            "    - kind: \"Policy\"\n"
            "    - metadata.name: \"legacy\"\n"
            "    - spec.segmentation.egress.defaultAction: allow\n"
            "~ web\n"
            "    - spec.segmentation.ingress.defaultAction: deny\n"
            "    + spec.segmentation.ingress.defaultAction: allow\n"
            "    + spec.segmentation.ingress.allow[name=http].ports[]: \"tcp/8443\"\n"
            "1 changed, 1 added, 1 removed; from version 7\n");
}

TEST(DiffPoliciesTest, ChangesCarryTheirKindAndTheCountsAddUp) {
  v1::PolicyDiff diff =
      DiffPolicies(Version(2, {OnePolicy(NamedYaml("a")), OnePolicy(NamedYaml("b")), OnePolicy(NamedYaml("c"))}),
                   {OnePolicy(NamedYaml("a", "web")), OnePolicy(NamedYaml("b")), OnePolicy(NamedYaml("d"))});

  ASSERT_EQ(diff.changes_size(), 3);
  EXPECT_EQ(diff.changes(0).name(), "a");
  EXPECT_EQ(diff.changes(0).kind(), v1::PolicyChange::KIND_CHANGED);
  EXPECT_THAT(diff.changes(0).lines(), ElementsAre("+ spec.nodeSelector.role: \"web\""));
  EXPECT_EQ(diff.changes(1).name(), "c");
  EXPECT_EQ(diff.changes(1).kind(), v1::PolicyChange::KIND_REMOVED);
  EXPECT_EQ(diff.changes(2).name(), "d");
  EXPECT_EQ(diff.changes(2).kind(), v1::PolicyChange::KIND_ADDED);
  EXPECT_EQ(diff.unchanged(), 1u);
  EXPECT_EQ(DiffSummary(diff), "1 changed, 1 added, 1 removed; from version 2");
}

TEST(DiffPoliciesTest, OutputIsByteIdenticalWhateverTheOrderOfEitherSet) {
  std::vector<v1::Policy> stored = {OnePolicy(NamedYaml("a")), OnePolicy(NamedYaml("b")), OnePolicy(WebYaml()),
                                    OnePolicy(NamedYaml("zz", "db"))};
  std::vector<v1::Policy> desired = {OnePolicy(NamedYaml("b", "web")), OnePolicy(NamedYaml("c")),
                                     OnePolicy(WebYaml("\"tcp/80\"")), OnePolicy(NamedYaml("zz", "db"))};
  const std::string expected = RenderDiff(DiffPolicies(Version(9, stored), desired));
  // Nothing trivial about this diff:
  ASSERT_NE(expected.find("2 changed, 1 added, 1 removed"), std::string::npos) << expected;

  std::sort(stored.begin(), stored.end(),
            [](const auto& x, const auto& y) { return x.metadata().name() < y.metadata().name(); });
  std::sort(desired.begin(), desired.end(),
            [](const auto& x, const auto& y) { return x.metadata().name() < y.metadata().name(); });
  int permutations = 0;
  do {
    std::vector<v1::Policy> reversed_stored(stored.rbegin(), stored.rend());
    EXPECT_EQ(RenderDiff(DiffPolicies(Version(9, reversed_stored), desired)), expected);
    ++permutations;
  } while (std::next_permutation(desired.begin(), desired.end(), [](const auto& x, const auto& y) {
    return x.metadata().name() < y.metadata().name();
  }));
  EXPECT_EQ(permutations, 24);
}

TEST(DiffPoliciesTest, InsertingARuleShowsOnlyThatRule) {
  const std::string head =
      "apiVersion: rampart/v1\nkind: Policy\nmetadata: {name: web}\nspec:\n  segmentation:\n    ingress:\n"
      "      default: deny\n      allow:\n";
  v1::Policy before = OnePolicy(head + "        - {name: http, from: [0.0.0.0/0], ports: [\"tcp/80\"]}\n"
                                       "        - {name: https, from: [0.0.0.0/0], ports: [\"tcp/443\"]}\n");
  v1::Policy after = OnePolicy(head + "        - {name: dns, from: [10.0.0.0/8], ports: [\"udp/53\"]}\n"
                                      "        - {name: http, from: [0.0.0.0/0], ports: [\"tcp/80\"]}\n"
                                      "        - {name: https, from: [0.0.0.0/0], ports: [\"tcp/443\"]}\n");

  v1::PolicyDiff diff = DiffPolicies(Version(1, {before}), {after});

  ASSERT_EQ(diff.changes_size(), 1);
  EXPECT_THAT(diff.changes(0).lines(),
              ElementsAre("+ spec.segmentation.ingress.allow[name=dns].name: \"dns\"",
                          "+ spec.segmentation.ingress.allow[name=dns].from[]: \"10.0.0.0/8\"",
                          "+ spec.segmentation.ingress.allow[name=dns].ports[]: \"udp/53\""));
}

TEST(DiffPoliciesTest, NothingAppliedYetDiffsFromVersionZero) {
  v1::PolicyDiff diff = DiffPolicies(v1::PolicyVersion(), {OnePolicy(NamedYaml("a"))});

  EXPECT_TRUE(HasChanges(diff));
  EXPECT_EQ(DiffSummary(diff), "0 changed, 1 added, 0 removed; from version 0");
}

TEST(DiffPoliciesTest, AHugeRewriteStillDiffsDeterministically) {
  // 3,000 prefixes replaced by 3,000 others: beyond the quadratic diff, so
  // every old line is removed and every new one added, in order.
  v1::Policy before, after;
  before.mutable_metadata()->set_name("big");
  after.mutable_metadata()->set_name("big");
  auto* old_rule = before.mutable_spec()->mutable_segmentation()->mutable_ingress()->add_allow();
  auto* new_rule = after.mutable_spec()->mutable_segmentation()->mutable_ingress()->add_allow();
  old_rule->set_name("r");
  new_rule->set_name("r");
  for (int i = 0; i < 3000; ++i) {
    old_rule->add_from(StrCat("10.", i / 256, ".", i % 256, ".0/24"));
    new_rule->add_from(StrCat("172.", i / 256, ".", i % 256, ".0/24"));
  }

  v1::PolicyDiff diff = DiffPolicies(Version(1, {before}), {after});

  ASSERT_EQ(diff.changes_size(), 1);
  ASSERT_EQ(diff.changes(0).lines_size(), 6000);
  EXPECT_EQ(diff.changes(0).lines(0), "- spec.segmentation.ingress.allow[name=r].from[]: \"10.0.0.0/24\"");
  EXPECT_EQ(diff.changes(0).lines(3000), "+ spec.segmentation.ingress.allow[name=r].from[]: \"172.0.0.0/24\"");
  EXPECT_EQ(RenderDiff(diff), RenderDiff(DiffPolicies(Version(1, {before}), {after})));
}

}  // namespace
}  // namespace rampart::cp

#include "agent/inspect/setup.h"

#include <gtest/gtest.h>

#include <memory>

#include "agent/apis/api_inventory.h"

namespace rampart::inspect {
namespace {

v1::Policy PolicyWith(const std::string& name, const v1::Inspection& inspection) {
  v1::Policy p;
  p.mutable_metadata()->set_name(name);
  *p.mutable_spec()->mutable_inspection() = inspection;
  return p;
}

TEST(MergeInspectionTest, BlockWinsWithTheLowestSeverityAndLongestTtlAmongBlockers) {
  v1::Inspection a, b, c;
  a.mutable_dlp()->mutable_verdict()->set_action(v1::VERDICT_ACTION_MONITOR);
  b.mutable_dlp()->mutable_verdict()->set_action(v1::VERDICT_ACTION_BLOCK);
  b.mutable_dlp()->mutable_verdict()->set_min_severity("critical");
  b.mutable_dlp()->mutable_verdict()->set_block_ttl_seconds(60);
  c.mutable_dlp()->mutable_verdict()->set_action(v1::VERDICT_ACTION_BLOCK);
  c.mutable_dlp()->mutable_verdict()->set_min_severity("medium");
  c.mutable_dlp()->mutable_verdict()->set_block_ttl_seconds(30);
  v1::PolicyBundle bundle;
  *bundle.add_policies() = PolicyWith("a", a);
  *bundle.add_policies() = PolicyWith("b", b);
  *bundle.add_policies() = PolicyWith("c", c);
  const v1::Verdict merged = MergeInspection(bundle).dlp().verdict();
  EXPECT_EQ(merged.action(), v1::VERDICT_ACTION_BLOCK);
  EXPECT_EQ(merged.min_severity(), "medium");
  EXPECT_EQ(merged.block_ttl_seconds(), 60u);
}

TEST(MergeInspectionTest, ListsAreUnitedAndTheCaptureSelectionToo) {
  v1::Inspection a, b;
  a.mutable_capture()->add_processes("nginx");
  b.mutable_capture()->add_processes("nginx");
  b.mutable_capture()->add_processes("envoy");
  a.mutable_jwt()->add_jwks_files("/etc/rampart/a.json");
  b.mutable_jwt()->add_jwks_files("/etc/rampart/b.json");
  v1::PolicyBundle bundle;
  *bundle.add_policies() = PolicyWith("a", a);
  *bundle.add_policies() = PolicyWith("b", b);
  const v1::Inspection merged = MergeInspection(bundle);
  EXPECT_EQ(merged.capture().processes_size(), 2);
  EXPECT_EQ(merged.jwt().jwks_files_size(), 2);
  EXPECT_FALSE(merged.has_attacks());
}

TEST(MergeInspectionTest, CaptureDirectionsAreTheUnionOfThePoliciesThatSelectProcesses) {
  v1::Inspection reads_nginx, selects_nothing, writes_envoy, both_python;
  reads_nginx.mutable_capture()->add_processes("nginx");
  reads_nginx.mutable_capture()->add_directions("read");
  selects_nothing.mutable_capture()->add_directions("write");  // selects no process: adds no direction
  v1::PolicyBundle bundle;
  *bundle.add_policies() = PolicyWith("a", reads_nginx);
  *bundle.add_policies() = PolicyWith("b", selects_nothing);
  EXPECT_EQ(MergeInspection(bundle).capture().directions().size(), 1);
  EXPECT_EQ(MergeInspection(bundle).capture().directions(0), "read");

  writes_envoy.mutable_capture()->add_processes("envoy");
  writes_envoy.mutable_capture()->add_directions("write");
  *bundle.add_policies() = PolicyWith("c", writes_envoy);
  EXPECT_EQ(MergeInspection(bundle).capture().directions().size(), 2);

  both_python.mutable_capture()->add_processes("python3");  // no directions: both
  v1::PolicyBundle alone;
  *alone.add_policies() = PolicyWith("d", both_python);
  EXPECT_EQ(MergeInspection(alone).capture().directions().size(), 2);
  EXPECT_TRUE(MergeInspection(v1::PolicyBundle()).capture().directions().empty());
}

TEST(BuildInspectionSetupTest, EachConfiguredFamilyGetsADetectorAndAVerdict) {
  v1::Inspection inspection;
  inspection.mutable_dlp()->mutable_verdict()->set_action(v1::VERDICT_ACTION_BLOCK);
  inspection.mutable_attacks();
  auto setup = BuildInspectionSetup(inspection);
  ASSERT_TRUE(setup.ok()) << setup.status();
  ASSERT_EQ(setup->detectors.size(), 2u);
  EXPECT_EQ(setup->detectors[0]->family(), "dlp");
  EXPECT_EQ(setup->detectors[1]->family(), "attacks");
  EXPECT_TRUE(setup->verdicts.at("dlp").block);
  EXPECT_EQ(setup->verdicts.at("dlp").ttl, std::chrono::seconds(600));
  EXPECT_EQ(setup->verdicts.at("dlp").min_severity, findings::Severity::kHigh);
  EXPECT_FALSE(setup->verdicts.at("attacks").block);
}

TEST(BuildInspectionSetupTest, NoInspectionSectionMeansNoDetectors) {
  auto setup = BuildInspectionSetup(v1::Inspection());
  ASSERT_TRUE(setup.ok());
  EXPECT_TRUE(setup->detectors.empty());
}

TEST(BuildInspectionSetupTest, AKeyFileThatDoesNotLoadIsRefusedNamingTheFieldAndFile) {
  v1::Inspection inspection;
  inspection.mutable_jwt()->add_jwks_files("/nonexistent/jwks.json");
  auto setup = BuildInspectionSetup(inspection);
  ASSERT_FALSE(setup.ok());
  EXPECT_NE(setup.status().message().find("spec.inspection.jwt"), std::string::npos) << setup.status();
  EXPECT_NE(setup.status().message().find("/nonexistent/jwks.json"), std::string::npos) << setup.status();
}

TEST(MergeInspectionTest, ApisSectionsMergeInPolicyNameOrder) {
  v1::Inspection a, b;
  a.mutable_apis()->mutable_rate_limits()->set_reads("50/minute");
  b.mutable_apis()->mutable_rate_limits()->set_reads("10/second");
  b.mutable_apis()->mutable_rate_limits()->set_writes("5/second");
  b.mutable_apis()->mutable_alerts()->mutable_bola()->set_action(v1::VERDICT_ACTION_BLOCK);
  v1::PolicyBundle bundle;
  *bundle.add_policies() = PolicyWith("b", b);  // bundle order is not name order
  *bundle.add_policies() = PolicyWith("a", a);
  const v1::Inspection merged = MergeInspection(bundle);
  ASSERT_TRUE(merged.has_apis());
  EXPECT_EQ(merged.apis().rate_limits().reads(), "50/minute");
  EXPECT_EQ(merged.apis().rate_limits().writes(), "5/second");
  EXPECT_EQ(merged.apis().alerts().bola().action(), v1::VERDICT_ACTION_BLOCK);
  EXPECT_FALSE(MergeInspection(v1::PolicyBundle()).has_apis());
}

TEST(BuildInspectionSetupTest, ApisFamilyRecordsIntoAnInventoryThatOutlivesSetups) {
  v1::Inspection inspection;
  inspection.mutable_apis()->mutable_rate_limits()->set_reads("50/minute");
  std::shared_ptr<apis::ApiInventory> inventory;
  auto setup = BuildInspectionSetup(inspection, &inventory);
  ASSERT_TRUE(setup.ok()) << setup.status();
  ASSERT_EQ(setup->detectors.size(), 1u);
  EXPECT_EQ(setup->detectors[0]->family(), "apis");
  EXPECT_EQ(setup->verdicts.at("apis").reason, RP_BLOCK_BY_API);
  ASSERT_NE(inventory, nullptr);
  EXPECT_EQ(inventory->limits().max_services, 64u);

  // A policy re-applied: the same inventory.
  const std::shared_ptr<apis::ApiInventory> first = inventory;
  ASSERT_TRUE(BuildInspectionSetup(inspection, &inventory).ok());
  EXPECT_EQ(inventory, first);
  // New caps: a new inventory with them.
  inspection.mutable_apis()->mutable_inventory()->set_max_services(8);
  ASSERT_TRUE(BuildInspectionSetup(inspection, &inventory).ok());
  EXPECT_NE(inventory, first);
  EXPECT_EQ(inventory->limits().max_services, 8u);
  // No apis section: the inventory is left alone.
  const std::shared_ptr<apis::ApiInventory> second = inventory;
  ASSERT_TRUE(BuildInspectionSetup(v1::Inspection(), &inventory).ok());
  EXPECT_EQ(inventory, second);
}

TEST(BuildInspectionSetupTest, AnOpenApiSpecThatDoesNotLoadIsRefusedNamingTheFieldAndFile) {
  v1::Inspection inspection;
  inspection.mutable_apis()->add_openapi()->set_spec("/nonexistent/users.yaml");
  std::shared_ptr<apis::ApiInventory> inventory;
  auto setup = BuildInspectionSetup(inspection, &inventory);
  ASSERT_FALSE(setup.ok());
  EXPECT_NE(setup.status().message().find("spec.inspection.apis.openapi[0].spec"), std::string::npos)
      << setup.status();
  EXPECT_NE(setup.status().message().find("/nonexistent/users.yaml"), std::string::npos) << setup.status();
  EXPECT_EQ(inventory, nullptr) << "a refused setup leaves the inventory in force alone";
}

}  // namespace
}  // namespace rampart::inspect

#include "agent/inspect/finding_log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace rampart::inspect {
namespace {

v1::Finding MakeFinding(const std::string& detector, const std::string& severity) {
  v1::Finding f;
  f.set_detector(detector);
  f.set_severity(severity);
  f.set_masked_value("************1111");
  return f;
}

class FindingLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rampart-findings-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(FindingLogTest, EachFindingIsOneJsonLineInAFileOnlyRootCanRead) {
  auto log = FindingLog::Open(dir_ + "/findings.jsonl");
  ASSERT_TRUE(log.ok()) << log.status();
  (*log)->OnFinding(MakeFinding("dlp.credit_card", "high"));
  (*log)->OnFinding(MakeFinding("attack.sqli", "critical"));
  std::ifstream in(dir_ + "/findings.jsonl");
  std::string first, second, third;
  ASSERT_TRUE(std::getline(in, first));
  ASSERT_TRUE(std::getline(in, second));
  EXPECT_FALSE(std::getline(in, third));
  EXPECT_NE(first.find(R"("detector":"dlp.credit_card")"), std::string::npos) << first;
  EXPECT_NE(first.find(R"("id":"1")"), std::string::npos) << first;
  EXPECT_NE(second.find(R"("id":"2")"), std::string::npos) << second;
  struct stat st {};
  ASSERT_EQ(stat((dir_ + "/findings.jsonl").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(FindingLogTest, TheFileRotatesAtItsCapKeepingOneOldGeneration) {
  auto log = FindingLog::Open(dir_ + "/findings.jsonl", /*max_file_bytes=*/400);
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 20; ++i) (*log)->OnFinding(MakeFinding("dlp.credit_card", "high"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/findings.jsonl.1"));
  EXPECT_LE(std::filesystem::file_size(dir_ + "/findings.jsonl"), 400u);
  EXPECT_EQ((*log)->write_errors(), 0u);
}

TEST_F(FindingLogTest, RecentFiltersByDetectorPrefixAndSeverityNewestLast) {
  auto log = FindingLog::Open("");
  ASSERT_TRUE(log.ok());
  (*log)->OnFinding(MakeFinding("dlp.email", "low"));
  (*log)->OnFinding(MakeFinding("attack.sqli", "high"));
  (*log)->OnFinding(MakeFinding("dlp.credit_card", "critical"));
  (*log)->OnFinding(MakeFinding("dlp.iban", "high"));
  auto dlp_high = (*log)->Recent({.detector_prefix = "dlp", .min_severity = findings::Severity::kHigh}, 10);
  ASSERT_EQ(dlp_high.size(), 2u);
  EXPECT_EQ(dlp_high[0].detector(), "dlp.credit_card");
  EXPECT_EQ(dlp_high[1].detector(), "dlp.iban");
  auto last_one = (*log)->Recent({}, 1);
  ASSERT_EQ(last_one.size(), 1u);
  EXPECT_EQ(last_one[0].detector(), "dlp.iban");
  EXPECT_EQ((*log)->CountsByDetector().at("attack.sqli"), 1u);
}

TEST_F(FindingLogTest, SubscribersSeeNewFindingsUntilTheyUnsubscribe) {
  auto log = FindingLog::Open("");
  ASSERT_TRUE(log.ok());
  std::vector<uint64_t> seen;
  int token = (*log)->Subscribe([&](const v1::Finding& f) { seen.push_back(f.id()); });
  (*log)->OnFinding(MakeFinding("dlp.email", "low"));
  (*log)->Unsubscribe(token);
  (*log)->OnFinding(MakeFinding("dlp.email", "low"));
  EXPECT_EQ(seen, std::vector<uint64_t>{1});
}

TEST_F(FindingLogTest, AnUnwritableDirectoryIsAClearError) {
  auto log = FindingLog::Open(dir_ + "/missing/findings.jsonl");
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find("open findings log " + dir_ + "/missing/findings.jsonl"), std::string::npos)
      << log.status();
}

}  // namespace
}  // namespace rampart::inspect

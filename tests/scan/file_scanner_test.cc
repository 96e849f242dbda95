#include "agent/scan/file_scanner.h"

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rampart::scan {
namespace {

// A Luhn-valid Visa number, and where it sits in the body below.
const std::string kCard = "4539578763621486";
const std::string kBody = R"({"customer": {"name": "Ada", "card_number": ")" + kCard + R"("}})";

class FileScannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rampart-scan-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto scanner = FileScanner::Create();
    ASSERT_TRUE(scanner.ok()) << scanner.status();
    scanner_ = std::move(*scanner);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  std::string dir_;
  std::unique_ptr<FileScanner> scanner_;
};

TEST_F(FileScannerTest, APlainBodyFindingPointsAtTheValueInTheFile) {
  auto found = scanner_->ScanContent("body.json", kBody);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].finding.detector, "dlp.credit_card");
  ASSERT_TRUE(found[0].located);
  EXPECT_EQ(kBody.substr(found[0].offset, found[0].length), kCard);
  EXPECT_EQ(found[0].finding.masked_value.find(kCard), std::string::npos);
}

TEST_F(FileScannerTest, ARawHttpResponseIsParsedAndItsBodyScanned) {
  const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                               std::to_string(kBody.size()) + "\r\n\r\n" + kBody;
  auto found = scanner_->ScanContent("response.http", response);
  ASSERT_EQ(found.size(), 1u);
  ASSERT_TRUE(found[0].located);
  EXPECT_EQ(response.substr(found[0].offset, found[0].length), kCard);
}

TEST_F(FileScannerTest, ARawHttpRequestGetsTheAttackDetectors) {
  auto found = scanner_->ScanContent("request.http",
                                     "GET /items?id=1%27%20UNION%20SELECT%20password%20FROM%20users-- HTTP/1.1\r\n"
                                     "Host: shop\r\n\r\n");
  ASSERT_FALSE(found.empty());
  EXPECT_EQ(found[0].finding.detector, "attack.sqli");
}

TEST_F(FileScannerTest, ACleanFileHasNoFindings) {
  EXPECT_TRUE(scanner_->ScanContent("clean.json", R"({"order": 1234, "status": "shipped"})").empty());
}

TEST_F(FileScannerTest, ADirectoryIsScannedRecursivelyInNameOrder) {
  Write("b/leak.json", kBody);
  Write("a/leak.json", kBody);
  Write("a/clean.txt", "nothing to see");
  auto found = scanner_->ScanPath(dir_);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ((*found)[0].file, dir_ + "/a/leak.json");
  EXPECT_EQ((*found)[1].file, dir_ + "/b/leak.json");
}

TEST_F(FileScannerTest, AMissingPathIsAnErrorNamingIt) {
  auto found = scanner_->ScanPath(dir_ + "/nope");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().message(), "scan " + dir_ + "/nope: no such file or directory");
}

int RunCommand(const std::string& command, std::string* out) {
  FILE* pipe = popen(command.c_str(), "r");
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out->append(buffer, n);
  return WEXITSTATUS(pclose(pipe));
}

TEST_F(FileScannerTest, RampartctlScanExitsOneOnFindingsAndPrintsJsonLines) {
  const std::string leak = Write("leak.json", kBody);
  std::string out;
  EXPECT_EQ(RunCommand(std::string(RAMPARTCTL) + " scan --json " + leak, &out), 1);
  const size_t at = kBody.find(kCard);
  EXPECT_THAT(out, ::testing::HasSubstr("\"file\":\"" + leak + "\",\"offset\":" + std::to_string(at) +
                                        ",\"length\":16,\"detector\":\"dlp.credit_card\""));
  EXPECT_EQ(out.find(kCard), std::string::npos) << "plaintext in the output: " << out;
  std::string clean_out;
  EXPECT_EQ(RunCommand(std::string(RAMPARTCTL) + " scan " + Write("clean.txt", "hello"), &clean_out), 0);
  EXPECT_EQ(clean_out, "");
  std::string missing_out;
  EXPECT_EQ(RunCommand(std::string(RAMPARTCTL) + " scan " + dir_ + "/missing 2>&1", &missing_out), 2);
  EXPECT_EQ(missing_out, "rampartctl: scan " + dir_ + "/missing: no such file or directory\n");
}

}  // namespace
}  // namespace rampart::scan

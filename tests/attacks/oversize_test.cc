#include "agent/attacks/oversize.h"

#include <gtest/gtest.h>

#include <string>

namespace rampart::attacks {
namespace {

SizeLimits Small() {
  SizeLimits limits;
  limits.max_url_bytes = 20;
  limits.max_header_count = 3;
  limits.max_header_line_bytes = 30;
  limits.max_header_bytes = 60;
  limits.max_body_bytes = 100;
  return limits;
}

http::Message Request() {
  http::Message request;
  request.method = "POST";
  request.target = "/ok";
  request.headers.push_back({"host", "a"});
  return request;
}

TEST(OversizeTest, ARequestWithinEveryLimitHasNoFinding) { EXPECT_TRUE(CheckSizes(Request(), Small()).empty()); }

TEST(OversizeTest, ReportsALongUrlWithItsSize) {
  http::Message request = Request();
  request.target = "/" + std::string(30, 'a');
  const auto findings = CheckSizes(request, Small());
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].detector, "attack.oversize");
  EXPECT_EQ(findings[0].location, "request.target");
  EXPECT_EQ(findings[0].masked_value, "31 bytes");
  EXPECT_EQ(findings[0].reason, "URL of 31 bytes exceeds the limit of 20");
  EXPECT_EQ(findings[0].severity, findings::Severity::kMedium);
}

TEST(OversizeTest, ReportsTooManyHeaders) {
  http::Message request = Request();
  for (int i = 0; i < 3; ++i) request.headers.push_back({"x-" + std::to_string(i), "1"});
  const auto findings = CheckSizes(request, Small());
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].location, "request.headers");
  EXPECT_EQ(findings[0].masked_value, "4 headers");
}

TEST(OversizeTest, ReportsALongHeaderLineByNameButNeverItsValue) {
  http::Message request = Request();
  request.headers.push_back({"x-note", "secret-" + std::string(30, 'z')});
  const auto findings = CheckSizes(request, Small());
  ASSERT_GE(findings.size(), 1u);
  EXPECT_EQ(findings[0].location, "request.header x-note");
  for (const auto& finding : findings) {
    EXPECT_EQ(finding.masked_value.find("secret"), std::string::npos);
    EXPECT_EQ(finding.reason.find("secret"), std::string::npos);
  }
}

TEST(OversizeTest, ReportsTheTotalHeaderSize) {
  http::Message request = Request();
  request.headers.push_back({"a", std::string(25, 'v')});
  request.headers.push_back({"b", std::string(25, 'v')});
  const auto findings = CheckSizes(request, Small());
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].location, "request.headers");
  EXPECT_NE(findings[0].reason.find("headers of"), std::string::npos);
}

TEST(OversizeTest, CountsATruncatedBodyAtItsWireSize) {
  http::Message request = Request();
  request.body = std::string(50, 'b');
  request.body_truncated = true;
  request.body_wire_bytes = 5000;
  const auto findings = CheckSizes(request, Small());
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].location, "request.body");
  EXPECT_EQ(findings[0].masked_value, "5000 bytes");
}

TEST(OversizeTest, ReportsEachBreachedLimit) {
  http::Message request = Request();
  request.target = "/" + std::string(30, 'a');
  request.body = std::string(101, 'b');
  EXPECT_EQ(CheckSizes(request, Small()).size(), 2u);
}

}  // namespace
}  // namespace rampart::attacks

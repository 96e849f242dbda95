// `policy trace --http`: a file's messages through the detector families a
// policy configures, each finding with the verdict InspectionPipeline would
// give it (block when the family blocks and the severity reaches its
// minimum), and the request/response split a file needs.
#include "agent/inspect/http_trace.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "agent/common/strings.h"
#include "agent/inspect/setup.h"

namespace rampart::inspect {
namespace {

// A card number that is not a well-known test number: high severity.
constexpr char kCard[] = "4539148803436467";

std::string Request(const std::string& target) {
  return rampart::StrCat("GET ", target, " HTTP/1.1\r\nHost: shop\r\n\r\n");
}

std::string JsonResponse(const std::string& body) {
  return rampart::StrCat("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ", body.size(),
                         "\r\n\r\n", body);
}

const std::string kSqli = Request("/items?id=1%27%20OR%201%3D1--%20");
const std::string kLeak = JsonResponse(rampart::StrCat(R"({"card":")", kCard, R"("})"));

InspectionSetup FamiliesOf(v1::VerdictAction dlp, const std::string& dlp_min, v1::VerdictAction attacks) {
  v1::Inspection inspection;
  inspection.mutable_dlp()->mutable_verdict()->set_action(dlp);
  inspection.mutable_dlp()->mutable_verdict()->set_min_severity(dlp_min);
  inspection.mutable_attacks()->mutable_verdict()->set_action(attacks);
  auto setup = BuildInspectionSetup(inspection);
  EXPECT_TRUE(setup.ok()) << setup.status();
  return setup.ok() ? std::move(*setup) : InspectionSetup{};
}

const TracedHttpFinding* Find(const HttpTraceResult& result, const std::string& detector) {
  for (const auto& f : result.findings) {
    if (f.finding.detector == detector) return &f;
  }
  return nullptr;
}

TEST(HttpTrace, ARequestAndItsResponseAreBothInspectedWithTheirFamiliesVerdicts) {
  InspectionSetup setup = FamiliesOf(v1::VERDICT_ACTION_BLOCK, "high", v1::VERDICT_ACTION_MONITOR);
  const HttpTraceResult result = TraceHttpExchange(setup, kSqli + kLeak);
  EXPECT_EQ(result.messages, 2u);
  const TracedHttpFinding* sqli = Find(result, "attack.sqli");
  ASSERT_NE(sqli, nullptr);
  EXPECT_TRUE(sqli->in_request);
  EXPECT_EQ(sqli->family, "attacks");
  EXPECT_FALSE(sqli->blocks) << "attacks only monitors";
  const TracedHttpFinding* card = Find(result, "dlp.credit_card");
  ASSERT_NE(card, nullptr);
  EXPECT_FALSE(card->in_request);
  EXPECT_EQ(card->family, "dlp");
  EXPECT_EQ(card->finding.severity, findings::Severity::kHigh);
  EXPECT_TRUE(card->blocks);
  EXPECT_EQ(card->finding.masked_value.find(kCard), std::string::npos) << "values stay masked";
}

TEST(HttpTrace, BlockingNeedsTheMinimumSeverity) {
  InspectionSetup setup = FamiliesOf(v1::VERDICT_ACTION_BLOCK, "critical", v1::VERDICT_ACTION_BLOCK);
  const HttpTraceResult result = TraceHttpExchange(setup, kLeak);
  const TracedHttpFinding* card = Find(result, "dlp.credit_card");
  ASSERT_NE(card, nullptr);
  EXPECT_TRUE(card->verdict.block);
  EXPECT_EQ(card->verdict.min_severity, findings::Severity::kCritical);
  EXPECT_FALSE(card->blocks) << "high is below critical";
}

TEST(HttpTrace, OnlyTheFamiliesThePolicyConfiguresRun) {
  v1::Inspection only_attacks;
  only_attacks.mutable_attacks()->mutable_verdict()->set_action(v1::VERDICT_ACTION_BLOCK);
  auto setup = BuildInspectionSetup(only_attacks);
  ASSERT_TRUE(setup.ok());
  const HttpTraceResult result = TraceHttpExchange(*setup, kSqli + kLeak);
  EXPECT_EQ(Find(result, "dlp.credit_card"), nullptr);
  ASSERT_NE(Find(result, "attack.sqli"), nullptr);
  EXPECT_TRUE(Find(result, "attack.sqli")->blocks);

  InspectionSetup none;
  EXPECT_TRUE(TraceHttpExchange(none, kSqli + kLeak).findings.empty());
}

TEST(HttpTrace, AResponseAloneIsReadAsWritten) {
  InspectionSetup setup = FamiliesOf(v1::VERDICT_ACTION_MONITOR, "", v1::VERDICT_ACTION_MONITOR);
  const HttpTraceResult result = TraceHttpExchange(setup, kLeak);
  EXPECT_EQ(result.messages, 1u);
  ASSERT_NE(Find(result, "dlp.credit_card"), nullptr);
  EXPECT_FALSE(Find(result, "dlp.credit_card")->blocks);
}

TEST(HttpTrace, TheResponseStartsWhereTheRequestsFramingEnds) {
  EXPECT_EQ(ResponseStart(kSqli + kLeak), kSqli.size());
  EXPECT_EQ(ResponseStart(kSqli), std::string::npos) << "no response";
  EXPECT_EQ(ResponseStart(kLeak), std::string::npos) << "a response alone";
  // A body that mentions a status line is not a response.
  const std::string post = "POST /x HTTP/1.1\r\nContent-Length: 17\r\n\r\nHTTP/1.1 200 OK\r\n";
  EXPECT_EQ(ResponseStart(post), std::string::npos);
  EXPECT_EQ(ResponseStart(post + kLeak), post.size());
  const std::string chunked =
      "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHTTP/\r\n0\r\nX-Trailer: 1\r\n\r\n";
  EXPECT_EQ(ResponseStart(chunked + kLeak), chunked.size());
  EXPECT_EQ(ResponseStart(chunked + "\r\n" + kLeak), chunked.size() + 2) << "blank lines between are skipped";
  EXPECT_EQ(ResponseStart("GET / HTTP/1.1\nHost: a\n\n" + kLeak), std::string("GET / HTTP/1.1\nHost: a\n\n").size());
}

}  // namespace
}  // namespace rampart::inspect

// The apis family inside the real inspection pipeline: raw HTTP/1.1 bytes in,
// findings and datapath blocks out. Shows the two seams the family needs from
// agent/inspect: per-finding verdicts (Detector::VerdictFor) and the other
// families' findings after each message (Detector::AfterInspection).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "agent/apis/api_analytics_detector.h"
#include "agent/datapath/blocklist.h"
#include "agent/inspect/pipeline.h"
#include "tests/apis/test_support.h"

namespace rampart::apis {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ServerConnection;
using testing::TestData;

class RecordingSink final : public inspect::FindingSink {
 public:
  void OnFinding(v1::Finding finding) override { found.push_back(std::move(finding)); }
  std::vector<v1::Finding> found;
};

class RecordingTarget final : public inspect::BlockTarget {
 public:
  absl::Status BlockSource(const datapath::Address& source, std::chrono::milliseconds ttl, uint32_t reason) override {
    calls.push_back("source " + datapath::FormatAddress(source) + " ttl " + std::to_string(ttl.count()) + " reason " +
                    std::to_string(reason));
    return absl::OkStatus();
  }
  absl::Status BlockFlow(const datapath::FlowTuple& flow, std::chrono::milliseconds ttl, uint32_t reason) override {
    calls.push_back("flow " + datapath::FormatAddress(flow.src) + ":" + std::to_string(flow.sport) + " reason " +
                    std::to_string(reason));
    return absl::OkStatus();
  }
  std::vector<std::string> calls;
};

// Stands in for the DLP family: an e-mail address in every JSON response.
class FakeDlp final : public inspect::Detector {
 public:
  std::string_view family() const override { return "dlp"; }
  void Inspect(const http::Message& message, const inspect::MessageContext&,
               std::vector<findings::Finding>& out) override {
    if (message.is_request || message.body.find('@') == std::string::npos) return;
    findings::Finding f;
    f.detector = "dlp.email";
    f.severity = findings::Severity::kMedium;
    f.masked_value = "a***@***";
    f.location = "response.body $.email";
    out.push_back(f);
  }
};

std::span<const uint8_t> Bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

TEST(ApiAnalyticsPipelineTest, AZombieCallIsBlockedWithItsOwnTtlAndDlpTypesReachTheInventory) {
  ApiAnalyticsConfig config;
  config.openapi.push_back({.process = "api-server", .host = "", .port = 0, .spec_file = TestData("users-api.yaml")});
  config.alerts.zombie_endpoint = {.block = true, .block_ttl = std::chrono::seconds(3600)};
  auto inventory = std::make_shared<ApiInventory>();
  auto detector = ApiAnalyticsDetector::Create(config, inventory);
  ASSERT_TRUE(detector.ok()) << detector.status();

  inspect::InspectionSetup setup;
  setup.detectors.push_back(std::make_unique<FakeDlp>());
  setup.detectors.push_back(std::move(*detector));
  setup.verdicts["dlp"] = inspect::FamilyVerdict{};
  inspect::FamilyVerdict monitor;  // the family's verdict: the alerts' own actions override it
  monitor.reason = RP_BLOCK_BY_API;
  setup.verdicts["apis"] = monitor;
  RecordingSink sink;
  RecordingTarget target;
  inspect::InspectionPipeline pipeline(sink, &target);
  pipeline.Configure(std::move(setup));

  const capture::ConnectionInfo conn = ServerConnection("10.0.0.7", 50000);
  const std::string request = "GET /v1/users/42 HTTP/1.1\r\nHost: api.example.com\r\n\r\n";
  const std::string body = "{\"id\":42,\"email\":\"a@example.com\"}";
  const std::string response =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body;
  pipeline.OnData(conn, capture::Direction::kRead, 0, Bytes(request));
  pipeline.OnData(conn, capture::Direction::kWrite, 0, Bytes(response));
  ASSERT_EQ(sink.found.size(), 1u);
  EXPECT_EQ(sink.found[0].detector(), "dlp.email");
  const auto endpoints = inventory->Snapshot().at(0).endpoints;
  ASSERT_EQ(endpoints.size(), 1u);
  EXPECT_EQ(endpoints[0].path_template, "/v1/users/{id}");
  EXPECT_THAT(endpoints[0].sensitive_data, ElementsAre("dlp.email"));
  EXPECT_THAT(endpoints[0].statuses, ElementsAre(std::pair<const int, uint64_t>(200, 1)));
  EXPECT_TRUE(target.calls.empty());

  const std::string zombie =
      "GET /v1/users/42/orders HTTP/1.1\r\nHost: api.example.com\r\nx-api-key: k-0123456789\r\n\r\n";
  pipeline.OnData(conn, capture::Direction::kRead, request.size(), Bytes(zombie));
  ASSERT_EQ(sink.found.size(), 2u);
  const v1::Finding& f = sink.found[1];
  EXPECT_EQ(f.detector(), "api.zombie_endpoint");
  EXPECT_EQ(f.action(), "block") << "the alert's own action, though the family says monitor";
  EXPECT_EQ(f.masked_value(), "api_key ********6789");
  EXPECT_THAT(f.reason(), HasSubstr("GET /v1/users/{id}/orders is deprecated"));
  EXPECT_THAT(target.calls, ElementsAre("flow 10.0.0.7:50000 reason 4", "source 10.0.0.7 ttl 3600000 reason 4"));
}

}  // namespace
}  // namespace rampart::apis

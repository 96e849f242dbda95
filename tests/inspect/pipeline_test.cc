#include "agent/inspect/pipeline.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace rampart::inspect {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Flags every message whose body or target holds "EVIL", at a set severity.
class MarkerDetector final : public Detector {
 public:
  explicit MarkerDetector(findings::Severity severity) : severity_(severity) {}
  std::string_view family() const override { return "attacks"; }
  void Inspect(const http::Message& message, const MessageContext& context,
               std::vector<findings::Finding>& out) override {
    seen_server_side.push_back(context.server_side);
    if (message.body.find("EVIL") == std::string::npos && message.target.find("EVIL") == std::string::npos) return;
    findings::Finding f;
    f.detector = "attack.marker";
    f.severity = severity_;
    f.masked_value = "E***";
    f.reason = "marker";
    f.location = message.is_request ? "request" : "response";
    out.push_back(f);
  }
  std::vector<bool> seen_server_side;

 private:
  findings::Severity severity_;
};

class RecordingSink final : public FindingSink {
 public:
  void OnFinding(v1::Finding finding) override { found.push_back(std::move(finding)); }
  std::vector<v1::Finding> found;
};

class RecordingTarget final : public BlockTarget {
 public:
  absl::Status BlockSource(const datapath::Address& source, std::chrono::milliseconds ttl, uint32_t reason) override {
    calls.push_back("source " + datapath::FormatAddress(source) + " ttl " + std::to_string(ttl.count()) + " reason " +
                    std::to_string(reason));
    return fail ? absl::UnavailableError("map full") : absl::OkStatus();
  }
  absl::Status BlockFlow(const datapath::FlowTuple& flow, std::chrono::milliseconds ttl, uint32_t reason) override {
    calls.push_back("flow " + datapath::FormatAddress(flow.src) + ":" + std::to_string(flow.sport) + " -> " +
                    datapath::FormatAddress(flow.dst) + ":" + std::to_string(flow.dport) + " ttl " +
                    std::to_string(ttl.count()));
    return fail ? absl::UnavailableError("map full") : absl::OkStatus();
  }
  std::vector<std::string> calls;
  bool fail = false;
};

void SetV4(uint8_t out[16], const char* text) {
  std::memset(out, 0, 16);
  out[10] = out[11] = 0xff;
  inet_pton(AF_INET, text, out + 12);
}

// nginx (pid 7) on 10.0.0.2:443, its client at 10.0.0.1:50000.
capture::ConnectionInfo ServerConnection() {
  capture::ConnectionInfo info;
  info.key = {.pid = 7, .ssl = 0xabc, .generation = 0};
  info.comm = "nginx";
  info.tuple_known = true;
  SetV4(info.tuple.local_addr, "10.0.0.2");
  SetV4(info.tuple.remote_addr, "10.0.0.1");
  info.tuple.local_port = 443;
  info.tuple.remote_port = 50000;
  info.tuple.proto = 6;
  return info;
}

std::span<const uint8_t> Bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

const std::string kEvilRequest = "GET /search?q=EVIL HTTP/1.1\r\nHost: api\r\n\r\n";
const std::string kCleanRequest = "GET /search?q=fine HTTP/1.1\r\nHost: api\r\n\r\n";

struct Harness {
  explicit Harness(bool block, findings::Severity severity = findings::Severity::kHigh) {
    auto detector = std::make_unique<MarkerDetector>(severity);
    marker = detector.get();
    InspectionSetup setup;
    setup.detectors.push_back(std::move(detector));
    setup.verdicts["attacks"] = FamilyVerdict{.block = block,
                                              .min_severity = findings::Severity::kHigh,
                                              .ttl = std::chrono::seconds(30),
                                              .reason = RP_BLOCK_BY_ATTACK};
    pipeline.Configure(std::move(setup));
  }
  RecordingSink sink;
  RecordingTarget target;
  InspectionPipeline pipeline{sink, &target};
  MarkerDetector* marker = nullptr;
};

TEST(InspectionPipelineTest, AFindingCarriesItsConnectionAndTheMessage) {
  Harness h(/*block=*/false);
  h.pipeline.OnData(ServerConnection(), capture::Direction::kRead, 0, Bytes(kEvilRequest));
  ASSERT_EQ(h.sink.found.size(), 1u);
  const v1::Finding& f = h.sink.found[0];
  EXPECT_EQ(f.detector(), "attack.marker");
  EXPECT_EQ(f.severity(), "high");
  EXPECT_EQ(f.masked_value(), "E***");
  EXPECT_EQ(f.pid(), 7u);
  EXPECT_EQ(f.comm(), "nginx");
  EXPECT_EQ(f.local(), "10.0.0.2:443");
  EXPECT_EQ(f.remote(), "10.0.0.1:50000");
  EXPECT_TRUE(f.server_side());
  EXPECT_EQ(f.protocol(), "HTTP/1.1");
  EXPECT_EQ(f.method(), "GET");
  EXPECT_FALSE(f.truncated());
  EXPECT_GT(f.unix_ns(), 0);
}

TEST(InspectionPipelineTest, UnderMonitorOnlyTheFindingIsRecorded) {
  Harness h(/*block=*/false);
  h.pipeline.OnData(ServerConnection(), capture::Direction::kRead, 0, Bytes(kEvilRequest));
  ASSERT_EQ(h.sink.found.size(), 1u);
  EXPECT_EQ(h.sink.found[0].action(), "monitor");
  EXPECT_EQ(h.sink.found[0].enforced(), "");
  EXPECT_TRUE(h.target.calls.empty());
}

TEST(InspectionPipelineTest, ABlockOnTheServerSideDropsTheFlowAndTheClient) {
  Harness h(/*block=*/true);
  h.pipeline.OnData(ServerConnection(), capture::Direction::kRead, 0, Bytes(kEvilRequest));
  // The flow entry outlives the source's TTL so the blocked connection dies.
  EXPECT_THAT(h.target.calls, ElementsAre("flow 10.0.0.1:50000 -> 10.0.0.2:443 ttl 960000",
                                          "source 10.0.0.1 ttl 30000 reason 2"));
  ASSERT_EQ(h.sink.found.size(), 1u);
  EXPECT_EQ(h.sink.found[0].action(), "block");
  EXPECT_EQ(h.sink.found[0].enforced(), "flow and source 10.0.0.1");
  EXPECT_EQ(h.pipeline.stats().blocks, 1u);
}

TEST(InspectionPipelineTest, ABlockOnTheClientSideDropsOnlyTheFlow) {
  Harness h(/*block=*/true);
  // The captured process wrote the request: it is the client, and the
  // remote peer is a server that did nothing wrong.
  h.pipeline.OnData(ServerConnection(), capture::Direction::kWrite, 0, Bytes(kEvilRequest));
  EXPECT_THAT(h.target.calls, ElementsAre("flow 10.0.0.1:50000 -> 10.0.0.2:443 ttl 960000"));
  ASSERT_EQ(h.sink.found.size(), 1u);
  EXPECT_FALSE(h.sink.found[0].server_side());
  EXPECT_EQ(h.sink.found[0].enforced(), "flow");
}

TEST(InspectionPipelineTest, FindingsBelowTheBlockingSeverityAreOnlyMonitored) {
  Harness h(/*block=*/true, findings::Severity::kMedium);
  h.pipeline.OnData(ServerConnection(), capture::Direction::kRead, 0, Bytes(kEvilRequest));
  ASSERT_EQ(h.sink.found.size(), 1u);
  EXPECT_EQ(h.sink.found[0].action(), "monitor");
  EXPECT_TRUE(h.target.calls.empty());
}

TEST(InspectionPipelineTest, WithoutAFiveTupleNothingIsBlockedAndTheFindingSaysWhy) {
  Harness h(/*block=*/true);
  capture::ConnectionInfo info = ServerConnection();
  info.tuple_known = false;
  h.pipeline.OnData(info, capture::Direction::kRead, 0, Bytes(kEvilRequest));
  ASSERT_EQ(h.sink.found.size(), 1u);
  EXPECT_EQ(h.sink.found[0].action(), "block");
  EXPECT_THAT(h.sink.found[0].enforced(), HasSubstr("5-tuple unknown"));
  EXPECT_TRUE(h.target.calls.empty());
}

TEST(InspectionPipelineTest, ARefusedBlockIsCountedAndTheFindingStillRecorded) {
  Harness h(/*block=*/true);
  h.target.fail = true;
  h.pipeline.OnData(ServerConnection(), capture::Direction::kRead, 0, Bytes(kEvilRequest));
  ASSERT_EQ(h.sink.found.size(), 1u);
  EXPECT_THAT(h.sink.found[0].enforced(), HasSubstr("refused"));
  EXPECT_EQ(h.pipeline.stats().block_errors, 1u);
  EXPECT_EQ(h.pipeline.stats().blocks, 0u);
}

TEST(InspectionPipelineTest, RequestsSplitAcrossChunksAreInspectedOnceWhole) {
  Harness h(/*block=*/false);
  const capture::ConnectionInfo info = ServerConnection();
  const std::string both = kCleanRequest + kEvilRequest;
  for (size_t i = 0; i < both.size(); i += 7) {
    h.pipeline.OnData(info, capture::Direction::kRead, i, Bytes(both.substr(i, 7)));
  }
  EXPECT_EQ(h.pipeline.stats().messages, 2u);
  EXPECT_EQ(h.sink.found.size(), 1u);
}

TEST(InspectionPipelineTest, AResponseTheServerWroteIsServerSide) {
  Harness h(/*block=*/false);
  const capture::ConnectionInfo info = ServerConnection();
  h.pipeline.OnData(info, capture::Direction::kRead, 0, Bytes(kCleanRequest));
  h.pipeline.OnData(info, capture::Direction::kWrite, 0,
                    Bytes("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL"));
  ASSERT_EQ(h.sink.found.size(), 1u);
  EXPECT_EQ(h.sink.found[0].status(), 200u);
  EXPECT_TRUE(h.sink.found[0].server_side());
  EXPECT_THAT(h.marker->seen_server_side, ElementsAre(true, true));
}

TEST(InspectionPipelineTest, AnEndedConnectionForgetsItsParserState) {
  Harness h(/*block=*/false);
  capture::ConnectionInfo info = ServerConnection();
  // Half a request, then the SSL object moves on to a new connection.
  h.pipeline.OnData(info, capture::Direction::kRead, 0, Bytes("GET /EVIL HTTP/1.1\r\nHo"));
  EXPECT_EQ(h.pipeline.stats().connections, 1u);
  h.pipeline.OnEnd(info);
  EXPECT_EQ(h.pipeline.stats().connections, 0u);
  info.key.generation = 1;
  h.pipeline.OnData(info, capture::Direction::kRead, 0, Bytes(kCleanRequest));
  EXPECT_TRUE(h.sink.found.empty());
  EXPECT_EQ(h.pipeline.stats().messages, 1u);
}

TEST(InspectionPipelineTest, WithoutDetectorsNothingIsParsed) {
  RecordingSink sink;
  InspectionPipeline pipeline(sink, nullptr);
  pipeline.OnData(ServerConnection(), capture::Direction::kRead, 0, Bytes(kEvilRequest));
  EXPECT_FALSE(pipeline.active());
  EXPECT_EQ(pipeline.stats().connections, 0u);
  EXPECT_EQ(pipeline.stats().messages, 0u);
}

}  // namespace
}  // namespace rampart::inspect

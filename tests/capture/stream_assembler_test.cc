#include "agent/capture/stream_assembler.h"

#include <gtest/gtest.h>

#include "tests/capture/test_certificates.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace rampart::capture {
namespace {

// What the assembler told its consumer, as one line per call.
class Transcript final : public PlaintextConsumer {
 public:
  void OnData(const ConnectionInfo& c, Direction d, uint64_t offset, std::span<const uint8_t> data) override {
    lines.push_back(Prefix(c, d) + "data@" + std::to_string(offset) + " " +
                    std::string(reinterpret_cast<const char*>(data.data()), data.size()) +
                    (c.peer_certificate ? " peer CN=" + c.peer_certificate->subject_cn : ""));
  }
  void OnGap(const ConnectionInfo& c, Direction d, uint64_t offset, uint64_t bytes) override {
    lines.push_back(Prefix(c, d) + "gap@" + std::to_string(offset) + " " + std::to_string(bytes));
  }
  void OnEnd(const ConnectionInfo& c) override {
    lines.push_back("g" + std::to_string(c.key.generation) + " end");
  }
  std::vector<std::string> lines;

 private:
  static std::string Prefix(const ConnectionInfo& c, Direction d) {
    return "g" + std::to_string(c.key.generation) + (d == Direction::kRead ? " read " : " write ");
  }
};

struct Chunk {
  Direction direction = Direction::kRead;
  uint64_t offset = 0;
  std::string data;
  uint32_t len = 0;  // bytes the call moved; data.size() when 0
  uint32_t generation = 0;
  uint64_t time_ns = 0;
};

void Feed(StreamAssembler& assembler, const Chunk& c) {
  rp_capture_header h{};
  h.pid = 42;
  h.ssl = 0x1000;
  std::strcpy(h.comm, "nginx");
  h.direction = static_cast<uint8_t>(c.direction);
  h.stream_offset = c.offset;
  h.len = c.len ? c.len : static_cast<uint32_t>(c.data.size());
  h.captured = static_cast<uint32_t>(c.data.size());
  h.generation = c.generation;
  h.timestamp_ns = c.time_ns;
  if (h.captured < h.len) h.flags |= RP_CAPTURE_TRUNCATED;
  assembler.Add(h, {reinterpret_cast<const uint8_t*>(c.data.data()), c.data.size()});
}

TEST(StreamAssemblerTest, ContiguousCallsBecomeOneStreamPerDirection) {
  Transcript t;
  StreamAssembler assembler(t);
  Feed(assembler, {.direction = Direction::kRead, .offset = 0, .data = "GET / "});
  Feed(assembler, {.direction = Direction::kRead, .offset = 6, .data = "HTTP/1.1"});
  Feed(assembler, {.direction = Direction::kWrite, .offset = 0, .data = "HTTP/1.1 200"});
  EXPECT_EQ(t.lines, (std::vector<std::string>{"g0 read data@0 GET / ", "g0 read data@6 HTTP/1.1",
                                               "g0 write data@0 HTTP/1.1 200"}));
  EXPECT_EQ(assembler.connections(), 1u);
  EXPECT_EQ(assembler.totals().bytes, 26u);
  EXPECT_EQ(assembler.totals().gap_bytes, 0u);
}

TEST(StreamAssemblerTest, ATruncatedCallLeavesAGapOfExactlyTheUncapturedBytes) {
  Transcript t;
  StreamAssembler assembler(t);
  Feed(assembler, {.direction = Direction::kWrite, .offset = 0, .data = "abcd", .len = 10});
  Feed(assembler, {.direction = Direction::kWrite, .offset = 10, .data = "next"});
  EXPECT_EQ(t.lines, (std::vector<std::string>{"g0 write data@0 abcd", "g0 write gap@4 6", "g0 write data@10 next"}));
  EXPECT_EQ(assembler.totals().gap_bytes, 6u);
}

TEST(StreamAssemblerTest, ChunksLostToAFullRingBufferShowAsAGapBeforeTheNextChunk) {
  Transcript t;
  StreamAssembler assembler(t);
  Feed(assembler, {.direction = Direction::kRead, .offset = 0, .data = "aa"});
  Feed(assembler, {.direction = Direction::kRead, .offset = 1002, .data = "bb"});
  EXPECT_EQ(t.lines, (std::vector<std::string>{"g0 read data@0 aa", "g0 read gap@2 1000", "g0 read data@1002 bb"}));
}

TEST(StreamAssemblerTest, AStreamPickedUpMidwayStartsWhereTheKernelSaysWithoutAGap) {
  Transcript t;
  StreamAssembler assembler(t);
  Feed(assembler, {.direction = Direction::kRead, .offset = 5000, .data = "tail"});
  EXPECT_EQ(t.lines, (std::vector<std::string>{"g0 read data@5000 tail"}));
  EXPECT_EQ(assembler.totals().gap_bytes, 0u);
}

TEST(StreamAssemblerTest, AReusedSslPointerEndsTheOldConnectionAndStartsAFreshStream) {
  Transcript t;
  StreamAssembler assembler(t);
  Feed(assembler, {.direction = Direction::kRead, .offset = 0, .data = "first"});
  Feed(assembler, {.direction = Direction::kRead, .offset = 0, .data = "second", .generation = 1});
  Feed(assembler, {.direction = Direction::kWrite, .offset = 0, .data = "reply", .generation = 1});
  EXPECT_EQ(t.lines, (std::vector<std::string>{"g0 read data@0 first", "g0 end", "g1 read data@0 second",
                                               "g1 write data@0 reply"}));
  EXPECT_EQ(assembler.connections(), 1u);
  EXPECT_EQ(assembler.totals().gap_bytes, 0u);
}

TEST(StreamAssemblerTest, IdleConnectionsExpireAndTheirConsumerIsTold) {
  Transcript t;
  StreamAssembler assembler(t);
  Feed(assembler, {.direction = Direction::kRead, .offset = 0, .data = "x", .time_ns = 1'000});
  EXPECT_EQ(assembler.Expire(2'000, 5'000), 0u);
  EXPECT_EQ(assembler.Expire(10'000, 5'000), 1u);
  EXPECT_EQ(t.lines.back(), "g0 end");
  EXPECT_EQ(assembler.connections(), 0u);
}

// A peer certificate record of the connection (pid 42, SSL 0x1000), as the
// kernel sends it: DER after the header, len its size; `kept` bytes of it.
void FeedCertificate(StreamAssembler& assembler, const std::vector<uint8_t>& der, uint32_t generation = 0,
                     size_t kept = SIZE_MAX) {
  rp_capture_header h{};
  h.pid = 42;
  h.ssl = 0x1000;
  std::strcpy(h.comm, "nginx");
  h.direction = RP_CAPTURE_READ;
  h.flags = RP_CAPTURE_PEER_CERT;
  h.len = static_cast<uint32_t>(der.size());
  h.captured = static_cast<uint32_t>(std::min(kept, der.size()));
  h.generation = generation;
  if (h.captured < h.len) h.flags |= RP_CAPTURE_TRUNCATED;
  assembler.AddPeerCertificate(h, {der.data(), h.captured});
}

TEST(StreamAssemblerTest, APeerCertificateNamesItsConnectionAndMovesNoOffset) {
  Transcript t;
  StreamAssembler assembler(t);
  FeedCertificate(assembler, testing::MakeCertificateDer("client-a", {}));
  EXPECT_TRUE(t.lines.empty()) << "a certificate is not plaintext";
  Feed(assembler, {.direction = Direction::kRead, .offset = 0, .data = "GET / "});
  Feed(assembler, {.direction = Direction::kWrite, .offset = 0, .data = "HTTP/1.1 200"});
  EXPECT_EQ(t.lines, (std::vector<std::string>{"g0 read data@0 GET /  peer CN=client-a",
                                               "g0 write data@0 HTTP/1.1 200 peer CN=client-a"}));
  EXPECT_EQ(assembler.totals().gap_bytes, 0u);
  EXPECT_EQ(assembler.totals().peer_certificates, 1u);
}

TEST(StreamAssemblerTest, TheFirstCertificateOfAConnectionIsKept) {
  Transcript t;
  StreamAssembler assembler(t);
  FeedCertificate(assembler, testing::MakeCertificateDer("client-a", {}));
  FeedCertificate(assembler, testing::MakeCertificateDer("someone-else", {}));
  Feed(assembler, {.direction = Direction::kRead, .offset = 0, .data = "x"});
  EXPECT_EQ(t.lines, (std::vector<std::string>{"g0 read data@0 x peer CN=client-a"}));
}

TEST(StreamAssemblerTest, ATruncatedOrBrokenCertificateIsCountedAndNamesNobody) {
  Transcript t;
  StreamAssembler assembler(t);
  const auto der = testing::MakeCertificateDer("client-a", {});
  FeedCertificate(assembler, der, 0, /*kept=*/0);
  FeedCertificate(assembler, std::vector<uint8_t>{0x30, 0x01, 0x00});
  Feed(assembler, {.direction = Direction::kRead, .offset = 0, .data = "x"});
  EXPECT_EQ(t.lines, (std::vector<std::string>{"g0 read data@0 x"}));
  EXPECT_EQ(assembler.totals().peer_certificates, 0u);
  EXPECT_EQ(assembler.totals().peer_certificates_unparsed, 2u);
}

TEST(StreamAssemblerTest, AReusedSslPointerDoesNotInheritTheOldPeer) {
  Transcript t;
  StreamAssembler assembler(t);
  FeedCertificate(assembler, testing::MakeCertificateDer("client-a", {}));
  Feed(assembler, {.direction = Direction::kRead, .offset = 0, .data = "a"});
  Feed(assembler, {.direction = Direction::kRead, .offset = 0, .data = "b", .generation = 1});
  FeedCertificate(assembler, testing::MakeCertificateDer("client-c", {}), 2);
  Feed(assembler, {.direction = Direction::kRead, .offset = 0, .data = "c", .generation = 2});
  EXPECT_EQ(t.lines, (std::vector<std::string>{"g0 read data@0 a peer CN=client-a", "g0 end", "g1 read data@0 b",
                                               "g1 end", "g2 read data@0 c peer CN=client-c"}));
}

}  // namespace
}  // namespace rampart::capture

#include "agent/capture/stream_assembler.h"

#include <gtest/gtest.h>

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
                    std::string(reinterpret_cast<const char*>(data.data()), data.size()));
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

}  // namespace
}  // namespace rampart::capture

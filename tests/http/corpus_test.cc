// Real request text: the CSIC 2010 benign set (36,000 requests to a web
// shop, written back to back with blank lines between them) fed as one
// pipelined client stream.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "agent/http/connection_parser.h"
#include "tests/http/h2_builder.h"
#include "tests/http/test_support.h"

namespace rampart::http {
namespace {

std::string ReadGzip(const std::string& path) {
  std::string out;
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) return out;
  char buffer[1 << 16];
  int n;
  while ((n = gzread(file, buffer, sizeof(buffer))) > 0) out.append(buffer, static_cast<size_t>(n));
  gzclose(file);
  return out;
}

const std::string& Corpus() {
  static const std::string corpus = ReadGzip(RAMPART_HTTP_TEST_DATA "/csic2010-normal-training.txt.gz");
  return corpus;
}

// Request lines counted without the parser: lines that start with a method
// and end with the HTTP version.
size_t CountRequestLines(const std::string& text) {
  size_t count = 0;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + at, end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if ((line.starts_with("GET ") || line.starts_with("POST ") || line.starts_with("PUT ")) &&
        line.ends_with(" HTTP/1.1")) {
      ++count;
    }
    at = end + 1;
  }
  return count;
}

class CountingSink : public MessageSink {
 public:
  void OnMessage(const Message& m) override { bytes += m.body.size(); ++count; }
  size_t count = 0;
  size_t bytes = 0;
};

// Parses `events` with a sink that only counts: the parser's own cost.
double TimeParse(const std::vector<testing::Event>& events, size_t& messages) {
  CountingSink sink;
  ConnectionParser parser(sink);
  uint64_t offsets[2] = {0, 0};
  const auto start = std::chrono::steady_clock::now();
  for (const testing::Event& e : events) {
    parser.OnData(e.flow, offsets[e.flow], testing::AsBytes(e.data));
    offsets[e.flow] += e.data.size();
  }
  parser.OnEnd();
  messages = sink.count;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class DigestSink : public MessageSink {
 public:
  void OnMessage(const Message& m) override {
    ++count;
    if (m.method == "POST") {
      ++posts;
      const std::string* length = m.FindHeader("content-length");
      if (length != nullptr && std::to_string(m.body.size()) == *length) ++posts_with_exact_body;
    }
    digest = digest * 1000003 ^ std::hash<std::string>()(testing::Describe(m));
  }
  size_t count = 0;
  size_t posts = 0;
  size_t posts_with_exact_body = 0;
  size_t digest = 0;
};

TEST(CorpusTest, EveryRequestOfThePipelinedCorpusIsParsed) {
  const std::string& corpus = Corpus();
  ASSERT_GT(corpus.size(), 10u << 20) << "corpus missing: " RAMPART_HTTP_TEST_DATA;
  const size_t expected = CountRequestLines(corpus);
  ASSERT_EQ(expected, 36000u);

  DigestSink sink;
  ConnectionParser parser(sink);
  std::vector<testing::Event> pieces;
  for (size_t at = 0; at < corpus.size(); at += 16384) {
    pieces.push_back(testing::Data(0, corpus.substr(at, 16384)));
    parser.OnData(0, at, testing::AsBytes(pieces.back().data));
  }
  parser.OnEnd();

  EXPECT_EQ(sink.count, expected);
  EXPECT_EQ(parser.stats().requests, expected);
  EXPECT_EQ(parser.stats().desyncs, 0u);
  EXPECT_EQ(sink.posts, 8000u);
  EXPECT_EQ(sink.posts_with_exact_body, sink.posts);
  size_t timed_messages = 0;
  const double seconds = TimeParse(pieces, timed_messages);
  EXPECT_EQ(timed_messages, expected);
  const double mib_per_second = static_cast<double>(corpus.size()) / (1 << 20) / seconds;
  std::cout << "[ figure ] HTTP/1 requests in 16 KiB pieces: " << corpus.size() / (1 << 20) << " MiB in "
            << seconds * 1000 << " ms, " << mib_per_second << " MiB/s, " << static_cast<double>(expected) / seconds
            << " requests/s\n";
  RecordProperty("http1_mib_per_second", std::to_string(mib_per_second));
}

TEST(CorpusTest, RandomPieceSizesGiveTheSameMessages) {
  const std::string& corpus = Corpus();
  ASSERT_FALSE(corpus.empty());
  // A tenth of the corpus keeps the test fast; cuts land everywhere.
  const std::string_view part = std::string_view(corpus).substr(0, corpus.size() / 10);
  DigestSink whole;
  {
    ConnectionParser parser(whole);
    parser.OnData(0, 0, testing::AsBytes(part));
    parser.OnEnd();
  }
  DigestSink pieces;
  {
    ConnectionParser parser(pieces);
    std::mt19937 random(99);
    for (size_t at = 0; at < part.size();) {
      const size_t n = std::min<size_t>(part.size() - at, 1 + random() % 700);
      parser.OnData(0, at, testing::AsBytes(part.substr(at, n)));
      at += n;
    }
    parser.OnEnd();
  }
  EXPECT_GT(whole.count, 3000u);
  EXPECT_EQ(pieces.count, whole.count);
  EXPECT_EQ(pieces.digest, whole.digest);
}

// Connection-specific fields have no place in HTTP/2 (RFC 9113 8.2.2).
bool KeptInHttp2(const Header& h) { return h.name != "host" && h.name != "connection"; }

TEST(CorpusTest, TheCorpusOverHttp2GivesTheSameRequests) {
  const std::string& corpus = Corpus();
  ASSERT_FALSE(corpus.empty());
  testing::RecordingSink http1;
  {
    ConnectionParser parser(http1);
    parser.OnData(0, 0, testing::AsBytes(corpus));
    parser.OnEnd();
  }
  ASSERT_EQ(http1.messages.size(), 36000u);

  // The same requests as HTTP/2 streams, answered in batches.
  using namespace testing::h2;
  Encoder client;
  Encoder server;
  std::vector<testing::Event> events;
  std::string to_server = ClientStart();
  std::string to_client = ServerStart();
  size_t wire_bytes = 0;
  for (size_t i = 0; i < http1.messages.size(); ++i) {
    const Message& m = http1.messages[i];
    const uint32_t stream = static_cast<uint32_t>(2 * i + 1);
    Fields fields = {{":method", m.method}, {":scheme", "https"}, {":authority", m.authority}, {":path", m.target}};
    for (const Header& h : m.headers) {
      if (KeptInHttp2(h)) fields.emplace_back(h.name, h.value);
    }
    to_server += HeadersFrame(stream, client.Encode(fields), kEndHeaders | (m.body.empty() ? kEndStream : 0));
    for (size_t at = 0; at < m.body.size(); at += 16384) {
      to_server += DataFrame(stream, std::string_view(m.body).substr(at, 16384), at + 16384 >= m.body.size());
    }
    to_client += HeadersFrame(stream, server.Encode({{":status", "200"}}), kEndHeaders | kEndStream);
    if (i % 100 == 99 || i + 1 == http1.messages.size()) {
      wire_bytes += to_server.size() + to_client.size();
      events.push_back(testing::Data(0, std::move(to_server)));
      events.push_back(testing::Data(1, std::move(to_client)));
      to_server.clear();
      to_client.clear();
    }
  }

  const testing::Result r = testing::Replay(events);
  ASSERT_EQ(r.stats.requests, http1.messages.size()) << testing::DescribeStats(r.stats);
  EXPECT_EQ(r.stats.responses, http1.messages.size());
  EXPECT_EQ(r.stats.http2_midway_undecodable, 0u);
  EXPECT_EQ(r.stats.http2_streams_evicted, 0u);
  size_t same = 0;
  size_t at = 0;
  for (const Message& m2 : r.messages) {
    if (!m2.is_request) continue;
    const Message& m1 = http1.messages[at++];
    std::vector<Header> expected_headers;
    for (const Header& h : m1.headers) {
      if (KeptInHttp2(h)) expected_headers.push_back(h);
    }
    std::vector<Header> headers;
    for (const Header& h : m2.headers) {
      if (h.name != ":scheme") headers.push_back(h);
    }
    const bool headers_match = std::equal(headers.begin(), headers.end(), expected_headers.begin(), expected_headers.end(),
                                          [](const Header& a, const Header& b) { return a.name == b.name && a.value == b.value; });
    if (m2.method == m1.method && m2.target == m1.target && m2.authority == m1.authority && m2.body == m1.body &&
        headers_match) {
      ++same;
    }
  }
  EXPECT_EQ(same, http1.messages.size());
  size_t timed_messages = 0;
  const double seconds = TimeParse(events, timed_messages);
  EXPECT_EQ(timed_messages, r.messages.size());
  RecordProperty("http2_messages_per_second", std::to_string(static_cast<double>(timed_messages) / seconds));
  std::cout << "[ figure ] HTTP/2 requests and responses: " << wire_bytes / (1 << 20) << " MiB in " << seconds * 1000
            << " ms, " << static_cast<double>(wire_bytes) / (1 << 20) / seconds << " MiB/s, "
            << static_cast<double>(timed_messages) / seconds << " messages/s\n";
}

}  // namespace
}  // namespace rampart::http

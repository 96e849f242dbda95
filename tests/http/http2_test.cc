// HTTP/2 through ConnectionParser. Header blocks are made by nghttp2's own
// HPACK deflater, and one test records what two real nghttp2 sessions (a
// client and a server) say to each other. Flow 0 is the client's, flow 1
// the server's.
#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <cstring>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "agent/http/connection_parser.h"
#include "tests/http/h2_builder.h"
#include "tests/http/test_support.h"

namespace rampart::http {
namespace {

using testing::Describe;
using testing::DescribeStats;
using testing::Event;
using testing::Gzip;
using testing::Replay;
using testing::Result;
using namespace testing::h2;

constexpr int kClient = 0;
constexpr int kServer = 1;

Fields Get(std::string path, Fields extra = {}) {
  Fields fields = {{":method", "GET"}, {":scheme", "https"}, {":authority", "api.example"}, {":path", path}};
  fields.insert(fields.end(), extra.begin(), extra.end());
  return fields;
}

Fields Post(std::string path, Fields extra = {}) {
  Fields fields = Get(std::move(path), std::move(extra));
  fields[0].second = "POST";
  return fields;
}

Fields Status(std::string status, Fields extra = {}) {
  Fields fields = {{":status", std::move(status)}};
  fields.insert(fields.end(), extra.begin(), extra.end());
  return fields;
}

const Message* FindMessage(const std::vector<Message>& messages, bool request, uint32_t stream) {
  for (const Message& m : messages) {
    if (m.is_request == request && m.stream_id == stream) return &m;
  }
  return nullptr;
}

TEST(Http2Test, RequestAndResponseOnOneStream) {
  Encoder client, server;
  const Result r = Replay({
      testing::Data(kClient, ClientStart() + HeadersFrame(1, client.Encode(Get("/api?q=1", {{"user-agent", "t/1"}})),
                                                          kEndHeaders | kEndStream)),
      testing::Data(kServer, ServerStart() +
                                 HeadersFrame(1, server.Encode(Status("200", {{"content-type", "text/plain"}})),
                                              kEndHeaders) +
                                 DataFrame(1, "hello", true)),
  });
  ASSERT_EQ(r.messages.size(), 2u) << DescribeStats(r.stats);
  const Message& request = r.messages[0];
  EXPECT_TRUE(request.is_request);
  EXPECT_EQ(request.protocol, 2);
  EXPECT_EQ(request.stream_id, 1u);
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/api?q=1");
  EXPECT_EQ(request.authority, "api.example");
  EXPECT_EQ(*request.FindHeader("user-agent"), "t/1");
  EXPECT_EQ(*request.FindHeader(":scheme"), "https");
  const Message& response = r.messages[1];
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.method, "GET");
  EXPECT_EQ(response.target, "/api?q=1");
  EXPECT_EQ(response.body, "hello");
  EXPECT_EQ(response.body_wire_bytes, 5u);
  EXPECT_EQ(r.protocol, Protocol::kHttp2);
  EXPECT_EQ(r.stats.http2_connections, 1u);
  EXPECT_EQ(r.stats.http2_midway_undecodable, 0u);
}

TEST(Http2Test, ConcurrentStreamsAreKeptApart) {
  // Blocks are encoded in wire order: HPACK state depends on it.
  Encoder client, server;
  const std::string post_one = client.Encode(Post("/one"));
  const std::string post_three = client.Encode(Post("/three"));
  const std::string get_five = client.Encode(Get("/five"));
  const std::string status_404 = server.Encode(Status("404"));
  const std::string status_201 = server.Encode(Status("201"));
  const std::string status_200 = server.Encode(Status("200"));
  const Result r = Replay({
      testing::Data(kClient, ClientStart() + HeadersFrame(1, post_one, kEndHeaders) +
                                 HeadersFrame(3, post_three, kEndHeaders) + DataFrame(1, "one-a ") +
                                 DataFrame(3, "three-a ") + HeadersFrame(5, get_five, kEndHeaders | kEndStream) +
                                 DataFrame(3, "three-b", true) + DataFrame(1, "one-b", true)),
      testing::Data(kServer, ServerStart() + HeadersFrame(5, status_404, kEndHeaders | kEndStream) +
                                 HeadersFrame(3, status_201, kEndHeaders) + HeadersFrame(1, status_200, kEndHeaders) +
                                 DataFrame(1, "r1 ") + DataFrame(3, "r3", true) + DataFrame(1, "done", true)),
  });
  ASSERT_EQ(r.messages.size(), 6u) << Describe(r.messages);
  EXPECT_EQ(FindMessage(r.messages, true, 1)->body, "one-a one-b");
  EXPECT_EQ(FindMessage(r.messages, true, 3)->body, "three-a three-b");
  EXPECT_EQ(FindMessage(r.messages, true, 5)->target, "/five");
  EXPECT_EQ(FindMessage(r.messages, false, 1)->body, "r1 done");
  EXPECT_EQ(FindMessage(r.messages, false, 1)->target, "/one");
  EXPECT_EQ(FindMessage(r.messages, false, 3)->status, 201);
  EXPECT_EQ(FindMessage(r.messages, false, 3)->target, "/three");
  EXPECT_EQ(FindMessage(r.messages, false, 5)->status, 404);
  EXPECT_EQ(FindMessage(r.messages, false, 5)->target, "/five");
}

TEST(Http2Test, ContinuationFramesCarryOneHeaderBlock) {
  Encoder client;
  const std::string block = client.Encode(Get("/c", {{"x-big", std::string(300, 'v')}, {"x-after", "yes"}}));
  const size_t third = block.size() / 3;
  const Result r = Replay({testing::Data(
      kClient, ClientStart() + HeadersFrame(1, block.substr(0, third), kEndStream) +
                   Frame(kContinuation, 0, 1, block.substr(third, third)) +
                   Frame(kContinuation, kEndHeaders, 1, block.substr(2 * third)))});
  ASSERT_EQ(r.messages.size(), 1u) << DescribeStats(r.stats);
  EXPECT_EQ(r.messages[0].target, "/c");
  EXPECT_EQ(*r.messages[0].FindHeader("x-big"), std::string(300, 'v'));
  EXPECT_EQ(*r.messages[0].FindHeader("x-after"), "yes");
}

TEST(Http2Test, PaddingAndPriorityFieldsAreSkipped) {
  Encoder client;
  const Result r = Replay({testing::Data(
      kClient, ClientStart() + HeadersFrame(1, client.Encode(Post("/padded")), kEndHeaders, 17, true) +
                   DataFrame(1, "body ", false, 9) + DataFrame(1, "", false, 3) + DataFrame(1, "end", true, 200))});
  ASSERT_EQ(r.messages.size(), 1u) << DescribeStats(r.stats);
  EXPECT_EQ(r.messages[0].target, "/padded");
  EXPECT_EQ(r.messages[0].body, "body end");
  EXPECT_EQ(r.messages[0].body_wire_bytes, 8u);
}

TEST(Http2Test, ControlFramesBetweenStreamsAreHarmless) {
  Encoder client;
  const Result r = Replay({testing::Data(
      kClient, ClientStart() + Frame(kPing, 0, 0, "12345678") + Frame(kWindowUpdate, 0, 0, Be32(1 << 20)) +
                   Frame(kPriority, 0, 1, Be32(0) + "\x10") + Frame(0xfa, 0, 0, "unknown extension frame") +
                   HeadersFrame(1, client.Encode(Get("/x")), kEndHeaders | kEndStream) +
                   Frame(kGoaway, 0, 0, Be32(1) + Be32(0) + "debug"))});
  ASSERT_EQ(r.messages.size(), 1u) << DescribeStats(r.stats);
  EXPECT_EQ(r.stats.http2_frame_errors, 0u);
}

TEST(Http2Test, GzipBodyIsDecoded) {
  Encoder client, server;
  const std::string text = "{\"card\":\"4111 1111 1111 1111\",\"name\":\"someone\"}";
  const std::string gz = Gzip(text);
  const Result r = Replay({
      testing::Data(kClient, ClientStart() + HeadersFrame(1, client.Encode(Get("/card")), kEndHeaders | kEndStream)),
      testing::Data(kServer, ServerStart() +
                                 HeadersFrame(1, server.Encode(Status("200", {{"content-encoding", "gzip"}})),
                                              kEndHeaders) +
                                 DataFrame(1, gz.substr(0, 10)) + DataFrame(1, gz.substr(10), true)),
  });
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1].body, text);
  EXPECT_EQ(r.messages[1].body_wire_bytes, gz.size());
}

TEST(Http2Test, TrailersFollowTheHeaderFields) {
  Encoder client, server;
  const std::string request = client.Encode(Post("/svc.Method", {{"content-type", "application/grpc"}}));
  const std::string status = server.Encode(Status("200"));
  const std::string trailers = server.Encode({{"grpc-status", "0"}, {"grpc-message", "fine"}});
  const Result r = Replay({
      testing::Data(kClient, ClientStart() + HeadersFrame(1, request, kEndHeaders) +
                                 DataFrame(1, std::string("\0\0\0\0\x02hi", 7), true)),
      testing::Data(kServer, ServerStart() + HeadersFrame(1, status, kEndHeaders) +
                                 DataFrame(1, std::string("\0\0\0\0\x02ok", 7)) +
                                 HeadersFrame(1, trailers, kEndHeaders | kEndStream)),
  });
  ASSERT_EQ(r.messages.size(), 2u);
  const Message& response = r.messages[1];
  ASSERT_NE(response.FindHeader("grpc-status"), nullptr);
  EXPECT_EQ(*response.FindHeader("grpc-status"), "0");
  EXPECT_EQ(response.headers.back().name, "grpc-message");
}

TEST(Http2Test, CookieFieldsAreJoinedIntoOneHeader) {
  Encoder client;
  const Result r = Replay({testing::Data(
      kClient, ClientStart() + HeadersFrame(1,
                                            client.Encode(Get("/", {{"cookie", "a=1"}, {"accept", "*/*"},
                                                                    {"cookie", "b=2"}})),
                                            kEndHeaders | kEndStream))});
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(*r.messages[0].FindHeader("cookie"), "a=1; b=2");
  EXPECT_EQ(r.messages[0].headers.size(), 3u);  // :scheme, cookie, accept
}

TEST(Http2Test, DynamicTableStateCarriesAcrossRequests) {
  Encoder client;
  std::string bytes = ClientStart();
  const Fields common = {{"authorization", "Bearer abc.def.ghi"}, {"x-tenant", "acme"}};
  for (uint32_t stream = 1; stream <= 9; stream += 2) {
    bytes += HeadersFrame(stream, client.Encode(Get("/items/" + std::to_string(stream), common)),
                          kEndHeaders | kEndStream);
  }
  const Result r = Replay({testing::Data(kClient, bytes)});
  ASSERT_EQ(r.messages.size(), 5u);
  for (const Message& m : r.messages) {
    EXPECT_EQ(m.target, "/items/" + std::to_string(m.stream_id));
    EXPECT_EQ(*m.FindHeader("authorization"), "Bearer abc.def.ghi");
    EXPECT_EQ(*m.FindHeader("x-tenant"), "acme");
  }
}

TEST(Http2Test, AnnouncedHeaderTableSizeIsHonoured) {
  // The server allows a 64 KiB table; the client's encoder then uses it.
  Encoder client(65536);
  client.ChangeTableSize(65536);
  const std::string block = client.Encode(Get("/big-table"));
  const Result allowed = Replay({
      testing::Data(kServer, SettingsFrame({{1, 65536}})),
      testing::Data(kClient, ClientStart() + HeadersFrame(1, block, kEndHeaders | kEndStream)),
  });
  ASSERT_EQ(allowed.messages.size(), 1u) << DescribeStats(allowed.stats);
  EXPECT_EQ(allowed.messages[0].target, "/big-table");
  // Without that SETTINGS, the same block breaks HPACK rules: never guessed at.
  const Result refused = Replay({
      testing::Data(kServer, SettingsFrame()),
      testing::Data(kClient, ClientStart() + HeadersFrame(1, block, kEndHeaders | kEndStream)),
  });
  EXPECT_EQ(refused.messages.size(), 0u);
  EXPECT_EQ(refused.stats.http2_hpack_errors, 1u);
  EXPECT_EQ(refused.protocol, Protocol::kHttp2Undecodable);
}

TEST(Http2Test, ResetStreamDeliversWhatItCarried) {
  Encoder client;
  const Result r = Replay({testing::Data(kClient, ClientStart() + HeadersFrame(1, client.Encode(Post("/upload")), kEndHeaders) +
                                                      DataFrame(1, "partial") + Frame(kRstStream, 0, 1, Be32(8)) +
                                                      DataFrame(1, "late data after reset", true))},
                          {}, 0, SIZE_MAX, 0, /*end=*/false);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].body, "partial");
}

TEST(Http2Test, BodyOverTheCapIsDeliveredAtTheCap) {
  Encoder client;
  ParserLimits limits;
  limits.max_body_bytes = 100;
  const Result r = Replay({testing::Data(kClient, ClientStart() + HeadersFrame(1, client.Encode(Post("/big")), kEndHeaders) +
                                                      DataFrame(1, std::string(80, 'a')) + DataFrame(1, std::string(80, 'b')))},
                          limits, 0, SIZE_MAX, 0, /*end=*/false);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_TRUE(r.messages[0].body_truncated);
  EXPECT_EQ(r.messages[0].body, std::string(80, 'a') + std::string(20, 'b'));
  EXPECT_EQ(r.messages[0].body_wire_bytes, 100u);
}

TEST(Http2Test, TooManyOpenStreamsEvictsTheOldest) {
  Encoder client;
  ParserLimits limits;
  limits.max_h2_streams = 2;
  std::string bytes = ClientStart();
  for (uint32_t stream : {1u, 3u, 5u}) {
    bytes += HeadersFrame(stream, client.Encode(Post("/s" + std::to_string(stream))), kEndHeaders) +
             DataFrame(stream, "x");
  }
  const Result r = Replay({testing::Data(kClient, bytes)}, limits, 0, SIZE_MAX, 0, /*end=*/false);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].stream_id, 1u);
  EXPECT_TRUE(r.messages[0].capture_gap);
  EXPECT_EQ(r.stats.http2_streams_evicted, 1u);
}

TEST(Http2Test, OversizedHeaderListIsDroppedWhileHpackStaysInStep) {
  Encoder client;
  ParserLimits limits;
  limits.max_header_bytes = 200;
  // The first block puts x-tenant into the dynamic table; the second refers to it.
  const std::string first = client.Encode(Get("/first", {{"x-tenant", "acme"}, {"x-huge", std::string(400, 'h')}}));
  const std::string second = client.Encode(Get("/second", {{"x-tenant", "acme"}}));
  const Result r = Replay({testing::Data(kClient, ClientStart() + HeadersFrame(1, first, kEndHeaders | kEndStream) +
                                                      HeadersFrame(3, second, kEndHeaders | kEndStream))},
                          limits);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].target, "/second");
  EXPECT_EQ(*r.messages[0].FindHeader("x-tenant"), "acme");
  EXPECT_EQ(r.stats.oversized_heads, 1u);
}

TEST(Http2Test, ConnectStreamDeliversHeadsOnly) {
  Encoder client, server;
  const Result r = Replay({
      testing::Data(kClient, ClientStart() +
                                 HeadersFrame(1, client.Encode({{":method", "CONNECT"}, {":authority", "db:5432"}}),
                                              kEndHeaders) +
                                 DataFrame(1, "tunnelled bytes")),
      testing::Data(kServer, ServerStart() + HeadersFrame(1, server.Encode(Status("200")), kEndHeaders) +
                                 DataFrame(1, "more tunnelled bytes")),
  });
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].method, "CONNECT");
  EXPECT_EQ(r.messages[0].authority, "db:5432");
  EXPECT_EQ(r.messages[0].body, "");
  EXPECT_EQ(r.messages[1].method, "CONNECT");
  EXPECT_EQ(r.messages[1].body, "");
}

TEST(Http2Test, PushedResponseNamesThePromisedRequest) {
  Encoder client, server;
  const std::string promise = server.Encode(Get("/style.css"));
  const std::string page_status = server.Encode(Status("200"));
  const std::string pushed_status = server.Encode(Status("200"));
  const Result r = Replay({
      testing::Data(kClient, ClientStart() + HeadersFrame(1, client.Encode(Get("/page")), kEndHeaders | kEndStream)),
      testing::Data(kServer, ServerStart() + Frame(kPushPromise, kEndHeaders, 1, Be32(2) + promise) +
                                 HeadersFrame(1, page_status, kEndHeaders) + DataFrame(1, "<html>", true) +
                                 HeadersFrame(2, pushed_status, kEndHeaders) + DataFrame(2, "body{}", true)),
  });
  ASSERT_EQ(r.messages.size(), 3u) << Describe(r.messages);
  EXPECT_EQ(r.stats.requests, 1u);  // the promise is the server's, not a client request
  EXPECT_EQ(FindMessage(r.messages, false, 2)->target, "/style.css");
  EXPECT_EQ(FindMessage(r.messages, false, 2)->body, "body{}");
}

TEST(Http2Test, ServerSettingsBeforeTheClientPrefaceStillDecodes) {
  Encoder client, server;
  const Result r = Replay({
      testing::Data(kServer, SettingsFrame({{3, 100}})),
      testing::Data(kClient, ClientStart() + HeadersFrame(1, client.Encode(Get("/")), kEndHeaders | kEndStream)),
      testing::Data(kServer, SettingsAck() + HeadersFrame(1, server.Encode(Status("204")), kEndHeaders | kEndStream)),
  });
  ASSERT_EQ(r.messages.size(), 2u) << DescribeStats(r.stats);
  EXPECT_EQ(r.messages[1].status, 204);
  EXPECT_EQ(r.stats.http2_connections, 1u);
}

TEST(Http2Test, ConnectionPickedUpMidwayIsCountedAndNotDecoded) {
  // The client's HPACK table is unknown: its first frame refers to entries
  // that were set before capture began.
  Encoder client, server;
  client.Encode(Get("/before-capture", {{"x-tenant", "acme"}}));
  const Result r = Replay({
      testing::Data(kClient, HeadersFrame(7, client.Encode(Get("/after", {{"x-tenant", "acme"}})),
                                          kEndHeaders | kEndStream)),
      testing::Data(kServer, HeadersFrame(7, server.Encode(Status("200")), kEndHeaders) + DataFrame(7, "x", true)),
  });
  EXPECT_EQ(r.messages.size(), 0u);
  EXPECT_EQ(r.protocol, Protocol::kHttp2Undecodable);
  EXPECT_EQ(r.stats.http2_connections, 1u);
  EXPECT_EQ(r.stats.http2_midway_undecodable, 1u);
  EXPECT_EQ(r.stats.http2_picked_up_midway, 1u);
  EXPECT_EQ(r.stats.not_http, 0u);
}

TEST(Http2Test, ServerSeenMidwayIsCountedAndNotDecoded) {
  Encoder server;
  const Result r = Replay({testing::Data(kServer, HeadersFrame(3, server.Encode(Status("200")), kEndHeaders) +
                                                      DataFrame(3, "x", true))});
  EXPECT_EQ(r.messages.size(), 0u);
  EXPECT_EQ(r.stats.http2_picked_up_midway, 1u);
}

TEST(Http2Test, ServerHeadersBeforeAnyClientPrefaceMeanMidway) {
  Encoder server;
  const Result r = Replay({testing::Data(kServer, SettingsFrame() + HeadersFrame(1, server.Encode(Status("200")), kEndHeaders))});
  EXPECT_EQ(r.messages.size(), 0u);
  EXPECT_EQ(r.stats.http2_picked_up_midway, 1u);
}

TEST(Http2Test, PrefaceAfterAGapIsNotAStart) {
  Encoder client;
  const Result r = Replay({testing::Gap(kClient, 100),
                           testing::Data(kClient, ClientStart() + HeadersFrame(1, client.Encode(Get("/")), kEndHeaders | kEndStream))});
  EXPECT_EQ(r.messages.size(), 0u);
  EXPECT_EQ(r.stats.http2_picked_up_midway, 1u);
}

TEST(Http2Test, NotHttpAndHttp2PickedUpMidwayAreCountedApart) {
  ParserLimits limits;
  limits.max_unrecognised_bytes = 1024;
  std::mt19937 random(5);
  std::string text(5000, ' ');
  for (char& c : text) c = static_cast<char>('a' + random() % 26);
  const Result not_http = Replay({testing::Data(kClient, text)}, limits);
  EXPECT_EQ(not_http.protocol, Protocol::kNotHttp);
  EXPECT_EQ(not_http.stats.not_http, 1u);
  EXPECT_EQ(not_http.stats.http2_connections, 0u);

  Encoder server;
  const Result midway = Replay({testing::Data(kServer, DataFrame(9, text.substr(0, 3000)) + DataFrame(9, "", true))}, limits);
  EXPECT_EQ(midway.protocol, Protocol::kHttp2Undecodable);
  EXPECT_EQ(midway.stats.not_http, 0u);
  EXPECT_EQ(midway.stats.http2_midway_undecodable, 1u);
}

TEST(Http2Test, GapInsideDataIsSkippedAndMarked) {
  Encoder client, server;
  const std::string head = ClientStart() + HeadersFrame(1, client.Encode(Post("/up")), kEndHeaders);
  const std::string data = DataFrame(1, "0123456789abcdefghij", true);
  const Result r = Replay({
      testing::Data(kClient, head + data.substr(0, 9 + 5)),  // frame header and 5 bytes
      testing::Gap(kClient, 10),
      testing::Data(kClient, data.substr(9 + 15) + HeadersFrame(3, client.Encode(Get("/later")), kEndHeaders | kEndStream)),
      testing::Data(kServer, ServerStart() + HeadersFrame(1, server.Encode(Status("200")), kEndHeaders | kEndStream)),
  });
  ASSERT_EQ(r.messages.size(), 3u) << DescribeStats(r.stats);
  EXPECT_TRUE(r.messages[0].capture_gap);
  EXPECT_EQ(r.messages[0].body, "01234fghij");
  EXPECT_EQ(r.messages[0].body_wire_bytes, 20u);
  EXPECT_EQ(r.messages[1].target, "/later");
  EXPECT_FALSE(r.messages[1].capture_gap);
  EXPECT_EQ(r.stats.http2_midway_undecodable, 0u);
}

TEST(Http2Test, GapInAHeaderBlockStopsDecoding) {
  Encoder client;
  const std::string open = ClientStart() + HeadersFrame(1, client.Encode(Post("/open")), kEndHeaders) + DataFrame(1, "so far");
  const std::string next = HeadersFrame(3, client.Encode(Get("/lost", {{"x-pad", std::string(50, 'p')}})),
                                        kEndHeaders | kEndStream);
  const Result r = Replay({
      testing::Data(kClient, open + next.substr(0, 20)),
      testing::Gap(kClient, 10),
      testing::Data(kClient, next.substr(30) + HeadersFrame(5, client.Encode(Get("/never")), kEndHeaders | kEndStream)),
  });
  // What was open is delivered as far as it got, marked; nothing after.
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].target, "/open");
  EXPECT_EQ(r.messages[0].body, "so far");
  EXPECT_TRUE(r.messages[0].capture_gap);
  EXPECT_EQ(r.stats.http2_gap_losses, 1u);
  EXPECT_EQ(r.stats.http2_midway_undecodable, 1u);
  EXPECT_EQ(r.protocol, Protocol::kHttp2Undecodable);
}

TEST(Http2Test, CorruptHeaderBlockIsAnHpackErrorNotAGuess) {
  // 0xff 0x7f: an indexed field far beyond both tables.
  const Result r = Replay({testing::Data(kClient, ClientStart() + HeadersFrame(1, "\xff\x7f\x01", kEndHeaders | kEndStream))});
  EXPECT_EQ(r.messages.size(), 0u);
  EXPECT_EQ(r.stats.http2_hpack_errors, 1u);
  EXPECT_EQ(r.stats.http2_midway_undecodable, 1u);
}

TEST(Http2Test, FrameBreakingTheRulesStopsDecoding) {
  Encoder client;
  const Result r = Replay({testing::Data(kClient, ClientStart() + HeadersFrame(1, client.Encode(Get("/")), 0) +
                                                      DataFrame(1, "DATA inside a header block"))});
  EXPECT_EQ(r.messages.size(), 0u);
  EXPECT_EQ(r.stats.http2_frame_errors, 1u);
}

std::vector<Event> RichH2Conversation() {
  Encoder client, server;
  const std::string gz = Gzip("compressed response body, compressed response body");
  const std::string get_a = client.Encode(Get("/a"));
  const std::string big_block =
      client.Encode(Post("/upload", {{"x-big", std::string(120, 'q')}, {"cookie", "a=1"}, {"cookie", "b=2"}}));
  const std::string get_c = client.Encode(Get("/c"));
  const std::string status_gzip = server.Encode(Status("200", {{"content-encoding", "gzip"}}));
  const std::string status_404 = server.Encode(Status("404"));
  const std::string status_201 = server.Encode(Status("201"));
  const std::string trailers = server.Encode({{"x-trailer", "t"}});
  return {
      testing::Data(kServer, SettingsFrame({{3, 100}, {1, 8192}})),
      testing::Data(kClient, ClientStart() + HeadersFrame(1, get_a, kEndHeaders | kEndStream, 4, true) +
                                 HeadersFrame(3, big_block.substr(0, 50), 0, 3) +
                                 Frame(kContinuation, kEndHeaders, 3, big_block.substr(50)) +
                                 DataFrame(3, "first half, ", false, 7) + Frame(kPing, 0, 0, "pingpong")),
      testing::Data(kServer, SettingsAck() + HeadersFrame(1, status_gzip, kEndHeaders) +
                                 DataFrame(1, gz.substr(0, 20), false, 2) + Frame(kPing, kAck, 0, "pingpong") +
                                 DataFrame(1, gz.substr(20), true)),
      testing::Data(kClient, DataFrame(3, "second half", true) + HeadersFrame(5, get_c, kEndHeaders | kEndStream)),
      testing::Data(kServer, HeadersFrame(5, status_404, kEndHeaders | kEndStream) +
                                 HeadersFrame(3, status_201, kEndHeaders) + DataFrame(3, "created") +
                                 HeadersFrame(3, trailers, kEndHeaders | kEndStream)),
  };
}

TEST(Http2Test, RichConversationParsesAsSpecified) {
  const Result r = Replay(RichH2Conversation());
  ASSERT_EQ(r.messages.size(), 6u) << Describe(r.messages) << DescribeStats(r.stats);
  EXPECT_EQ(FindMessage(r.messages, true, 3)->body, "first half, second half");
  EXPECT_EQ(*FindMessage(r.messages, true, 3)->FindHeader("cookie"), "a=1; b=2");
  EXPECT_EQ(FindMessage(r.messages, false, 1)->body, "compressed response body, compressed response body");
  EXPECT_EQ(*FindMessage(r.messages, false, 3)->FindHeader("x-trailer"), "t");
  EXPECT_EQ(FindMessage(r.messages, false, 5)->target, "/c");
}

TEST(Http2Test, EverySplitPointGivesTheSameMessages) {
  const std::vector<Event> events = RichH2Conversation();
  const Result whole = Replay(events);
  const std::string expected = Describe(whole.messages) + DescribeStats(whole.stats);
  for (size_t i = 0; i < events.size(); ++i) {
    for (size_t at = 0; at <= events[i].data.size(); ++at) {
      const Result split = Replay(events, {}, 0, i, at);
      ASSERT_EQ(Describe(split.messages) + DescribeStats(split.stats), expected) << "event " << i << " split at " << at;
    }
  }
}

TEST(Http2Test, ByteAtATimeGivesTheSameMessages) {
  const std::vector<Event> events = RichH2Conversation();
  const Result whole = Replay(events);
  const Result bytewise = Replay(events, {}, 1);
  EXPECT_EQ(Describe(bytewise.messages), Describe(whole.messages));
  EXPECT_EQ(DescribeStats(bytewise.stats), DescribeStats(whole.stats));
}

TEST(Http2Test, MutatedInputNeverCrashesOrLoops) {
  std::mt19937 random(77);
  const std::vector<Event> base = RichH2Conversation();
  for (int round = 0; round < 300; ++round) {
    std::vector<Event> events = base;
    for (int m = 0; m < 4; ++m) {
      Event& e = events[random() % events.size()];
      if (e.data.empty()) continue;
      const size_t at = random() % e.data.size();
      if (random() % 2) {
        e.data[at] = static_cast<char>(random());
      } else {
        e.data.erase(at, 1 + random() % 8);
      }
    }
    const Result r = Replay(events, {}, 1 + random() % 32);
    for (const Message& message : r.messages) ASSERT_LE(message.body.size(), ParserLimits{}.max_body_bytes);
  }
}

// Two real nghttp2 sessions talking through memory: what a client library
// and a server library actually put on the wire, recorded per direction.
class RecordedPeers {
 public:
  struct Body {
    std::string data;
    size_t at = 0;
  };

  RecordedPeers() {
    nghttp2_session_callbacks* callbacks;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_client_new(&client_, callbacks, this);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &RecordedPeers::OnHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &RecordedPeers::OnFrame);
    nghttp2_session_server_new(&server_, callbacks, this);
    nghttp2_session_callbacks_del(callbacks);
    nghttp2_submit_settings(client_, NGHTTP2_FLAG_NONE, nullptr, 0);
    const nghttp2_settings_entry server_settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
    nghttp2_submit_settings(server_, NGHTTP2_FLAG_NONE, server_settings, 1);
  }
  ~RecordedPeers() {
    nghttp2_session_del(client_);
    nghttp2_session_del(server_);
  }

  void Request(const Fields& fields, std::string body) {
    std::vector<nghttp2_nv> nva = ToNv(fields);
    Body* source = nullptr;
    nghttp2_data_provider provider{};
    if (!body.empty()) {
      pending_.push_back(Body{std::move(body)});
      source = &pending_.back();
      provider.source.ptr = source;
      provider.read_callback = &RecordedPeers::Read;
    }
    nghttp2_submit_request(client_, nullptr, nva.data(), nva.size(), source ? &provider : nullptr, nullptr);
  }

  // Runs both sessions until neither has anything to say.
  std::vector<Event> Run() {
    std::vector<Event> events;
    for (int round = 0; round < 100; ++round) {
      const std::string from_client = Drain(client_);
      if (!from_client.empty()) {
        events.push_back(testing::Data(kClient, from_client));
        nghttp2_session_mem_recv(server_, reinterpret_cast<const uint8_t*>(from_client.data()), from_client.size());
      }
      const std::string from_server = Drain(server_);
      if (!from_server.empty()) {
        events.push_back(testing::Data(kServer, from_server));
        nghttp2_session_mem_recv(client_, reinterpret_cast<const uint8_t*>(from_server.data()), from_server.size());
      }
      if (from_client.empty() && from_server.empty()) break;
    }
    return events;
  }

  static std::string ResponseBodyFor(const std::string& path) { return "answer to " + path + std::string(30000, '.'); }

 private:
  static std::vector<nghttp2_nv> ToNv(const Fields& fields) {
    std::vector<nghttp2_nv> nva;
    for (const auto& [name, value] : fields) {
      nva.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                     reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                     NGHTTP2_NV_FLAG_NONE});
    }
    return nva;
  }

  static std::string Drain(nghttp2_session* session) {
    std::string out;
    const uint8_t* data;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(session, &data)) > 0) out.append(reinterpret_cast<const char*>(data), n);
    return out;
  }

  static ssize_t Read(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                      nghttp2_data_source* source, void*) {
    Body& body = *static_cast<Body*>(source->ptr);
    const size_t n = std::min(length, body.data.size() - body.at);
    memcpy(buf, body.data.data() + body.at, n);
    body.at += n;
    if (body.at == body.data.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t, void* user_data) {
    auto* self = static_cast<RecordedPeers*>(user_data);
    if (std::string_view(reinterpret_cast<const char*>(name), namelen) == ":path") {
      self->paths_[frame->hd.stream_id].assign(reinterpret_cast<const char*>(value), valuelen);
    }
    return 0;
  }

  static int OnFrame(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
    auto* self = static_cast<RecordedPeers*>(user_data);
    const bool request_over = (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
                              (frame->hd.flags & NGHTTP2_FLAG_END_STREAM);
    if (!request_over) return 0;
    const std::string& path = self->paths_[frame->hd.stream_id];
    const bool gzip = path == "/gzip";
    self->pending_.push_back(Body{gzip ? Gzip(ResponseBodyFor(path)) : ResponseBodyFor(path)});
    nghttp2_data_provider provider{};
    provider.source.ptr = &self->pending_.back();
    provider.read_callback = &RecordedPeers::Read;
    Fields fields = {{":status", "200"}, {"content-type", "text/plain"}};
    if (gzip) fields.push_back({"content-encoding", "gzip"});
    std::vector<nghttp2_nv> nva = ToNv(fields);
    nghttp2_submit_response(session, frame->hd.stream_id, nva.data(), nva.size(), &provider);
    return 0;
  }

  nghttp2_session* client_ = nullptr;
  nghttp2_session* server_ = nullptr;
  std::deque<Body> pending_;  // stable addresses for the data providers
  std::map<int32_t, std::string> paths_;
};

TEST(Http2Test, BytesFromRealNghttp2PeersParseIntoTheirMessages) {
  RecordedPeers peers;
  const Fields common = {{":scheme", "https"}, {":authority", "svc.example"}, {"user-agent", "nghttp2-test"}};
  auto with = [&](std::string method, std::string path) {
    Fields fields = {{":method", std::move(method)}, {":path", std::move(path)}};
    fields.insert(fields.end(), common.begin(), common.end());
    return fields;
  };
  const std::string upload(40000, 'u');  // spans several DATA frames
  peers.Request(with("GET", "/first"), "");
  peers.Request(with("POST", "/upload"), upload);
  peers.Request(with("GET", "/gzip"), "");
  const std::vector<Event> events = peers.Run();
  ASSERT_GE(events.size(), 2u);

  const Result r = Replay(events);
  ASSERT_EQ(r.stats.requests, 3u) << DescribeStats(r.stats);
  ASSERT_EQ(r.stats.responses, 3u) << DescribeStats(r.stats);
  EXPECT_EQ(r.stats.http2_midway_undecodable, 0u);
  const Message* upload_request = FindMessage(r.messages, true, 3);
  ASSERT_NE(upload_request, nullptr);
  EXPECT_EQ(upload_request->method, "POST");
  EXPECT_EQ(upload_request->authority, "svc.example");
  EXPECT_EQ(upload_request->body, upload);
  for (uint32_t stream : {1u, 3u, 5u}) {
    const Message* response = FindMessage(r.messages, false, stream);
    ASSERT_NE(response, nullptr) << stream;
    EXPECT_EQ(response->body, RecordedPeers::ResponseBodyFor(response->target));
  }
  EXPECT_EQ(FindMessage(r.messages, false, 5)->target, "/gzip");
  // The same bytes byte by byte.
  EXPECT_EQ(Describe(Replay(events, {}, 1).messages), Describe(r.messages));
}

}  // namespace
}  // namespace rampart::http

namespace rampart::http {
namespace {

TEST(ParserStatsTest, SummingAddsEveryCounter) {
  // ParserStats is counters only; every one of them must be summed.
  static_assert(sizeof(ParserStats) % sizeof(uint64_t) == 0);
  constexpr size_t kCounters = sizeof(ParserStats) / sizeof(uint64_t);
  ParserStats a;
  ParserStats b;
  uint64_t values[kCounters];
  for (size_t i = 0; i < kCounters; ++i) values[i] = i + 1;
  memcpy(&a, values, sizeof(a));
  memcpy(&b, values, sizeof(b));
  a += b;
  memcpy(values, &a, sizeof(a));
  for (size_t i = 0; i < kCounters; ++i) EXPECT_EQ(values[i], 2 * (i + 1)) << "counter " << i;
}

TEST(Http2Test, DirectionThatBeganAsSomethingElseMakesHttp2Undecodable) {
  const Result r = Replay({testing::Data(kServer, "HTTP/1.1 200 OK\r\n"),
                           testing::Data(kClient, std::string(testing::h2::kPreface) + testing::h2::SettingsFrame())});
  EXPECT_EQ(r.protocol, Protocol::kHttp2Undecodable);
  EXPECT_EQ(r.stats.http2_picked_up_midway, 1u);
}

}  // namespace
}  // namespace rampart::http

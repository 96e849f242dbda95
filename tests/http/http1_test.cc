// HTTP/1.x through ConnectionParser. Flow 0 carries what the client writes,
// flow 1 what the server writes, unless a test says otherwise.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "agent/http/connection_parser.h"
#include "tests/http/test_support.h"

namespace rampart::http {
namespace {

using testing::Chunked;
using testing::Data;
using testing::Describe;
using testing::DescribeStats;
using testing::Event;
using testing::Gap;
using testing::Gzip;
using testing::RawDeflate;
using testing::Replay;
using testing::Result;
using testing::ZlibDeflate;

constexpr int kClient = 0;
constexpr int kServer = 1;

std::string JsonBody() {
  std::string body = "{\"items\":[";
  for (int i = 0; i < 40; ++i) body += "{\"id\":" + std::to_string(i) + ",\"name\":\"item number " + std::to_string(i) + "\"},";
  body += "{}]}";
  return body;
}

std::vector<Message> Requests(const std::vector<Message>& messages) {
  std::vector<Message> out;
  for (const Message& m : messages) {
    if (m.is_request) out.push_back(m);
  }
  return out;
}

std::vector<Message> Responses(const std::vector<Message>& messages) {
  std::vector<Message> out;
  for (const Message& m : messages) {
    if (!m.is_request) out.push_back(m);
  }
  return out;
}

TEST(Http1Test, ParsesRequestLineHeadersAndHost) {
  const Result r = Replay({Data(kClient,
                                "GET /api/users?id=7 HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: t/1\r\n"
                                "X-Mixed-Case:   padded value \t\r\n\r\n")});
  ASSERT_EQ(r.messages.size(), 1u);
  const Message& m = r.messages[0];
  EXPECT_TRUE(m.is_request);
  EXPECT_EQ(m.protocol, 1);
  EXPECT_EQ(m.method, "GET");
  EXPECT_EQ(m.target, "/api/users?id=7");
  EXPECT_EQ(m.authority, "shop.example");
  ASSERT_EQ(m.headers.size(), 3u);
  EXPECT_EQ(m.headers[2].name, "x-mixed-case");
  EXPECT_EQ(m.headers[2].value, "padded value");
  EXPECT_EQ(m.body, "");
  EXPECT_FALSE(m.capture_gap);
  EXPECT_EQ(r.protocol, Protocol::kHttp1);
}

TEST(Http1Test, ResponseNamesTheRequestItAnswers) {
  const Result r = Replay({Data(kClient, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"),
                           Data(kServer, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")});
  ASSERT_EQ(r.messages.size(), 2u);
  const Message& response = r.messages[1];
  EXPECT_FALSE(response.is_request);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.method, "GET");
  EXPECT_EQ(response.target, "/a");
  EXPECT_EQ(response.authority, "h");
  EXPECT_EQ(response.body, "hello");
  EXPECT_EQ(response.body_wire_bytes, 5u);
  EXPECT_EQ(r.stats.unpaired_responses, 0u);
}

TEST(Http1Test, WhichFlowCarriesRequestsIsLearnedFromContent) {
  const Result r = Replay({Data(1, "GET /a HTTP/1.1\r\n\r\n"), Data(0, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")});
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_TRUE(r.messages[0].is_request);
  EXPECT_EQ(r.messages[1].status, 404);
  EXPECT_EQ(r.messages[1].target, "/a");
}

TEST(Http1Test, PipelinedRequestsPairWithResponsesInOrder) {
  const Result r = Replay({
      Data(kClient,
           "GET /a HTTP/1.1\r\n\r\nHEAD /b HTTP/1.1\r\n\r\nPOST /c HTTP/1.1\r\nContent-Length: 3\r\n\r\nx=1"),
      Data(kServer,
           "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
           "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"  // HEAD: no body despite the length
           "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"),
  });
  const std::vector<Message> requests = Requests(r.messages);
  const std::vector<Message> responses = Responses(r.messages);
  ASSERT_EQ(requests.size(), 3u);
  ASSERT_EQ(responses.size(), 3u);
  EXPECT_EQ(requests[2].body, "x=1");
  EXPECT_EQ(responses[0].target, "/a");
  EXPECT_EQ(responses[0].body, "hello");
  EXPECT_EQ(responses[1].method, "HEAD");
  EXPECT_EQ(responses[1].body, "");
  EXPECT_EQ(responses[2].method, "POST");
  EXPECT_EQ(responses[2].status, 201);
  EXPECT_EQ(responses[2].body, "ok");
  EXPECT_EQ(r.stats.desyncs, 0u);
}

TEST(Http1Test, ChunkedBodyWithExtensionsAndTrailers) {
  const std::string chunked = "5;name=value\r\nhello\r\n6 ; x\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n";
  const Result r = Replay({Data(kClient, "GET / HTTP/1.1\r\n\r\n"),
                           Data(kServer, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked +
                                             "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")});
  ASSERT_EQ(r.messages.size(), 3u);
  const Message& m = r.messages[1];
  EXPECT_EQ(m.body, "hello world");
  EXPECT_EQ(m.body_wire_bytes, chunked.size());
  ASSERT_NE(m.FindHeader("x-checksum"), nullptr);
  EXPECT_EQ(*m.FindHeader("x-checksum"), "abc");
  EXPECT_EQ(m.headers.back().name, "x-checksum");  // trailers follow the header fields
  EXPECT_EQ(r.messages[2].status, 200);
  EXPECT_EQ(r.stats.desyncs, 0u);
}

TEST(Http1Test, ChunkedGzipBodyIsDecoded) {
  const std::string body = JsonBody();
  const Result r = Replay({Data(kClient, "POST /items HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                                         "Content-Encoding: gzip\r\n\r\n" +
                                             Chunked(Gzip(body), 7))});
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].body, body);
  EXPECT_FALSE(r.messages[0].body_truncated);
  EXPECT_EQ(r.stats.gzip_errors, 0u);
}

TEST(Http1Test, GzipTransferCodingIsDecodedLikeContentCoding) {
  const Result r = Replay({Data(kClient, "POST /items HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" +
                                             Chunked(Gzip("plain text"), 4))});
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].body, "plain text");
}

TEST(Http1Test, DeflateBodiesAreDecodedWithOrWithoutZlibHeader) {
  const std::string body = JsonBody();
  for (const std::string& encoded : {ZlibDeflate(body), RawDeflate(body)}) {
    const Result r = Replay({Data(kClient, "GET / HTTP/1.1\r\n\r\n"),
                             Data(kServer, "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: " +
                                               std::to_string(encoded.size()) + "\r\n\r\n" + encoded)});
    ASSERT_EQ(r.messages.size(), 2u);
    EXPECT_EQ(r.messages[1].body, body);
    EXPECT_EQ(r.messages[1].body_wire_bytes, encoded.size());
  }
}

TEST(Http1Test, DecompressionBombIsCappedAndMarkedTruncated) {
  const std::string bomb = testing::GzipZeros(32u << 20);
  ParserLimits limits;
  limits.max_decompressed_bytes = 256 << 10;
  const Result r = Replay({Data(kClient, "GET / HTTP/1.1\r\n\r\n"),
                           Data(kServer, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " +
                                             std::to_string(bomb.size()) + "\r\n\r\n" + bomb)},
                          limits);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1].body.size(), limits.max_decompressed_bytes);
  EXPECT_TRUE(r.messages[1].body_truncated);
  EXPECT_EQ(r.stats.bodies_truncated, 1u);
}

TEST(Http1Test, BodyThatIsNotWhatItsEncodingSaysIsDeliveredAsSent) {
  // A server that ignores Content-Encoding reads this as plain text.
  const std::string payload = "id=1' OR '1'='1";
  const Result r = Replay({Data(kClient, "POST /q HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: " +
                                             std::to_string(payload.size()) + "\r\n\r\n" + payload)});
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].body, payload);
  EXPECT_EQ(r.stats.gzip_errors, 1u);
}

TEST(Http1Test, UnsupportedEncodingIsDeliveredAsSent) {
  const Result r = Replay({Data(kClient, "POST /q HTTP/1.1\r\nContent-Encoding: br\r\nContent-Length: 4\r\n\r\n\x1b\x02\x03\x04")});
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].body, "\x1b\x02\x03\x04");
  EXPECT_EQ(r.stats.unsupported_encodings, 1u);
}

TEST(Http1Test, KeepAliveCarriesManyExchanges) {
  std::vector<Event> events;
  for (int i = 0; i < 50; ++i) {
    events.push_back(Data(kClient, "GET /n/" + std::to_string(i) + " HTTP/1.1\r\nHost: h\r\n\r\n"));
    const std::string body = "body " + std::to_string(i);
    events.push_back(Data(kServer, "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: " +
                                       std::to_string(body.size()) + "\r\n\r\n" + body));
  }
  const Result r = Replay(events);
  ASSERT_EQ(r.messages.size(), 100u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(r.messages[2 * i + 1].target, "/n/" + std::to_string(i));
    EXPECT_EQ(r.messages[2 * i + 1].body, "body " + std::to_string(i));
  }
}

TEST(Http1Test, ResponseWithoutLengthIsReadUntilTheConnectionEnds) {
  const std::vector<Event> events = {Data(kClient, "GET /stream HTTP/1.0\r\n\r\n"),
                                     Data(kServer, "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nfirst part, "),
                                     Data(kServer, "second part")};
  const Result open = Replay(events, {}, 0, SIZE_MAX, 0, /*end=*/false);
  EXPECT_EQ(open.messages.size(), 1u);  // the response is not over until the connection is
  const Result closed = Replay(events);
  ASSERT_EQ(closed.messages.size(), 2u);
  EXPECT_EQ(closed.messages[1].body, "first part, second part");
  EXPECT_FALSE(closed.messages[1].capture_gap);
}

TEST(Http1Test, HeadAnd204And304ResponsesHaveNoBody) {
  const Result r = Replay({
      Data(kClient, "HEAD /a HTTP/1.1\r\n\r\nDELETE /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\nGET /d HTTP/1.1\r\n\r\n"),
      Data(kServer,
           "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
           "HTTP/1.1 204 No Content\r\n\r\n"
           "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n"
           "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
  });
  const std::vector<Message> responses = Responses(r.messages);
  ASSERT_EQ(responses.size(), 4u);
  EXPECT_EQ(responses[0].body, "");
  EXPECT_EQ(responses[1].status, 204);
  EXPECT_EQ(responses[2].status, 304);
  EXPECT_EQ(responses[2].body, "");
  EXPECT_EQ(responses[3].target, "/d");
  EXPECT_EQ(responses[3].body, "hi");
}

TEST(Http1Test, InterimResponsesAreSkippedAndDoNotConsumeTheRequest) {
  const Result r = Replay({Data(kClient, "POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"),
                           Data(kServer, "HTTP/1.1 100 Continue\r\n\r\n"), Data(kClient, "data"),
                           Data(kServer, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")});
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].body, "data");
  EXPECT_EQ(r.messages[1].status, 200);
  EXPECT_EQ(r.messages[1].method, "POST");
  EXPECT_EQ(r.stats.interim_responses, 1u);
}

TEST(Http1Test, BodyOverTheCapIsDeliveredAtTheCapAndFramingIsKept) {
  ParserLimits limits;
  limits.max_body_bytes = 1000;
  const std::vector<Event> events = {
      Data(kClient, "POST /big HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'a') +
                        "GET /next HTTP/1.1\r\n\r\n")};
  const Result r = Replay(events, limits);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].body, std::string(1000, 'a'));
  EXPECT_TRUE(r.messages[0].body_truncated);
  EXPECT_EQ(r.messages[0].body_wire_bytes, 1000u);
  EXPECT_EQ(r.messages[1].target, "/next");
  EXPECT_EQ(r.stats.bodies_truncated, 1u);
  // Delivered as soon as the cap is reached, before the rest arrives.
  const Result early = Replay({Data(kClient, "POST /big HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" +
                                                 std::string(1001, 'a'))},
                              limits, 0, SIZE_MAX, 0, /*end=*/false);
  EXPECT_EQ(early.messages.size(), 1u);
}

TEST(Http1Test, GapInsideAContentLengthBodyIsSkippedExactly) {
  const Result r = Replay({
      Data(kClient, "POST /a HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + std::string(30, 'x')),
      Gap(kClient, 40),
      Data(kClient, std::string(30, 'y') + "GET /b HTTP/1.1\r\n\r\n"),
      Data(kServer, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
  });
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_TRUE(r.messages[0].capture_gap);
  EXPECT_EQ(r.messages[0].body, std::string(30, 'x') + std::string(30, 'y'));
  EXPECT_EQ(r.messages[0].body_wire_bytes, 100u);
  EXPECT_EQ(r.messages[1].target, "/b");
  EXPECT_FALSE(r.messages[1].capture_gap);
  // Framing held, so pairing did too.
  EXPECT_EQ(r.messages[2].target, "/a");
  EXPECT_EQ(r.messages[3].target, "/b");
  EXPECT_EQ(r.stats.gaps, 1u);
  EXPECT_EQ(r.stats.gap_bytes, 40u);
  EXPECT_EQ(r.stats.gap_resyncs, 0u);
}

TEST(Http1Test, GapInsideChunkDataKeepsTheFraming) {
  const Result r = Replay({
      Data(kClient, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"),
      Data(kServer, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n0123456789"),
      Gap(kServer, 12),
      Data(kServer, "0123456789\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
  });
  const std::vector<Message> responses = Responses(r.messages);
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_TRUE(responses[0].capture_gap);
  EXPECT_EQ(responses[0].body, "01234567890123456789");
  EXPECT_EQ(responses[1].target, "/b");
  EXPECT_EQ(responses[1].body, "ok");
  EXPECT_EQ(r.stats.gap_resyncs, 0u);
}

TEST(Http1Test, GapInAHeadResynchronisesAtTheNextMessageAndStopsPairing) {
  const Result r = Replay({
      Data(kClient, "GET /one HTTP/1.1\r\nHost: a\r\nX-Lo"),
      Gap(kClient, 20),
      Data(kClient, "st-value\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\n"),
      Data(kServer, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"),
  });
  const std::vector<Message> requests = Requests(r.messages);
  const std::vector<Message> responses = Responses(r.messages);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, "/two");
  ASSERT_EQ(responses.size(), 2u);
  // Which response answers /two is now a guess: neither names a request.
  EXPECT_EQ(responses[0].method, "");
  EXPECT_EQ(responses[1].method, "");
  EXPECT_EQ(r.stats.unpaired_responses, 2u);
  EXPECT_EQ(r.stats.gap_resyncs, 1u);
  EXPECT_EQ(r.stats.desyncs, 0u);
}

TEST(Http1Test, GapPastTheEndOfABodyEndsTheMessageAndResynchronises) {
  const Result r = Replay({
      Data(kClient, "POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345"),
      Gap(kClient, 50),
      Data(kClient, "tail of a lost message\r\n\r\nGET /c HTTP/1.1\r\n\r\n"),
  });
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_TRUE(r.messages[0].capture_gap);
  EXPECT_EQ(r.messages[0].body, "12345");
  EXPECT_EQ(r.messages[0].body_wire_bytes, 10u);
  EXPECT_EQ(r.messages[1].target, "/c");
  EXPECT_EQ(r.stats.gap_resyncs, 1u);
}

TEST(Http1Test, OversizedHeadIsDroppedCountedAndParsingResumes) {
  ParserLimits limits;
  limits.max_header_bytes = 1024;
  const Result r = Replay({Data(kClient, "GET /big HTTP/1.1\r\nCookie: " + std::string(2000, 'c') +
                                             "\r\n\r\nGET /small HTTP/1.1\r\n\r\n")},
                          limits);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].target, "/small");
  EXPECT_EQ(r.stats.oversized_heads, 1u);
  EXPECT_EQ(r.stats.desyncs, 1u);
}

TEST(Http1Test, TooManyHeadersIsDroppedCountedAndParsingResumes) {
  ParserLimits limits;
  limits.max_headers = 10;
  std::string head = "GET /many HTTP/1.1\r\n";
  for (int i = 0; i < 11; ++i) head += "X-H" + std::to_string(i) + ": v\r\n";
  const Result r = Replay({Data(kClient, head + "\r\nGET /few HTTP/1.1\r\nA: 1\r\n\r\n")}, limits);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].target, "/few");
  EXPECT_EQ(r.stats.oversized_heads, 1u);
}

TEST(Http1Test, HeadOfExactlyTheLimitIsAccepted) {
  ParserLimits limits;
  limits.max_header_bytes = 200;
  const std::string start = "GET /x HTTP/1.1\r\nX-Pad: ";
  const size_t pad = limits.max_header_bytes - start.size() - 4;
  const std::string at_limit = start + std::string(pad, 'p') + "\r\n\r\n";
  const std::string over_limit = start + std::string(pad + 1, 'p') + "\r\n\r\n";
  ASSERT_EQ(at_limit.size(), limits.max_header_bytes);
  EXPECT_EQ(Replay({Data(kClient, at_limit)}, limits).messages.size(), 1u);
  EXPECT_EQ(Replay({Data(kClient, over_limit)}, limits).stats.oversized_heads, 1u);
  EXPECT_EQ(Replay({Data(kClient, over_limit)}, limits, 1).stats.oversized_heads, 1u);
}

TEST(Http1Test, GarbageBetweenMessagesIsSkippedByResynchronising) {
  const Result r = Replay({Data(kClient, std::string("GET /a HTTP/1.1\r\n\r\n") + std::string("\x01\x02 garbage\r\n", 12) +
                                             "GET /b HTTP/1.1\r\n\r\n")});
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].target, "/a");
  EXPECT_EQ(r.messages[1].target, "/b");
  EXPECT_EQ(r.stats.desyncs, 1u);
}

TEST(Http1Test, MalformedRequestLineIsADesync) {
  const Result r = Replay({Data(kClient, "GET /a HTTP/9.9\r\n\r\nGET /b HTTP/1.1\r\n\r\n")});
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].target, "/b");
  EXPECT_EQ(r.stats.desyncs, 1u);
}

TEST(Http1Test, ConflictingContentLengthsAreADesyncNotAGuess) {
  const Result r = Replay({Data(kClient, "POST /a HTTP/1.1\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n"
                                         "{\"a\":1}GET /b HTTP/1.1\r\n\r\n")});
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].target, "/b");
  EXPECT_EQ(r.stats.desyncs, 1u);
}

TEST(Http1Test, TransferEncodingChunkedOverridesContentLength) {
  const Result r = Replay({Data(kClient, "POST /a HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                             Chunked("smuggled?", 4) + "GET /b HTTP/1.1\r\n\r\n")});
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].body, "smuggled?");
  EXPECT_EQ(r.messages[1].target, "/b");
}

TEST(Http1Test, RequestWithUnknownTransferCodingIsADesync) {
  const Result r = Replay({Data(kClient, "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
                                         "5\r\nhello\r\n0\r\n\r\n")});
  EXPECT_EQ(r.messages.size(), 0u);
  EXPECT_EQ(r.stats.desyncs, 1u);
}

TEST(Http1Test, FoldedHeaderLinesAreJoined) {
  const Result r = Replay({Data(kClient, "GET / HTTP/1.1\r\nX-Long: first\r\n  second\r\n\tthird\r\n\r\n")});
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(*r.messages[0].FindHeader("x-long"), "first second third");
}

TEST(Http1Test, SpaceBeforeColonIsRejectedInRequestsAndRemovedInResponses) {
  EXPECT_EQ(Replay({Data(kClient, "GET / HTTP/1.1\r\nHost : evil\r\n\r\n")}).stats.desyncs, 1u);
  const Result r = Replay({Data(kClient, "GET / HTTP/1.1\r\n\r\n"),
                           Data(kServer, "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok")});
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1].body, "ok");
}

TEST(Http1Test, BareLineFeedsAreAccepted) {
  const Result r = Replay({Data(kClient, "POST /lf HTTP/1.1\nContent-Length: 2\nHost: h\n\nokGET /b HTTP/1.1\n\n")});
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].body, "ok");
  EXPECT_EQ(r.messages[0].authority, "h");
}

TEST(Http1Test, ConnectionPickedUpInsideABodyStartsAtTheNextMessageQuietly) {
  const Result r = Replay({Data(kClient, "rest of an earlier body\"}\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n")});
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].target, "/next");
  EXPECT_EQ(r.stats.desyncs, 0u);
  EXPECT_EQ(r.protocol, Protocol::kHttp1);
}

TEST(Http1Test, MethodGluedToAWordIsNotAMessageStart) {
  const Result r = Replay({Data(kClient, "earlier body text FORGET /x HTTP/1.1\r\n\r\n")});
  EXPECT_EQ(r.messages.size(), 0u);
}

TEST(Http1Test, ResponseToARequestNeverSeenIsUnpaired) {
  const Result r = Replay({Data(kServer, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
                           Data(kClient, "GET /b HTTP/1.1\r\n\r\n"),
                           Data(kServer, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")});
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0].method, "");
  EXPECT_EQ(r.messages[2].target, "/b");
  EXPECT_EQ(r.stats.unpaired_responses, 1u);
}

TEST(Http1Test, WebSocketUpgradeEndsHttpParsing) {
  const std::string client_frames("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
  const Result r = Replay({
      Data(kClient, "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n" + client_frames),
      Data(kServer, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
                    "\x81\x10HTTP/1.1 200 OK\r\n"),
      Data(kClient, client_frames + "GET /not-http HTTP/1.1\r\n\r\n"),
  });
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1].status, 101);
  EXPECT_EQ(r.messages[1].target, "/chat");
  EXPECT_EQ(r.protocol, Protocol::kTunnel);
  EXPECT_EQ(r.stats.tunnels, 1u);
  EXPECT_EQ(r.stats.desyncs, 0u);
}

TEST(Http1Test, RefusedUpgradeResumesWithTheRequestsHeldBehindIt) {
  const Result r = Replay({
      Data(kClient, "GET /chat HTTP/1.1\r\nUpgrade: websocket\r\n\r\nGET /next HTTP/1.1\r\n\r\n"),
      Data(kServer, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
  });
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.messages[0].target, "/chat");
  EXPECT_EQ(r.messages[1].status, 400);
  EXPECT_EQ(r.messages[2].target, "/next");
  EXPECT_EQ(r.messages[3].target, "/next");
  EXPECT_EQ(r.protocol, Protocol::kHttp1);
}

TEST(Http1Test, ConnectTunnelEndsHttpParsing) {
  const Result r = Replay({Data(kClient, "CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n"),
                           Data(kServer, "HTTP/1.1 200 Connection Established\r\n\r\n"),
                           Data(kClient, "\x16\x03\x01 anything at all"), Data(kServer, "HTTP/1.1 200 OK\r\n\r\n")});
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1].method, "CONNECT");
  EXPECT_EQ(r.protocol, Protocol::kTunnel);
}

TEST(Http1Test, RepeatedAndOverlappingBytesAreReadOnce) {
  testing::RecordingSink sink;
  ConnectionParser parser(sink);
  const std::string request = "GET /once HTTP/1.1\r\nHost: h\r\n\r\n";
  parser.OnData(kClient, 0, testing::AsBytes(std::string_view(request).substr(0, 20)));
  parser.OnData(kClient, 10, testing::AsBytes(std::string_view(request).substr(10, 15)));  // overlaps
  parser.OnData(kClient, 0, testing::AsBytes(std::string_view(request).substr(0, 20)));   // repeated
  parser.OnData(kClient, 25, testing::AsBytes(std::string_view(request).substr(25)));
  ASSERT_EQ(sink.messages.size(), 1u);
  EXPECT_EQ(sink.messages[0].target, "/once");
  EXPECT_EQ(parser.stats().gaps, 0u);
}

TEST(Http1Test, DataPastTheExpectedOffsetImpliesAGap) {
  testing::RecordingSink sink;
  ConnectionParser parser(sink);
  const std::string head = "POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n";
  parser.OnData(kClient, 0, testing::AsBytes(head + "12"));
  parser.OnData(kClient, head.size() + 5, testing::AsBytes("67890"));
  ASSERT_EQ(sink.messages.size(), 1u);
  EXPECT_TRUE(sink.messages[0].capture_gap);
  EXPECT_EQ(sink.messages[0].body, "1267890");
  EXPECT_EQ(parser.stats().gaps, 1u);
  EXPECT_EQ(parser.stats().gap_bytes, 3u);
}

TEST(Http1Test, EndDeliversAnUnfinishedMessageMarkedIncomplete) {
  const Result r = Replay({Data(kClient, "POST /a HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + std::string(40, 'b'))});
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_TRUE(r.messages[0].capture_gap);
  EXPECT_EQ(r.messages[0].body, std::string(40, 'b'));
}

TEST(Http1Test, ConnectionThatIsNotHttpIsGivenUpAfterTheBudget) {
  ParserLimits limits;
  limits.max_unrecognised_bytes = 4096;
  std::mt19937 random(7);
  std::string noise(20000, '\0');
  for (char& c : noise) c = static_cast<char>('a' + random() % 26);  // no message start: no space after a method
  noise[0] = 'Z';
  const Result r = Replay({Data(kClient, noise), Data(kServer, noise),
                           Data(kClient, "GET /late HTTP/1.1\r\n\r\n")},
                          limits);
  EXPECT_EQ(r.protocol, Protocol::kNotHttp);
  EXPECT_EQ(r.stats.not_http, 1u);
  EXPECT_EQ(r.messages.size(), 0u);
  EXPECT_EQ(r.stats.http2_connections, 0u);
}

// One conversation that exercises most of HTTP/1 at once: pipelining,
// chunked+gzip with trailers, 100-continue, HEAD, 204, a gap inside a body,
// a response read until close.
std::vector<Event> RichConversation() {
  const std::string json = JsonBody();
  std::string text;
  for (int i = 0; i < 30; ++i) text += "report line " + std::to_string(i) + "\n";
  return {
      Data(kClient,
           "POST /upload?x=1 HTTP/1.1\r\nHost: api.example\r\nTransfer-Encoding: chunked\r\n"
           "Content-Encoding: gzip\r\nExpect: 100-continue\r\n\r\n" +
               Chunked(Gzip(json), 17, "X-Sum: 9\r\n") +
               "HEAD /status HTTP/1.1\r\nHost: api.example\r\n\r\n"
               "\r\nGET /items/7 HTTP/1.1\r\nHost: api.example\r\nAccept: */*\r\n\r\n"),
      Data(kServer,
           "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
           "HTTP/1.1 200 OK\r\nContent-Length: 12345\r\n\r\n"
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n" +
               Chunked(Gzip(text), 100)),
      Data(kClient, "DELETE /items/7 HTTP/1.1\r\nHost: api.example\r\nContent-Length: 0\r\n\r\n"),
      Data(kServer, "HTTP/1.1 204 No Content\r\n\r\n"),
      Data(kClient, "GET /report HTTP/1.1\r\nHost: api.example\r\n\r\nGET /last HTTP/1.0\r\n\r\n"),
      Data(kServer, "HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n" + std::string(100, 'r')),
      Gap(kServer, 100),
      Data(kServer, std::string(100, 's') + "HTTP/1.0 200 OK\r\n\r\nuntil close"),
  };
}

TEST(Http1Test, RichConversationParsesAsSpecified) {
  const Result r = Replay(RichConversation());
  const std::vector<Message> requests = Requests(r.messages);
  const std::vector<Message> responses = Responses(r.messages);
  ASSERT_EQ(requests.size(), 6u) << Describe(r.messages);
  ASSERT_EQ(responses.size(), 6u) << Describe(r.messages);
  EXPECT_EQ(requests[0].body, JsonBody());
  EXPECT_EQ(*requests[0].FindHeader("x-sum"), "9");
  EXPECT_EQ(responses[0].status, 201);
  EXPECT_EQ(responses[1].method, "HEAD");
  EXPECT_EQ(responses[1].body, "");
  EXPECT_EQ(responses[2].target, "/items/7");
  EXPECT_EQ(responses[2].body.substr(0, 14), "report line 0\n");
  EXPECT_EQ(responses[3].status, 204);
  EXPECT_TRUE(responses[4].capture_gap);
  EXPECT_EQ(responses[4].body, std::string(100, 'r') + std::string(100, 's'));
  EXPECT_EQ(responses[5].target, "/last");
  EXPECT_EQ(responses[5].body, "until close");
  EXPECT_EQ(r.stats.desyncs, 0u) << DescribeStats(r.stats);
  EXPECT_EQ(r.stats.unpaired_responses, 0u);
}

TEST(Http1Test, EverySplitPointGivesTheSameMessages) {
  const std::vector<Event> events = RichConversation();
  const Result whole = Replay(events);
  const std::string expected = Describe(whole.messages) + DescribeStats(whole.stats);
  for (size_t i = 0; i < events.size(); ++i) {
    for (size_t at = 0; at <= events[i].data.size(); ++at) {
      const Result split = Replay(events, {}, 0, i, at);
      ASSERT_EQ(Describe(split.messages) + DescribeStats(split.stats), expected) << "event " << i << " split at " << at;
    }
  }
}

TEST(Http1Test, ByteAtATimeGivesTheSameMessages) {
  const std::vector<Event> events = RichConversation();
  const Result whole = Replay(events);
  const Result bytewise = Replay(events, {}, 1);
  EXPECT_EQ(Describe(bytewise.messages), Describe(whole.messages));
  EXPECT_EQ(DescribeStats(bytewise.stats), DescribeStats(whole.stats));
}

TEST(Http1Test, ByteAtATimeGivesTheSameResynchronisation) {
  // Garbage, a bad chunk size, an oversized head, a malformed line: every
  // recovery must land on the same bytes however the input is cut.
  ParserLimits limits;
  limits.max_header_bytes = 256;
  const std::vector<Event> events = {
      Data(kClient, "junk GE\r\nGET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "zz\r\nGET /c HTTP/1.1\r\nX: " + std::string(300, 'x') + "\r\n\r\nGET /d HTTP/1.1\r\nbad line\r\n\r\n"
                    "GET /e HTTP/1.1\r\n\r\n"),
  };
  const Result whole = Replay(events, limits);
  EXPECT_EQ(Describe(Replay(events, limits, 1).messages), Describe(whole.messages));
  EXPECT_EQ(DescribeStats(Replay(events, limits, 1).stats), DescribeStats(whole.stats));
  std::vector<std::string> targets;
  for (const Message& m : whole.messages) targets.push_back(m.target);
  EXPECT_EQ(targets, (std::vector<std::string>{"/a", "/b", "/e"})) << DescribeStats(whole.stats);
}

TEST(Http1Test, MutatedInputNeverCrashesLoopsOrBreaksTheCaps) {
  ParserLimits limits;
  limits.max_body_bytes = 4096;
  limits.max_decompressed_bytes = 8192;
  limits.max_header_bytes = 1024;
  limits.max_headers = 20;
  std::mt19937 random(1234);
  const std::vector<Event> base = RichConversation();
  const auto start = std::chrono::steady_clock::now();
  for (int round = 0; round < 300; ++round) {
    std::vector<Event> events = base;
    for (int m = 0; m < 8; ++m) {
      Event& e = events[random() % events.size()];
      if (e.gap > 0 || e.data.empty()) continue;
      const size_t at = random() % e.data.size();
      switch (random() % 4) {
        case 0:
          e.data[at] = static_cast<char>(random());
          break;
        case 1:
          e.data.erase(at, random() % 16);
          break;
        case 2:
          e.data.insert(at, std::string(random() % 16, static_cast<char>(random())));
          break;
        case 3:
          events.insert(events.begin() + static_cast<long>(random() % events.size()),
                        Gap(static_cast<int>(random() % 2), 1 + random() % 64));
          break;
      }
    }
    const Result r = Replay(events, limits, 1 + random() % 64);
    for (const Message& message : r.messages) {
      ASSERT_LE(message.body.size(), std::max(limits.max_body_bytes, limits.max_decompressed_bytes));
      ASSERT_LE(message.headers.size(), 2 * limits.max_headers);  // header fields, then trailer fields
    }
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace rampart::http

namespace rampart::http {
namespace {

// Best of three: the machine is shared.
double SecondsToReplay(const std::vector<Event>& events, const ParserLimits& limits) {
  double best = 1e9;
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    Replay(events, limits, 4096);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

TEST(Http1Test, ResynchronisingStaysLinearOnHostileInput) {
  // False starts everywhere: each must be refused after a few bytes, and a
  // refused head must not be rescanned line by line. Measured against a
  // scan of the same size with nothing to find: linear work costs about 6
  // to 10 times that; rescanning each 250 KB line, over a hundred.
  ParserLimits limits;
  limits.max_header_bytes = 512 << 10;
  std::string requests;
  while (requests.size() < (1 << 20)) requests += "GET GET /x HTTP/1.1 GET ";
  std::string statuses;
  while (statuses.size() < (1 << 20)) {
    std::string line;
    while (line.size() < 250000) line += "HTTP/1.1 200 ";
    statuses += line + "\r\nnot a header line\r\n";
  }
  const std::string plain(1 << 20, 'x');
  const std::vector<Event> start = {Data(kClient, "GET /ok HTTP/1.1\r\n\r\n"),
                                    Data(kServer, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")};
  std::vector<Event> hostile = start;
  hostile.push_back(Data(kClient, requests));
  hostile.push_back(Data(kServer, statuses));
  std::vector<Event> baseline = start;
  baseline.push_back(Data(kClient, "bad\r\n" + plain));
  baseline.push_back(Data(kServer, "bad\r\n" + plain));

  const Result r = Replay(hostile, limits, 4096);
  EXPECT_EQ(r.stats.messages, 2u);
  EXPECT_EQ(r.stats.desyncs, 2u);
  EXPECT_LT(SecondsToReplay(hostile, limits), 30 * SecondsToReplay(baseline, limits));
}

}  // namespace
}  // namespace rampart::http

namespace rampart::http {
namespace {

// Records, with each message, which flow the parser says carries requests
// and which flow was being fed when it came.
class FlowRecordingSink : public MessageSink {
 public:
  void OnMessage(const Message& m) override {
    seen.push_back({m.is_request, parser->request_flow(), feeding});
  }
  struct Seen {
    bool is_request;
    int request_flow;
    int feeding;
  };
  const ConnectionParser* parser = nullptr;
  int feeding = -1;
  std::vector<Seen> seen;
};

TEST(Http1Test, RequestFlowIsKnownWhenMessagesArriveEvenFromTheOtherFlow) {
  FlowRecordingSink sink;
  ConnectionParser parser(sink);
  sink.parser = &parser;
  EXPECT_EQ(parser.request_flow(), -1);
  const std::string client = "GET /chat HTTP/1.1\r\nUpgrade: websocket\r\n\r\nGET /next HTTP/1.1\r\n\r\n";
  const std::string server = "HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n";
  sink.feeding = 1;  // requests on flow 1 this time
  parser.OnData(1, 0, testing::AsBytes(client));
  sink.feeding = 0;
  parser.OnData(0, 0, testing::AsBytes(server));
  ASSERT_EQ(sink.seen.size(), 3u);
  for (const auto& s : sink.seen) EXPECT_EQ(s.request_flow, 1);
  // The held request /next was delivered while the server's flow was fed.
  EXPECT_TRUE(sink.seen[2].is_request);
  EXPECT_EQ(sink.seen[2].feeding, 0);
}

}  // namespace
}  // namespace rampart::http

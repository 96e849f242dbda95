// Turns the two captured plaintext byte streams of one TLS connection into
// HTTP messages (agent/http/message.h). HTTP/1.x and HTTP/2 are told apart
// from content; the side that sends requests too.
//
// The parser trusts nothing it reads: every buffer is capped, malformed
// HTTP/1 makes it resynchronise at the next message start (it never guesses a
// message boundary), and HTTP/2 it cannot decode with certainty (picked up
// midway, a gap in a header block, an HPACK error) is counted and then left
// alone. docs/http.md has the rules; ParserStats counts every case.
//
// Cost: O(bytes) per call, no allocation per byte. Memory per connection is
// bounded by the limits below: at most one buffered HTTP/1 head (or chunk
// line) and one capped body per direction, or max_h2_buffered_bytes over
// all HTTP/2 streams. Not thread-safe: one parser per connection, fed from
// one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "agent/http/message.h"

namespace rampart::http {

struct ParserLimits {
  // Transfer-decoded body bytes kept per message. A message whose body goes
  // beyond is delivered as soon as the cap is reached, with body_truncated;
  // the rest of its body is skipped with its framing kept.
  size_t max_body_bytes = 1 << 20;
  // Output of gzip/deflate content decoding per message (decompression bombs
  // stop here, body_truncated is set).
  size_t max_decompressed_bytes = 1 << 20;
  // Start line and header fields together (and an HTTP/2 header list,
  // counting names and values). Beyond: the message is dropped and counted.
  size_t max_header_bytes = 64 << 10;
  size_t max_headers = 200;
  // Bytes a direction may carry before anything in the connection has been
  // recognised as HTTP; beyond, the connection is declared not HTTP.
  size_t max_unrecognised_bytes = 256 << 10;
  // HTTP/2: streams tracked at once (the oldest is evicted beyond), and body
  // bytes buffered over all of them (the stream that goes beyond is
  // delivered truncated).
  size_t max_h2_streams = 256;
  size_t max_h2_buffered_bytes = 8 << 20;
};

// Counters for one connection. The inspection pipeline sums them (+=) into
// its totals when a connection ends.
struct ParserStats {
  uint64_t messages = 0;  // delivered to the sink: requests + responses
  uint64_t requests = 0;
  uint64_t responses = 0;
  uint64_t interim_responses = 0;   // 1xx other than 101: parsed, not delivered
  uint64_t unpaired_responses = 0;  // delivered without the request they answer
  uint64_t desyncs = 0;             // malformed HTTP/1: resynchronised at the next message
  uint64_t oversized_heads = 0;     // header sections over max_header_bytes/max_headers
  uint64_t gaps = 0;                // stretches of uncaptured bytes
  uint64_t gap_bytes = 0;
  uint64_t gap_resyncs = 0;         // gaps that cost HTTP/1 its framing
  uint64_t bodies_truncated = 0;    // delivered with body_truncated
  uint64_t gzip_errors = 0;         // gzip/deflate failed: body delivered as sent
  uint64_t unsupported_encodings = 0;  // br, zstd, ...: body delivered as sent
  uint64_t tunnels = 0;             // 101 or CONNECT: the rest of the connection is not HTTP
  uint64_t not_http = 0;            // connections recognised as neither HTTP/1 nor HTTP/2
  uint64_t http2_connections = 0;
  // HTTP/2 connections (or the rest of one) not decoded, for any of the
  // reasons that follow it; each connection counts once, under its first reason.
  uint64_t http2_midway_undecodable = 0;
  uint64_t http2_picked_up_midway = 0;  // no client preface / server SETTINGS at the stream start
  uint64_t http2_gap_losses = 0;        // a gap hit a frame header or a header block
  uint64_t http2_hpack_errors = 0;
  uint64_t http2_frame_errors = 0;      // frames that break the framing rules
  uint64_t http2_streams_evicted = 0;   // over max_h2_streams

  ParserStats& operator+=(const ParserStats& other);
};

enum class Protocol : uint8_t {
  kUnknown,            // nothing recognised yet
  kHttp1,
  kHttp2,
  kHttp2Undecodable,   // HTTP/2 that is not (or no longer) decoded
  kTunnel,             // switched away from HTTP (101, CONNECT)
  kNotHttp,
};

std::string_view ProtocolName(Protocol protocol);  // "unknown", "http1", ...

namespace internal {
class MessageOutput;
class Http1Connection;
class Http2Connection;
}  // namespace internal

class ConnectionParser {
 public:
  // `sink` must outlive the parser; it is called from within OnData/OnGap/OnEnd.
  explicit ConnectionParser(MessageSink& sink, const ParserLimits& limits = {});
  ~ConnectionParser();
  ConnectionParser(const ConnectionParser&) = delete;
  ConnectionParser& operator=(const ConnectionParser&) = delete;

  // `flow` is 0 or 1, one per direction; the caller maps capture directions
  // to flows however it likes. `offset` counts bytes since the direction
  // began. Data that starts past the expected offset implies a gap; bytes
  // already seen are ignored.
  void OnData(int flow, uint64_t offset, std::span<const uint8_t> data);
  // `bytes` at `offset` of `flow` were not captured.
  void OnGap(int flow, uint64_t offset, uint64_t bytes);
  // The connection is over: delivers what is still open. A response read
  // until close is complete here; any other message with its head parsed but
  // its end unseen is delivered with capture_gap. Later calls are ignored.
  void OnEnd();

  Protocol protocol() const { return protocol_; }
  const ParserStats& stats() const { return stats_; }
  // The flow that carries requests (the client's writes), learned from
  // content; -1 until known. It is known before the first message is
  // delivered. A message is not always delivered while its own flow is
  // being fed (a request held behind an Upgrade, HTTP/2 streams delivered
  // by a reset or at the end): is_request and this say which flow it is.
  int request_flow() const;

 private:
  struct Flow {
    uint64_t next_offset = 0;
    bool seen = false;          // any byte or gap
    bool clean_start = true;    // first byte at offset 0, no gap before it
    std::string sniff;          // first bytes, too few yet to tell the protocol
    bool sniff_done = false;    // handed to the HTTP/1 parser
  };

  void Feed(int flow, std::span<const uint8_t> data);
  void Lose(int flow, uint64_t bytes);
  void Sniff(int flow, std::span<const uint8_t> data);
  void StartHttp1(int flow, std::span<const uint8_t> data);
  void StartHttp2(int client_flow);
  void CheckHttp1State();

  ParserLimits limits_;
  ParserStats stats_;
  Protocol protocol_ = Protocol::kUnknown;
  bool ended_ = false;
  int request_flow_ = -1;  // kept when the parser that knew it is gone
  Flow flows_[2];
  std::unique_ptr<internal::MessageOutput> output_;
  std::unique_ptr<internal::Http1Connection> http1_;
  std::unique_ptr<internal::Http2Connection> http2_;
};

}  // namespace rampart::http

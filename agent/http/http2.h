// HTTP/2 over the two directions of one connection (RFC 9113): frames,
// streams, HPACK (RFC 7541) through nghttp2's inflater, one per direction.
// Decoding is all or nothing: HPACK state cannot be rebuilt, so anything
// that makes it uncertain (the start not seen, a gap in a header block or a
// frame header, an HPACK or framing error) stops decoding for the rest of
// the connection instead of guessing. Internal to agent/http: the public
// entry point is ConnectionParser.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>

#include "agent/http/connection_parser.h"
#include "agent/http/message_output.h"

namespace rampart::http::internal {

class Http2Connection {
 public:
  // `client_flow`: the direction that sends the client preface.
  Http2Connection(MessageOutput& output, const ParserLimits& limits, ParserStats& stats, int client_flow);
  ~Http2Connection();
  Http2Connection(const Http2Connection&) = delete;
  Http2Connection& operator=(const Http2Connection&) = delete;

  void Feed(int flow, std::span<const uint8_t> data);
  // Lost bytes. Before a direction's first byte, it means the direction
  // was picked up midway.
  void Gap(int flow, uint64_t bytes);
  // Delivers open messages whose head is known, marked capture_gap.
  void End();

  // Decoding stopped; the reason is counted in ParserStats.
  bool undecodable() const { return undecodable_; }
  int client_flow() const { return client_flow_; }

 private:
  struct Flow;
  struct HalfStream;
  struct Stream;

  void Consume(Flow& flow, const uint8_t* data, size_t size);
  void OnFrameHeader(Flow& flow);
  void AfterPadLength(Flow& flow);
  void Settle(Flow& flow);
  void OnContent(Flow& flow, const uint8_t* data, size_t size);
  bool Inflate(Flow& flow, const uint8_t* data, size_t size, bool final);
  void OnSettingsEntry(Flow& flow);
  void OnFrameEnd(Flow& flow);
  void OnHeaderBlock(Flow& flow);
  void OnPushPromise(Flow& flow);
  void FillHead(Flow& flow, HalfStream& half, uint32_t stream_id);
  void EndHalf(uint32_t stream_id, bool request_half);
  void Deliver(Stream& stream, HalfStream& half);
  void DeliverOpen(Stream& stream, bool capture_gap);
  Stream* FindStream(uint32_t id);
  Stream& OpenStream(uint32_t id);
  void Stop(uint64_t ParserStats::*reason);

  MessageOutput& output_;
  const ParserLimits& limits_;
  ParserStats& stats_;
  const int client_flow_;
  std::unique_ptr<Flow> flows_[2];
  std::map<uint32_t, Stream> streams_;
  uint32_t max_client_stream_ = 0;
  bool client_preface_seen_ = false;
  size_t buffered_body_bytes_ = 0;
  bool undecodable_ = false;
};

}  // namespace rampart::http::internal

#include "agent/http/connection_parser.h"

#include "agent/http/http1.h"
#include "agent/http/http2.h"
#include "agent/http/http2_frame.h"
#include "agent/http/message_output.h"

namespace rampart::http {

ParserStats& ParserStats::operator+=(const ParserStats& other) {
  messages += other.messages;
  requests += other.requests;
  responses += other.responses;
  interim_responses += other.interim_responses;
  unpaired_responses += other.unpaired_responses;
  desyncs += other.desyncs;
  oversized_heads += other.oversized_heads;
  gaps += other.gaps;
  gap_bytes += other.gap_bytes;
  gap_resyncs += other.gap_resyncs;
  bodies_truncated += other.bodies_truncated;
  gzip_errors += other.gzip_errors;
  unsupported_encodings += other.unsupported_encodings;
  tunnels += other.tunnels;
  not_http += other.not_http;
  http2_connections += other.http2_connections;
  http2_midway_undecodable += other.http2_midway_undecodable;
  http2_picked_up_midway += other.http2_picked_up_midway;
  http2_gap_losses += other.http2_gap_losses;
  http2_hpack_errors += other.http2_hpack_errors;
  http2_frame_errors += other.http2_frame_errors;
  http2_streams_evicted += other.http2_streams_evicted;
  return *this;
}

std::string_view ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kUnknown:
      return "unknown";
    case Protocol::kHttp1:
      return "http1";
    case Protocol::kHttp2:
      return "http2";
    case Protocol::kHttp2Undecodable:
      return "http2-undecodable";
    case Protocol::kTunnel:
      return "tunnel";
    case Protocol::kNotHttp:
      return "not-http";
  }
  return "unknown";
}

ConnectionParser::ConnectionParser(MessageSink& sink, const ParserLimits& limits)
    : limits_(limits), output_(std::make_unique<internal::MessageOutput>(sink, limits_, stats_)) {}

ConnectionParser::~ConnectionParser() = default;

void ConnectionParser::OnData(int flow, uint64_t offset, std::span<const uint8_t> data) {
  if (ended_ || flow < 0 || flow > 1 || data.empty()) return;
  Flow& f = flows_[flow];
  if (offset > f.next_offset) {
    if (f.seen) {
      ++stats_.gaps;
      stats_.gap_bytes += offset - f.next_offset;
    } else {
      // The direction was picked up midway: not a loss, but not its start.
      f.clean_start = false;
    }
    f.seen = true;
    const uint64_t lost = offset - f.next_offset;
    f.next_offset = offset;
    Lose(flow, lost);
  } else if (offset < f.next_offset) {
    const uint64_t seen_already = f.next_offset - offset;
    if (seen_already >= data.size()) return;
    data = data.subspan(static_cast<size_t>(seen_already));
  }
  f.seen = true;
  f.next_offset += data.size();
  Feed(flow, data);
}

void ConnectionParser::OnGap(int flow, uint64_t offset, uint64_t bytes) {
  if (ended_ || flow < 0 || flow > 1) return;
  Flow& f = flows_[flow];
  const uint64_t end = offset + bytes;
  if (end <= f.next_offset) return;
  const uint64_t lost = end - f.next_offset;
  if (!f.seen) f.clean_start = false;
  f.seen = true;
  ++stats_.gaps;
  stats_.gap_bytes += lost;
  f.next_offset = end;
  Lose(flow, lost);
}

void ConnectionParser::OnEnd() {
  if (ended_) return;
  ended_ = true;
  if (http1_) http1_->End();
  if (http2_ && !http2_->undecodable()) http2_->End();
}

void ConnectionParser::Feed(int flow, std::span<const uint8_t> data) {
  Flow& f = flows_[flow];
  switch (protocol_) {
    case Protocol::kUnknown:
    case Protocol::kHttp1:
      if (f.sniff_done) {
        http1_->Feed(flow, data);
        CheckHttp1State();
      } else if (protocol_ == Protocol::kUnknown) {
        Sniff(flow, data);
      } else {
        // HTTP/1 was recognised on the other direction while this one was
        // still being sniffed.
        std::string bytes;
        bytes.swap(f.sniff);
        bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
        StartHttp1(flow, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
      }
      return;
    case Protocol::kHttp2:
      http2_->Feed(flow, data);
      if (http2_->undecodable()) protocol_ = Protocol::kHttp2Undecodable;
      return;
    default:
      return;
  }
}

void ConnectionParser::Lose(int flow, uint64_t bytes) {
  Flow& f = flows_[flow];
  switch (protocol_) {
    case Protocol::kUnknown:
    case Protocol::kHttp1:
      if (!f.sniff_done) {
        if (f.sniff.empty()) {
          f.clean_start = false;
          return;
        }
        // Too few bytes to tell before the gap: they can only be HTTP/1.
        std::string bytes_before;
        bytes_before.swap(f.sniff);
        StartHttp1(flow, {reinterpret_cast<const uint8_t*>(bytes_before.data()), bytes_before.size()});
        if (protocol_ != Protocol::kUnknown && protocol_ != Protocol::kHttp1) return;
      }
      http1_->Gap(flow, bytes);
      CheckHttp1State();
      return;
    case Protocol::kHttp2:
      http2_->Gap(flow, bytes);
      if (http2_->undecodable()) protocol_ = Protocol::kHttp2Undecodable;
      return;
    default:
      return;
  }
}

void ConnectionParser::Sniff(int flow, std::span<const uint8_t> data) {
  Flow& f = flows_[flow];
  std::span<const uint8_t> bytes = data;
  if (!f.sniff.empty()) {
    f.sniff.append(reinterpret_cast<const char*>(data.data()), data.size());
    bytes = {reinterpret_cast<const uint8_t*>(f.sniff.data()), f.sniff.size()};
  }
  const internal::FirstBytes kind = internal::ClassifyFirstBytes(bytes);
  if (kind == internal::FirstBytes::kNeedMore) {
    if (f.sniff.empty()) f.sniff.assign(reinterpret_cast<const char*>(data.data()), data.size());
    return;
  }
  std::string owned;
  owned.swap(f.sniff);
  if (!owned.empty()) bytes = {reinterpret_cast<const uint8_t*>(owned.data()), owned.size()};

  const bool preface = kind == internal::FirstBytes::kClientPreface || kind == internal::FirstBytes::kServerPreface;
  if (kind == internal::FirstBytes::kFrame || (preface && !f.clean_start)) {
    ++stats_.http2_connections;
    ++stats_.http2_midway_undecodable;
    ++stats_.http2_picked_up_midway;
    protocol_ = Protocol::kHttp2Undecodable;
    http1_.reset();
    return;
  }
  if (!preface) {
    StartHttp1(flow, bytes);
    return;
  }
  StartHttp2(kind == internal::FirstBytes::kClientPreface ? flow : 1 - flow);
  http2_->Feed(flow, bytes);
  // The other direction may already have begun: it must begin as HTTP/2.
  Flow& other = flows_[1 - flow];
  if (!http2_->undecodable() && other.seen) {
    if (other.sniff_done || !other.clean_start) {
      http2_->Gap(1 - flow, 0);  // it began as something else: not decodable
    } else {
      std::string pending;
      pending.swap(other.sniff);
      http2_->Feed(1 - flow, {reinterpret_cast<const uint8_t*>(pending.data()), pending.size()});
    }
  }
  http1_.reset();
  if (http2_->undecodable()) protocol_ = Protocol::kHttp2Undecodable;
}

void ConnectionParser::StartHttp1(int flow, std::span<const uint8_t> data) {
  Flow& f = flows_[flow];
  f.sniff_done = true;
  if (!http1_) http1_ = std::make_unique<internal::Http1Connection>(*output_, limits_, stats_);
  if (!f.clean_start) http1_->Gap(flow, 0);  // its first bytes are not a message start for sure
  http1_->Feed(flow, data);
  CheckHttp1State();
}

void ConnectionParser::StartHttp2(int client_flow) {
  protocol_ = Protocol::kHttp2;
  ++stats_.http2_connections;
  http2_ = std::make_unique<internal::Http2Connection>(*output_, limits_, stats_, client_flow);
}

int ConnectionParser::request_flow() const {
  if (http2_) return http2_->client_flow();
  if (http1_) return http1_->request_flow();
  return request_flow_;
}

void ConnectionParser::CheckHttp1State() {
  request_flow_ = http1_->request_flow();
  if (http1_->tunnel()) {
    protocol_ = Protocol::kTunnel;
    http1_.reset();
  } else if (http1_->gave_up()) {
    protocol_ = Protocol::kNotHttp;
    ++stats_.not_http;
    http1_.reset();
  } else if (http1_->recognised()) {
    protocol_ = Protocol::kHttp1;
  }
}

}  // namespace rampart::http

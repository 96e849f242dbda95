// Helpers shared by the HTTP parser tests: a sink that keeps what it gets,
// a conversation script (data and gaps per direction) that can be replayed
// whole, split, or byte by byte, and zlib encoders.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "agent/http/connection_parser.h"
#include "agent/http/message.h"

namespace rampart::http::testing {

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class RecordingSink : public MessageSink {
 public:
  void OnMessage(const Message& message) override { messages.push_back(message); }
  std::vector<Message> messages;
};

// Everything about a message, on one line per field, so two runs can be
// compared and a failure shows what differed.
inline std::string Describe(const Message& m) {
  std::ostringstream out;
  out << (m.is_request ? "request" : "response") << " h" << m.protocol << " stream=" << m.stream_id
      << " method=" << m.method << " target=" << m.target << " authority=" << m.authority
      << " status=" << m.status << "\n";
  for (const Header& h : m.headers) out << "  " << h.name << ": " << h.value << "\n";
  out << "  body(" << m.body.size() << ")=" << m.body << "\n  wire=" << m.body_wire_bytes
      << " truncated=" << m.body_truncated << " gap=" << m.capture_gap << "\n";
  return out.str();
}

inline std::string Describe(const std::vector<Message>& messages) {
  std::string out;
  for (const Message& m : messages) out += Describe(m);
  return out;
}

inline std::string DescribeStats(const ParserStats& s) {
  std::ostringstream out;
  out << "messages=" << s.messages << " requests=" << s.requests << " responses=" << s.responses
      << " interim=" << s.interim_responses << " unpaired=" << s.unpaired_responses << " desyncs=" << s.desyncs
      << " oversized=" << s.oversized_heads << " gaps=" << s.gaps << " gap_bytes=" << s.gap_bytes
      << " gap_resyncs=" << s.gap_resyncs << " truncated=" << s.bodies_truncated << " gzip_errors=" << s.gzip_errors
      << " unsupported=" << s.unsupported_encodings << " tunnels=" << s.tunnels << " not_http=" << s.not_http
      << " h2=" << s.http2_connections << " h2_undecodable=" << s.http2_midway_undecodable
      << " h2_midway=" << s.http2_picked_up_midway << " h2_gap=" << s.http2_gap_losses
      << " h2_hpack=" << s.http2_hpack_errors << " h2_frame=" << s.http2_frame_errors
      << " h2_evicted=" << s.http2_streams_evicted;
  return out.str();
}

// One direction's bytes, or a gap in it.
struct Event {
  int flow = 0;
  std::string data;
  uint64_t gap = 0;  // when non-zero, `data` is ignored
};

inline Event Data(int flow, std::string data) { return Event{flow, std::move(data), 0}; }
inline Event Gap(int flow, uint64_t bytes) { return Event{flow, {}, bytes}; }

struct Result {
  std::vector<Message> messages;
  ParserStats stats;
  Protocol protocol = Protocol::kUnknown;
};

// Replays `events` in order. Each data event is cut into pieces of at most
// `piece` bytes (0: whole), except that event `split_event` is cut once at
// `split_at`. OnEnd is called at the end when `end` is set.
inline Result Replay(const std::vector<Event>& events, const ParserLimits& limits = {}, size_t piece = 0,
                     size_t split_event = SIZE_MAX, size_t split_at = 0, bool end = true) {
  RecordingSink sink;
  ConnectionParser parser(sink, limits);
  uint64_t offsets[2] = {0, 0};
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    if (e.gap > 0) {
      parser.OnGap(e.flow, offsets[e.flow], e.gap);
      offsets[e.flow] += e.gap;
      continue;
    }
    std::vector<std::string_view> pieces;
    const std::string_view data = e.data;
    if (i == split_event) {
      pieces = {data.substr(0, split_at), data.substr(split_at)};
    } else if (piece == 0) {
      pieces = {data};
    } else {
      for (size_t at = 0; at < data.size(); at += piece) pieces.push_back(data.substr(at, piece));
    }
    for (std::string_view p : pieces) {
      parser.OnData(e.flow, offsets[e.flow], AsBytes(p));
      offsets[e.flow] += p.size();
    }
  }
  if (end) parser.OnEnd();
  return {std::move(sink.messages), parser.stats(), parser.protocol()};
}

inline std::string Compress(std::string_view data, int window_bits, int level = Z_DEFAULT_COMPRESSION) {
  z_stream zs{};
  deflateInit2(&zs, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

inline std::string Gzip(std::string_view data) { return Compress(data, 15 + 16); }

// `size` zero bytes, gzipped without ever holding them: a decompression bomb.
inline std::string GzipZeros(size_t size) {
  z_stream zs{};
  deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
  const std::string zeros(1 << 20, '\0');
  std::string out;
  char buffer[1 << 16];
  for (size_t left = size; left > 0 || zs.avail_in > 0;) {
    if (zs.avail_in == 0) {
      const size_t n = std::min(left, zeros.size());
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
      zs.avail_in = static_cast<uInt>(n);
      left -= n;
    }
    zs.next_out = reinterpret_cast<Bytef*>(buffer);
    zs.avail_out = sizeof(buffer);
    deflate(&zs, left == 0 ? Z_FINISH : Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - zs.avail_out);
  }
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buffer);
    zs.avail_out = sizeof(buffer);
    rc = deflate(&zs, Z_FINISH);
    out.append(buffer, sizeof(buffer) - zs.avail_out);
  } while (rc == Z_OK);
  deflateEnd(&zs);
  return out;
}
inline std::string ZlibDeflate(std::string_view data) { return Compress(data, 15); }
inline std::string RawDeflate(std::string_view data) { return Compress(data, -15); }

// Chunked transfer coding of `body` in pieces of `size` bytes.
inline std::string Chunked(std::string_view body, size_t size, std::string_view trailers = "") {
  std::string out;
  char line[32];
  for (size_t at = 0; at < body.size(); at += size) {
    const std::string_view piece = body.substr(at, size);
    snprintf(line, sizeof(line), "%zx\r\n", piece.size());
    out += line;
    out += piece;
    out += "\r\n";
  }
  out += "0\r\n";
  out += trailers;
  out += "\r\n";
  return out;
}

}  // namespace rampart::http::testing

#include "agent/http/http2.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "agent/http/http2_frame.h"
#include "agent/http/text.h"

namespace rampart::http::internal {
namespace {

// Largest HPACK table a peer may announce and still be decoded: each
// direction's table costs up to this much memory.
constexpr size_t kMaxHeaderTableSize = 1 << 20;
constexpr size_t kDefaultHeaderTableSize = 4096;

struct InflaterDeleter {
  void operator()(nghttp2_hd_inflater* inflater) const { nghttp2_hd_inflate_del(inflater); }
};
using InflaterPtr = std::unique_ptr<nghttp2_hd_inflater, InflaterDeleter>;

bool ParseStatus(std::string_view value, int& status) {
  if (value.size() != 3) return false;
  status = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return false;
    status = status * 10 + (c - '0');
  }
  return status >= 100;
}

}  // namespace

struct Http2Connection::HalfStream {
  Message message;
  std::string raw_body;
  bool raw_truncated = false;
  bool head_done = false;
  bool ended = false;
  bool delivered = false;
  bool dropped = false;  // its head was over the limits
};

struct Http2Connection::Stream {
  HalfStream request;
  HalfStream response;
  bool tunnel = false;  // CONNECT: DATA is another protocol
};

struct Http2Connection::Flow {
  enum class Phase : uint8_t {
    kPreface,      // client: the connection preface
    kFrameHeader,
    kPadLength,
    kFixed,        // HEADERS priority fields, PUSH_PROMISE promised stream
    kContent,      // DATA payload or header block fragment
    kPadding,
    kSettings,     // SETTINGS entries
    kSkip,         // payload of no interest
  };

  bool is_client = false;
  bool seen = false;
  bool first_frame = true;
  Phase phase = Phase::kFrameHeader;
  size_t preface_matched = 0;

  uint8_t header[kFrameHeaderSize] = {};
  size_t header_got = 0;
  FrameHeader frame;
  uint32_t frame_left = 0;  // payload bytes not yet consumed
  uint32_t fixed_left = 0;
  uint32_t content_left = 0;
  uint32_t pad_left = 0;
  uint8_t field[6] = {};
  size_t field_got = 0;

  // The header block in progress on this direction (HEADERS or
  // PUSH_PROMISE, then CONTINUATION until END_HEADERS).
  bool in_block = false;
  uint32_t block_stream = 0;
  bool block_end_stream = false;
  bool block_promise = false;
  uint32_t promised_stream = 0;
  std::vector<Header> block_fields;
  size_t block_bytes = 0;
  bool block_oversized = false;

  InflaterPtr inflater;
  size_t table_limit = kDefaultHeaderTableSize;
  bool table_change_pending = false;
};

Http2Connection::Http2Connection(MessageOutput& output, const ParserLimits& limits, ParserStats& stats,
                                 int client_flow)
    : output_(output), limits_(limits), stats_(stats), client_flow_(client_flow) {
  for (int i = 0; i < 2; ++i) {
    flows_[i] = std::make_unique<Flow>();
    Flow& flow = *flows_[i];
    flow.is_client = i == client_flow;
    flow.phase = flow.is_client ? Flow::Phase::kPreface : Flow::Phase::kFrameHeader;
    nghttp2_hd_inflater* inflater = nullptr;
    if (nghttp2_hd_inflate_new(&inflater) != 0) {
      Stop(&ParserStats::http2_hpack_errors);  // out of memory: nothing can be decoded
      continue;
    }
    flow.inflater.reset(inflater);
  }
}

Http2Connection::~Http2Connection() = default;

void Http2Connection::Feed(int flow, std::span<const uint8_t> data) {
  if (undecodable_ || data.empty()) return;
  Flow& f = *flows_[flow];
  f.seen = true;
  Consume(f, data.data(), data.size());
}

void Http2Connection::Gap(int flow, uint64_t bytes) {
  if (undecodable_) return;
  Flow& f = *flows_[flow];
  if (!f.seen) return Stop(&ParserStats::http2_picked_up_midway);
  // Only payload the decoder can do without may be lost: never the preface
  // or a frame header, never part of a header block, never past the frame.
  const uint8_t type = f.frame.type;
  if (f.phase == Flow::Phase::kPreface || f.phase == Flow::Phase::kFrameHeader || type == kHeaders ||
      type == kPushPromise ||
      type == kContinuation || bytes > f.frame_left) {
    return Stop(&ParserStats::http2_gap_losses);
  }
  Consume(f, nullptr, static_cast<size_t>(bytes));
}

void Http2Connection::End() {
  if (undecodable_) return;
  for (auto& [id, stream] : streams_) DeliverOpen(stream, true);
  streams_.clear();
}

// `data` null: `size` bytes were lost (Gap has checked that the framing
// survives them).
void Http2Connection::Consume(Flow& f, const uint8_t* data, size_t size) {
  size_t pos = 0;
  while (pos < size && !undecodable_) {
    const size_t avail = size - pos;
    const uint8_t* p = data ? data + pos : nullptr;
    switch (f.phase) {
      case Flow::Phase::kPreface: {
        const size_t n = std::min(avail, kClientPreface.size() - f.preface_matched);
        if (memcmp(p, kClientPreface.data() + f.preface_matched, n) != 0) {
          return Stop(&ParserStats::http2_picked_up_midway);
        }
        f.preface_matched += n;
        pos += n;
        if (f.preface_matched == kClientPreface.size()) {
          client_preface_seen_ = true;
          f.phase = Flow::Phase::kFrameHeader;
        }
        break;
      }
      case Flow::Phase::kFrameHeader: {
        const size_t n = std::min(avail, kFrameHeaderSize - f.header_got);
        memcpy(f.header + f.header_got, p, n);
        f.header_got += n;
        pos += n;
        if (f.header_got == kFrameHeaderSize) OnFrameHeader(f);
        break;
      }
      case Flow::Phase::kPadLength:
        --f.frame_left;
        ++pos;
        if (p == nullptr) {
          // DATA whose pad length was lost: its payload cannot be told
          // from its padding, so none of it is kept.
          if (Stream* stream = FindStream(f.frame.stream_id)) {
            (f.is_client ? stream->request : stream->response).message.capture_gap = true;
          }
          f.phase = Flow::Phase::kSkip;
          Settle(f);
        } else {
          f.pad_left = *p;
          AfterPadLength(f);
        }
        break;
      case Flow::Phase::kFixed: {
        const size_t n = std::min<size_t>(avail, f.fixed_left);
        if (p != nullptr && f.field_got + n <= sizeof(f.field)) memcpy(f.field + f.field_got, p, n);
        f.field_got += n;
        f.fixed_left -= static_cast<uint32_t>(n);
        f.frame_left -= static_cast<uint32_t>(n);
        pos += n;
        Settle(f);
        break;
      }
      case Flow::Phase::kContent: {
        const size_t n = std::min<size_t>(avail, f.content_left);
        f.content_left -= static_cast<uint32_t>(n);
        f.frame_left -= static_cast<uint32_t>(n);
        pos += n;
        OnContent(f, p, n);
        Settle(f);
        break;
      }
      case Flow::Phase::kSettings: {
        if (p == nullptr) {
          f.phase = Flow::Phase::kSkip;  // a lost SETTINGS can only make later HPACK fail, not lie
          break;
        }
        const size_t n = std::min<size_t>({avail, f.frame_left, sizeof(f.field) - f.field_got});
        memcpy(f.field + f.field_got, p, n);
        f.field_got += n;
        f.frame_left -= static_cast<uint32_t>(n);
        pos += n;
        if (f.field_got == sizeof(f.field)) {
          OnSettingsEntry(f);
          f.field_got = 0;
        }
        Settle(f);
        break;
      }
      case Flow::Phase::kPadding:
      case Flow::Phase::kSkip: {
        uint32_t& left = f.phase == Flow::Phase::kPadding ? f.pad_left : f.frame_left;
        const size_t n = std::min<size_t>(avail, left);
        left -= static_cast<uint32_t>(n);
        if (f.phase == Flow::Phase::kPadding) f.frame_left -= static_cast<uint32_t>(n);
        pos += n;
        Settle(f);
        break;
      }
    }
  }
}

void Http2Connection::OnFrameHeader(Flow& f) {
  f.header_got = 0;
  const FrameHeader h = ParseFrameHeader(f.header);
  if (!FrameFollowsRules(h)) return Stop(&ParserStats::http2_frame_errors);
  if (!f.is_client && f.first_frame && !IsServerPrefaceFrame(h)) {
    return Stop(&ParserStats::http2_picked_up_midway);
  }
  f.first_frame = false;
  // Only connection-level frames can precede the client preface; a server
  // sending anything else was already talking before capture began.
  if (!f.is_client && !client_preface_seen_ && h.type != kSettings && h.type != kPing &&
      h.type != kWindowUpdate && h.type != kGoaway) {
    return Stop(&ParserStats::http2_picked_up_midway);
  }
  if (f.in_block != (h.type == kContinuation) || (f.in_block && h.stream_id != f.block_stream)) {
    return Stop(&ParserStats::http2_frame_errors);
  }
  if (h.type == kPushPromise && f.is_client) return Stop(&ParserStats::http2_frame_errors);

  f.frame = h;
  f.frame_left = h.length;
  f.pad_left = 0;
  f.fixed_left = 0;
  f.field_got = 0;
  switch (h.type) {
    case kData:
    case kHeaders:
    case kPushPromise:
      if (h.type == kHeaders && (h.flags & kPriorityFlag)) f.fixed_left = 5;
      if (h.type == kPushPromise) f.fixed_left = 4;
      if (h.type != kData) {
        f.in_block = true;
        f.block_stream = h.stream_id;
        f.block_end_stream = h.type == kHeaders && (h.flags & kEndStream);
        f.block_promise = h.type == kPushPromise;
        f.block_fields.clear();
        f.block_bytes = 0;
        f.block_oversized = false;
      }
      if (h.flags & kPadded) {
        if (h.length < 1) return Stop(&ParserStats::http2_frame_errors);
        f.phase = Flow::Phase::kPadLength;
        return;
      }
      AfterPadLength(f);
      return;
    case kContinuation:
      AfterPadLength(f);
      return;
    case kSettings:
      f.phase = (h.flags & kAck) ? Flow::Phase::kSkip : Flow::Phase::kSettings;
      break;
    default:
      f.phase = Flow::Phase::kSkip;
      break;
  }
  Settle(f);
}

// The pad length (if any) is known: lay out the rest of the payload.
void Http2Connection::AfterPadLength(Flow& f) {
  if (uint64_t{f.fixed_left} + f.pad_left > f.frame_left) return Stop(&ParserStats::http2_frame_errors);
  f.content_left = f.frame_left - f.fixed_left - f.pad_left;
  f.phase = Flow::Phase::kFixed;
  Settle(f);
}

// Moves past every part of the frame that has nothing left, ending the
// frame when its payload is done.
void Http2Connection::Settle(Flow& f) {
  for (;;) {
    if (undecodable_) return;
    switch (f.phase) {
      case Flow::Phase::kFixed:
        if (f.fixed_left > 0) return;
        if (f.frame.type == kPushPromise) {
          f.promised_stream = ((uint32_t{f.field[0]} << 24) | (uint32_t{f.field[1]} << 16) |
                               (uint32_t{f.field[2]} << 8) | f.field[3]) & 0x7fffffffu;
        }
        f.phase = Flow::Phase::kContent;
        if (f.frame.type != kData) OnContent(f, nullptr, 0);  // an empty fragment still counts
        break;
      case Flow::Phase::kContent:
        if (f.content_left > 0) return;
        f.phase = Flow::Phase::kPadding;
        break;
      case Flow::Phase::kPadding:
        if (f.pad_left > 0) return;
        f.phase = Flow::Phase::kSkip;
        break;
      case Flow::Phase::kSettings:
      case Flow::Phase::kSkip:
        if (f.frame_left > 0) return;
        f.phase = Flow::Phase::kFrameHeader;
        OnFrameEnd(f);
        return;
      default:
        return;
    }
  }
}

void Http2Connection::OnContent(Flow& f, const uint8_t* data, size_t size) {
  if (f.frame.type != kData) {
    // Header block fragment: the block ends with this frame's fragment when
    // the frame carries END_HEADERS.
    const bool final = (f.frame.flags & kEndHeaders) && f.content_left == 0;
    if (size > 0 || final) Inflate(f, data, size, final);
    return;
  }
  if (size == 0) return;
  Stream* stream = FindStream(f.frame.stream_id);
  if (stream == nullptr || stream->tunnel) return;
  HalfStream& half = f.is_client ? stream->request : stream->response;
  if (!half.head_done || half.delivered || half.dropped) return;
  if (data == nullptr) {
    half.message.body_wire_bytes += size;
    half.message.capture_gap = true;
    return;
  }
  const size_t room = std::min(limits_.max_body_bytes - half.raw_body.size(),
                               limits_.max_h2_buffered_bytes - std::min(limits_.max_h2_buffered_bytes,
                                                                         buffered_body_bytes_));
  const size_t n = std::min(size, room);
  half.raw_body.append(reinterpret_cast<const char*>(data), n);
  half.message.body_wire_bytes += n;
  buffered_body_bytes_ += n;
  if (n < size) {
    // A cap is reached: deliver now; the rest of this body is skipped.
    half.raw_truncated = true;
    Deliver(*stream, half);
  }
}

bool Http2Connection::Inflate(Flow& f, const uint8_t* data, size_t size, bool final) {
  static const uint8_t kNothing = 0;
  const uint8_t* in = size > 0 ? data : &kNothing;
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    const ssize_t used = nghttp2_hd_inflate_hd2(f.inflater.get(), &nv, &flags, in, size, final ? 1 : 0);
    if (used < 0) {
      Stop(&ParserStats::http2_hpack_errors);
      return false;
    }
    in += used;
    size -= static_cast<size_t>(used);
    if (flags & NGHTTP2_HD_INFLATE_EMIT) {
      const size_t entry = nv.namelen + nv.valuelen;
      f.block_bytes += entry;
      if (f.block_fields.size() >= limits_.max_headers || f.block_bytes > limits_.max_header_bytes) {
        // Keep inflating (the table must stay in step) but keep nothing.
        f.block_oversized = true;
        f.block_fields.clear();
      }
      if (!f.block_oversized) {
        Header& header = f.block_fields.emplace_back();
        AssignLower(header.name, std::string_view(reinterpret_cast<const char*>(nv.name), nv.namelen));
        header.value.assign(reinterpret_cast<const char*>(nv.value), nv.valuelen);
      }
    }
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(f.inflater.get());
      if (f.table_change_pending) {
        f.table_change_pending = false;
        nghttp2_hd_inflate_change_table_size(f.inflater.get(), f.table_limit);
      }
      return true;
    }
    if ((flags & NGHTTP2_HD_INFLATE_EMIT) == 0 && size == 0) return true;
  }
}

// SETTINGS_HEADER_TABLE_SIZE sent on one direction bounds the table the
// other direction's encoder may use. Only increases are applied: a passive
// decoder must accept whatever the encoder was allowed, and a decrease is
// announced in the header block itself.
void Http2Connection::OnSettingsEntry(Flow& f) {
  const uint16_t id = static_cast<uint16_t>((f.field[0] << 8) | f.field[1]);
  const uint32_t value = (uint32_t{f.field[2]} << 24) | (uint32_t{f.field[3]} << 16) |
                         (uint32_t{f.field[4]} << 8) | f.field[5];
  if (id != kSettingsHeaderTableSize) return;
  Flow& peer = flows_[0].get() == &f ? *flows_[1] : *flows_[0];
  const size_t size = std::min<size_t>(value, kMaxHeaderTableSize);
  if (size <= peer.table_limit) return;
  peer.table_limit = size;
  if (peer.in_block) {
    peer.table_change_pending = true;
  } else {
    nghttp2_hd_inflate_change_table_size(peer.inflater.get(), size);
  }
}

void Http2Connection::OnFrameEnd(Flow& f) {
  const FrameHeader& h = f.frame;
  switch (h.type) {
    case kData:
      if (h.flags & kEndStream) EndHalf(h.stream_id, f.is_client);
      break;
    case kHeaders:
    case kPushPromise:
    case kContinuation:
      if (!(h.flags & kEndHeaders)) break;
      f.in_block = false;
      if (f.block_promise) {
        OnPushPromise(f);
      } else {
        OnHeaderBlock(f);
      }
      break;
    case kRstStream:
      if (Stream* stream = FindStream(h.stream_id)) {
        // A reset stream delivers what it carried; its end never comes.
        DeliverOpen(*stream, false);
        streams_.erase(h.stream_id);
      }
      break;
    default:
      break;
  }
}

void Http2Connection::OnHeaderBlock(Flow& f) {
  const uint32_t id = f.block_stream;
  Stream* stream = FindStream(id);
  if (stream == nullptr) {
    if (f.is_client) {
      // A client stream id at or below one already used belongs to a
      // stream that is over (reset or evicted): nothing to attach it to.
      if (id <= max_client_stream_ && (id & 1)) return;
      if (id & 1) max_client_stream_ = id;
    }
    stream = &OpenStream(id);
    // A response on a stream never seen opened: its request came before
    // capture, and will not come now.
    if (!f.is_client) stream->request.ended = true;
  }
  HalfStream& half = f.is_client ? stream->request : stream->response;
  if (!half.head_done) {
    if (f.block_oversized) {
      ++stats_.oversized_heads;
      half.dropped = true;
      half.head_done = true;
    } else {
      FillHead(f, half, id);
      if (!f.is_client && half.message.status >= 100 && half.message.status < 200) {
        // 1xx: informational, the final head follows.
        ++stats_.interim_responses;
        return;
      }
      half.head_done = true;
      if (f.is_client && half.message.method == "CONNECT") stream->tunnel = true;
      // A tunnel's messages are its heads: what follows is another protocol.
      if (stream->tunnel) Deliver(*stream, half);
    }
  } else if (!half.delivered && !half.dropped && !f.block_oversized) {
    // Trailer fields follow the header fields.
    for (Header& field : f.block_fields) {
      if (!field.name.empty() && field.name[0] != ':') half.message.headers.push_back(std::move(field));
    }
  }
  if (f.block_end_stream) EndHalf(id, f.is_client);
}

void Http2Connection::OnPushPromise(Flow& f) {
  // The promised request is the server's, not the client's: it is not
  // delivered, only kept so the pushed response names what it answers.
  if (f.block_oversized || FindStream(f.promised_stream) != nullptr) return;
  Stream& stream = OpenStream(f.promised_stream);
  FillHead(f, stream.request, f.promised_stream);
  stream.request.head_done = true;
  stream.request.delivered = true;
  stream.request.ended = true;
}

void Http2Connection::FillHead(Flow& f, HalfStream& half, uint32_t stream_id) {
  Message& m = half.message;
  const bool request = f.is_client || f.block_promise;
  m.Reset(request, /*http_protocol=*/2, stream_id);
  size_t cookie_index = SIZE_MAX;
  for (Header& field : f.block_fields) {
    if (request && field.name == ":method") {
      m.method = std::move(field.value);
    } else if (request && field.name == ":path") {
      m.target = std::move(field.value);
    } else if (request && field.name == ":authority") {
      m.authority = std::move(field.value);
    } else if (!request && field.name == ":status") {
      if (!ParseStatus(field.value, m.status)) m.status = 0;  // malformed: 0, and still final
    } else if (field.name == "cookie" && cookie_index != SIZE_MAX) {
      // HTTP/2 may split cookies into fields; they are one header (RFC 9113 8.2.3).
      m.headers[cookie_index].value.append("; ").append(field.value);
    } else {
      if (field.name == "cookie") cookie_index = m.headers.size();
      m.headers.push_back(std::move(field));
    }
  }
  if (request && m.authority.empty()) {
    if (const std::string* host = m.FindHeader("host")) m.authority = *host;
  }
}

void Http2Connection::EndHalf(uint32_t stream_id, bool request_half) {
  Stream* stream = FindStream(stream_id);
  if (stream == nullptr) return;
  HalfStream& half = request_half ? stream->request : stream->response;
  if (half.head_done && !half.delivered && !half.dropped) Deliver(*stream, half);
  half.ended = true;
  if (stream->request.ended && stream->response.ended) streams_.erase(stream_id);
}

void Http2Connection::Deliver(Stream& stream, HalfStream& half) {
  if (&half == &stream.response && stream.request.head_done && !stream.request.dropped) {
    half.message.method = stream.request.message.method;
    half.message.target = stream.request.message.target;
    half.message.authority = stream.request.message.authority;
  }
  buffered_body_bytes_ -= std::min(buffered_body_bytes_, half.raw_body.size());
  half.delivered = true;
  output_.Deliver(half.message, half.raw_body, half.raw_truncated);
  // Only what pairs the response with its request stays.
  half.message.headers.clear();
  std::string().swap(half.message.body);
  std::string().swap(half.raw_body);
}

void Http2Connection::DeliverOpen(Stream& stream, bool capture_gap) {
  for (HalfStream* half : {&stream.request, &stream.response}) {
    if (!half->head_done || half->delivered || half->dropped) continue;
    if (capture_gap) half->message.capture_gap = true;
    Deliver(stream, *half);
  }
}

Http2Connection::Stream* Http2Connection::FindStream(uint32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

Http2Connection::Stream& Http2Connection::OpenStream(uint32_t id) {
  if (streams_.size() >= limits_.max_h2_streams && !streams_.empty()) {
    // The oldest stream goes: it has waited longest for an end that may
    // never come.
    ++stats_.http2_streams_evicted;
    auto oldest = streams_.begin();
    DeliverOpen(oldest->second, true);
    streams_.erase(oldest);
  }
  return streams_[id];
}

void Http2Connection::Stop(uint64_t ParserStats::*reason) {
  if (undecodable_) return;
  undecodable_ = true;
  ++stats_.http2_midway_undecodable;
  ++(stats_.*reason);
  // What was open is delivered as far as it got; the rest is lost.
  for (auto& [id, stream] : streams_) DeliverOpen(stream, true);
  streams_.clear();
  buffered_body_bytes_ = 0;
}

}  // namespace rampart::http::internal

#include "agent/capture/stream_assembler.h"

#include <cstring>

namespace rampart::capture {

StreamAssembler::Stream& StreamAssembler::StreamOf(const rp_capture_header& header) {
  const ConnectionKey key{.pid = header.pid, .ssl = header.ssl, .generation = header.generation};
  auto [it, inserted] = streams_.try_emplace(key);
  if (inserted) {
    EndEarlierGenerations(it);
    it->second.info.key = key;
    it->second.info.comm.assign(header.comm, strnlen(header.comm, sizeof(header.comm)));
    it->second.info.cgroup_id = header.cgroup_id;
  }
  return it->second;
}

void StreamAssembler::AddPeerCertificate(const rp_capture_header& header, std::span<const uint8_t> der) {
  Stream& stream = StreamOf(header);
  stream.last_seen_ns = header.timestamp_ns;
  if ((header.flags & RP_CAPTURE_TUPLE_KNOWN) && !stream.info.tuple_known) {
    stream.info.tuple = header.tuple;
    stream.info.tuple_known = true;
  }
  if (stream.info.peer_certificate) return;
  auto parsed = (header.flags & RP_CAPTURE_TRUNCATED) || der.size() != header.len
                    ? absl::StatusOr<PeerCertificate>(absl::OutOfRangeError("truncated"))
                    : ParsePeerCertificate(der);
  if (!parsed.ok()) {
    ++totals_.peer_certificates_unparsed;
    return;
  }
  stream.info.peer_certificate = std::make_shared<const PeerCertificate>(std::move(*parsed));
  ++totals_.peer_certificates;
}

void StreamAssembler::Add(const rp_capture_header& header, std::span<const uint8_t> data) {
  Stream& stream = StreamOf(header);
  const int dir = header.direction & 1;
  if (!stream.started[dir]) {
    // A stream picked up midway starts where the kernel says it is.
    stream.started[dir] = true;
    stream.next[dir] = header.stream_offset;
  }
  if ((header.flags & RP_CAPTURE_TUPLE_KNOWN) && !stream.info.tuple_known) {
    stream.info.tuple = header.tuple;
    stream.info.tuple_known = true;
  }
  stream.last_seen_ns = header.timestamp_ns;
  stream.info.timestamp_ns = header.timestamp_ns;
  const auto direction = static_cast<Direction>(dir);
  uint64_t& next = stream.next[dir];
  if (header.stream_offset > next) {  // whole calls lost to a full ring buffer
    consumer_.OnGap(stream.info, direction, next, header.stream_offset - next);
    totals_.gap_bytes += header.stream_offset - next;
  }
  if (!data.empty()) {
    consumer_.OnData(stream.info, direction, header.stream_offset, data);
    totals_.bytes += data.size();
  }
  if (header.len > data.size()) {  // the call moved more than the cap let through
    consumer_.OnGap(stream.info, direction, header.stream_offset + data.size(), header.len - data.size());
    totals_.gap_bytes += header.len - data.size();
  }
  next = header.stream_offset + header.len;
}

void StreamAssembler::EndEarlierGenerations(std::map<ConnectionKey, Stream>::iterator current) {
  // Keys order by (pid, ssl, generation): earlier generations sit just before.
  auto it = current;
  while (it != streams_.begin()) {
    auto prev = std::prev(it);
    if (prev->first.pid != current->first.pid || prev->first.ssl != current->first.ssl) break;
    consumer_.OnEnd(prev->second.info);
    it = streams_.erase(prev);
  }
}

size_t StreamAssembler::Expire(uint64_t now_ns, uint64_t idle_ns) {
  size_t removed = 0;
  for (auto it = streams_.begin(); it != streams_.end();) {
    if (now_ns > it->second.last_seen_ns + idle_ns) {
      consumer_.OnEnd(it->second.info);
      it = streams_.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

}  // namespace rampart::capture

// Rebuilds ordered plaintext byte streams, one per connection and direction,
// from captured chunks, and hands them to the inspection pipeline through
// PlaintextConsumer. Bytes the kernel could not deliver (truncated calls,
// chunks lost to a full ring buffer) become explicit gaps of exact size, so a
// parser can resynchronise instead of misreading. Not thread-safe: fed from
// the capture reader thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <tuple>

#include "agent/capture/peer_certificate.h"
#include "rampart/abi.h"

namespace rampart::capture {

// A TLS connection as the capturing process sees it.
// An SSL pointer can be freed and reused for a later connection: the kernel
// then bumps the generation, and a new stream begins.
struct ConnectionKey {
  uint32_t pid = 0;
  uint64_t ssl = 0;
  uint32_t generation = 0;
  auto operator<=>(const ConnectionKey&) const = default;
};

struct ConnectionInfo {
  ConnectionKey key;
  std::string comm;
  uint64_t cgroup_id = 0;
  rp_conn_tuple tuple{};
  bool tuple_known = false;
  uint64_t timestamp_ns = 0;  // kernel time (CLOCK_MONOTONIC) of the chunk being delivered
  // The certificate the peer presented in this connection's handshake; null
  // when it presented none, the handshake was not seen (attached later, or a
  // resumed session), or certificate capture is off. On a server-side
  // connection this is the client's certificate (mTLS); on a client-side one
  // the server's.
  std::shared_ptr<const PeerCertificate> peer_certificate;
};

enum class Direction : uint8_t { kWrite = RP_CAPTURE_WRITE, kRead = RP_CAPTURE_READ };

// The narrow interface between capture and inspection.
class PlaintextConsumer {
 public:
  virtual ~PlaintextConsumer() = default;
  // `data` continues the stream at `offset` (bytes since the stream began).
  virtual void OnData(const ConnectionInfo& connection, Direction direction, uint64_t offset,
                      std::span<const uint8_t> data) = 0;
  // `bytes` of the stream at `offset` were not captured.
  virtual void OnGap(const ConnectionInfo& connection, Direction direction, uint64_t offset, uint64_t bytes) = 0;
  // No more data will come for `connection`: its SSL object moved on to a
  // new connection, or it went idle. Parsers drop its state here.
  virtual void OnEnd(const ConnectionInfo& connection) {}
};

struct StreamTotals {
  uint64_t bytes = 0;      // delivered to the consumer
  uint64_t gap_bytes = 0;  // reported as gaps
  uint64_t peer_certificates = 0;           // attached to their connection
  uint64_t peer_certificates_unparsed = 0;  // truncated by the kernel, or not X.509
};

class StreamAssembler {
 public:
  explicit StreamAssembler(PlaintextConsumer& consumer) : consumer_(consumer) {}

  void Add(const rp_capture_header& header, std::span<const uint8_t> data);
  // A peer certificate record (RP_CAPTURE_PEER_CERT): parsed here, its names
  // attached to the connection, the DER dropped. The first certificate of a
  // connection is kept; later ones (renegotiation) are ignored. Records
  // arrive in ring-buffer order, before the plaintext the handshake precedes.
  void AddPeerCertificate(const rp_capture_header& header, std::span<const uint8_t> der);
  // Forgets connections with no chunk for `idle_ns` (SSL objects die without a probe).
  size_t Expire(uint64_t now_ns, uint64_t idle_ns);

  const StreamTotals& totals() const { return totals_; }
  size_t connections() const { return streams_.size(); }

 private:
  struct Stream {
    ConnectionInfo info;
    uint64_t next[2] = {0, 0};  // next expected offset per direction
    bool started[2] = {false, false};
    uint64_t last_seen_ns = 0;
  };

  // The connection of `header`, created (and earlier generations of its SSL
  // pointer ended) on first sight.
  Stream& StreamOf(const rp_capture_header& header);
  void EndEarlierGenerations(std::map<ConnectionKey, Stream>::iterator current);

  PlaintextConsumer& consumer_;
  std::map<ConnectionKey, Stream> streams_;
  StreamTotals totals_;
};

}  // namespace rampart::capture

// Shared pieces of the TLS capture acceptance tests (issue 4): a recorder
// that rebuilds what the probes captured through the real StreamAssembler,
// one-shot processes whose pid the test knows, a parser for `curl --trace`
// (the independent record of the exact bytes curl sent and received), and
// self-removing temporary directories.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "agent/capture/stream_assembler.h"
#include "rampart/abi.h"

namespace rampart::testing {

// One direction of one TLS connection (pid, SSL object), as the consumer of
// StreamAssembler saw it, with the raw chunk headers beside it.
struct RecordedStream {
  uint32_t pid = 0;
  uint64_t ssl = 0;
  capture::Direction direction = capture::Direction::kWrite;
  std::string comm;
  capture::ConnectionInfo info;  // as the assembler last reported it
  // Delivered bytes by stream offset (OnData), and the gaps (OnGap).
  std::map<uint64_t, std::string> data;
  std::map<uint64_t, uint64_t> gaps;
  uint64_t data_bytes = 0;
  uint64_t gap_bytes = 0;
  // From the chunk headers.
  uint64_t chunks = 0;
  uint64_t moved = 0;     // sum of header.len
  uint64_t captured = 0;  // sum of header.captured
  uint64_t truncated_chunks = 0;
  uint64_t chunks_with_tuple = 0;
  uint64_t end_offset = 0;  // stream_offset + len of the last chunk
  std::set<std::tuple<std::string, uint16_t, std::string, uint16_t, uint8_t>> tuples;  // per chunk

  // The delivered bytes in order, when they are contiguous from offset 0
  // with no gap; otherwise the bytes with gaps skipped.
  std::string Bytes() const;
  bool Contiguous() const;  // no gap and data covers [first offset, end_offset)
};

// Feeds every chunk through a StreamAssembler and records what comes out.
// Thread-safe; Sink() is what SslCaptureProbe::Load takes.
class CaptureRecorder final : public capture::PlaintextConsumer {
 public:
  void OnChunk(const rp_capture_header& header, std::span<const uint8_t> data);
  // Peer certificate records (SslCaptureProbe's PeerCertSink): into the
  // assembler, which hangs the names on the connection (RecordedStream::info).
  void OnPeerCertificate(const rp_capture_header& header, std::span<const uint8_t> der);
  uint64_t peer_certificates() const;  // records received

  // While held, OnChunk (the probe's reader thread) blocks, so the ring
  // buffer fills up as it would behind a slow consumer.
  void Hold();
  void Release();

  std::vector<RecordedStream> Streams(uint32_t pid, capture::Direction direction) const;
  std::vector<RecordedStream> StreamsOf(const std::string& comm, capture::Direction direction) const;
  uint64_t chunks() const;
  uint64_t chunks_of(uint32_t pid) const;
  capture::StreamTotals totals() const;
  // Sum of header.captured over every chunk received (all processes).
  uint64_t captured_bytes() const;

  // capture::PlaintextConsumer (called under the recorder's lock)
  void OnData(const capture::ConnectionInfo& connection, capture::Direction direction, uint64_t offset,
              std::span<const uint8_t> data) override;
  void OnGap(const capture::ConnectionInfo& connection, capture::Direction direction, uint64_t offset,
             uint64_t bytes) override;

 private:
  using Key = std::tuple<uint32_t, uint64_t, uint8_t, uint32_t>;  // pid, ssl, direction, generation
  RecordedStream& StreamFor(uint32_t pid, uint64_t ssl, uint32_t generation, capture::Direction direction);

  mutable std::mutex mu_;
  std::condition_variable released_;
  bool held_ = false;
  capture::StreamAssembler assembler_{*this};
  std::map<Key, RecordedStream> streams_;
  uint64_t chunks_ = 0;
  uint64_t peer_certificates_ = 0;
  uint64_t captured_bytes_ = 0;
  std::map<uint32_t, uint64_t> chunks_by_pid_;
};

// "127.0.0.1" for an IPv4-mapped address.
std::string FormatIpv4Mapped(const uint8_t address[16]);

// A process run to completion: its pid (what the chunks carry) and exit status.
struct Finished {
  pid_t pid = -1;
  int status = -1;  // exit code, -1 when killed or not started
};
// Runs argv with stdout to `stdout_path` and stderr appended to `stderr_path`;
// kills it (by its pid) after `timeout`.
Finished RunToExit(const std::vector<std::string>& argv, const std::string& stdout_path,
                   const std::string& stderr_path, std::chrono::milliseconds timeout);

// What curl --trace FILE recorded as sent and received at the HTTP layer
// ("Send header"/"Send data", "Recv header"/"Recv data"), in order: the
// plaintext curl gave to and got from TLS.
struct CurlTrace {
  std::string sent;
  std::string received;
  bool ok = false;
};
CurlTrace ParseCurlTrace(const std::string& path);

std::string ReadFile(const std::string& path);

// mkdtemp under /tmp; removed by the destructor. Tests call keep() when they
// failed, which keeps it only when RAMPART_KEEP_TEST_DIRS=1 is set: a failed
// test prints its logs anyway, and a CI machine or a developer's /tmp should
// not fill with the directories of failed runs (keys, certificates, logs).
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  const std::string& path() const { return path_; }
  bool keep();  // whether it is kept

 private:
  std::string path_;
  bool keep_ = false;
};

}  // namespace rampart::testing

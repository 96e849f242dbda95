// Owns the TLS capture BPF object (bpf/progs/capture.bpf.c): attaches its
// uprobes to OpenSSL functions in chosen files and processes, reads captured
// chunks from the ring buffer and hands them to a sink. Plaintext never goes
// anywhere else: not to logs, not to events.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "rampart/abi.h"

struct capture_bpf;
struct bpf_link;
struct ring_buffer;

namespace rampart::capture {

// The OpenSSL entry points Rampart probes (1.1 and 3.x).
inline const std::vector<std::string> kSslFunctions = {"SSL_write", "SSL_read", "SSL_write_ex", "SSL_read_ex",
                                                       "SSL_do_handshake"};

struct CaptureOptions {
  uint32_t max_bytes_per_call = RP_CAPTURE_MAX_CHUNK;  // at most RP_CAPTURE_MAX_CHUNK
  uint32_t ring_bytes = 8 * 1024 * 1024;               // a power of two
};

struct CaptureStats {
  uint64_t calls = 0;
  uint64_t bytes = 0;
  uint64_t bytes_captured = 0;
  uint64_t bytes_truncated = 0;
  uint64_t chunks_lost = 0;
  uint64_t bytes_lost = 0;
  uint64_t tuple_misses = 0;
};

// Receives every captured chunk, on the probe's reader thread.
using ChunkSink = std::function<void(const rp_capture_header& header, std::span<const uint8_t> data)>;

class SslCaptureProbe {
 public:
  static absl::StatusOr<std::unique_ptr<SslCaptureProbe>> Load(const CaptureOptions& options, ChunkSink sink);
  ~SslCaptureProbe();

  // Attaches entry and return probes on each of `functions` (name -> file
  // offset, from FindFunctions) in the file at `path`, for process `pid`
  // only, or for every process mapping the file when pid is -1. Returns the
  // number of probes attached. Idempotent per (path, pid).
  absl::StatusOr<int> Attach(const std::string& path, pid_t pid, const std::map<std::string, uint64_t>& functions);
  // Drops the probes of (path, pid), e.g. when the process exited.
  void Detach(const std::string& path, pid_t pid);
  size_t attached_probes() const;

  CaptureStats Stats() const;

 private:
  SslCaptureProbe() = default;
  static int OnRecord(void* self, void* data, size_t size);

  capture_bpf* skel_ = nullptr;
  ring_buffer* ring_ = nullptr;
  ChunkSink sink_;
  bpf_link* sock_send_ = nullptr;
  bpf_link* sock_recv_ = nullptr;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, pid_t>, std::vector<bpf_link*>> links_;
  std::atomic<bool> stop_{false};
  std::thread reader_;
};

}  // namespace rampart::capture

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

// How an SSL call's socket is learned: BTF tracepoints in the socket layer
// (since 6.3, preferred: a stable interface), fentry, or kprobes on
// sock_sendmsg/sock_recvmsg. `auto` probes the kernel in that order.
enum class SocketHook { kAuto, kTracepoint, kFentry, kKprobe };
std::string_view SocketHookName(SocketHook hook);  // "auto", "tp_btf", "fentry", "kprobe"
absl::StatusOr<SocketHook> ParseSocketHook(std::string_view text);

struct CaptureOptions {
  SocketHook socket_hook = SocketHook::kAuto;
  uint32_t max_bytes_per_call = RP_CAPTURE_MAX_CHUNK;  // at most RP_CAPTURE_MAX_CHUNK
  uint32_t ring_bytes = 8 * 1024 * 1024;               // a power of two
  // How often the reader drains the ring buffer when chunks do not wake it:
  // the most a chunk waits before inspection sees it.
  int poll_interval_ms = 2;
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
  // The hook in use, and why the ones before it were not (auto).
  SocketHook socket_hook() const { return socket_hook_; }
  const std::vector<std::string>& hooks_refused() const { return hooks_refused_; }

 private:
  SslCaptureProbe() = default;
  // Opens, loads and attaches the object with `hook`'s socket programs.
  absl::Status LoadWith(const CaptureOptions& options, SocketHook hook);
  static int OnRecord(void* self, void* data, size_t size);

  capture_bpf* skel_ = nullptr;
  ring_buffer* ring_ = nullptr;
  ChunkSink sink_;
  bpf_link* sock_send_ = nullptr;
  bpf_link* sock_recv_ = nullptr;
  SocketHook socket_hook_ = SocketHook::kAuto;
  std::vector<std::string> hooks_refused_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, pid_t>, std::vector<bpf_link*>> links_;
  std::atomic<bool> stop_{false};
  std::thread reader_;
};

}  // namespace rampart::capture

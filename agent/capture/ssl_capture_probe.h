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
#include "agent/capture/reader_scheduling.h"
#include "rampart/abi.h"

struct capture_bpf;
struct bpf_link;
struct ring_buffer;

namespace rampart::capture {

// The OpenSSL entry points Rampart probes (1.1 and 3.x).
inline const std::vector<std::string> kSslFunctions = {"SSL_write", "SSL_read", "SSL_write_ex", "SSL_read_ex",
                                                       "SSL_do_handshake"};
// libcrypto's certificate parser, probed (entry only) for the peer's
// certificate during handshakes. It lives in libcrypto, not libssl: a
// separate file of the same process, or the same static binary.
inline constexpr char kPeerCertFunction[] = "d2i_X509";

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
  // Capture the certificate each TLS peer presents (the mTLS client's, on a
  // server): a uprobe on d2i_X509 that only acts inside SSL calls.
  bool peer_certificates = true;
  // The reader thread (drains the ring buffer, runs the sink) raised within a
  // CPU budget, high (nice -20) or real-time, or at normal scheduling
  // (reader_scheduling.h).
  ReaderScheduling reader_scheduling = ReaderScheduling::kHigh;
};

struct CaptureStats {
  uint64_t calls = 0;
  uint64_t bytes = 0;
  uint64_t bytes_captured = 0;
  uint64_t bytes_truncated = 0;
  uint64_t chunks_lost = 0;
  uint64_t bytes_lost = 0;
  uint64_t tuple_misses = 0;
  uint64_t peer_certs = 0;            // peer certificates seen in handshakes
  uint64_t peer_certs_truncated = 0;  // of which over RP_PEER_CERT_MAX bytes (not parsed)
  uint64_t peer_certs_lost = 0;       // of which lost to a full ring buffer
};

// Receives every captured chunk, on the probe's reader thread.
using ChunkSink = std::function<void(const rp_capture_header& header, std::span<const uint8_t> data)>;
// Receives peer certificate records (RP_CAPTURE_PEER_CERT; `data` is DER,
// empty when truncated) on the same thread, in ring-buffer order with the
// chunks. They never reach the ChunkSink.
using PeerCertSink = ChunkSink;

class SslCaptureProbe {
 public:
  // `certs` may be empty: certificate records are then dropped.
  static absl::StatusOr<std::unique_ptr<SslCaptureProbe>> Load(const CaptureOptions& options, ChunkSink sink,
                                                               PeerCertSink certs = nullptr);
  ~SslCaptureProbe();

  // Attaches entry and return probes on each of `functions` (name -> file
  // offset, from FindFunctions; kPeerCertFunction gets an entry probe only,
  // and none when peer_certificates is off) in the file at `path`, for process `pid`
  // only, or for every process mapping the file when pid is -1. Returns the
  // number of probes attached. Idempotent per (path, pid).
  absl::StatusOr<int> Attach(const std::string& path, pid_t pid, const std::map<std::string, uint64_t>& functions);
  // Drops the probes of (path, pid), e.g. when the process exited.
  void Detach(const std::string& path, pid_t pid);
  size_t attached_probes() const;
  bool peer_certificates() const { return peer_certificates_; }  // CaptureOptions::peer_certificates

  CaptureStats Stats() const;
  // The hook in use, and why the ones before it were not (auto).
  SocketHook socket_hook() const { return socket_hook_; }
  const std::vector<std::string>& hooks_refused() const { return hooks_refused_; }
  // How the reader thread is scheduled now, and why.
  ReaderScheduler::Status reader_scheduling() const { return scheduler_->status(); }

 private:
  SslCaptureProbe() = default;
  // Opens, loads and attaches the object with `hook`'s socket programs and
  // the hooks that keep threads' names and cgroups current.
  absl::Status LoadWith(const CaptureOptions& options, SocketHook hook);
  static int OnRecord(void* self, void* data, size_t size);
  void DetachKernelHooks();

  capture_bpf* skel_ = nullptr;
  ring_buffer* ring_ = nullptr;
  ChunkSink sink_;
  PeerCertSink certs_;
  bool peer_certificates_ = true;
  // Host-wide programs: the socket hooks, and those that keep each thread's
  // name and cgroup id current (task_rename, cgroup_attach_task).
  std::vector<bpf_link*> kernel_hooks_;
  SocketHook socket_hook_ = SocketHook::kAuto;
  std::vector<std::string> hooks_refused_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, pid_t>, std::vector<bpf_link*>> links_;
  std::atomic<bool> stop_{false};
  std::unique_ptr<ReaderScheduler> scheduler_;  // the reader's; set before it starts
  std::thread reader_;
};

}  // namespace rampart::capture

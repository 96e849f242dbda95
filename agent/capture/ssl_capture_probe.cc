#include "agent/capture/ssl_capture_probe.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>

#include "agent/common/errors.h"
#include "agent/common/strings.h"
#include "capture.skel.h"

namespace rampart::capture {
namespace {

struct ProbePair {
  const char* function;
  bpf_program* entry;
  bpf_program* exit;
};

}  // namespace

std::string_view SocketHookName(SocketHook hook) {
  switch (hook) {
    case SocketHook::kAuto: return "auto";
    case SocketHook::kTracepoint: return "tp_btf";
    case SocketHook::kFentry: return "fentry";
    case SocketHook::kKprobe: return "kprobe";
  }
  return "unknown";
}

absl::StatusOr<SocketHook> ParseSocketHook(std::string_view text) {
  for (SocketHook h : {SocketHook::kAuto, SocketHook::kTracepoint, SocketHook::kFentry, SocketHook::kKprobe}) {
    if (SocketHookName(h) == text) return h;
  }
  return absl::InvalidArgumentError(
      rampart::StrCat("bad socket hook \"", text, "\" (expected auto, tp_btf, fentry or kprobe)"));
}

namespace {

// Whether this kernel's BTF has the socket tracepoints (a feature probe, not
// a version check: backports and configs vary).
bool KernelHasSocketTracepoints() {
  btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) return false;
  const bool found = btf__find_by_name_kind(vmlinux, "btf_trace_sock_send_length", BTF_KIND_TYPEDEF) >= 0 &&
                     btf__find_by_name_kind(vmlinux, "btf_trace_sock_recv_length", BTF_KIND_TYPEDEF) >= 0;
  btf__free(vmlinux);
  return found;
}

}  // namespace

absl::Status SslCaptureProbe::LoadWith(const CaptureOptions& options, SocketHook hook) {
  skel_ = capture_bpf__open();
  if (!skel_) return ErrnoError(errno, "open BPF object capture.bpf.o");
  skel_->rodata->max_bytes_per_call = std::min<uint32_t>(options.max_bytes_per_call, RP_CAPTURE_MAX_CHUNK);
  skel_->rodata->wakeup_bytes = options.ring_bytes / 4;
  bpf_map__set_max_entries(skel_->maps.rampart_capture, options.ring_bytes);
  bpf_program__set_autoload(skel_->progs.rampart_d2i_x509, options.peer_certificates);
  struct {
    SocketHook hook;
    bpf_program* send;
    bpf_program* recv;
  } const sets[] = {
      {SocketHook::kTracepoint, skel_->progs.rampart_sock_send, skel_->progs.rampart_sock_recv},
      {SocketHook::kFentry, skel_->progs.rampart_fentry_sock_sendmsg, skel_->progs.rampart_fentry_sock_recvmsg},
      {SocketHook::kKprobe, skel_->progs.rampart_kprobe_sock_sendmsg, skel_->progs.rampart_kprobe_sock_recvmsg},
  };
  bpf_program* send = nullptr;
  bpf_program* recv = nullptr;
  for (const auto& set : sets) {
    bpf_program__set_autoload(set.send, set.hook == hook);
    bpf_program__set_autoload(set.recv, set.hook == hook);
    if (set.hook == hook) {
      send = set.send;
      recv = set.recv;
    }
  }
  const std::string what(SocketHookName(hook));
  if (int err = capture_bpf__load(skel_); err != 0) return ErrnoError(err, "load capture.bpf.o with " + what);
  const std::pair<bpf_program*, std::string> hooks[] = {
      {send, what + " socket send hook"},
      {recv, what + " socket receive hook"},
      {skel_->progs.rampart_task_rename, "tp_btf/task_rename"},
      {skel_->progs.rampart_cgroup_attach_task, "tp_btf/cgroup_attach_task"},
  };
  for (const auto& [program, name] : hooks) {
    bpf_link* link = bpf_program__attach(program);
    if (!link) return ErrnoError(errno, "attach " + name);
    kernel_hooks_.push_back(link);
  }
  return absl::OkStatus();
}

void SslCaptureProbe::DetachKernelHooks() {
  for (bpf_link* link : kernel_hooks_) bpf_link__destroy(link);
  kernel_hooks_.clear();
}

absl::StatusOr<std::unique_ptr<SslCaptureProbe>> SslCaptureProbe::Load(const CaptureOptions& options, ChunkSink sink,
                                                                     PeerCertSink certs) {
  std::unique_ptr<SslCaptureProbe> probe(new SslCaptureProbe());
  probe->sink_ = std::move(sink);
  probe->certs_ = std::move(certs);
  probe->peer_certificates_ = options.peer_certificates;
  std::vector<SocketHook> candidates = {options.socket_hook};
  if (options.socket_hook == SocketHook::kAuto) {
    candidates = {SocketHook::kTracepoint, SocketHook::kFentry, SocketHook::kKprobe};
  }
  absl::Status last;
  for (SocketHook hook : candidates) {
    if (hook == SocketHook::kTracepoint && !KernelHasSocketTracepoints()) {
      last = absl::UnavailableError("tp_btf: sock_send_length/sock_recv_length not in the kernel's BTF");
    } else {
      last = probe->LoadWith(options, hook);
    }
    if (last.ok()) {
      probe->socket_hook_ = hook;
      break;
    }
    probe->hooks_refused_.push_back(std::string(last.message()));
    probe->DetachKernelHooks();
    capture_bpf__destroy(probe->skel_);
    probe->skel_ = nullptr;
  }
  if (!last.ok()) {
    std::string all;
    for (const auto& r : probe->hooks_refused_) all += (all.empty() ? "" : "; ") + r;
    return absl::UnavailableError("no way to learn the sockets of SSL calls: " + all);
  }
  // Every record passes the reader's budget check first (a clock read).
  auto on_record = [](void* self, void* data, size_t size) {
    static_cast<SslCaptureProbe*>(self)->scheduler_->BeforeRecord();
    return OnRecord(self, data, size);
  };
  probe->ring_ = ring_buffer__new(bpf_map__fd(probe->skel_->maps.rampart_capture), on_record, probe.get(), nullptr);
  if (!probe->ring_) return ErrnoError(errno, "open ring buffer rampart_capture");
  // Chunks do not wake the reader (see wakeup_bytes in capture.bpf.c) until
  // the ring is a quarter full: it drains them every poll interval, which
  // bounds how long a captured chunk waits for inspection. A CPU-bound task
  // would add its time slice to that wait; the reader runs raised (nice -20)
  // unless told otherwise (reader_scheduling.h).
  probe->scheduler_ = std::make_unique<ReaderScheduler>(options.reader_scheduling);
  probe->reader_ = std::thread([p = probe.get(), interval = options.poll_interval_ms] {
    p->scheduler_->Start();
    while (!p->stop_) {
      ring_buffer__poll(p->ring_, interval);
      ring_buffer__consume(p->ring_);
      p->scheduler_->AfterDrain();
    }
  });
  return probe;
}

SslCaptureProbe::~SslCaptureProbe() {
  stop_ = true;
  if (reader_.joinable()) reader_.join();
  {
    std::lock_guard lock(mu_);
    for (auto& [key, links] : links_) {
      for (bpf_link* link : links) bpf_link__destroy(link);
    }
    links_.clear();
  }
  DetachKernelHooks();
  ring_buffer__free(ring_);
  capture_bpf__destroy(skel_);
}

int SslCaptureProbe::OnRecord(void* self, void* data, size_t size) {
  auto* probe = static_cast<SslCaptureProbe*>(self);
  if (size < sizeof(rp_capture_header)) return 0;
  const auto* header = static_cast<const rp_capture_header*>(data);
  const size_t captured = std::min<size_t>(header->captured, size - sizeof(rp_capture_header));
  if (header->flags & RP_CAPTURE_PEER_CERT) {
    if (probe->certs_) {
      probe->certs_(*header, std::span<const uint8_t>(static_cast<const uint8_t*>(data) + sizeof(rp_capture_header),
                                                      captured));
    }
    return 0;
  }
  probe->sink_(*header, std::span<const uint8_t>(static_cast<const uint8_t*>(data) + sizeof(rp_capture_header),
                                                 captured));
  return 0;
}

absl::StatusOr<int> SslCaptureProbe::Attach(const std::string& path, pid_t pid,
                                            const std::map<std::string, uint64_t>& functions) {
  std::lock_guard lock(mu_);
  if (links_.contains({path, pid})) return 0;
  const ProbePair pairs[] = {
      {"SSL_write", skel_->progs.rampart_ssl_write, skel_->progs.rampart_ssl_write_ret},
      {"SSL_read", skel_->progs.rampart_ssl_read, skel_->progs.rampart_ssl_read_ret},
      {"SSL_write_ex", skel_->progs.rampart_ssl_write_ex, skel_->progs.rampart_ssl_write_ex_ret},
      {"SSL_read_ex", skel_->progs.rampart_ssl_read_ex, skel_->progs.rampart_ssl_read_ex_ret},
      // Moves no plaintext; its socket calls name the connection before the
      // first read, and reveal a reused SSL pointer (see capture.bpf.c).
      {"SSL_do_handshake", skel_->progs.rampart_ssl_handshake, skel_->progs.rampart_ssl_handshake_ret},
      // Entry only: the DER is read before the parse moves `*in`.
      {kPeerCertFunction, peer_certificates_ ? skel_->progs.rampart_d2i_x509 : nullptr, nullptr},
  };
  std::vector<bpf_link*> links;
  auto undo = [&] {
    for (bpf_link* link : links) bpf_link__destroy(link);
  };
  for (const ProbePair& pair : pairs) {
    auto it = functions.find(pair.function);
    if (it == functions.end() || pair.entry == nullptr) continue;
    for (bool retprobe : {false, true}) {
      if (retprobe && pair.exit == nullptr) continue;
      LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe);
      bpf_link* link = bpf_program__attach_uprobe_opts(retprobe ? pair.exit : pair.entry, pid, path.c_str(),
                                                       it->second, &opts);
      if (!link) {
        int err = errno;
        undo();
        return ErrnoError(err, rampart::StrCat("attach ", retprobe ? "uretprobe" : "uprobe", " ", pair.function,
                                               " in ", path, pid >= 0 ? rampart::StrCat(" for pid ", pid) : ""));
      }
      links.push_back(link);
    }
  }
  const int count = static_cast<int>(links.size());
  links_[{path, pid}] = std::move(links);
  return count;
}

void SslCaptureProbe::Detach(const std::string& path, pid_t pid) {
  std::lock_guard lock(mu_);
  auto it = links_.find({path, pid});
  if (it == links_.end()) return;
  for (bpf_link* link : it->second) bpf_link__destroy(link);
  links_.erase(it);
}

size_t SslCaptureProbe::attached_probes() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [key, links] : links_) n += links.size();
  return n;
}

CaptureStats SslCaptureProbe::Stats() const {
  const int cpus = libbpf_num_possible_cpus();
  std::vector<uint64_t> values(cpus > 0 ? cpus : 1);
  auto sum = [&](uint32_t key) {
    uint64_t total = 0;
    if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.rampart_capstat), &key, values.data()) == 0) {
      for (uint64_t v : values) total += v;
    }
    return total;
  };
  return CaptureStats{.calls = sum(RP_CAP_CALLS),
                      .bytes = sum(RP_CAP_BYTES),
                      .bytes_captured = sum(RP_CAP_BYTES_CAPTURED),
                      .bytes_truncated = sum(RP_CAP_BYTES_TRUNCATED),
                      .chunks_lost = sum(RP_CAP_CHUNKS_LOST),
                      .bytes_lost = sum(RP_CAP_BYTES_LOST),
                      .tuple_misses = sum(RP_CAP_TUPLE_MISSES),
                      .peer_certs = sum(RP_CAP_PEER_CERTS),
                      .peer_certs_truncated = sum(RP_CAP_PEER_CERTS_TRUNCATED),
                      .peer_certs_lost = sum(RP_CAP_PEER_CERTS_LOST)};
}

}  // namespace rampart::capture

#include "agent/capture/ssl_capture_probe.h"

#include <bpf/bpf.h>
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

absl::StatusOr<std::unique_ptr<SslCaptureProbe>> SslCaptureProbe::Load(const CaptureOptions& options, ChunkSink sink) {
  std::unique_ptr<SslCaptureProbe> probe(new SslCaptureProbe());
  probe->sink_ = std::move(sink);
  probe->skel_ = capture_bpf__open();
  if (!probe->skel_) return ErrnoError(errno, "open BPF object capture.bpf.o");
  probe->skel_->rodata->max_bytes_per_call = std::min<uint32_t>(options.max_bytes_per_call, RP_CAPTURE_MAX_CHUNK);
  bpf_map__set_max_entries(probe->skel_->maps.rampart_capture, options.ring_bytes);
  if (int err = capture_bpf__load(probe->skel_); err != 0) return ErrnoError(err, "load BPF object capture.bpf.o");
  probe->sock_send_ = bpf_program__attach(probe->skel_->progs.rampart_sock_send);
  if (!probe->sock_send_) return ErrnoError(errno, "attach tp_btf/sock_send_length");
  probe->sock_recv_ = bpf_program__attach(probe->skel_->progs.rampart_sock_recv);
  if (!probe->sock_recv_) return ErrnoError(errno, "attach tp_btf/sock_recv_length");
  probe->ring_ = ring_buffer__new(bpf_map__fd(probe->skel_->maps.rampart_capture), &SslCaptureProbe::OnRecord,
                                  probe.get(), nullptr);
  if (!probe->ring_) return ErrnoError(errno, "open ring buffer rampart_capture");
  probe->reader_ = std::thread([p = probe.get()] {
    while (!p->stop_) ring_buffer__poll(p->ring_, 100);
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
  bpf_link__destroy(sock_send_);
  bpf_link__destroy(sock_recv_);
  ring_buffer__free(ring_);
  capture_bpf__destroy(skel_);
}

int SslCaptureProbe::OnRecord(void* self, void* data, size_t size) {
  auto* probe = static_cast<SslCaptureProbe*>(self);
  if (size < sizeof(rp_capture_header)) return 0;
  const auto* header = static_cast<const rp_capture_header*>(data);
  const size_t captured = std::min<size_t>(header->captured, size - sizeof(rp_capture_header));
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
  };
  std::vector<bpf_link*> links;
  auto undo = [&] {
    for (bpf_link* link : links) bpf_link__destroy(link);
  };
  for (const ProbePair& pair : pairs) {
    auto it = functions.find(pair.function);
    if (it == functions.end()) continue;
    for (bool retprobe : {false, true}) {
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
                      .tuple_misses = sum(RP_CAP_TUPLE_MISSES)};
}

}  // namespace rampart::capture

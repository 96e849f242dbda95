#include "agent/datapath/drop_events.h"

#include <bpf/libbpf.h>
#include <errno.h>

#include "agent/common/errors.h"

namespace rampart::datapath {

absl::StatusOr<std::unique_ptr<DropEventReader>> DropEventReader::Start(int ringbuf_fd) {
  std::unique_ptr<DropEventReader> reader(new DropEventReader());
  reader->ring_ = ring_buffer__new(ringbuf_fd, &DropEventReader::OnEvent, reader.get(), nullptr);
  if (!reader->ring_) return ErrnoError(errno, "open ring buffer rampart_events");
  reader->thread_ = std::thread([r = reader.get()] {
    while (!r->stop_) ring_buffer__poll(r->ring_, 200);
  });
  return reader;
}

DropEventReader::~DropEventReader() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  ring_buffer__free(ring_);
}

int DropEventReader::OnEvent(void* self, void* data, size_t size) {
  auto* reader = static_cast<DropEventReader*>(self);
  if (size < sizeof(rp_drop_event)) return 0;
  const auto& event = *static_cast<const rp_drop_event*>(data);
  std::lock_guard lock(reader->mu_);
  for (auto& [token, subscriber] : reader->subscribers_) subscriber(event);
  reader->delivered_++;
  return 0;
}

int DropEventReader::Subscribe(Subscriber subscriber) {
  std::lock_guard lock(mu_);
  int token = next_token_++;
  subscribers_[token] = std::move(subscriber);
  return token;
}

void DropEventReader::Unsubscribe(int token) {
  std::lock_guard lock(mu_);
  subscribers_.erase(token);
}

}  // namespace rampart::datapath

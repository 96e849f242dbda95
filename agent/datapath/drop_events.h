// Reads sampled drop events from the rampart_events ring buffer on its own
// thread and hands each to the current subscribers. Nothing is logged per
// event; an event nobody watches is discarded after reading.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "rampart/abi.h"

struct ring_buffer;

namespace rampart::datapath {

class DropEventReader {
 public:
  using Subscriber = std::function<void(const rp_drop_event&)>;

  static absl::StatusOr<std::unique_ptr<DropEventReader>> Start(int ringbuf_fd);
  ~DropEventReader();

  // Returns a token for Unsubscribe. Subscribers run on the reader thread.
  int Subscribe(Subscriber subscriber);
  void Unsubscribe(int token);
  uint64_t delivered() const { return delivered_.load(); }

 private:
  DropEventReader() = default;
  static int OnEvent(void* self, void* data, size_t size);

  ring_buffer* ring_ = nullptr;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> delivered_{0};
  std::mutex mu_;
  int next_token_ = 1;
  std::map<int, Subscriber> subscribers_;
  std::thread thread_;
};

}  // namespace rampart::datapath

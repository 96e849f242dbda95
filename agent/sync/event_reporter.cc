#include "agent/sync/event_reporter.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <random>

#include "agent/common/logging.h"
#include "agent/common/strings.h"
#include "agent/sync/reconnect_backoff.h"
#include "rampart/v1/events.grpc.pb.h"

namespace rampart::sync {
namespace {

constexpr auto kInitialBackoff = std::chrono::milliseconds(500);
constexpr auto kMaxBackoff = std::chrono::seconds(15);

std::string RandomRunId() {
  std::random_device random;
  std::mt19937_64 rng((static_cast<uint64_t>(random()) << 32) ^ random());
  char id[17];
  snprintf(id, sizeof(id), "%016llx", static_cast<unsigned long long>(rng()));
  return id;
}

}  // namespace

EventReporter::EventReporter(ChannelSource channel, EventReporterOptions options)
    : channel_(std::move(channel)), options_(options), run_id_(RandomRunId()) {}

EventReporter::~EventReporter() { Stop(); }

void EventReporter::Start() { thread_ = std::thread([this] { Run(); }); }

void EventReporter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (active_context_) active_context_->TryCancel();
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EventReporter::Report(const v1::Finding& finding) {
  v1::AgentEvent event;
  *event.mutable_finding() = finding;
  Enqueue(std::move(event));
}

void EventReporter::Report(const v1::DropSummary& drops) {
  v1::AgentEvent event;
  *event.mutable_drops() = drops;
  Enqueue(std::move(event));
}

void EventReporter::Report(const v1::ApiInventoryReply& inventory) {
  v1::AgentEvent event;
  *event.mutable_api_inventory() = inventory;
  Enqueue(std::move(event));
}

void EventReporter::Enqueue(v1::AgentEvent event) {
  {
    std::lock_guard lock(mu_);
    event.set_seq(next_seq_++);
    if (queue_.size() >= options_.max_queued) {
      queue_.pop_front();
      ++dropped_;
    }
    queue_.push_back(std::move(event));
  }
  changed_.notify_all();
}

EventReporter::Counts EventReporter::counts() const {
  std::lock_guard lock(mu_);
  return Counts{.queued = queue_.size(), .acked = acked_, .dropped = dropped_, .connected = connected_};
}

void EventReporter::Run() {
  auto log = Logger("events");
  ReconnectBackoff backoff(kInitialBackoff, std::chrono::duration_cast<std::chrono::milliseconds>(kMaxBackoff));
  std::string last_reason;
  while (true) {
    auto channel = channel_();
    std::string reason = "no control plane connection";
    auto started = std::chrono::steady_clock::now();
    if (channel) reason = RunStream(channel);
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    if (std::chrono::steady_clock::now() - started > std::chrono::seconds(30)) backoff.Reset();
    // Said once per distinct reason: the sync stream already logs outages.
    if (channel && reason != last_reason) log->warn("event stream: {}", reason);
    last_reason = reason;
    // Without a channel this stream did not fail: the sync stream is
    // reconnecting, and this waits for it without growing the backoff.
    const auto wait = channel ? backoff.Next() : backoff.Draw();
    std::unique_lock lock(mu_);
    if (changed_.wait_for(lock, wait, [this] { return stopping_; })) return;
  }
}

std::string EventReporter::RunStream(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = v1::FleetEvents::NewStub(channel);
  grpc::ClientContext context;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return "stopping";
    active_context_ = &context;
    stream_broken_ = false;
  }
  auto stream = stub->Report(&context);
  // Acks arrive on their own thread: gRPC allows one reader and one writer
  // at a time on a stream.
  std::thread acks([&] {
    v1::EventAck ack;
    while (stream->Read(&ack)) {
      std::lock_guard lock(mu_);
      if (ack.run_id() != run_id_) continue;
      connected_ = true;
      acked_ = std::max(acked_, ack.seq());
      while (!queue_.empty() && queue_.front().seq() <= acked_) queue_.pop_front();
      changed_.notify_all();
    }
    std::lock_guard lock(mu_);
    stream_broken_ = true;
    changed_.notify_all();
  });

  uint64_t next = 0;  // next sequence to send on this stream; 0: from the oldest unacked
  bool write_failed = false;
  while (true) {
    v1::EventReport report;
    {
      std::unique_lock lock(mu_);
      auto sendable = [&] {
        if (queue_.empty()) return false;
        const uint64_t from = std::max(next, queue_.front().seq());
        return from <= queue_.back().seq() && from - acked_ - 1 < options_.max_in_flight;
      };
      changed_.wait(lock, [&] { return stopping_ || stream_broken_ || sendable(); });
      if (stopping_ || stream_broken_) break;
      const uint64_t from = std::max(next, queue_.front().seq());
      const size_t first = from - queue_.front().seq();
      const size_t budget = options_.max_in_flight - (from - acked_ - 1);
      const size_t count = std::min({options_.max_per_report, budget, queue_.size() - first});
      report.set_run_id(run_id_);
      report.set_dropped(dropped_);
      for (size_t i = first; i < first + count; ++i) *report.add_events() = queue_[i];
      next = from + count;
    }
    if (!stream->Write(report)) {
      write_failed = true;
      break;
    }
  }
  context.TryCancel();
  acks.join();
  grpc::Status status = stream->Finish();
  {
    std::lock_guard lock(mu_);
    active_context_ = nullptr;
    connected_ = false;
  }
  if (status.ok()) return write_failed ? "stream closed" : "stream closed by the control plane";
  return rampart::StrCat("stream: ", status.error_message());
}

}  // namespace rampart::sync

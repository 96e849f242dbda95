#include "controlplane/service/events_service.h"

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

#include "agent/common/logging.h"
#include "agent/common/strings.h"

namespace rampart::cp {
namespace {

// A follower's queue: enough for a burst, small enough that a stalled
// `rampart-cp events --follow` costs little.
constexpr size_t kFollowQueue = 10000;
constexpr size_t kDefaultWatchLimit = 100;
// An agent sends at most this many events per report (agent/sync/event_reporter.h).
constexpr int kMaxEventsPerReport = 1000;

class RefusedReport final : public grpc::ServerBidiReactor<v1::EventReport, v1::EventAck> {
 public:
  explicit RefusedReport(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

// Reads reports, stores them, and acks the highest stored sequence. One ack
// write is in flight at a time; acks that come due meanwhile collapse into the
// newest, since an ack covers everything before it.
class FleetEventsService::Reporter final : public grpc::ServerBidiReactor<v1::EventReport, v1::EventAck> {
 public:
  Reporter(FleetEventsService& service, grpc::CallbackServerContext* context, std::string node)
      : service_(service), context_(context), store_(service.store_), node_(std::move(node)) {
    {
      std::lock_guard lock(service_.streams_mu_);
      service_.streams_.emplace(node_, context_);
    }
    std::lock_guard ops(ops_mu_);
    StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Close(grpc::Status::OK);
      return;
    }
    if (incoming_.events_size() > kMaxEventsPerReport) {
      Close(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         rampart::StrCat("event report from node \"", node_, "\" holds ", incoming_.events_size(),
                                         " events; at most ", kMaxEventsPerReport)));
      return;
    }
    const EventStore::Stored stored = store_.Add(node_, incoming_);
    {
      std::lock_guard lock(mu_);
      pending_.set_run_id(incoming_.run_id());
      pending_.set_seq(stored.acked_seq);
      has_pending_ = true;
    }
    WriteNext();
    std::lock_guard ops(ops_mu_);
    {
      std::lock_guard lock(mu_);
      if (finishing_) return;
    }
    StartRead(&incoming_);
  }

  void OnWriteDone(bool ok) override {
    {
      std::lock_guard lock(mu_);
      writing_ = false;
    }
    if (!ok) {
      Close(grpc::Status::OK);
      return;
    }
    WriteNext();
  }

  void OnDone() override {
    {
      std::lock_guard lock(service_.streams_mu_);
      auto [first, last] = service_.streams_.equal_range(node_);
      for (auto it = first; it != last; ++it) {
        if (it->second == context_) {
          service_.streams_.erase(it);
          break;
        }
      }
    }
    delete this;
  }

 private:
  void WriteNext() {
    std::lock_guard ops(ops_mu_);
    std::lock_guard lock(mu_);
    if (finishing_ || writing_ || !has_pending_) return;
    outgoing_ = pending_;
    has_pending_ = false;
    writing_ = true;
    StartWrite(&outgoing_);
  }

  void Close(grpc::Status status) {
    std::lock_guard ops(ops_mu_);
    {
      std::lock_guard lock(mu_);
      if (finishing_) return;
      finishing_ = true;
    }
    if (!status.ok()) Logger("events")->warn("{}", status.error_message());
    Finish(std::move(status));
  }

  FleetEventsService& service_;
  grpc::CallbackServerContext* const context_;
  EventStore& store_;
  const std::string node_;
  v1::EventReport incoming_;  // the read in flight
  v1::EventAck outgoing_;     // the write in flight
  // Held while starting a read or a write and while finishing, so neither
  // starts after Finish. Recursive: gRPC may run a reaction inline.
  std::recursive_mutex ops_mu_;
  std::mutex mu_;  // the fields below
  v1::EventAck pending_;
  bool has_pending_ = false;
  bool writing_ = false;
  bool finishing_ = false;
};

FleetEventsService::FleetEventsService(EventStore& store,
                                       std::function<std::string(const grpc::ServerContextBase&)> identity)
    : store_(store), identity_(std::move(identity)) {}

grpc::ServerBidiReactor<v1::EventReport, v1::EventAck>* FleetEventsService::Report(
    grpc::CallbackServerContext* context) {
  std::string node = identity_(*context);
  if (node.empty()) {
    return new RefusedReport(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                          "event reports need a client certificate of an enrolled node"));
  }
  return new Reporter(*this, context, std::move(node));
}

size_t FleetEventsService::Disconnect(const std::string& node) {
  // Under the lock, so no stream can reach OnDone (and be freed) meanwhile;
  // cancellation completes later, on gRPC's threads.
  std::lock_guard lock(streams_mu_);
  auto [first, last] = streams_.equal_range(node);
  size_t cancelled = 0;
  for (auto it = first; it != last; ++it, ++cancelled) it->second->TryCancel();
  return cancelled;
}

grpc::Status EventsAdminService::Watch(grpc::ServerContext* context, const v1::WatchEventsRequest* request,
                                       grpc::ServerWriter<v1::FleetEvent>* writer) {
  struct Queue {
    std::mutex mu;
    std::condition_variable changed;
    std::deque<v1::FleetEvent> events;
    uint64_t skipped = 0;
  };
  auto queue = std::make_shared<Queue>();
  int token = 0;
  // Subscribed before the stored events are read, so nothing falls between
  // the two; what both hold is sent once (by id).
  if (request->follow()) {
    token = store_.Subscribe([queue, filter = *request](const v1::FleetEvent& event) {
      if (!MatchesWatch(filter, event)) return;
      std::lock_guard lock(queue->mu);
      if (queue->events.size() >= kFollowQueue) {
        queue->events.pop_front();
        ++queue->skipped;
      }
      queue->events.push_back(event);
      queue->changed.notify_one();
    });
  }
  struct Unsubscribe {
    EventStore& store;
    int token;
    ~Unsubscribe() {
      if (token) store.Unsubscribe(token);
    }
  } unsubscribe{store_, token};

  uint64_t last_id = 0;
  const size_t limit = request->limit() ? request->limit() : kDefaultWatchLimit;
  for (const auto& event : store_.Recent(*request, limit)) {
    if (!writer->Write(event)) return grpc::Status::OK;
    last_id = event.id();
  }
  if (!request->follow()) return grpc::Status::OK;
  while (!context->IsCancelled()) {
    std::unique_lock lock(queue->mu);
    queue->changed.wait_for(lock, std::chrono::milliseconds(500), [&] { return !queue->events.empty(); });
    std::deque<v1::FleetEvent> batch;
    batch.swap(queue->events);
    const uint64_t skipped = queue->skipped;
    queue->skipped = 0;
    lock.unlock();
    bool first = true;
    for (auto& event : batch) {
      if (event.id() <= last_id) continue;
      if (first && skipped) event.set_skipped_before(skipped);
      first = false;
      if (!writer->Write(event)) return grpc::Status::OK;
      last_id = event.id();
    }
  }
  return grpc::Status::OK;
}

grpc::Status EventsAdminService::Stats(grpc::ServerContext*, const v1::EventStatsRequest*, v1::EventStats* reply) {
  *reply = store_.Stats();
  return grpc::Status::OK;
}

grpc::Status EventsAdminService::ListApis(grpc::ServerContext*, const v1::ListFleetApisRequest* request,
                                          v1::FleetApis* reply) {
  *reply = inventory_.Merged(*request);
  return grpc::Status::OK;
}

}  // namespace rampart::cp

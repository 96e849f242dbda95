#include "controlplane/service/sync_service.h"

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "agent/common/logging.h"
#include "controlplane/policy/policy_diff.h"

namespace rampart::cp {
namespace {

// Pushes a stream remembers while waiting for their answers; an agent answers
// each push before reading the next, so only a stuck one gets near this.
constexpr size_t kMaxUnanswered = 16;

// How long the version watcher sleeps between looks at the stop flag.
constexpr std::chrono::milliseconds kWatchTick{200};

std::string NewNonce() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

// A stream push and what its answer is matched against.
struct Push {
  std::string nonce;
  uint64_t version = 0;
  std::string digest;
};

// What the current version holds for nodes with one label set: computed once
// per version and label set, shared by every stream with those labels.
struct NodeContent {
  v1::PolicyBundle bundle;
  std::string digest;  // ContentDigest of bundle.policies()
};

// "k=v\n..." for labels in key order: streams with equal keys get equal bundles.
std::string LabelsKey(const std::map<std::string, std::string>& labels) {
  std::string key;
  for (const auto& [k, v] : labels) {
    key += k;
    key += '\0';
    key += v;
    key += '\n';
  }
  return key;
}

// The reactor of a stream refused before it started (no identity).
class Refusal final : public grpc::ServerBidiReactor<v1::AgentMessage, v1::ControlMessage> {
 public:
  explicit Refusal(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

std::string PeerIdentity(const grpc::ServerContextBase& context) {
  auto auth = context.auth_context();
  if (!auth) return "";
  auto names = auth->FindPropertyValues("x509_common_name");
  if (names.empty()) return "";
  return std::string(names.front().data(), names.front().size());
}

// One agent's stream. gRPC calls the On* reactions; the scheduler thread calls
// Decide and SendPrepared. At most one read and one write are in flight. The
// object keeps itself alive until OnDone; the scheduler's queues may hold it a
// little longer, and find it finished.
class SyncService::Stream final : public grpc::ServerBidiReactor<v1::AgentMessage, v1::ControlMessage>,
                                  public std::enable_shared_from_this<Stream> {
 public:
  Stream(SyncService& service, grpc::CallbackServerContext* context, std::string identity)
      : service_(service), context_(context), identity_(std::move(identity)) {}

  // Reads the hello. The stream owns itself from here until OnDone.
  void Begin() {
    self_ = shared_from_this();
    StartRead(&incoming_);
  }

  const std::string& identity() const { return identity_; }

  // Ends the stream from outside its reactions (SyncService::Disconnect).
  void End(grpc::Status status) { Close(std::move(status)); }

  // Set by the hello, read-only after it (the stream is scheduled only then).
  const std::map<std::string, std::string>& labels() const { return labels_; }
  const std::string& labels_key() const { return labels_key_; }

  // False when the stream is already queued or finished.
  bool MarkQueued() {
    std::lock_guard lock(mu_);
    if (queued_ || finishing_) return false;
    queued_ = true;
    return true;
  }

  // Scheduler thread: what `version` (whose content for this stream's node
  // is `content`) means for this stream. True when a push was prepared; the
  // caller then calls SendPrepared at the push's turn. A stream with a write
  // in flight decides again once it completes.
  bool Decide(uint64_t version, const NodeContent& content) {
    std::lock_guard lock(mu_);
    queued_ = false;
    if (finishing_ || busy_) return false;
    decided_ = version;
    if (version == 0) return false;
    const PushDecision decision = service_.fleet_.Decide(identity_, content.digest, last_sent_);
    if (decision == PushDecision::kRefused) {
      service_.log_->info("node {}: not sending version {}, the node refused the same content before", identity_,
                          version);
    }
    if (decision != PushDecision::kSend) return false;
    busy_ = true;
    prepared_ = {NewNonce(), version, content.digest};
    outgoing_.Clear();
    v1::BundlePush* push = outgoing_.mutable_push();
    push->set_version(version);
    push->set_nonce(prepared_.nonce);
    *push->mutable_bundle() = content.bundle;
    // Remembered before the write: the answer may arrive before OnWriteDone.
    unanswered_.push_back(prepared_);
    if (unanswered_.size() > kMaxUnanswered) unanswered_.pop_front();
    return true;
  }

  // Scheduler thread: starts the write Decide prepared, unless the stream ended.
  void SendPrepared() {
    std::lock_guard ops(ops_mu_);
    {
      std::lock_guard lock(mu_);
      if (finishing_) {
        busy_ = false;
        return;
      }
    }
    StartWrite(&outgoing_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The agent closed its side or the call was cancelled.
      std::unique_lock lock(mu_);
      const bool greeted = hello_done_;
      lock.unlock();
      Close(greeted ? grpc::Status::OK
                    : grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the first message must be a hello"));
      return;
    }
    bool greeted;
    {
      std::lock_guard lock(mu_);
      greeted = hello_done_;
    }
    if (!greeted) {
      if (grpc::Status status = Greet(); !status.ok()) {
        Close(std::move(status));
        return;
      }
    } else {
      Answer();
    }
    std::lock_guard ops(ops_mu_);
    {
      std::lock_guard lock(mu_);
      if (finishing_) return;
    }
    StartRead(&incoming_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      {
        std::lock_guard lock(mu_);
        busy_ = false;
      }
      Close(grpc::Status::OK);
      return;
    }
    bool look_again = false;
    uint64_t version = 0;
    {
      std::lock_guard lock(mu_);
      busy_ = false;
      last_sent_ = prepared_.digest;
      version = prepared_.version;
      outgoing_.Clear();
      look_again = service_.latest_version_.load() != decided_;
    }
    service_.fleet_.Sent(identity_, version);
    if (look_again) service_.QueueDecision(shared_from_this());
  }

  void OnDone() override {
    service_.Unregister(this);
    std::shared_ptr<Stream> last = std::move(self_);  // may delete this on return
  }

 private:
  // The first message: must be a hello naming the certificate's node.
  grpc::Status Greet() {
    if (!incoming_.has_hello()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the first message must be a hello");
    }
    const v1::AgentHello& hello = incoming_.hello();
    if (hello.node_name() != identity_) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "hello names node \"" + hello.node_name() +
                                                                   "\" but the certificate is for \"" + identity_ +
                                                                   "\"");
    }
    labels_ = {hello.labels().begin(), hello.labels().end()};
    labels_key_ = LabelsKey(labels_);
    const uint64_t session =
        service_.fleet_.Connected(identity_, labels_, hello.applied_version(), hello.agent_version());
    {
      std::lock_guard lock(mu_);
      session_ = session;
      hello_done_ = true;
    }
    service_.log_->info("node {} connected from {} (applied version {}, agent {})", identity_, context_->peer(),
                        hello.applied_version(), hello.agent_version());
    service_.Register(shared_from_this());
    service_.QueueDecision(shared_from_this());
    return grpc::Status::OK;
  }

  // An ACK or NACK: matched to its push by nonce.
  void Answer() {
    const bool ack = incoming_.has_ack();
    if (!ack && !incoming_.has_nack()) return;
    const std::string& nonce = ack ? incoming_.ack().nonce() : incoming_.nack().nonce();
    std::optional<Push> push;
    {
      std::lock_guard lock(mu_);
      for (auto it = unanswered_.begin(); it != unanswered_.end(); ++it) {
        if (it->nonce == nonce) {
          push = std::move(*it);
          unanswered_.erase(it);
          break;
        }
      }
    }
    if (!push) {
      service_.log_->warn("node {} answered version {} with a nonce this stream did not send; ignored", identity_,
                          ack ? incoming_.ack().version() : incoming_.nack().version());
      return;
    }
    if (ack) {
      service_.fleet_.Acked(identity_, push->version, push->digest);
      service_.log_->info("node {} applied version {}", identity_, push->version);
      return;
    }
    const auto& errors = incoming_.nack().errors();
    service_.fleet_.Nacked(identity_, push->version, push->digest, {errors.begin(), errors.end()});
    service_.log_->error("node {} refused version {}; it is not sent again until its content changes: {}", identity_,
                         push->version, errors.empty() ? "no reason given" : errors[0].message());
  }

  // Ends the stream with `status`, once; the node is marked disconnected first.
  void Close(grpc::Status status) {
    std::lock_guard ops(ops_mu_);
    bool greeted = false;
    uint64_t session = 0;
    {
      std::lock_guard lock(mu_);
      if (finishing_) return;
      finishing_ = true;
      greeted = hello_done_;
      session = session_;
    }
    service_.Unregister(this);
    if (greeted) {
      service_.fleet_.Disconnected(identity_, session);
      service_.log_->info("node {} disconnected", identity_);
    }
    Finish(std::move(status));
  }

  SyncService& service_;
  grpc::CallbackServerContext* const context_;
  const std::string identity_;
  std::shared_ptr<Stream> self_;  // until OnDone
  v1::AgentMessage incoming_;     // the read in flight
  std::map<std::string, std::string> labels_;
  std::string labels_key_;

  // Held while starting a write or a read, and while finishing, so neither
  // starts after Finish. Recursive: gRPC may run a reaction inline.
  std::recursive_mutex ops_mu_;
  std::mutex mu_;  // everything below
  bool hello_done_ = false;
  uint64_t session_ = 0;
  bool finishing_ = false;  // Finish was called
  bool queued_ = false;     // waits in the scheduler's decision queue
  bool busy_ = false;       // a push is prepared or being written
  uint64_t decided_ = 0;    // the version this stream last looked at
  std::string last_sent_;   // digest of the last bundle this stream carried
  Push prepared_;           // the push in outgoing_
  v1::ControlMessage outgoing_;
  std::deque<Push> unanswered_;
};

SyncService::SyncService(Fleet& fleet, SyncOptions options)
    : fleet_(fleet),
      options_(std::move(options)),
      pacer_(options_.pushes_per_second, options_.push_burst),
      log_(Logger("sync")),
      latest_version_(fleet.Current().version()) {
  watcher_ = std::thread([this] { WatchVersions(); });
  scheduler_ = std::thread([this] { Schedule(); });
}

SyncService::~SyncService() {
  {
    std::lock_guard lock(schedule_mu_);
    stopping_ = true;
  }
  schedule_changed_.notify_all();
  watcher_.join();
  scheduler_.join();
}

grpc::ServerBidiReactor<v1::AgentMessage, v1::ControlMessage>* SyncService::Sync(
    grpc::CallbackServerContext* context) {
  std::string identity = options_.identity(*context);
  if (identity.empty()) {
    return new Refusal(
        grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "client certificate carries no node identity"));
  }
  auto stream = std::make_shared<Stream>(*this, context, std::move(identity));
  stream->Begin();
  return stream.get();
}

void SyncService::Register(const std::shared_ptr<Stream>& stream) {
  std::lock_guard lock(streams_mu_);
  streams_[stream.get()] = stream;
}

void SyncService::Unregister(const Stream* stream) {
  std::lock_guard lock(streams_mu_);
  streams_.erase(stream);
}

size_t SyncService::Disconnect(const std::string& node) {
  std::vector<std::shared_ptr<Stream>> cut;
  {
    std::lock_guard lock(streams_mu_);
    for (const auto& [_, weak] : streams_) {
      auto stream = weak.lock();
      if (stream && stream->identity() == node) cut.push_back(std::move(stream));
    }
  }
  // Outside streams_mu_: ending a stream unregisters it.
  for (const auto& stream : cut) stream->End(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "node deleted"));
  if (!cut.empty()) log_->info("node {} deleted: ended its {} open stream(s)", node, cut.size());
  return cut.size();
}

std::vector<std::string> SyncService::ConnectedNodes() const {
  std::set<std::string> nodes;
  {
    std::lock_guard lock(streams_mu_);
    for (const auto& [_, weak] : streams_) {
      if (auto stream = weak.lock()) nodes.insert(stream->identity());
    }
  }
  return {nodes.begin(), nodes.end()};
}

void SyncService::QueueDecision(const std::shared_ptr<Stream>& stream) {
  if (!stream->MarkQueued()) return;
  {
    std::lock_guard lock(schedule_mu_);
    to_decide_.push_back(stream);
  }
  schedule_changed_.notify_one();
}

void SyncService::WatchVersions() {
  uint64_t seen = latest_version_.load();
  while (true) {
    {
      std::lock_guard lock(schedule_mu_);
      if (stopping_) return;
    }
    // Nothing but a new version changes what to send: an answer only turns
    // "already sent" into "refused" or back.
    const uint64_t version = fleet_.WaitForVersionAfter(seen, kWatchTick);
    if (version == seen) continue;
    seen = version;
    latest_version_ = version;
    std::vector<std::shared_ptr<Stream>> live;
    {
      std::lock_guard lock(streams_mu_);
      live.reserve(streams_.size());
      for (const auto& [_, weak] : streams_) {
        if (auto stream = weak.lock()) live.push_back(std::move(stream));
      }
    }
    for (const auto& stream : live) QueueDecision(stream);
  }
}

void SyncService::Schedule() {
  uint64_t cached_version = 0;
  std::map<std::string, NodeContent> cache;  // by LabelsKey, for cached_version
  std::unique_lock lock(schedule_mu_);
  while (!stopping_) {
    if (!to_decide_.empty()) {
      std::deque<std::shared_ptr<Stream>> batch;
      batch.swap(to_decide_);
      lock.unlock();
      const v1::PolicyVersion current = fleet_.Current();
      if (current.version() != cached_version) {
        cache.clear();
        cached_version = current.version();
      }
      std::vector<ScheduledPush> ready;
      for (auto& stream : batch) {
        auto it = cache.find(stream->labels_key());
        if (it == cache.end()) {
          NodeContent content;
          content.bundle = BundleForNode(current, stream->labels());
          content.digest = ContentDigest(content.bundle.policies());
          it = cache.emplace(stream->labels_key(), std::move(content)).first;
        }
        if (stream->Decide(current.version(), it->second)) {
          ready.push_back({std::move(stream), pacer_.Reserve(PushPacer::Clock::now())});
        }
      }
      lock.lock();
      for (auto& push : ready) to_send_.push_back(std::move(push));
      continue;
    }
    if (to_send_.empty()) {
      schedule_changed_.wait(lock);
      continue;
    }
    const auto now = PushPacer::Clock::now();
    if (to_send_.front().turn > now) {
      schedule_changed_.wait_until(lock, to_send_.front().turn);
      continue;
    }
    std::vector<std::shared_ptr<Stream>> due;
    while (!to_send_.empty() && to_send_.front().turn <= now) {
      due.push_back(std::move(to_send_.front().stream));
      to_send_.pop_front();
    }
    lock.unlock();
    for (const auto& stream : due) stream->SendPrepared();
    due.clear();  // a finished stream may go here, outside the lock
    lock.lock();
  }
}

}  // namespace rampart::cp

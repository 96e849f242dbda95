#include "agent/api/local_api_server.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>

#include <grpcpp/grpcpp.h>

#include "agent/common/errors.h"
#include "rampart/v1/agent_api.grpc.pb.h"

namespace rampart::api {
namespace {

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

// Events a slow watcher has not taken yet; beyond this the oldest are dropped
// (and counted in the stream) rather than blocking the reader thread.
constexpr size_t kWatchQueue = 4096;

}  // namespace

class LocalApiServer::Service final : public v1::AgentApi::Service {
 public:
  explicit Service(AgentApiBackend& backend) : backend_(backend) {}

  grpc::Status GetStatus(grpc::ServerContext*, const v1::GetStatusRequest*, v1::AgentStatus* reply) override {
    *reply = backend_.Status();
    return grpc::Status::OK;
  }

  grpc::Status WatchDrops(grpc::ServerContext* context, const v1::WatchDropsRequest*,
                          grpc::ServerWriter<v1::DropEvent>* writer) override {
    std::mutex mu;
    std::condition_variable ready;
    std::deque<v1::DropEvent> queue;
    int token = backend_.SubscribeDrops([&](const v1::DropEvent& event) {
      std::lock_guard lock(mu);
      if (queue.size() >= kWatchQueue) queue.pop_front();
      queue.push_back(event);
      ready.notify_one();
    });
    while (!context->IsCancelled()) {
      std::unique_lock lock(mu);
      ready.wait_for(lock, std::chrono::milliseconds(200), [&] { return !queue.empty(); });
      std::deque<v1::DropEvent> batch;
      batch.swap(queue);
      lock.unlock();
      bool ok = true;
      for (const auto& event : batch) ok = ok && writer->Write(event);
      if (!ok) break;
    }
    backend_.UnsubscribeDrops(token);
    return grpc::Status::OK;
  }

  grpc::Status WatchCapture(grpc::ServerContext* context, const v1::WatchCaptureRequest* request,
                            grpc::ServerWriter<v1::CaptureEvent>* writer) override {
    std::mutex mu;
    std::condition_variable ready;
    std::deque<v1::CaptureEvent> queue;
    auto token = backend_.SubscribeCapture(*request, [&](const v1::CaptureEvent& event) {
      std::lock_guard lock(mu);
      if (queue.size() >= kWatchQueue) queue.pop_front();
      queue.push_back(event);
      ready.notify_one();
    });
    if (!token.ok()) return ToGrpc(token.status());
    while (!context->IsCancelled()) {
      std::unique_lock lock(mu);
      ready.wait_for(lock, std::chrono::milliseconds(200), [&] { return !queue.empty(); });
      std::deque<v1::CaptureEvent> batch;
      batch.swap(queue);
      lock.unlock();
      bool ok = true;
      for (const auto& event : batch) ok = ok && writer->Write(event);
      if (!ok) break;
    }
    backend_.UnsubscribeCapture(*token);
    return grpc::Status::OK;
  }

  grpc::Status WatchFindings(grpc::ServerContext* context, const v1::WatchFindingsRequest* request,
                             grpc::ServerWriter<v1::Finding>* writer) override {
    std::mutex mu;
    std::condition_variable ready;
    std::deque<v1::Finding> queue;
    int token = 0;
    // Subscribe before reading the recent ones, so none falls in between;
    // ids drop the ones both would deliver.
    if (request->follow()) {
      auto subscribed = backend_.SubscribeFindings(*request, [&](const v1::Finding& finding) {
        std::lock_guard lock(mu);
        if (queue.size() >= kWatchQueue) queue.pop_front();
        queue.push_back(finding);
        ready.notify_one();
      });
      if (!subscribed.ok()) return ToGrpc(subscribed.status());
      token = *subscribed;
    }
    uint64_t last_id = 0;
    bool ok = true;
    for (const auto& finding : backend_.RecentFindings(*request)) {
      ok = ok && writer->Write(finding);
      last_id = finding.id();
    }
    while (ok && request->follow() && !context->IsCancelled()) {
      std::unique_lock lock(mu);
      ready.wait_for(lock, std::chrono::milliseconds(200), [&] { return !queue.empty(); });
      std::deque<v1::Finding> batch;
      batch.swap(queue);
      lock.unlock();
      for (const auto& finding : batch) {
        if (finding.id() > last_id) ok = ok && writer->Write(finding);
      }
    }
    if (token != 0) backend_.UnsubscribeFindings(token);
    return grpc::Status::OK;
  }

  grpc::Status ListFlows(grpc::ServerContext*, const v1::ListFlowsRequest* request, v1::ListFlowsReply* reply) override {
    auto flows = backend_.ListFlows(*request);
    if (!flows.ok()) return ToGrpc(flows.status());
    *reply = *flows;
    return grpc::Status::OK;
  }

  grpc::Status Block(grpc::ServerContext*, const v1::BlockRequest* request, v1::BlockReply*) override {
    return ToGrpc(backend_.Block(*request));
  }

  grpc::Status Unblock(grpc::ServerContext*, const v1::UnblockRequest* request, v1::UnblockReply* reply) override {
    auto removed = backend_.Unblock(*request);
    if (!removed.ok()) return ToGrpc(removed.status());
    reply->set_removed(*removed);
    return grpc::Status::OK;
  }

  grpc::Status ListBlocks(grpc::ServerContext*, const v1::ListBlocksRequest*, v1::ListBlocksReply* reply) override {
    auto blocks = backend_.ListBlocks();
    if (!blocks.ok()) return ToGrpc(blocks.status());
    *reply = *blocks;
    return grpc::Status::OK;
  }

  grpc::Status GetPolicy(grpc::ServerContext*, const v1::GetPolicyRequest*, v1::AppliedPolicy* reply) override {
    auto policy = backend_.GetPolicy();
    if (!policy.ok()) return ToGrpc(policy.status());
    *reply = *std::move(policy);
    return grpc::Status::OK;
  }

  grpc::Status TracePacket(grpc::ServerContext*, const v1::TracePacketRequest* request,
                           v1::PacketTrace* reply) override {
    auto trace = backend_.TracePacket(*request);
    if (!trace.ok()) return ToGrpc(trace.status());
    *reply = *std::move(trace);
    return grpc::Status::OK;
  }

  grpc::Status TraceHttp(grpc::ServerContext*, const v1::TraceHttpRequest* request, v1::HttpTrace* reply) override {
    auto trace = backend_.TraceHttp(*request);
    if (!trace.ok()) return ToGrpc(trace.status());
    *reply = *std::move(trace);
    return grpc::Status::OK;
  }

  grpc::Status ListApis(grpc::ServerContext*, const v1::ListApisRequest* request,
                        v1::ApiInventoryReply* reply) override {
    auto apis = backend_.ListApis(*request);
    if (!apis.ok()) return ToGrpc(apis.status());
    *reply = *std::move(apis);
    return grpc::Status::OK;
  }

 private:
  AgentApiBackend& backend_;
};

absl::StatusOr<std::unique_ptr<LocalApiServer>> LocalApiServer::Start(const std::string& socket_path,
                                                                      AgentApiBackend& backend) {
  const std::string dir = std::filesystem::path(socket_path).parent_path();
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError(errno, "create socket directory " + dir);
  if (unlink(socket_path.c_str()) != 0 && errno != ENOENT) return ErrnoError(errno, "remove stale " + socket_path);

  std::unique_ptr<LocalApiServer> server(new LocalApiServer());
  server->socket_path_ = socket_path;
  server->service_ = std::make_unique<Service>(backend);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket_path, grpc::InsecureServerCredentials());
  builder.RegisterService(server->service_.get());
  // policy trace --http sends a whole file (rampartctl caps it at kMaxTraceFileBytes).
  builder.SetMaxReceiveMessageSize(kMaxTraceFileBytes + (1 << 20));
  // The socket must never be reachable by other users, even for a moment.
  mode_t old_mask = umask(0077);
  server->server_ = builder.BuildAndStart();
  umask(old_mask);
  if (!server->server_) return absl::UnavailableError("listen on unix socket " + socket_path + " failed");
  if (chmod(socket_path.c_str(), 0600) != 0) return ErrnoError(errno, "chmod " + socket_path);
  return server;
}

LocalApiServer::~LocalApiServer() {
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  unlink(socket_path_.c_str());
}

}  // namespace rampart::api

#include "controlplane/service/sync_service.h"

#include <atomic>
#include <random>
#include <thread>

#include "agent/common/logging.h"

namespace rampart::cp {
namespace {

std::string PeerIdentity(const grpc::ServerContext& context) {
  auto auth = context.auth_context();
  if (!auth) return "";
  auto names = auth->FindPropertyValues("x509_common_name");
  if (names.empty()) return "";
  return std::string(names.front().data(), names.front().size());
}

std::string NewNonce() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

grpc::Status SyncService::Sync(grpc::ServerContext* context,
                               grpc::ServerReaderWriter<v1::ControlMessage, v1::AgentMessage>* stream) {
  auto log = Logger("sync");
  const std::string identity = PeerIdentity(*context);
  if (identity.empty()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "client certificate carries no node identity");
  }
  v1::AgentMessage first;
  if (!stream->Read(&first) || !first.has_hello()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the first message must be a hello");
  }
  const v1::AgentHello& hello = first.hello();
  if (hello.node_name() != identity) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "hello names node \"" + hello.node_name() + "\" but the certificate is for \"" + identity + "\"");
  }
  const std::map<std::string, std::string> labels(hello.labels().begin(), hello.labels().end());
  fleet_.Connected(identity, labels, hello.applied_version());
  log->info("node {} connected from {} (applied version {})", identity, context->peer(), hello.applied_version());

  // Replies are read on their own thread so a slow apply never blocks pushes.
  std::atomic<bool> reader_done{false};
  std::thread reader([&] {
    v1::AgentMessage message;
    while (stream->Read(&message)) {
      if (message.has_ack()) {
        fleet_.Acked(identity, message.ack().version());
        log->info("node {} applied version {}", identity, message.ack().version());
      } else if (message.has_nack()) {
        std::string error = message.nack().errors().empty() ? "no reason given" : message.nack().errors(0).message();
        fleet_.Nacked(identity, message.nack().version(), error);
        log->warn("node {} refused version {}: {}", identity, message.nack().version(), error);
      }
    }
    reader_done = true;
  });

  std::string last_sent;  // serialized bundle content without version
  uint64_t seen = 0;
  bool first_push = true;
  while (!reader_done && !context->IsCancelled()) {
    v1::PolicyVersion current = fleet_.Current();
    seen = current.version();
    if (current.version() != 0) {
      v1::PolicyBundle bundle = BundleForNode(current, labels);
      v1::PolicyBundle content = bundle;
      content.clear_version();
      std::string serialized = content.SerializeAsString();
      if (first_push || serialized != last_sent) {
        v1::ControlMessage push;
        push.mutable_push()->set_version(bundle.version());
        push.mutable_push()->set_nonce(NewNonce());
        *push.mutable_push()->mutable_bundle() = std::move(bundle);
        if (!stream->Write(push)) break;
        fleet_.Sent(identity, current.version());
        last_sent = std::move(serialized);
        first_push = false;
      }
    }
    fleet_.WaitForVersionAfter(seen, std::chrono::milliseconds(500));
  }
  context->TryCancel();
  reader.join();
  fleet_.Disconnected(identity);
  log->info("node {} disconnected", identity);
  return grpc::Status::OK;
}

}  // namespace rampart::cp

#include "agent/sync/control_plane_client.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <algorithm>
#include <chrono>
#include <functional>

#include "agent/common/strings.h"
#include "agent/common/logging.h"
#include "agent/common/files.h"
#include "agent/sync/reconnect_backoff.h"
#include "rampart/v1/sync.grpc.pb.h"

namespace rampart::sync {
namespace {

constexpr auto kInitialBackoff = std::chrono::milliseconds(250);
constexpr auto kMaxBackoff = std::chrono::seconds(30);
// A stream that lived this long was healthy: the backoff and the round of
// addresses start over.
constexpr auto kHealthyStream = std::chrono::seconds(30);

// Waits until the channel is READY, up to `timeout`. A channel that fails
// (TRANSIENT_FAILURE) ends the wait at once: the stream then fails fast with
// gRPC's own reason, so a dead replica is still skipped without delay. Only an
// attempt that neither succeeds nor fails is cut here. Wakes every 100 ms to
// see `stopping`, so shutting down does not wait for the timeout.
bool AwaitReady(grpc::Channel& channel, std::chrono::milliseconds timeout, const std::function<bool()>& stopping) {
  const auto deadline = std::chrono::system_clock::now() + timeout;
  grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY && state != GRPC_CHANNEL_TRANSIENT_FAILURE) {
    const auto now = std::chrono::system_clock::now();
    if (now >= deadline || stopping()) return false;
    channel.WaitForStateChange(state, std::min(deadline, now + std::chrono::milliseconds(100)));
    state = channel.GetState(/*try_to_connect=*/true);
  }
  return true;
}

}  // namespace

ControlPlaneClient::ControlPlaneClient(ControlPlaneOptions options, BundleHandler handler, AppliedVersion applied)
    : options_(std::move(options)), handler_(std::move(handler)), applied_(std::move(applied)) {
  if (!options_.addresses.empty()) status_.set_address(options_.addresses.front());
  status_.set_state(v1::CONNECTION_STATE_CONNECTING);
  channels_.resize(options_.addresses.size());
}

ControlPlaneClient::~ControlPlaneClient() { Stop(); }

void ControlPlaneClient::Start() { thread_ = std::thread([this] { Run(); }); }

void ControlPlaneClient::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (active_context_) active_context_->TryCancel();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

v1::ControlPlaneStatus ControlPlaneClient::Status() const {
  std::lock_guard lock(mu_);
  return status_;
}

std::shared_ptr<grpc::Channel> ControlPlaneClient::CurrentChannel() const {
  std::lock_guard lock(mu_);
  return connected_;
}

void ControlPlaneClient::SetState(v1::ConnectionState state, const std::string& error) {
  std::lock_guard lock(mu_);
  status_.set_state(state);
  if (!error.empty()) status_.set_last_error(error);
}

void ControlPlaneClient::Run() {
  auto log = Logger("sync");
  if (options_.addresses.empty()) {
    SetState(v1::CONNECTION_STATE_DISCONNECTED, "no control plane address");
    return;
  }
  const size_t count = options_.addresses.size();
  ReconnectBackoff backoff(kInitialBackoff, std::chrono::duration_cast<std::chrono::milliseconds>(kMaxBackoff));
  size_t index = 0;
  size_t failed_in_round = 0;  // streams ended since the last healthy one or the last wait
  while (true) {
    {
      std::lock_guard lock(mu_);
      status_.set_address(options_.addresses[index]);
    }
    auto started = std::chrono::steady_clock::now();
    std::string reason = RunStream(index);
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    const std::string& failed = options_.addresses[index];
    // The address is part of the error: the status moves on to the next one.
    SetState(v1::CONNECTION_STATE_DISCONNECTED, count == 1 ? reason : rampart::StrCat(failed, ": ", reason));
    if (std::chrono::steady_clock::now() - started > kHealthyStream) {
      backoff.Reset();
      failed_in_round = 0;
    }
    index = (index + 1) % count;
    if (++failed_in_round < count) {
      // Another replica may well be up: no wait.
      log->warn("control plane {}: {}; trying {}", failed, reason, options_.addresses[index]);
      continue;
    }
    failed_in_round = 0;
    const auto wait = backoff.Next();
    if (count == 1) {
      log->warn("control plane {}: {}; retrying in {} ms", failed, reason, wait.count());
    } else {
      log->warn("control plane {}: {}; no replica answered, retrying from {} in {} ms", failed, reason,
                options_.addresses[index], wait.count());
    }
    std::unique_lock lock(mu_);
    if (wake_.wait_for(lock, wait, [this] { return stopping_; })) return;
  }
}

std::shared_ptr<grpc::Channel> ControlPlaneClient::Channel(size_t index, std::string& error) {
  if (channels_[index]) return channels_[index];
  // Checked here for a clear error: the file watcher only logs what it cannot read.
  auto ca = ReadFile(options_.ca_file);
  auto cert = ReadFile(options_.cert_file);
  auto key = ReadFile(options_.key_file);
  for (const auto* file : {&ca, &cert, &key}) {
    if (!file->ok()) {
      error = std::string(file->status().message());
      return nullptr;
    }
  }
  // One watcher for every replica's channel.
  if (!certificates_) {
    certificates_ = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        options_.key_file, options_.cert_file, options_.ca_file,
        static_cast<unsigned>(std::max<int64_t>(1, options_.cert_refresh_interval.count())));
  }
  grpc::experimental::TlsChannelCredentialsOptions tls;
  tls.set_certificate_provider(certificates_);
  tls.watch_root_certs();
  tls.watch_identity_key_cert_pairs();
  grpc::ChannelArguments args;
  if (!options_.server_name.empty()) args.SetSslTargetNameOverride(options_.server_name);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  // The channel outlives streams, so its own reconnect backoff must not
  // exceed the stream loop's.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, static_cast<int>(kInitialBackoff.count()));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(kMaxBackoff).count()));
  // Also gRPC's minimum connect timeout: an attempt the stream gave up on
  // (AwaitReady) is abandoned and made afresh, not waited out.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(options_.connect_timeout.count()));
  channels_[index] =
      grpc::CreateCustomChannel(options_.addresses[index], grpc::experimental::TlsCredentials(tls), args);
  return channels_[index];
}

std::string ControlPlaneClient::RunStream(size_t index) {
  auto log = Logger("sync");
  const std::string& address = options_.addresses[index];
  std::string error;
  auto channel = Channel(index, error);
  if (!channel) return error;
  auto stopping = [this] {
    std::lock_guard lock(mu_);
    return stopping_;
  };
  if (!AwaitReady(*channel, options_.connect_timeout, stopping)) {
    return rampart::StrCat("connect: no connection within ", options_.connect_timeout.count(), " ms");
  }
  auto stub = v1::AgentSync::NewStub(channel);

  grpc::ClientContext context;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return "stopping";
    active_context_ = &context;
  }
  struct ClearContext {
    ControlPlaneClient* self;
    ~ClearContext() {
      std::lock_guard lock(self->mu_);
      self->active_context_ = nullptr;
      self->connected_ = nullptr;
    }
  } clear{this};

  auto stream = stub->Sync(&context);
  v1::AgentMessage hello;
  hello.mutable_hello()->set_node_name(options_.node_name);
  hello.mutable_hello()->set_applied_version(applied_());
  hello.mutable_hello()->set_agent_version(RAMPART_VERSION);
  for (const auto& [k, v] : options_.labels) (*hello.mutable_hello()->mutable_labels())[k] = v;
  if (!stream->Write(hello)) {
    grpc::Status status = stream->Finish();
    return rampart::StrCat("connect: ", status.error_message());
  }
  {
    std::lock_guard lock(mu_);
    status_.set_state(v1::CONNECTION_STATE_CONNECTED);
    connected_ = channel;
  }
  log->info("connected to control plane {} as node {}", address, options_.node_name);

  v1::ControlMessage message;
  while (stream->Read(&message)) {
    if (!message.has_push()) continue;
    const v1::BundlePush& push = message.push();
    std::vector<v1::PolicyError> errors = handler_(push.bundle());
    v1::AgentMessage reply;
    if (errors.empty()) {
      reply.mutable_ack()->set_version(push.version());
      reply.mutable_ack()->set_nonce(push.nonce());
    } else {
      reply.mutable_nack()->set_version(push.version());
      reply.mutable_nack()->set_nonce(push.nonce());
      for (auto& e : errors) *reply.mutable_nack()->add_errors() = e;
    }
    if (!stream->Write(reply)) break;
  }
  grpc::Status status = stream->Finish();
  return status.ok() ? "stream closed by the control plane" : rampart::StrCat("stream: ", status.error_message());
}

}  // namespace rampart::sync

#include "agent/sync/control_plane_client.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "agent/common/strings.h"
#include "agent/common/logging.h"
#include "agent/common/files.h"
#include "rampart/v1/sync.grpc.pb.h"

namespace rampart::sync {
namespace {

constexpr auto kInitialBackoff = std::chrono::milliseconds(250);
constexpr auto kMaxBackoff = std::chrono::seconds(30);

}  // namespace

ControlPlaneClient::ControlPlaneClient(ControlPlaneOptions options, BundleHandler handler, AppliedVersion applied)
    : options_(std::move(options)), handler_(std::move(handler)), applied_(std::move(applied)) {
  status_.set_address(options_.address);
  status_.set_state(v1::CONNECTION_STATE_CONNECTING);
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

void ControlPlaneClient::SetState(v1::ConnectionState state, const std::string& error) {
  std::lock_guard lock(mu_);
  status_.set_state(state);
  if (!error.empty()) status_.set_last_error(error);
}

void ControlPlaneClient::Run() {
  auto log = Logger("sync");
  std::mt19937_64 rng(std::random_device{}());
  auto backoff = std::chrono::duration_cast<std::chrono::milliseconds>(kInitialBackoff);
  while (true) {
    auto started = std::chrono::steady_clock::now();
    std::string reason = RunStream();
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    SetState(v1::CONNECTION_STATE_DISCONNECTED, reason);
    // A stream that lived a while was healthy: start the backoff over.
    if (std::chrono::steady_clock::now() - started > std::chrono::seconds(30)) backoff = kInitialBackoff;
    // Full jitter in [backoff/2, backoff], so a fleet does not reconnect in step.
    std::uniform_int_distribution<long> jitter(backoff.count() / 2, backoff.count());
    auto wait = std::chrono::milliseconds(jitter(rng));
    log->warn("control plane {}: {}; retrying in {} ms", options_.address, reason, wait.count());
    std::unique_lock lock(mu_);
    if (wake_.wait_for(lock, wait, [this] { return stopping_; })) return;
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, kMaxBackoff);
  }
}

std::shared_ptr<grpc::Channel> ControlPlaneClient::Channel(std::string& error) {
  if (channel_) return channel_;
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
  certificates_ = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      options_.key_file, options_.cert_file, options_.ca_file,
      static_cast<unsigned>(std::max<int64_t>(1, options_.cert_refresh_interval.count())));
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
  channel_ = grpc::CreateCustomChannel(options_.address, grpc::experimental::TlsCredentials(tls), args);
  return channel_;
}

std::string ControlPlaneClient::RunStream() {
  auto log = Logger("sync");
  std::string error;
  auto channel = Channel(error);
  if (!channel) return error;
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
  SetState(v1::CONNECTION_STATE_CONNECTED, "");
  log->info("connected to control plane {} as node {}", options_.address, options_.node_name);

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

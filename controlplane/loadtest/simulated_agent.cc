#include "controlplane/loadtest/simulated_agent.h"

namespace rampart::cp::load {

SimulatedAgent::SimulatedAgent(const AgentIdentity& identity, const std::string& ca_pem, const std::string& target,
                               const std::map<std::string, std::string>& labels, const AgentEvents& events)
    : node_(identity.node), events_(events) {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ca_pem;
  tls.pem_private_key = identity.key_pem;
  tls.pem_cert_chain = identity.chain_pem;
  grpc::ChannelArguments args;
  // Each agent is a machine of its own: no connection sharing between channels.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  channel_ = grpc::CreateCustomChannel(target, grpc::SslCredentials(tls), args);
  stub_ = v1::AgentSync::NewStub(channel_);
  stub_->async()->Sync(&context_, this);

  v1::AgentMessage hello;
  hello.mutable_hello()->set_node_name(node_);
  hello.mutable_hello()->set_agent_version("rampart-cp-load");
  for (const auto& [k, v] : labels) (*hello.mutable_hello()->mutable_labels())[k] = v;
  {
    std::lock_guard lock(mu_);
    outgoing_.push_back(std::move(hello));
  }
  StartWrite(&outgoing_.front());
  StartRead(&incoming_);
  StartCall();
}

SimulatedAgent::~SimulatedAgent() {
  context_.TryCancel();
  std::unique_lock lock(mu_);
  done_changed_.wait(lock, [&] { return done_; });
}

std::optional<Clock::time_point> SimulatedAgent::ArrivalOf(uint64_t version) const {
  std::lock_guard lock(mu_);
  auto it = arrivals_.find(version);
  if (it == arrivals_.end()) return std::nullopt;
  return it->second;
}

grpc::Status SimulatedAgent::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

// gRPC may run a reaction inline from StartWrite: it is never called with mu_ held.
// std::deque keeps its elements in place, so the front stays valid while others queue.
void SimulatedAgent::Write(v1::AgentMessage message) {
  const v1::AgentMessage* start = nullptr;
  {
    std::lock_guard lock(mu_);
    outgoing_.push_back(std::move(message));
    if (outgoing_.size() == 1 && !write_failed_) start = &outgoing_.front();
  }
  if (start) StartWrite(start);
}

void SimulatedAgent::OnWriteDone(bool ok) {
  bool first = false;
  const v1::AgentMessage* next = nullptr;
  {
    std::lock_guard lock(mu_);
    outgoing_.pop_front();
    first = !hello_sent_;
    hello_sent_ = true;
    if (!ok) {
      write_failed_ = true;
      outgoing_.clear();
    } else if (!outgoing_.empty()) {
      next = &outgoing_.front();
    }
  }
  if (next) StartWrite(next);
  if (first && ok && events_.hello_sent) events_.hello_sent();
}

void SimulatedAgent::OnReadDone(bool ok) {
  if (!ok) return;  // the stream is ending; OnDone follows
  if (incoming_.has_push()) {
    const auto arrived = Clock::now();
    const uint64_t version = incoming_.push().version();
    {
      std::lock_guard lock(mu_);
      arrivals_.emplace(version, arrived);
    }
    if (events_.pushed) events_.pushed(version);
    v1::AgentMessage ack;
    ack.mutable_ack()->set_version(version);
    ack.mutable_ack()->set_nonce(incoming_.push().nonce());
    Write(std::move(ack));
  }
  StartRead(&incoming_);
}

void SimulatedAgent::OnDone(const grpc::Status& status) {
  if (events_.ended) events_.ended();
  // The destructor may run as soon as done_ is seen: nothing of this object
  // is touched after the notification.
  std::lock_guard lock(mu_);
  status_ = status;
  done_ = true;
  done_changed_.notify_all();
}

}  // namespace rampart::cp::load

#include "controlplane/store/etcd_store.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <utility>

#include "agent/common/errors.h"
#include "agent/common/files.h"
#include "agent/common/logging.h"
#include "agent/common/strings.h"
#include "etcd/etcdserverpb/rpc.grpc.pb.h"

namespace rampart::cp {

using etcdserverpb::Compare;
using etcdserverpb::RangeRequest;
using etcdserverpb::RangeResponse;
using etcdserverpb::TxnRequest;
using etcdserverpb::TxnResponse;

struct EtcdStore::Endpoint {
  std::string address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<etcdserverpb::KV::Stub> kv;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease;
};

namespace {

// Suffixes under the prefix. Versions are zero-padded so that etcd's byte order
// is numeric order and a descending Range finds the newest first.
constexpr char kCurrentSuffix[] = "policy/current";     // "N", the newest version
constexpr char kVersionsSuffix[] = "policy/versions/";  // + %020d: PolicyVersion with policies
constexpr char kHistorySuffix[] = "policy/history/";    // + %020d: PolicyVersion without them
constexpr char kJoinTokensSuffix[] = "join-tokens/";    // + id: JoinTokenRecord
constexpr char kNodesSuffix[] = "nodes/";               // + name: NodeRecord
constexpr char kReplicasSuffix[] = "replicas/";         // + id: ReplicaRecord, on a lease

// etcd's own "require leader" metadata: a member cut off from the leader
// cancels the watch instead of leaving it silently stale.
constexpr char kRequireLeaderKey[] = "hasleader";

// How often a conflicting read-check-write is retried before giving up; each
// retry means another writer made progress, so this is never reached in practice.
constexpr int kMaxConflictRetries = 64;

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The first key after every key that starts with `prefix` (etcd's range_end).
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    if (static_cast<unsigned char>(prefix.back()) < 0xff) {
      prefix.back() = static_cast<char>(prefix.back() + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // every key
}

std::string Padded(uint64_t version) {
  char digits[32];
  std::snprintf(digits, sizeof(digits), "%020llu", static_cast<unsigned long long>(version));
  return digits;
}

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

// "UNAVAILABLE: connection refused"; the code alone when the message is just its name.
std::string GrpcErrorText(const grpc::Status& status) {
  std::string code = absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
  if (status.error_message().empty() || status.error_message() == code) return code;
  return rampart::StrCat(code, ": ", status.error_message());
}

absl::Status EndpointError(const std::string& address, std::string_view operation, const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      rampart::StrCat("etcd ", address, ": ", operation, ": ", status.error_message()));
}

template <typename Record>
absl::StatusOr<Record> ParseValue(const mvccpb::KeyValue& kv) {
  Record record;
  if (!record.ParseFromString(kv.value())) {
    return absl::DataLossError(rampart::StrCat("etcd key ", kv.key(), ": stored value does not parse"));
  }
  return record;
}

absl::StatusOr<uint64_t> ParseVersionNumber(const mvccpb::KeyValue& kv) {
  uint64_t version = 0;
  const std::string& value = kv.value();
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), version);
  if (ec != std::errc() || end != value.data() + value.size()) {
    return absl::DataLossError(rampart::StrCat("etcd key ", kv.key(), ": \"", value, "\" is not a version number"));
  }
  return version;
}

void AddRange(google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>* ops, const std::string& key) {
  ops->Add()->mutable_request_range()->set_key(key);
}

void AddPut(google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>* ops, const std::string& key,
            const std::string& value) {
  etcdserverpb::PutRequest* put = ops->Add()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
}

// The key-value a failure-branch Range at `index` found, or nullptr.
const mvccpb::KeyValue* RangedKv(const TxnResponse& response, int index) {
  if (index >= response.responses_size()) return nullptr;
  const RangeResponse& range = response.responses(index).response_range();
  return range.kvs_size() > 0 ? &range.kvs(0) : nullptr;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(const EtcdOptions& options) {
  if (options.ca_file.empty() && options.cert_file.empty() && options.key_file.empty()) {
    return grpc::InsecureChannelCredentials();
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError("etcd TLS: a client certificate needs both a certificate and a key file");
  }
  grpc::SslCredentialsOptions tls;
  if (!options.ca_file.empty()) {
    auto ca = ReadFile(options.ca_file);
    if (!ca.ok()) return ca.status();
    tls.pem_root_certs = *ca;
  }
  if (!options.cert_file.empty()) {
    auto cert = ReadFile(options.cert_file);
    if (!cert.ok()) return cert.status();
    auto key = ReadFile(options.key_file);
    if (!key.ok()) return key.status();
    tls.pem_cert_chain = *cert;
    tls.pem_private_key = *key;
  }
  return grpc::SslCredentials(tls);
}

}  // namespace

// --- connection ---

absl::StatusOr<std::unique_ptr<EtcdStore>> EtcdStore::Open(const EtcdOptions& options) {
  if (options.endpoints.empty()) return absl::InvalidArgumentError("etcd: no endpoints given");
  if (options.prefix.empty()) return absl::InvalidArgumentError("etcd: the key prefix must not be empty");
  if (options.timeout <= std::chrono::milliseconds::zero()) {
    return absl::InvalidArgumentError("etcd: the timeout must be positive");
  }
  auto credentials = Credentials(options);
  if (!credentials.ok()) return credentials.status();

  grpc::ChannelArguments args;
  // A member that vanishes without closing its connections is noticed within
  // about 15 s even by a watch that is otherwise silent. etcd refuses pings
  // more often than every 5 s (--grpc-keepalive-min-time).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5'000);
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 64 << 20);
  // A member that comes back is used again within seconds, not gRPC's default
  // of up to two minutes of reconnect backoff.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5'000);
  // Each store keeps its own connections, so a second store in the process
  // (a test's second replica) is not hiding behind the first one's.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::vector<std::unique_ptr<Endpoint>> endpoints;
  for (const std::string& address : options.endpoints) {
    auto endpoint = std::make_unique<Endpoint>();
    endpoint->address = address;
    endpoint->channel = grpc::CreateCustomChannel(address, *credentials, args);
    endpoint->kv = etcdserverpb::KV::NewStub(endpoint->channel);
    endpoint->watch = etcdserverpb::Watch::NewStub(endpoint->channel);
    endpoint->lease = etcdserverpb::Lease::NewStub(endpoint->channel);
    endpoints.push_back(std::move(endpoint));
  }
  std::unique_ptr<EtcdStore> store(new EtcdStore(options, std::move(endpoints)));
  auto current = store->ReadCurrentKey("open store");
  if (!current.ok()) return current.status();
  store->Publish(current->version);
  store->watcher_ = std::thread([raw = store.get()] { raw->WatchCurrent(); });
  return store;
}

EtcdStore::EtcdStore(EtcdOptions options, std::vector<std::unique_ptr<Endpoint>> endpoints)
    : options_(std::move(options)), endpoints_(std::move(endpoints)) {}

EtcdStore::~EtcdStore() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (watch_context_) watch_context_->TryCancel();
  }
  changed_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

absl::Status EtcdStore::Call(std::string_view operation, const Rpc& rpc) {
  const auto give_up = std::chrono::steady_clock::now() + options_.timeout;
  const size_t first = preferred_.load();
  std::string failures;
  grpc::StatusCode last_code = grpc::StatusCode::UNAVAILABLE;
  for (int round = 0;; ++round) {
    for (size_t i = 0; i < endpoints_.size(); ++i) {
      const size_t index = (first + i) % endpoints_.size();
      Endpoint& endpoint = *endpoints_[index];
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + options_.timeout);
      grpc::Status status = rpc(endpoint, context);
      if (status.ok()) {
        preferred_ = index;
        return absl::OkStatus();
      }
      if (!Retryable(status.error_code())) return EndpointError(endpoint.address, operation, status);
      last_code = status.error_code();
      if (round == 0) {
        failures += rampart::StrCat(failures.empty() ? "" : "; ", endpoint.address, ": ", status.error_message());
      }
    }
    // Every member failed: a leader election or a restart is often over in a
    // second, so keep cycling for the rest of the timeout.
    if (std::chrono::steady_clock::now() >= give_up) break;
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(std::chrono::milliseconds(100 * (round + 1)),
                                                                    std::chrono::milliseconds(500)));
  }
  return absl::Status(static_cast<absl::StatusCode>(last_code),
                      rampart::StrCat("etcd: ", operation, ": no endpoint answered (", failures, ")"));
}

std::string EtcdStore::VersionKey(uint64_t version) const { return Key(kVersionsSuffix) + Padded(version); }

std::string EtcdStore::HistoryKey(uint64_t version) const { return Key(kHistorySuffix) + Padded(version); }

absl::StatusOr<EtcdStore::CurrentKey> EtcdStore::ReadCurrentKey(std::string_view operation) {
  RangeRequest request;
  request.set_key(Key(kCurrentSuffix));
  RangeResponse response;
  RAMPART_RETURN_IF_ERROR(Call(operation, [&](Endpoint& endpoint, grpc::ClientContext& context) {
    return endpoint.kv->Range(&context, request, &response);
  }));
  CurrentKey current;
  current.store_revision = response.header().revision();
  if (response.kvs_size() == 0) return current;
  auto version = ParseVersionNumber(response.kvs(0));
  if (!version.ok()) return version.status();
  current.version = *version;
  current.mod_revision = response.kvs(0).mod_revision();
  return current;
}

// --- policy versions ---

absl::StatusOr<v1::PolicyVersion> EtcdStore::Current() {
  // Versions are written together with policy/current, so the newest version
  // key is the current version: one Range, newest first.
  RangeRequest request;
  request.set_key(Key(kVersionsSuffix));
  request.set_range_end(PrefixEnd(Key(kVersionsSuffix)));
  request.set_sort_order(RangeRequest::DESCEND);
  request.set_sort_target(RangeRequest::KEY);
  request.set_limit(1);
  RangeResponse response;
  RAMPART_RETURN_IF_ERROR(Call("read current policy version", [&](Endpoint& endpoint, grpc::ClientContext& context) {
    return endpoint.kv->Range(&context, request, &response);
  }));
  if (response.kvs_size() == 0) return v1::PolicyVersion();
  return ParseValue<v1::PolicyVersion>(response.kvs(0));
}

absl::StatusOr<v1::PolicyVersion> EtcdStore::Get(uint64_t version) {
  if (version == 0) return absl::NotFoundError("policy version 0 does not exist");
  RangeRequest request;
  request.set_key(VersionKey(version));
  RangeResponse response;
  RAMPART_RETURN_IF_ERROR(
      Call(rampart::StrCat("read policy version ", version), [&](Endpoint& endpoint, grpc::ClientContext& context) {
        return endpoint.kv->Range(&context, request, &response);
      }));
  if (response.kvs_size() == 0)
    return absl::NotFoundError(rampart::StrCat("policy version ", version, " does not exist"));
  return ParseValue<v1::PolicyVersion>(response.kvs(0));
}

absl::StatusOr<std::vector<v1::PolicyVersion>> EtcdStore::History(size_t limit) {
  std::vector<v1::PolicyVersion> versions;
  if (limit == 0) return versions;  // etcd reads limit 0 as "no limit"
  RangeRequest request;
  request.set_key(Key(kHistorySuffix));
  request.set_range_end(PrefixEnd(Key(kHistorySuffix)));
  request.set_sort_order(RangeRequest::DESCEND);
  request.set_sort_target(RangeRequest::KEY);
  request.set_limit(static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
  RangeResponse response;
  RAMPART_RETURN_IF_ERROR(Call("read policy history", [&](Endpoint& endpoint, grpc::ClientContext& context) {
    return endpoint.kv->Range(&context, request, &response);
  }));
  for (const mvccpb::KeyValue& kv : response.kvs()) {
    auto version = ParseValue<v1::PolicyVersion>(kv);
    if (!version.ok()) return version.status();
    versions.push_back(*std::move(version));
  }
  return versions;
}

absl::StatusOr<v1::PolicyVersion> EtcdStore::Append(const std::vector<v1::Policy>& policies, const std::string& author,
                                                    const std::string& message, uint64_t expected_version) {
  for (int attempt = 0; attempt < kMaxConflictRetries; ++attempt) {
    auto current = ReadCurrentKey("append policy version");
    if (!current.ok()) return current.status();
    if (expected_version != kAnyVersion && expected_version != current->version) {
      return absl::FailedPreconditionError(
          rampart::StrCat("policy changed since version ", expected_version, ": now ", current->version));
    }

    v1::PolicyVersion next;
    next.set_version(current->version + 1);
    next.set_author(author);
    next.set_message(message);
    next.set_created_unix_ms(NowUnixMs());
    const std::string metadata = next.SerializeAsString();
    for (const v1::Policy& policy : policies) *next.add_policies() = policy;
    const std::string record = next.SerializeAsString();

    // Applies only if nobody moved policy/current since we read it (a missing
    // key has mod_revision 0); the version and its number move together.
    TxnRequest request;
    Compare* unchanged = request.add_compare();
    unchanged->set_key(Key(kCurrentSuffix));
    unchanged->set_target(Compare::MOD);
    unchanged->set_result(Compare::EQUAL);
    unchanged->set_mod_revision(current->mod_revision);
    AddPut(request.mutable_success(), VersionKey(next.version()), record);
    AddPut(request.mutable_success(), HistoryKey(next.version()), metadata);
    AddPut(request.mutable_success(), Key(kCurrentSuffix), std::to_string(next.version()));
    AddRange(request.mutable_failure(), Key(kCurrentSuffix));
    AddRange(request.mutable_failure(), VersionKey(next.version()));
    TxnResponse response;
    int sent = 0;
    RAMPART_RETURN_IF_ERROR(Call("append policy version", [&](Endpoint& endpoint, grpc::ClientContext& context) {
      ++sent;
      return endpoint.kv->Txn(&context, request, &response);
    }));
    if (response.succeeded()) {
      Publish(next.version());
      return next;
    }
    // Sent twice after a timeout: the first one may have applied after all.
    const mvccpb::KeyValue* landed = RangedKv(response, 1);
    if (sent > 1 && landed != nullptr && landed->value() == record) {
      Publish(next.version());
      return next;
    }
    if (expected_version != kAnyVersion) {
      uint64_t now_version = current->version;
      if (const mvccpb::KeyValue* now = RangedKv(response, 0); now != nullptr) {
        auto parsed = ParseVersionNumber(*now);
        if (!parsed.ok()) return parsed.status();
        now_version = *parsed;
      }
      return absl::FailedPreconditionError(
          rampart::StrCat("policy changed since version ", expected_version, ": now ", now_version));
    }
    // A blind append lost a race: read the new current version and try again.
  }
  return absl::AbortedError(
      rampart::StrCat("etcd: append policy version: still conflicting after ", kMaxConflictRetries, " attempts"));
}

void EtcdStore::Publish(uint64_t version) {
  {
    std::lock_guard lock(mu_);
    if (version <= newest_) return;
    newest_ = version;
  }
  changed_.notify_all();
}

absl::StatusOr<uint64_t> EtcdStore::WaitForVersionAfter(uint64_t seen, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mu_);
  while (true) {
    auto now = std::chrono::steady_clock::now();
    if (!watch_live_ && now - last_fallback_poll_ >= kFallbackPoll) {
      // The watch is (re)connecting: one waiter reads policy/current for all.
      last_fallback_poll_ = now;
      lock.unlock();
      auto current = ReadCurrentKey("read current policy version");
      lock.lock();
      fallback_error_ = current.status();
      if (current.ok() && current->version > newest_) {
        newest_ = current->version;
        changed_.notify_all();
      }
      now = std::chrono::steady_clock::now();
    }
    if (newest_ > seen) return newest_;
    if (now >= deadline) {
      // Neither the watch nor a read reached etcd: say so rather than report a stale version.
      if (!watch_live_ && !fallback_error_.ok()) return fallback_error_;
      return newest_;
    }
    auto wait = std::chrono::duration_cast<std::chrono::steady_clock::duration>(deadline - now);
    if (!watch_live_) wait = std::min<std::chrono::steady_clock::duration>(wait, kFallbackPoll);
    changed_.wait_for(lock, wait);
  }
}

void EtcdStore::WatchCurrent() {
  auto log = Logger("store");
  std::chrono::milliseconds backoff(100);
  bool warned = false;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    // Read, then watch from just after the read, so no change falls in between.
    auto current = ReadCurrentKey("watch policy/current");
    std::string failure;
    if (current.ok()) {
      Publish(current->version);
      Endpoint& endpoint = *endpoints_[preferred_.load()];
      auto context = std::make_shared<grpc::ClientContext>();
      context->AddMetadata(kRequireLeaderKey, "true");
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        watch_context_ = context;
      }
      auto stream = endpoint.watch->Watch(context.get());
      etcdserverpb::WatchRequest request;
      etcdserverpb::WatchCreateRequest* create = request.mutable_create_request();
      create->set_key(Key(kCurrentSuffix));
      create->set_start_revision(current->store_revision + 1);
      etcdserverpb::WatchResponse response;
      if (stream->Write(request)) {
        while (stream->Read(&response)) {
          if (response.created()) {
            {
              std::lock_guard lock(mu_);
              watch_live_ = true;
              fallback_error_ = absl::OkStatus();
            }
            changed_.notify_all();
            backoff = std::chrono::milliseconds(100);
            if (warned) log->info("etcd {}: watching policy/current again", endpoint.address);
            warned = false;
          }
          for (const mvccpb::Event& event : response.events()) {
            if (event.type() != mvccpb::Event::PUT) continue;
            auto version = ParseVersionNumber(event.kv());
            if (version.ok()) Publish(*version);
          }
          if (response.canceled()) {
            failure = rampart::StrCat("watch canceled: ", response.cancel_reason(),
                                      response.compact_revision() ? " (history compacted)" : "");
            break;
          }
        }
      }
      context->TryCancel();
      grpc::Status status = stream->Finish();
      if (failure.empty()) failure = status.ok() ? "watch ended" : GrpcErrorText(status);
      failure = rampart::StrCat("etcd ", endpoint.address, ": watch policy/current: ", failure);
      {
        std::lock_guard lock(mu_);
        watch_live_ = false;
        watch_context_.reset();
      }
      // Next time start with another member: this one may be the one that failed.
      preferred_ = (preferred_.load() + 1) % endpoints_.size();
    } else {
      failure = std::string(current.status().message());
    }
    std::unique_lock lock(mu_);
    if (stopping_) return;
    if (!warned) log->warn("{}; waiters poll until the watch is back", failure);
    warned = true;
    changed_.wait_for(lock, backoff, [&] { return stopping_; });
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
}

// --- join tokens ---

absl::Status EtcdStore::PutJoinToken(const v1::JoinTokenRecord& token) {
  const std::string key = Key(kJoinTokensSuffix) + token.id();
  const std::string record = token.SerializeAsString();
  TxnRequest request;
  Compare* absent = request.add_compare();
  absent->set_key(key);
  absent->set_target(Compare::CREATE);
  absent->set_result(Compare::EQUAL);
  absent->set_create_revision(0);
  AddPut(request.mutable_success(), key, record);
  AddRange(request.mutable_failure(), key);
  TxnResponse response;
  int sent = 0;
  RAMPART_RETURN_IF_ERROR(
      Call(rampart::StrCat("put join token ", token.id()), [&](Endpoint& endpoint, grpc::ClientContext& context) {
        ++sent;
        return endpoint.kv->Txn(&context, request, &response);
      }));
  if (response.succeeded()) return absl::OkStatus();
  const mvccpb::KeyValue* existing = RangedKv(response, 0);
  if (sent > 1 && existing != nullptr && existing->value() == record) return absl::OkStatus();
  return absl::AlreadyExistsError(rampart::StrCat("join token ", token.id(), " already exists"));
}

absl::StatusOr<v1::JoinTokenRecord> EtcdStore::ConsumeJoinToken(const std::string& id, const std::string& node,
                                                                int64_t now_unix_ms) {
  const std::string key = Key(kJoinTokensSuffix) + id;
  const std::string operation = "consume join token " + id;
  for (int attempt = 0; attempt < kMaxConflictRetries; ++attempt) {
    RangeRequest read;
    read.set_key(key);
    RangeResponse stored;
    RAMPART_RETURN_IF_ERROR(Call(operation, [&](Endpoint& endpoint, grpc::ClientContext& context) {
      return endpoint.kv->Range(&context, read, &stored);
    }));
    if (stored.kvs_size() == 0) return absl::NotFoundError(rampart::StrCat("join token ", id, " does not exist"));
    auto before = ParseValue<v1::JoinTokenRecord>(stored.kvs(0));
    if (!before.ok()) return before.status();
    auto used = MarkJoinTokenUsed(*before, node, now_unix_ms);
    if (!used.ok()) return used.status();
    const std::string record = used->SerializeAsString();

    TxnRequest request;
    Compare* unchanged = request.add_compare();
    unchanged->set_key(key);
    unchanged->set_target(Compare::MOD);
    unchanged->set_result(Compare::EQUAL);
    unchanged->set_mod_revision(stored.kvs(0).mod_revision());
    AddPut(request.mutable_success(), key, record);
    AddRange(request.mutable_failure(), key);
    TxnResponse response;
    int sent = 0;
    RAMPART_RETURN_IF_ERROR(Call(operation, [&](Endpoint& endpoint, grpc::ClientContext& context) {
      ++sent;
      return endpoint.kv->Txn(&context, request, &response);
    }));
    if (response.succeeded()) return before;
    const mvccpb::KeyValue* now = RangedKv(response, 0);
    if (sent > 1 && now != nullptr && now->value() == record) return before;
    // Someone else changed the token first (most likely used it): look again.
  }
  return absl::AbortedError(
      rampart::StrCat("etcd: ", operation, ": still conflicting after ", kMaxConflictRetries, " attempts"));
}

absl::StatusOr<v1::JoinTokenRecord> EtcdStore::GetJoinToken(const std::string& id) {
  RangeRequest request;
  request.set_key(Key(kJoinTokensSuffix) + id);
  RangeResponse response;
  RAMPART_RETURN_IF_ERROR(
      Call(rampart::StrCat("read join token ", id), [&](Endpoint& endpoint, grpc::ClientContext& context) {
        return endpoint.kv->Range(&context, request, &response);
      }));
  if (response.kvs_size() == 0) return absl::NotFoundError(rampart::StrCat("join token ", id, " does not exist"));
  return ParseValue<v1::JoinTokenRecord>(response.kvs(0));
}

namespace {

template <typename Record>
absl::StatusOr<std::vector<Record>> ParseAll(const RangeResponse& response) {
  std::vector<Record> records;
  for (const mvccpb::KeyValue& kv : response.kvs()) {
    auto record = ParseValue<Record>(kv);
    if (!record.ok()) return record.status();
    records.push_back(*std::move(record));
  }
  return records;
}

// Every key under `prefix`, in key order.
RangeRequest PrefixRange(const std::string& prefix) {
  RangeRequest request;
  request.set_key(prefix);
  request.set_range_end(PrefixEnd(prefix));
  request.set_sort_order(RangeRequest::ASCEND);
  request.set_sort_target(RangeRequest::KEY);
  return request;
}

}  // namespace

absl::StatusOr<std::vector<v1::JoinTokenRecord>> EtcdStore::JoinTokens() {
  RangeRequest request = PrefixRange(Key(kJoinTokensSuffix));
  RangeResponse response;
  RAMPART_RETURN_IF_ERROR(Call("list join tokens", [&](Endpoint& endpoint, grpc::ClientContext& context) {
    return endpoint.kv->Range(&context, request, &response);
  }));
  return ParseAll<v1::JoinTokenRecord>(response);
}

// --- nodes ---

absl::Status EtcdStore::PutNode(const v1::NodeRecord& node) {
  etcdserverpb::PutRequest request;
  request.set_key(Key(kNodesSuffix) + node.name());
  request.set_value(node.SerializeAsString());
  etcdserverpb::PutResponse response;
  return Call(rampart::StrCat("put node ", node.name()), [&](Endpoint& endpoint, grpc::ClientContext& context) {
    return endpoint.kv->Put(&context, request, &response);
  });
}

absl::StatusOr<v1::NodeRecord> EtcdStore::GetNode(const std::string& name) {
  RangeRequest request;
  request.set_key(Key(kNodesSuffix) + name);
  RangeResponse response;
  RAMPART_RETURN_IF_ERROR(
      Call(rampart::StrCat("read node ", name), [&](Endpoint& endpoint, grpc::ClientContext& context) {
        return endpoint.kv->Range(&context, request, &response);
      }));
  if (response.kvs_size() == 0) return absl::NotFoundError(rampart::StrCat("node ", name, " is not enrolled"));
  return ParseValue<v1::NodeRecord>(response.kvs(0));
}

absl::StatusOr<std::vector<v1::NodeRecord>> EtcdStore::Nodes() {
  RangeRequest request = PrefixRange(Key(kNodesSuffix));
  RangeResponse response;
  RAMPART_RETURN_IF_ERROR(Call("list nodes", [&](Endpoint& endpoint, grpc::ClientContext& context) {
    return endpoint.kv->Range(&context, request, &response);
  }));
  return ParseAll<v1::NodeRecord>(response);
}

// --- replicas ---

absl::Status EtcdStore::KeepReplicaAlive(const v1::ReplicaRecord& replica, std::chrono::seconds ttl) {
  const std::string operation = "keep replica " + replica.id() + " alive";
  const std::string record = replica.SerializeAsString();
  std::lock_guard lock(leases_mu_);
  ReplicaLease& lease = leases_[replica.id()];

  if (lease.id != 0 && lease.ttl == ttl) {
    etcdserverpb::LeaseKeepAliveRequest request;
    request.set_id(lease.id);
    etcdserverpb::LeaseKeepAliveResponse response;
    RAMPART_RETURN_IF_ERROR(Call(operation, [&](Endpoint& endpoint, grpc::ClientContext& context) {
      auto stream = endpoint.lease->LeaseKeepAlive(&context);
      if (stream->Write(request) && stream->Read(&response)) stream->WritesDone();
      return stream->Finish();
    }));
    if (response.ttl() <= 0) lease = ReplicaLease{};  // expired already: the key is gone too
  } else if (lease.id != 0) {
    // A different TTL needs a new lease; the old one is revoked on a best-effort basis.
    etcdserverpb::LeaseRevokeRequest request;
    request.set_id(lease.id);
    etcdserverpb::LeaseRevokeResponse response;
    Call(operation, [&](Endpoint& endpoint, grpc::ClientContext& context) {
      return endpoint.lease->LeaseRevoke(&context, request, &response);
    }).IgnoreError();
    lease = ReplicaLease{};
  }

  if (lease.id == 0) {
    etcdserverpb::LeaseGrantRequest request;
    request.set_ttl(ttl.count());
    etcdserverpb::LeaseGrantResponse response;
    RAMPART_RETURN_IF_ERROR(Call(operation, [&](Endpoint& endpoint, grpc::ClientContext& context) {
      return endpoint.lease->LeaseGrant(&context, request, &response);
    }));
    if (!response.error().empty() || response.id() == 0) {
      return absl::InternalError(rampart::StrCat("etcd: ", operation, ": lease not granted: ", response.error()));
    }
    lease.id = response.id();
    lease.ttl = ttl;
  }

  if (lease.stored_record == record) return absl::OkStatus();
  etcdserverpb::PutRequest request;
  request.set_key(Key(kReplicasSuffix) + replica.id());
  request.set_value(record);
  request.set_lease(lease.id);
  etcdserverpb::PutResponse response;
  RAMPART_RETURN_IF_ERROR(Call(operation, [&](Endpoint& endpoint, grpc::ClientContext& context) {
    return endpoint.kv->Put(&context, request, &response);
  }));
  lease.stored_record = record;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::ReplicaRecord>> EtcdStore::LiveReplicas() {
  RangeRequest request = PrefixRange(Key(kReplicasSuffix));
  RangeResponse response;
  RAMPART_RETURN_IF_ERROR(Call("list live replicas", [&](Endpoint& endpoint, grpc::ClientContext& context) {
    return endpoint.kv->Range(&context, request, &response);
  }));
  return ParseAll<v1::ReplicaRecord>(response);
}

}  // namespace rampart::cp

// rampart-cp serve: wires the store, the fleet, the agent-facing services
// (mutual TLS) and the admin services (root-only unix socket).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_split.h"
#include "agent/common/files.h"
#include "agent/common/logging.h"
#include "agent/common/service_notify.h"
#include "agent/common/strings.h"
#include "controlplane/cli/command_line.h"
#include "controlplane/pki/certificate_authority.h"
#include "controlplane/pki/enrollment_service.h"
#include "controlplane/pki/node_authenticator.h"
#include "controlplane/pki/server_credentials.h"
#include "agent/metrics/metrics_endpoint.h"
#include "controlplane/service/admin_service.h"
#include "controlplane/service/control_plane_metrics.h"
#include "controlplane/service/events_service.h"
#include "controlplane/service/identity_admin_service.h"
#include "controlplane/service/sync_service.h"
#include "controlplane/store/etcd_store.h"
#include "controlplane/store/sqlite_store.h"

namespace rampart::cp::cli {
namespace {

// Hands versions that another rampart-cp wrote to the shared store to this
// one's fleet, so every replica pushes the newest version.
class StoreWatcher {
 public:
  StoreWatcher(Store& store, Fleet& fleet, uint64_t seen)
      : thread_([this, &store, &fleet, seen] {
          uint64_t newest = seen;
          while (!stopping_) {
            auto version = store.WaitForVersionAfter(newest, std::chrono::seconds(1));
            if (!version.ok()) {
              std::this_thread::sleep_for(std::chrono::seconds(1));
              continue;
            }
            if (*version <= newest) continue;
            auto current = store.Current();
            if (!current.ok()) {
              rampart::Logger("store")->warn("reading policy version {}: {}", *version,
                                             std::string(current.status().message()));
              continue;
            }
            newest = current->version();
            fleet.Publish(*current);
          }
        }) {}
  ~StoreWatcher() {
    stopping_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Ends the streams of nodes deleted through another replica. A delete through
// this one ends them at once (IdentityAdminService's on_delete); the store has
// no watch on node records, so every kInterval this replica compares the
// nodes it has streams for with the store's node list: one read of every
// node record per second, and only while some node is connected.
class DeletedNodeSweeper {
 public:
  static constexpr std::chrono::seconds kInterval{1};
  using Disconnect = std::function<void(const std::string&)>;
  DeletedNodeSweeper(Store& store, SyncService& sync, Disconnect disconnect)
      : thread_([this, &store, &sync, disconnect = std::move(disconnect)] {
          bool store_failed = false;
          std::unique_lock lock(mu_);
          while (!wake_.wait_for(lock, kInterval, [this] { return stopping_; })) {
            lock.unlock();
            Sweep(store, sync, disconnect, store_failed);
            lock.lock();
          }
        }) {}
  ~DeletedNodeSweeper() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  static void Sweep(Store& store, SyncService& sync, const Disconnect& disconnect, bool& store_failed) {
    const std::vector<std::string> connected = sync.ConnectedNodes();
    if (connected.empty()) return;
    auto nodes = store.Nodes();
    if (!nodes.ok()) {
      // Once per outage: the store's own log says more.
      if (!store_failed) {
        Logger("identity")->warn("checking connected nodes for deletions: {}", std::string(nodes.status().message()));
      }
      store_failed = true;
      return;
    }
    store_failed = false;
    std::map<std::string, bool> revoked;  // every enrolled node
    for (const v1::NodeRecord& node : *nodes) revoked[node.name()] = node.revoked();
    for (const std::string& name : connected) {
      auto it = revoked.find(name);
      if (it == revoked.end() || it->second) disconnect(name);
    }
  }

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

// Announces this replica in the store (etcd: under a lease) while it serves.
class ReplicaHeartbeat {
 public:
  static constexpr std::chrono::seconds kTtl{10};
  ReplicaHeartbeat(Store& store, v1::ReplicaRecord self)
      : thread_([this, &store, self] {
          std::unique_lock lock(mu_);
          while (!stopping_) {
            if (absl::Status st = store.KeepReplicaAlive(self, kTtl); !st.ok()) {
              Logger("store")->warn("announcing replica {}: {}", self.id(), std::string(st.message()));
            }
            wake_.wait_for(lock, kTtl / 3, [this] { return stopping_; });
          }
        }) {}
  ~ReplicaHeartbeat() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& kind, const std::string& state_dir,
                                                 const EtcdOptions& etcd) {
  if (kind == "sqlite") {
    auto store = SqliteStore::Open(state_dir + "/store.db");
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(std::move(*store));
  }
  if (kind == "etcd") {
    if (etcd.endpoints.empty()) return absl::InvalidArgumentError("--store etcd needs --etcd-endpoints HOST:PORT,...");
    auto store = EtcdStore::Open(etcd);
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(std::move(*store));
  }
  return absl::InvalidArgumentError("--store \"" + kind + "\": expected sqlite or etcd");
}

std::string Hostname() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

}  // namespace

int Serve(int argc, char** argv) {
  std::string metrics_address;
  std::string listen, advertise, ca_dir, cert, key, client_ca, state_dir, admin_socket, log_level, store_kind,
      etcd_endpoints;
  EtcdOptions etcd;
  double push_rate = kDefaultPushesPerSecond;
  EventRetention retention;
  int64_t event_max_age_s = retention.max_age.count();
  po::options_description flags("rampart-cp serve options");
  flags.add_options()
      ("help,h", "show this help")
      ("listen", po::value(&listen)->default_value("127.0.0.1:7443"), "agent-facing address HOST:PORT (mutual TLS)")
      ("advertise", po::value(&advertise), "HOST:PORT agents reach this control plane at, written into join "
                                           "tokens (default: --listen)")
      ("ca-dir", po::value(&ca_dir), "the fleet CA made by `rampart-cp ca init`: agents join with tokens and "
                                     "authenticate as spiffe://<domain>/agent/<node>")
      ("cert", po::value(&cert), "static identity: server certificate (PEM); instead of --ca-dir")
      ("key", po::value(&key), "static identity: server private key (PEM)")
      ("client-ca", po::value(&client_ca), "static identity: CA that signs agent certificates (PEM); the node "
                                           "name is the certificate's common name")
      ("state-dir", po::value(&state_dir)->default_value("/var/lib/rampart-cp"), "holds the SQLite store (store.db)")
      ("store", po::value(&store_kind)->default_value("sqlite"), "sqlite | etcd")
      ("etcd-endpoints", po::value(&etcd_endpoints), "etcd client endpoints HOST:PORT,... (--store etcd)")
      ("etcd-prefix", po::value(&etcd.prefix)->default_value(etcd.prefix), "key prefix in etcd")
      ("etcd-ca", po::value(&etcd.ca_file), "CA of etcd's certificate (TLS to etcd)")
      ("etcd-cert", po::value(&etcd.cert_file), "client certificate for etcd")
      ("etcd-key", po::value(&etcd.key_file), "client key for etcd")
      ("admin-socket", po::value(&admin_socket)->default_value(kDefaultAdminSocket), "root-only admin socket")
      ("push-rate", po::value(&push_rate)->default_value(push_rate),
       "bundles pushed per second across the fleet, after a burst of a tenth of that (0: unpaced)")
      ("metrics-address", po::value(&metrics_address),
       "serve Prometheus metrics on HOST:PORT (/metrics, plain HTTP: keep it on loopback); default: none")
      ("event-retention", po::value(&retention.max_events)->default_value(retention.max_events),
       "fleet events (findings, drop summaries) kept in memory for `rampart-cp events`")
      ("event-max-age", po::value(&event_max_age_s)->default_value(event_max_age_s),
       "seconds a fleet event is kept")
      ("log-level", po::value(&log_level)->default_value("info"), "trace | debug | info | warn | error");
  po::variables_map vars;
  int code = 0;
  if (!Parse(argc, argv, 1, flags, vars, code)) return code;
  const bool static_identity = !cert.empty() || !key.empty() || !client_ca.empty();
  if (ca_dir.empty() == !static_identity || (static_identity && (cert.empty() || key.empty() || client_ca.empty()))) {
    std::cerr << "rampart-cp serve: give either --ca-dir DIR, or all of --cert, --key and --client-ca\n";
    return kExitUsage;
  }
  if (advertise.empty()) advertise = listen;
  if (retention.max_events == 0 || event_max_age_s <= 0) {
    std::cerr << "rampart-cp serve: --event-retention and --event-max-age must be positive\n";
    return kExitUsage;
  }
  retention.max_age = std::chrono::seconds(event_max_age_s);
  for (auto endpoint : absl::StrSplit(etcd_endpoints, ',', absl::SkipEmpty())) etcd.endpoints.emplace_back(endpoint);
  InitLogging(log_level);
  auto log = Logger("cp");
  // Blocked before any thread starts, so every thread inherits the mask and
  // the signals reach sigwait below rather than killing the process mid-write.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto store = OpenStore(store_kind, state_dir, etcd);
  if (!store.ok()) {
    log->critical("{}", std::string(store.status().message()));
    return store.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailed;
  }
  auto current = (*store)->Current();
  if (!current.ok()) {
    log->critical("{}", std::string(current.status().message()));
    return kExitFailed;
  }

  std::unique_ptr<CertificateAuthority> ca;
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (!ca_dir.empty()) {
    auto loaded = CertificateAuthority::Load(ca_dir);
    if (!loaded.ok()) {
      log->critical("{}", std::string(loaded.status().message()));
      return kExitFailed;
    }
    ca = std::move(*loaded);
    auto tls = AgentServerCredentials(AgentPortTls::FromCaDirectory(ca_dir));
    if (!tls.ok()) {
      log->critical("{}", std::string(tls.status().message()));
      return kExitFailed;
    }
    credentials = *tls;
  } else {
    grpc::SslServerCredentialsOptions tls(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    auto cert_pem = ReadFile(cert), key_pem = ReadFile(key), ca_pem = ReadFile(client_ca);
    for (const auto* file : {&cert_pem, &key_pem, &ca_pem}) {
      if (!file->ok()) {
        log->critical("{}", std::string(file->status().message()));
        return kExitFailed;
      }
    }
    tls.pem_root_certs = *ca_pem;
    tls.pem_key_cert_pairs.push_back({*key_pem, *cert_pem});
    credentials = grpc::SslServerCredentials(tls);
  }

  Fleet fleet(*current);
  SyncOptions sync_options;
  sync_options.pushes_per_second = push_rate;
  sync_options.push_burst = static_cast<size_t>(std::max(1.0, push_rate / 10));
  std::optional<NodeAuthenticator> authenticator;
  if (ca) {
    // The port also takes connections without a client certificate (for
    // Join), so every stream proves its node here.
    authenticator.emplace(*ca, **store);
    sync_options.identity = [&authenticator, log](const grpc::ServerContextBase& context) -> std::string {
      auto peer = authenticator->Authenticate(context.auth_context().get());
      if (!peer.ok()) {
        log->warn("sync refused from {}: {}", context.peer(), std::string(peer.status().message()));
        return "";
      }
      return peer->name;
    };
  }
  SyncService sync(fleet, sync_options);
  FleetInventory inventory;
  EventStore events(retention, std::chrono::system_clock::now, &inventory);
  FleetEventsService fleet_events(events, sync_options.identity);
  EventsAdminService events_admin(events, inventory);
  std::optional<EnrollmentService> enrollment;
  if (ca) enrollment.emplace(*ca, **store);
  AdminService admin(**store, fleet);
  // A deleted node loses its open streams now, not at the maximum connection
  // age: here at once, on the other replicas at their next sweep.
  auto disconnect = [&sync, &fleet_events, &inventory](const std::string& node) {
    sync.Disconnect(node);
    fleet_events.Disconnect(node);
    inventory.Forget(node);
  };
  IdentityAdminService identity_admin(ca.get(), **store, advertise, disconnect);
  std::optional<DeletedNodeSweeper> sweeper;
  if (ca) sweeper.emplace(**store, sync, disconnect);
  StoreWatcher watcher(**store, fleet, current->version());
  v1::ReplicaRecord self;
  self.set_id(Hostname() + "/" + listen);
  self.set_address(advertise);
  self.set_started_unix_ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  ReplicaHeartbeat heartbeat(**store, self);

  grpc::ServerBuilder agents;
  agents.AddListeningPort(listen, credentials);
  LimitConnectionAge(agents);
  agents.RegisterService(&sync);
  agents.RegisterService(&fleet_events);
  if (enrollment) agents.RegisterService(&*enrollment);
  auto agent_server = agents.BuildAndStart();
  if (!agent_server) {
    log->critical("listen on {} failed (address in use, or a bad certificate or key)", listen);
    return kExitFailed;
  }

  std::unique_ptr<metrics::MetricsEndpoint> metrics_endpoint;
  if (!metrics_address.empty()) {
    auto endpoint = metrics::MetricsEndpoint::Start(
        metrics_address, [&fleet, &events] { return ControlPlaneMetrics(fleet.Nodes(), events.Stats()); });
    if (!endpoint.ok()) {
      log->critical("{}", std::string(endpoint.status().message()));
      return kExitFailed;
    }
    metrics_endpoint = std::move(*endpoint);
  }

  const std::string admin_dir = std::filesystem::path(admin_socket).parent_path();
  mkdir(admin_dir.c_str(), 0700);
  unlink(admin_socket.c_str());
  grpc::ServerBuilder admins;
  admins.AddListeningPort("unix:" + admin_socket, grpc::InsecureServerCredentials());
  admins.RegisterService(&admin);
  admins.RegisterService(&identity_admin);
  admins.RegisterService(&events_admin);
  mode_t old_mask = umask(0077);
  auto admin_server = admins.BuildAndStart();
  umask(old_mask);
  if (!admin_server) {
    log->critical("listen on admin socket {} failed", admin_socket);
    return kExitFailed;
  }
  chmod(admin_socket.c_str(), 0600);
  log->info("rampart-cp {} serving agents on {} ({}), admin on {}, {} store, policy version {}", RAMPART_VERSION,
            listen, ca ? "fleet CA " + ca_dir + ", trust domain " + ca->trust_domain() : "static certificates",
            admin_socket, store_kind, current->version());
  if (absl::Status st = NotifyServiceManager("READY=1"); !st.ok()) log->warn("{}", std::string(st.message()));

  int signal = 0;
  sigwait(&signals, &signal);
  log->info("signal {}: stopping", signal);
  agent_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  admin_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  unlink(admin_socket.c_str());
  return 0;
}

}  // namespace rampart::cp::cli

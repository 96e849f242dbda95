#include "tests/controlplane/store/etcd_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "agent/common/errors.h"
#include "agent/common/strings.h"
#include "etcd/etcdserverpb/rpc.grpc.pb.h"

namespace rampart::cp {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kStartTimeout = 20s;
constexpr int kStartAttempts = 3;  // a free port can be taken by someone else before etcd binds it

std::string EtcdBinary() {
  if (const char* path = std::getenv("PATH")) {
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      std::string candidate = dir + "/etcd";
      if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return "/usr/bin/etcd";
}

// Ports the kernel considers free right now, all different: the sockets stay
// bound until every port is chosen.
absl::StatusOr<std::vector<int>> FreeLoopbackPorts(int count) {
  std::vector<int> fds;
  std::vector<int> ports;
  absl::Status status;
  for (int i = 0; i < count && status.ok(); ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      status = ErrnoError(errno, "socket");
      break;
    }
    fds.push_back(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      status = ErrnoError(errno, "bind 127.0.0.1:0");
      break;
    }
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int fd : fds) close(fd);
  if (!status.ok()) return status;
  return ports;
}

// GET http://ENDPOINT/metrics over a plain socket (etcd serves it on the client URL).
absl::StatusOr<std::string> FetchMetrics(const std::string& endpoint) {
  const size_t colon = endpoint.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(endpoint.substr(colon + 1))));
  inet_pton(AF_INET, endpoint.substr(0, colon).c_str(), &addr.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError(errno, "socket");
  timeval timeout{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    absl::Status status = ErrnoError(errno, "connect " + endpoint);
    close(fd);
    return status;
  }
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: " + endpoint + "\r\n\r\n";
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    absl::Status status = ErrnoError(errno, "send to " + endpoint);
    close(fd);
    return status;
  }
  std::string response;
  char buffer[16384];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) response.append(buffer, static_cast<size_t>(n));
  close(fd);
  return response;
}

std::string LogTail(const std::string& path) {
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (content.size() > 2000) content = "..." + content.substr(content.size() - 2000);
  return content;
}

}  // namespace

std::string ClosedLoopbackEndpoint() {
  auto port = FreeLoopbackPorts(1);
  return rampart::StrCat("127.0.0.1:", port.ok() ? (*port)[0] : 1);
}

absl::StatusOr<std::unique_ptr<EtcdCluster>> EtcdCluster::Start(int members) {
  static std::atomic<int> started{0};
  absl::Status last;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    std::unique_ptr<EtcdCluster> cluster(new EtcdCluster());
    std::string base = "/dev/shm";
    if (access(base.c_str(), W_OK) != 0) base = fs::temp_directory_path().string();
    std::string pattern = base + "/rampart-etcd-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) return ErrnoError(errno, "mkdtemp " + pattern);
    cluster->dir_ = pattern;

    auto ports = FreeLoopbackPorts(2 * members);
    if (!ports.ok()) return ports.status();
    std::string initial_cluster;
    for (int i = 0; i < members; ++i) {
      Member member;
      member.name = rampart::StrCat("m", i);
      member.client_endpoint = rampart::StrCat("127.0.0.1:", (*ports)[2 * i]);
      member.peer_url = rampart::StrCat("http://127.0.0.1:", (*ports)[2 * i + 1]);
      member.data_dir = rampart::StrCat(cluster->dir_, "/", member.name);
      member.log_path = rampart::StrCat(cluster->dir_, "/", member.name, ".log");
      initial_cluster += rampart::StrCat(i ? "," : "", member.name, "=", member.peer_url);
      cluster->members_.push_back(member);
    }
    const std::string token = rampart::StrCat("rampart-test-", getpid(), "-", started++);
    last = absl::OkStatus();
    for (Member& member : cluster->members_) {
      last = cluster->Launch(member, initial_cluster, token);
      if (!last.ok()) break;
    }
    const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    for (size_t i = 0; last.ok() && i < cluster->members_.size(); ++i) {
      last = cluster->WaitHealthy(cluster->members_[i], deadline);
    }
    if (last.ok()) return cluster;
  }
  return last;
}

absl::Status EtcdCluster::Launch(Member& member, const std::string& initial_cluster, const std::string& token) {
  const std::string binary = EtcdBinary();
  const std::string client_url = "http://" + member.client_endpoint;
  std::vector<std::string> args = {
      binary,
      "--name=" + member.name,
      "--data-dir=" + member.data_dir,
      "--listen-client-urls=" + client_url,
      "--advertise-client-urls=" + client_url,
      "--listen-peer-urls=" + member.peer_url,
      "--initial-advertise-peer-urls=" + member.peer_url,
      "--initial-cluster=" + initial_cluster,
      "--initial-cluster-state=new",
      "--initial-cluster-token=" + token,
      // Elections in half a second, so a test that kills the leader moves on quickly.
      "--heartbeat-interval=50",
      "--election-timeout=500",
      "--logger=zap",
      "--log-level=error",
  };
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const int log_fd = open(member.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0) return ErrnoError(errno, "create " + member.log_path);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return ErrnoError(errno, "fork etcd");
  }
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log_fd);
  member.pid = pid;
  return absl::OkStatus();
}

absl::Status EtcdCluster::WaitHealthy(Member& member, std::chrono::steady_clock::time_point deadline) {
  std::string last_error = "no answer";
  while (std::chrono::steady_clock::now() < deadline) {
    int wstatus = 0;
    if (waitpid(member.pid, &wstatus, WNOHANG) == member.pid) {
      member.pid = -1;
      return absl::UnavailableError(rampart::StrCat("etcd member ", member.name, " (", member.client_endpoint,
                                                    ") exited during start-up; its log:\n", LogTail(member.log_path)));
    }
    // A new channel each time: a channel that failed to connect waits out
    // gRPC's reconnect backoff (a second and more) before it tries again.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto kv = etcdserverpb::KV::NewStub(
        grpc::CreateCustomChannel(member.client_endpoint, grpc::InsecureChannelCredentials(), args));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 1s);
    etcdserverpb::RangeRequest request;
    request.set_key("health");
    etcdserverpb::RangeResponse response;
    grpc::Status status = kv->Range(&context, request, &response);
    if (status.ok()) return absl::OkStatus();
    last_error = status.error_message();
    std::this_thread::sleep_for(50ms);
  }
  return absl::DeadlineExceededError(rampart::StrCat("etcd member ", member.name, " (", member.client_endpoint,
                                                     ") not healthy in time: ", last_error, "; its log:\n",
                                                     LogTail(member.log_path)));
}

EtcdCluster::~EtcdCluster() {
  StopAll();
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

void EtcdCluster::StopAll() {
  for (Member& member : members_) {
    if (member.pid <= 0) continue;
    kill(member.pid, SIGKILL);
    waitpid(member.pid, nullptr, 0);
    member.pid = -1;
  }
}

std::vector<std::string> EtcdCluster::ClientEndpoints() const {
  std::vector<std::string> endpoints;
  for (const Member& member : members_) endpoints.push_back(member.client_endpoint);
  return endpoints;
}

absl::Status EtcdCluster::Kill(int index) {
  Member& member = members_.at(index);
  if (member.pid <= 0)
    return absl::FailedPreconditionError(rampart::StrCat("etcd member ", member.name, " is not running"));
  if (kill(member.pid, SIGKILL) != 0) return ErrnoError(errno, rampart::StrCat("kill etcd member ", member.name));
  waitpid(member.pid, nullptr, 0);
  member.pid = -1;
  return absl::OkStatus();
}

absl::StatusOr<int> EtcdCluster::Leader(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    for (int i = 0; i < size(); ++i) {
      if (members_[i].pid <= 0) continue;
      auto metrics = FetchMetrics(members_[i].client_endpoint);
      if (metrics.ok() && metrics->find("\netcd_server_is_leader 1") != std::string::npos) return i;
    }
    if (std::chrono::steady_clock::now() >= deadline) return absl::DeadlineExceededError("no etcd member is leader");
    std::this_thread::sleep_for(50ms);
  }
}

}  // namespace rampart::cp

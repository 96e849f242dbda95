#include "controlplane/loadtest/control_plane_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grpcpp/grpcpp.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "agent/common/files.h"
#include "agent/common/strings.h"

namespace rampart::cp::load {
namespace {

using namespace std::chrono_literals;

// A port nothing listens on now. Another process may take it before rampart-cp
// binds it; Start then fails with the server's own message.
absl::StatusOr<int> FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    close(fd);
    return absl::ErrnoToStatus(err, "bind a loopback port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

bool Exited(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == pid;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ControlPlaneProcess>> ControlPlaneProcess::Start(const ControlPlaneOptions& options,
                                                                                 const FleetPki& pki,
                                                                                 const std::string& dir) {
  auto port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  const std::string target = StrCat("127.0.0.1:", *port);
  const std::string admin_socket = dir + "/admin.sock", log = dir + "/rampart-cp.log";
  std::vector<std::string> args = {options.binary,       "serve",
                                   "--listen",           target,
                                   "--cert",             pki.server_cert,
                                   "--key",              pki.server_key,
                                   "--client-ca",        pki.client_ca,
                                   "--state-dir",        dir,
                                   "--admin-socket",     admin_socket,
                                   "--log-level",        "warn"};
  if (options.push_rate) {
    args.push_back("--push-rate");
    args.push_back(std::to_string(*options.push_rate));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0) return absl::ErrnoToStatus(errno, "open " + log);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return absl::ErrnoToStatus(errno, "fork");
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  close(log_fd);
  std::unique_ptr<ControlPlaneProcess> cp(new ControlPlaneProcess(pid, target, log, admin_socket));

  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Exited(pid)) {
      cp->pid_ = -1;
      return absl::FailedPreconditionError(StrCat(options.binary, " exited at start: ", cp->LogTail()));
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 1s);
    v1::GetReply reply;
    if (access(admin_socket.c_str(), F_OK) == 0 && cp->admin().Get(&context, v1::GetRequest(), &reply).ok()) {
      return cp;
    }
    std::this_thread::sleep_for(50ms);
  }
  return absl::DeadlineExceededError(StrCat(options.binary, " did not answer on ", admin_socket, " within 30 s: ",
                                            cp->LogTail()));
}

ControlPlaneProcess::ControlPlaneProcess(pid_t pid, std::string target, std::string log, std::string admin_socket)
    : pid_(pid), agent_target_(std::move(target)), log_(std::move(log)) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);  // ListNodes of 10,000 nodes
  admin_ = v1::PolicyAdmin::NewStub(
      grpc::CreateCustomChannel("unix:" + admin_socket, grpc::InsecureChannelCredentials(), args));
}

ControlPlaneProcess::~ControlPlaneProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  // rampart-cp gives streams 2 s to close; then it is killed.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!Exited(pid_)) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
}

absl::StatusOr<ProcessUsage> ControlPlaneProcess::Usage() const {
  const std::string path = StrCat("/proc/", pid_, "/status");
  std::ifstream status(path);
  if (!status) return absl::NotFoundError("read " + path);
  ProcessUsage usage;
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) usage.rss_kib = std::strtol(line.c_str() + 6, nullptr, 10);
    if (line.rfind("Threads:", 0) == 0) usage.threads = std::strtol(line.c_str() + 8, nullptr, 10);
  }
  return usage;
}

std::string ControlPlaneProcess::LogTail() const {
  auto text = ReadFile(log_);
  if (!text.ok() || text->empty()) return "(no output)";
  const size_t keep = 2000;
  return text->size() > keep ? "..." + text->substr(text->size() - keep) : *text;
}

}  // namespace rampart::cp::load

// rampart-cp: the control plane server and its admin commands.
// Exit codes: 0 success, 1 the operation failed, 2 bad usage or invalid policy.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>

#include <grpcpp/grpcpp.h>

#include "agent/cli/status_view.h"
#include "agent/common/files.h"
#include "agent/common/logging.h"
#include "agent/policy/loader.h"
#include "controlplane/service/admin_service.h"
#include "controlplane/service/sync_service.h"
#include "controlplane/store/file_store.h"

namespace po = boost::program_options;

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr char kDefaultAdminSocket[] = "/run/rampart/cp-admin.sock";

const char kUsage[] =
    "usage: rampart-cp COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  serve                       run the control plane\n"
    "  policy validate -f PATH     check policy files (a file or a directory of *.yaml)\n"
    "  policy apply -f PATH        store PATH as the next policy version and push it\n"
    "  policy get [--json]         show the policy version in force\n"
    "  nodes [--json]              show connected nodes and what they applied\n"
    "\n"
    "Run a command with --help for its options.\n";

// Parses argv[first..] against `flags`; prints help when asked.
bool Parse(int argc, char** argv, int first, const po::options_description& flags, po::variables_map& vars,
           int& exit_code) {
  try {
    po::store(po::command_line_parser(argc - first, argv + first).options(flags).run(), vars);
    po::notify(vars);
  } catch (const std::exception& e) {
    std::cerr << "rampart-cp: " << e.what() << "\n";
    exit_code = kExitUsage;
    return false;
  }
  if (vars.count("help")) {
    std::cout << flags;
    exit_code = 0;
    return false;
  }
  return true;
}

std::unique_ptr<rampart::v1::PolicyAdmin::Stub> AdminStub(const std::string& socket) {
  return rampart::v1::PolicyAdmin::NewStub(grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials()));
}

int Fail(const std::string& what, const grpc::Status& status) {
  std::cerr << "rampart-cp: " << what << ": " << status.error_message() << "\n";
  return status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? kExitUsage : kExitFailed;
}

int Serve(int argc, char** argv) {
  std::string listen, cert, key, client_ca, state_dir, admin_socket, log_level;
  po::options_description flags("rampart-cp serve options");
  flags.add_options()
      ("help,h", "show this help")
      ("listen", po::value(&listen)->default_value("127.0.0.1:7443"), "agent-facing address HOST:PORT (mutual TLS)")
      ("cert", po::value(&cert)->required(), "server certificate (PEM)")
      ("key", po::value(&key)->required(), "server private key (PEM)")
      ("client-ca", po::value(&client_ca)->required(), "CA that signs agent certificates (PEM)")
      ("state-dir", po::value(&state_dir)->default_value("/var/lib/rampart-cp"), "policy store directory")
      ("admin-socket", po::value(&admin_socket)->default_value(kDefaultAdminSocket), "root-only admin socket")
      ("log-level", po::value(&log_level)->default_value("info"), "trace | debug | info | warn | error");
  po::variables_map vars;
  int code = 0;
  if (!Parse(argc, argv, 2, flags, vars, code)) return code;
  rampart::InitLogging(log_level);
  auto log = rampart::Logger("cp");

  auto store = rampart::cp::FileStore::Open(state_dir + "/store");
  if (!store.ok()) {
    log->critical("{}", std::string(store.status().message()));
    return kExitFailed;
  }
  auto current = (*store)->Current();
  if (!current.ok()) {
    log->critical("{}", std::string(current.status().message()));
    return kExitFailed;
  }
  rampart::cp::Fleet fleet(*current);
  rampart::cp::SyncService sync(fleet);
  rampart::cp::AdminService admin(**store, fleet);

  grpc::SslServerCredentialsOptions tls(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  auto cert_pem = rampart::ReadFile(cert), key_pem = rampart::ReadFile(key), ca_pem = rampart::ReadFile(client_ca);
  for (const auto* file : {&cert_pem, &key_pem, &ca_pem}) {
    if (!file->ok()) {
      log->critical("{}", std::string(file->status().message()));
      return kExitFailed;
    }
  }
  tls.pem_root_certs = *ca_pem;
  tls.pem_key_cert_pairs.push_back({*key_pem, *cert_pem});

  grpc::ServerBuilder agents;
  agents.AddListeningPort(listen, grpc::SslServerCredentials(tls));
  agents.RegisterService(&sync);
  auto agent_server = agents.BuildAndStart();
  if (!agent_server) {
    log->critical("listen on {} failed (address in use, or a bad certificate or key)", listen);
    return kExitFailed;
  }

  const std::string admin_dir = std::filesystem::path(admin_socket).parent_path();
  mkdir(admin_dir.c_str(), 0700);
  unlink(admin_socket.c_str());
  grpc::ServerBuilder admins;
  admins.AddListeningPort("unix:" + admin_socket, grpc::InsecureServerCredentials());
  admins.RegisterService(&admin);
  mode_t old_mask = umask(0077);
  auto admin_server = admins.BuildAndStart();
  umask(old_mask);
  if (!admin_server) {
    log->critical("listen on admin socket {} failed", admin_socket);
    return kExitFailed;
  }
  chmod(admin_socket.c_str(), 0600);
  log->info("rampart-cp {} serving agents on {} (mutual TLS), admin on {}, policy version {}", RAMPART_VERSION,
            listen, admin_socket, current->version());

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  int signal = 0;
  sigwait(&signals, &signal);
  log->info("signal {}: stopping", signal);
  agent_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  admin_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  unlink(admin_socket.c_str());
  return 0;
}

int PolicyCommand(int argc, char** argv) {
  const std::string verb = argc > 2 ? argv[2] : "";
  std::string path, admin_socket, author, message;
  po::options_description flags("rampart-cp policy " + verb + " options");
  flags.add_options()("help,h", "show this help");
  if (verb == "validate" || verb == "apply") {
    flags.add_options()("file,f", po::value(&path)->required(), "a policy file or a directory of *.yaml files");
  }
  if (verb == "apply") {
    const char* user = getenv("SUDO_USER") ? getenv("SUDO_USER") : getenv("USER");
    flags.add_options()
        ("author", po::value(&author)->default_value(user ? user : "unknown"), "recorded with the version")
        ("message,m", po::value(&message)->default_value(""), "recorded with the version");
  }
  if (verb == "apply" || verb == "get") {
    flags.add_options()("admin-socket", po::value(&admin_socket)->default_value(kDefaultAdminSocket), "admin socket");
  }
  if (verb == "get") flags.add_options()("json", "print JSON");
  if (verb != "validate" && verb != "apply" && verb != "get") {
    std::cerr << "rampart-cp: unknown policy command \"" << verb << "\" (validate, apply or get)\n";
    return kExitUsage;
  }
  po::variables_map vars;
  int code = 0;
  if (!Parse(argc, argv, 2, flags, vars, code)) return code;

  if (verb == "get") {
    grpc::ClientContext context;
    rampart::v1::GetReply reply;
    grpc::Status status = AdminStub(admin_socket)->Get(&context, rampart::v1::GetRequest(), &reply);
    if (!status.ok()) return Fail("policy get", status);
    if (vars.count("json")) {
      std::cout << rampart::cli::RenderJson(reply.current()) << "\n";
    } else {
      std::cout << "version " << reply.current().version() << " by " << reply.current().author() << ": "
                << reply.current().policies_size() << " policies\n";
      for (const auto& p : reply.current().policies()) std::cout << "  " << p.metadata().name() << "  (" << p.source() << ")\n";
    }
    return 0;
  }

  auto policies = rampart::policy::LoadPolicyPath(path);
  if (!policies.ok()) {
    std::cerr << "rampart-cp: " << policies.status().message() << "\n";
    return kExitUsage;
  }

  if (verb == "validate") {
    std::cout << path << ": " << policies->size() << " valid " << (policies->size() == 1 ? "policy" : "policies") << "\n";
    return 0;
  }
  rampart::v1::ApplyRequest request;
  for (const auto& p : *policies) *request.add_policies() = p;
  request.set_author(author);
  request.set_message(message);
  grpc::ClientContext context;
  rampart::v1::ApplyReply reply;
  grpc::Status status = AdminStub(admin_socket)->Apply(&context, request, &reply);
  if (!status.ok()) return Fail("policy apply", status);
  if (reply.changed()) {
    std::cout << "applied version " << reply.version() << " (" << policies->size() << " policies)\n";
  } else {
    std::cout << "unchanged: version " << reply.version() << " already holds these policies\n";
  }
  return 0;
}

int Nodes(int argc, char** argv) {
  std::string admin_socket;
  po::options_description flags("rampart-cp nodes options");
  flags.add_options()
      ("help,h", "show this help")
      ("admin-socket", po::value(&admin_socket)->default_value(kDefaultAdminSocket), "admin socket")
      ("json", "print JSON");
  po::variables_map vars;
  int code = 0;
  if (!Parse(argc, argv, 1, flags, vars, code)) return code;
  grpc::ClientContext context;
  rampart::v1::ListNodesReply reply;
  grpc::Status status = AdminStub(admin_socket)->ListNodes(&context, rampart::v1::ListNodesRequest(), &reply);
  if (!status.ok()) return Fail("nodes", status);
  if (vars.count("json")) {
    std::cout << rampart::cli::RenderJson(reply) << "\n";
    return 0;
  }
  std::cout << "NODE  CONNECTED  APPLIED  SENT  LAST ERROR\n";
  for (const auto& n : reply.nodes()) {
    std::cout << n.name() << "  " << (n.connected() ? "yes" : "no") << "  " << n.applied_version() << "  "
              << n.sent_version() << "  " << n.last_error() << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "serve") return Serve(argc, argv);
  if (command == "policy") return PolicyCommand(argc, argv);
  if (command == "nodes") return Nodes(argc, argv);
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << (command.empty() ? "" : "rampart-cp: unknown command \"" + command + "\"\n") << kUsage;
  return kExitUsage;
}

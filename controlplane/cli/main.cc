// rampart-cp: the control plane server and its admin commands.
// Exit codes: 0 success, 1 the operation failed, 2 bad usage or invalid policy;
// `policy diff` follows diff(1): 0 no change, 1 changes, 2 trouble.
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "agent/cli/status_view.h"
#include "agent/common/files.h"
#include "agent/common/logging.h"
#include "agent/policy/loader.h"
#include "agent/common/strings.h"
#include "agent/common/utc_time.h"
#include "controlplane/policy/policy_diff.h"
#include "controlplane/cli/command_line.h"
#include "controlplane/service/admin_service.h"

namespace po = boost::program_options;

namespace {

using rampart::cp::cli::Fail;
using rampart::cp::cli::kDefaultAdminSocket;
using rampart::cp::cli::kExitFailed;
using rampart::cp::cli::kExitUsage;
using rampart::cp::cli::Parse;

std::unique_ptr<rampart::v1::PolicyAdmin::Stub> AdminStub(const std::string& socket) {
  return rampart::v1::PolicyAdmin::NewStub(rampart::cp::cli::AdminChannel(socket));
}

const char kUsage[] =
    "usage: rampart-cp COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  serve                       run the control plane\n"
    "  policy validate -f PATH     check policy files (a file or a directory of *.yaml)\n"
    "  policy diff -f PATH         what applying PATH would change (exit 1 when anything)\n"
    "  policy apply -f PATH        store PATH as the next policy version and push it\n"
    "  policy get [--json]         show the policy version in force\n"
    "  policy history [--json]     list stored versions: author, time, message\n"
    "  policy rollback VERSION     store VERSION's policies as the next version\n"
    "  nodes [--json]              show nodes: applied version, status, last error\n"
    "  node delete NAME            revoke a node: its certificates are refused from now on\n"
    "  events [--follow] [--stats] findings and drop summaries the agents reported\n"
    "  findings [--follow]         the agents' findings only (masked values)\n"
    "  apis [--service S] [--json] the agents' API inventories merged: endpoints, shadow and zombie\n"
    "  ca init --dir DIR           create the fleet CA and the control plane's certificate\n"
    "  token create [--ttl 1h]     print a one-time join token for `rampartd --join`\n"
    "\n"
    "Run a command with --help for its options.\n";

// Who is recorded with a version by default: "$SUDO_USER@host", or "$USER@host".
std::string DefaultAuthor() {
  const char* user = getenv("SUDO_USER");
  if (user == nullptr || *user == '\0') user = getenv("USER");
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return rampart::StrCat(user != nullptr && *user != '\0' ? user : "unknown", host[0] != '\0' ? "@" : "", host);
}

std::string StatusName(rampart::v1::NodeSyncStatus status) {
  switch (status) {
    case rampart::v1::NODE_SYNC_STATUS_IN_SYNC: return "in sync";
    case rampart::v1::NODE_SYNC_STATUS_PENDING: return "pending";
    case rampart::v1::NODE_SYNC_STATUS_REFUSED: return "refused";
    case rampart::v1::NODE_SYNC_STATUS_DISCONNECTED: return "disconnected";
    default: return "unknown";
  }
}


// Loads and validates PATH; prints the error and returns nullopt when it is invalid.
std::optional<std::vector<rampart::v1::Policy>> LoadPolicies(const std::string& path) {
  auto policies = rampart::policy::LoadPolicyPath(path);
  if (!policies.ok()) {
    std::cerr << "rampart-cp: " << policies.status().message() << "\n";
    return std::nullopt;
  }
  return *std::move(policies);
}

std::string Count(size_t n) { return rampart::StrCat(n, n == 1 ? " policy" : " policies"); }

// `policy diff`: exit codes as diff(1): 0 same, 1 different, 2 trouble.
int PolicyDiff(const std::string& path, const std::string& admin_socket) {
  auto policies = LoadPolicies(path);
  if (!policies) return kExitUsage;
  rampart::v1::DiffRequest request;
  for (const auto& p : *policies) *request.add_policies() = p;
  grpc::ClientContext context;
  rampart::v1::DiffReply reply;
  grpc::Status status = AdminStub(admin_socket)->Diff(&context, request, &reply);
  if (!status.ok()) {
    Fail("policy diff", status);
    return kExitUsage;
  }
  std::cout << rampart::cp::RenderDiff(reply.diff());
  return rampart::cp::HasChanges(reply.diff()) ? 1 : 0;
}

// What apply and rollback print: the diff, then what was stored.
void PrintStored(const rampart::v1::ApplyReply& reply, const std::string& unchanged_note) {
  if (!reply.changed()) {
    std::cout << "unchanged: version " << reply.version() << " " << unchanged_note << "\n";
    return;
  }
  size_t policies = reply.diff().unchanged();
  for (const auto& change : reply.diff().changes()) {
    if (change.kind() != rampart::v1::PolicyChange::KIND_REMOVED) ++policies;
  }
  std::cout << rampart::cp::RenderDiff(reply.diff());
  std::cout << "applied version " << reply.version() << " (" << Count(policies) << ")\n";
}

int FailWrite(const std::string& what, const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::FAILED_PRECONDITION ||
      status.error_message().find("changed since version") == std::string::npos) {
    return Fail(what, status);
  }
  std::cerr << "rampart-cp: " << what << ": " << status.error_message()
            << " (someone else stored a version: review it with `rampart-cp policy diff`, then retry with the "
               "new --expected-version)\n";
  return kExitFailed;
}

int PolicyHistory(const std::string& admin_socket, uint32_t limit, bool json) {
  rampart::v1::HistoryRequest request;
  request.set_limit(limit);
  grpc::ClientContext context;
  rampart::v1::HistoryReply reply;
  grpc::Status status = AdminStub(admin_socket)->History(&context, request, &reply);
  if (!status.ok()) return Fail("policy history", status);
  if (json) {
    std::cout << rampart::cli::RenderJson(reply) << "\n";
    return 0;
  }
  if (reply.versions().empty()) {
    std::cout << "no policy version stored yet\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"VERSION", "CREATED (UTC)", "AUTHOR", "MESSAGE"}};
  for (const auto& v : reply.versions()) {
    rows.push_back({rampart::StrCat(v.version()), rampart::FormatUtcMs(v.created_unix_ms()), v.author(),
                    v.message().empty() ? "-" : v.message()});
  }
  std::cout << rampart::cli::RenderTable(rows);
  return 0;
}

int PolicyCommand(int argc, char** argv) {
  const std::string verb = argc > 2 ? argv[2] : "";
  static const std::vector<std::string> kVerbs = {"validate", "diff", "apply", "get", "history", "rollback"};
  if (std::find(kVerbs.begin(), kVerbs.end(), verb) == kVerbs.end()) {
    std::cerr << "rampart-cp: unknown policy command \"" << verb
              << "\" (validate, diff, apply, get, history or rollback)\n";
    return kExitUsage;
  }
  std::string path, admin_socket, author, message;
  uint64_t expected_version = 0, rollback_version = 0;
  uint32_t limit = 0;
  po::options_description flags("rampart-cp policy " + verb + " options");
  po::positional_options_description positional;
  flags.add_options()("help,h", "show this help");
  if (verb == "validate" || verb == "diff" || verb == "apply") {
    flags.add_options()("file,f", po::value(&path)->required(), "a policy file or a directory of *.yaml files");
  }
  if (verb == "rollback") {
    flags.add_options()("version", po::value(&rollback_version), "the version whose policies come back");
    positional.add("version", 1);
  }
  if (verb == "apply" || verb == "rollback") {
    flags.add_options()
        ("expected-version", po::value(&expected_version),
         "fail unless this is still the newest version (what the change was reviewed against)")
        ("author", po::value(&author)->default_value(DefaultAuthor()), "recorded with the version")
        ("message,m", po::value(&message)->default_value(""),
         verb == "apply" ? "recorded with the version" : "recorded with the version (default: rollback to version N)");
  }
  if (verb == "history") {
    flags.add_options()("limit", po::value(&limit)->default_value(rampart::cp::AdminService::kDefaultHistory),
                        "newest versions to list");
  }
  if (verb == "get" || verb == "history") flags.add_options()("json", "print JSON");
  if (verb != "validate") {
    flags.add_options()("admin-socket", po::value(&admin_socket)->default_value(kDefaultAdminSocket), "admin socket");
  }
  po::variables_map vars;
  int code = 0;
  if (!Parse(argc, argv, 2, flags, vars, code, positional)) return code;
  if (verb == "rollback" && !vars.count("version")) {
    std::cerr << "rampart-cp: policy rollback: which version? "
                 "(rampart-cp policy rollback VERSION; see policy history)\n";
    return kExitUsage;
  }

  if (verb == "validate") {
    auto policies = LoadPolicies(path);
    if (!policies) return kExitUsage;
    std::cout << path << ": " << policies->size() << " valid " << (policies->size() == 1 ? "policy" : "policies")
              << "\n";
    return 0;
  }
  if (verb == "diff") return PolicyDiff(path, admin_socket);
  if (verb == "history") return PolicyHistory(admin_socket, limit, vars.count("json") > 0);
  if (verb == "get") {
    grpc::ClientContext context;
    rampart::v1::GetReply reply;
    grpc::Status status = AdminStub(admin_socket)->Get(&context, rampart::v1::GetRequest(), &reply);
    if (!status.ok()) return Fail("policy get", status);
    if (vars.count("json")) {
      std::cout << rampart::cli::RenderJson(reply.current()) << "\n";
    } else {
      const auto& v = reply.current();
      std::cout << "version " << v.version();
      if (v.version() != 0) std::cout << " by " << v.author() << " at " << rampart::FormatUtcMs(v.created_unix_ms());
      std::cout << ": " << Count(v.policies_size()) << "\n";
      for (const auto& p : v.policies()) std::cout << "  " << p.metadata().name() << "  (" << p.source() << ")\n";
    }
    return 0;
  }
  if (verb == "rollback") {
    rampart::v1::RollbackRequest request;
    request.set_version(rollback_version);
    request.set_author(author);
    request.set_message(message);
    if (vars.count("expected-version")) request.set_expected_version(expected_version);
    grpc::ClientContext context;
    rampart::v1::ApplyReply reply;
    grpc::Status status = AdminStub(admin_socket)->Rollback(&context, request, &reply);
    if (!status.ok()) return FailWrite("policy rollback", status);
    PrintStored(reply, rampart::StrCat("already holds the policies of version ", rollback_version));
    return 0;
  }

  auto policies = LoadPolicies(path);
  if (!policies) return kExitUsage;
  rampart::v1::ApplyRequest request;
  for (const auto& p : *policies) *request.add_policies() = p;
  request.set_author(author);
  request.set_message(message);
  if (vars.count("expected-version")) request.set_expected_version(expected_version);
  grpc::ClientContext context;
  rampart::v1::ApplyReply reply;
  grpc::Status status = AdminStub(admin_socket)->Apply(&context, request, &reply);
  if (!status.ok()) return FailWrite("policy apply", status);
  PrintStored(reply, "already holds these policies");
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
  std::cout << "policy version " << reply.current_version() << " in force\n";
  if (reply.nodes().empty()) {
    std::cout << "no node has connected yet\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"NODE", "STATUS", "APPLIED", "SENT", "LAST ERROR"}};
  for (const auto& n : reply.nodes()) {
    rows.push_back({n.name(), StatusName(n.status()), n.applied_version() ? rampart::StrCat(n.applied_version()) : "-",
                    n.sent_version() ? rampart::StrCat(n.sent_version()) : "-",
                    n.last_error().empty() ? "-" : n.last_error()});
  }
  std::cout << rampart::cli::RenderTable(rows);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "serve") return rampart::cp::cli::Serve(argc, argv);
  if (command == "ca") return rampart::cp::cli::CaCommand(argc, argv);
  if (command == "token") return rampart::cp::cli::TokenCommand(argc, argv);
  if (command == "node") return rampart::cp::cli::NodeCommand(argc, argv);
  if (command == "policy") return PolicyCommand(argc, argv);
  if (command == "nodes") return Nodes(argc, argv);
  if (command == "events" || command == "findings") return rampart::cp::cli::EventsCommand(argc, argv);
  if (command == "apis") return rampart::cp::cli::ApisCommand(argc, argv);
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << (command.empty() ? "" : "rampart-cp: unknown command \"" + command + "\"\n") << kUsage;
  return kExitUsage;
}

// rampart-cp ca init | token create | node delete: fleet membership
// (docs/identity.md). `ca init` works on the CA directory directly; the other
// two go through the running control plane's admin socket, because only it
// knows where the store is (SQLite or etcd).
#include <iostream>

#include "absl/strings/str_split.h"
#include "agent/common/strings.h"
#include "agent/policy/types.h"
#include "controlplane/cli/command_line.h"
#include "controlplane/pki/certificate_authority.h"
#include "rampart/v1/admin.grpc.pb.h"

namespace rampart::cp::cli {
namespace {

std::unique_ptr<v1::IdentityAdmin::Stub> IdentityStub(const std::string& socket) {
  return v1::IdentityAdmin::NewStub(AdminChannel(socket));
}

// `NOUN VERB` commands take exactly one verb.
bool ExpectVerb(int argc, char** argv, const char* noun, const char* verb, int& exit_code) {
  const std::string given = argc > 2 ? argv[2] : "";
  if (given == verb) return true;
  std::cerr << "rampart-cp " << noun << ": " << (given.empty() ? "missing" : "unknown") << " subcommand"
            << (given.empty() ? "" : " \"" + given + "\"") << "; expected `rampart-cp " << noun << " " << verb
            << "`\n";
  exit_code = kExitUsage;
  return false;
}

}  // namespace

int CaCommand(int argc, char** argv) {
  int code = 0;
  if (!ExpectVerb(argc, argv, "ca", "init", code)) return code;
  std::string dir, trust_domain, hosts;
  po::options_description flags("rampart-cp ca init options");
  flags.add_options()
      ("help,h", "show this help")
      ("dir", po::value(&dir)->default_value("/var/lib/rampart-cp/ca"), "where the CA lives (created 0700)")
      ("trust-domain", po::value(&trust_domain)->default_value("rampart.local"),
       "SPIFFE trust domain: agents become spiffe://<domain>/agent/<node>")
      ("hosts", po::value(&hosts)->default_value("localhost,127.0.0.1"),
       "names and addresses agents reach the control plane by (its certificate's SANs), comma-separated");
  po::variables_map vars;
  if (!Parse(argc, argv, 2, flags, vars, code)) return code;
  std::vector<std::string> names = absl::StrSplit(hosts, ',', absl::SkipEmpty());
  if (names.empty()) {
    std::cerr << "rampart-cp ca init: --hosts is empty: name at least one host agents connect to\n";
    return kExitUsage;
  }
  auto ca = CertificateAuthority::Init(dir, trust_domain);
  if (!ca.ok()) {
    std::cerr << "rampart-cp ca init: " << ca.status().message() << "\n";
    return ca.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailed;
  }
  if (absl::Status st = (*ca)->WriteServerIdentity(names); !st.ok()) {
    std::cerr << "rampart-cp ca init: " << st.message() << "\n";
    return kExitFailed;
  }
  std::cout << "fleet CA for trust domain " << trust_domain << " in " << dir << "\n"
            << "  CA certificate:       " << dir << "/" << CertificateAuthority::kCertFile << "\n"
            << "  control plane:        " << (*ca)->server_identity_file() << " (for " << hosts << ")\n"
            << "  pin (in join tokens): " << (*ca)->pin() << "\n"
            << "serve with: rampart-cp serve --ca-dir " << dir << "\n";
  return 0;
}

int TokenCommand(int argc, char** argv) {
  int code = 0;
  if (!ExpectVerb(argc, argv, "token", "create", code)) return code;
  std::string ttl, description, admin_socket;
  po::options_description flags("rampart-cp token create options");
  flags.add_options()
      ("help,h", "show this help")
      ("ttl", po::value(&ttl)->default_value("1h"), "how long the token can be used (e.g. 30m, 1h; at most 168h)")
      ("description", po::value(&description), "what the token is for (kept in the store)")
      ("admin-socket", po::value(&admin_socket)->default_value(kDefaultAdminSocket), "admin socket");
  po::variables_map vars;
  if (!Parse(argc, argv, 2, flags, vars, code)) return code;
  auto seconds = policy::ParseDurationSeconds(ttl);
  if (!seconds.ok()) {
    std::cerr << "rampart-cp token create: --ttl \"" << ttl << "\": " << seconds.status().message() << "\n";
    return kExitUsage;
  }
  v1::CreateJoinTokenRequest request;
  request.set_ttl_seconds(static_cast<int64_t>(*seconds));
  request.set_description(description);
  grpc::ClientContext context;
  v1::CreateJoinTokenReply reply;
  grpc::Status status = IdentityStub(admin_socket)->CreateJoinToken(&context, request, &reply);
  if (!status.ok()) return Fail("token create", status);
  // The token alone on stdout, so scripts can take it; the rest on stderr.
  std::cout << reply.token() << "\n";
  std::cerr << "join token " << reply.id() << ": one node can join with it (rampartd --join TOKEN) within " << ttl
            << "; it is not shown again\n";
  return 0;
}

int NodeCommand(int argc, char** argv) {
  int code = 0;
  if (!ExpectVerb(argc, argv, "node", "delete", code)) return code;
  std::string name, admin_socket;
  po::options_description flags("rampart-cp node delete options");
  flags.add_options()
      ("help,h", "show this help")
      ("name", po::value(&name)->required(), "the node to revoke")
      ("admin-socket", po::value(&admin_socket)->default_value(kDefaultAdminSocket), "admin socket");
  po::positional_options_description positional;
  positional.add("name", 1);
  po::variables_map vars;
  if (!Parse(argc, argv, 2, flags, vars, code, positional)) return code;
  v1::DeleteNodeRequest request;
  request.set_name(name);
  grpc::ClientContext context;
  v1::DeleteNodeReply reply;
  grpc::Status status = IdentityStub(admin_socket)->DeleteNode(&context, request, &reply);
  if (!status.ok()) return Fail("node delete " + name, status);
  std::cout << "node " << name << " deleted: its certificates are refused from now on; it can join again only "
            << "with a new token\n";
  return 0;
}

}  // namespace rampart::cp::cli

// The mTLS peer as the API identity, learned from the handshake itself
// (docs/capture.md "Peer certificates", docs/apis.md "Identity"). nginx
// requires client certificates (ssl_verify_client on) in a namespace of the
// test's own; two Python clients call it from ONE source address, each with
// its own certificate signed by a test CA: client-a (subject CN only, TLS
// 1.3) and client-b (a SPIFFE URI SAN, TLS 1.2). rampart-cp pushes a policy
// limiting reads to 20/minute per identity (monitor). rampartd captures nginx
// and learns each connection's client certificate through its d2i_X509
// probe, so:
//  - client-a's 30 reads raise api.rate_limit for "mtls_peer CN=client-a" at
//    its request 21, and client-b's 25 reads from the same address raise it
//    for "mtls_peer spiffe://..." at its own request 21: the requests are
//    attributed to the certificates, not to the address (which would have
//    made one identity over the limit at request 21 of 55);
//  - the inventory lists mtls among the endpoint's auth schemes, and
//    `rampartctl status` counts the certificates seen and attached.
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kernel_tests/capture/capture_fixture.h"
#include "kernel_tests/fixtures/kernel_env.h"
#include "kernel_tests/fixtures/process.h"
#include "kernel_tests/inspect/inspect_e2e_fixture.h"
#include "rampart/v1/agent_api.pb.h"

namespace rampart {
namespace {

using namespace std::chrono_literals;
using testing::ReadFile;
using testing::Shell;
using testing::WaitFor;

constexpr uint16_t kPort = 8443;
constexpr int kReadLimit = 20;  // rateLimits.reads: 20/minute
constexpr char kClientB[] = "spiffe://rampart.test/ns/prod/sa/client-b";

// GET each path over a new TLS connection (no session reuse: every one a
// full handshake with the client certificate), TLS 1.2 or 1.3 at most; one
// line per request with the HTTP status, 0 when it failed.
constexpr char kClientPy[] = R"py(
import http.client, ssl, sys
server, port, source, cert, key, tls = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.maximum_version = ssl.TLSVersion.TLSv1_2 if tls == "1.2" else ssl.TLSVersion.TLSv1_3
ctx.load_cert_chain(cert, key)
for path in sys.argv[7:]:
    status = 0
    try:
        c = http.client.HTTPSConnection(server, port, timeout=5, source_address=(source, 0), context=ctx)
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        status = r.status
        c.close()
    except Exception as e:
        print(repr(e), file=sys.stderr)
    print(status, flush=True)
)py";

class MtlsIdentity : public testing::InspectEndToEnd {
 protected:
  void SetUp() override {
    RAMPART_REQUIRE_KERNEL_OR_SKIP();
    // 10.X.Y.0/24 from our pid, only ever on our own veth.
    const pid_t pid = getpid();
    const std::string net = "10." + std::to_string(192 + (pid >> 8) % 48) + "." + std::to_string(pid % 256) + ".";
    ASSERT_NO_FATAL_FAILURE(SetUpLab(
        {.dir_prefix = "rampart-mtls", .tag = "m", .server_ip = net + "2", .client_ip = net + "11",
         .node_name = "mtls-node"}));
    const std::string& d = dir_->path();
    std::ofstream(d + "/client.py") << kClientPy;
    // A client CA, the server's certificate, and two client certificates.
    std::ofstream(d + "/certs.sh")
        << "set -e\ncd " << d << "\n"
        << "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1; }\n"
        << "key ca.key\n"
        << "openssl req -x509 -new -key ca.key -days 1 -subj '/CN=rampart test client CA' "
           "-addext basicConstraints=critical,CA:TRUE -out ca.pem\n"
        << "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost "
           "-keyout server.key -out server.pem\n"
        << "client() {\n  key $1.key\n  openssl req -new -key $1.key -subj \"$2\" -out $1.csr\n"
        << "  printf 'extendedKeyUsage=clientAuth\\n%s\\n' \"$3\" > $1.ext\n"
        << "  openssl x509 -req -in $1.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile $1.ext "
           "-out $1.pem\n}\n"
        << "client client-a '/O=Rampart tests/CN=client-a' ''\n"
        << "client client-b '/O=Rampart tests/CN=client-b' 'subjectAltName=URI:" << kClientB << "'\n";
    ASSERT_EQ(Shell("bash " + d + "/certs.sh > " + d + "/certs.log 2>&1"), 0) << ReadFile(d + "/certs.log");
  }

  // nginx requires a client certificate signed by the test CA and logs the
  // protocol and the client's subject of every request; one request per
  // connection, no session tickets. Then rampart-cp and rampartd, the policy
  // applied and nginx attached for capture.
  void Start() {
    const std::string& d = dir_->path();
    ASSERT_NO_FATAL_FAILURE(nginx_->Start(
        "  log_format peer '$ssl_protocol $ssl_client_s_dn $request';\n"
        "  access_log " + d + "/access.log peer;\n"
        "  default_type application/json;\n  keepalive_timeout 0;\n  ssl_session_tickets off;\n"
        "  ssl_protocols TLSv1.2 TLSv1.3;\n"
        "  server {\n    listen " + server_ip_ + ":" + std::to_string(kPort) + " ssl;\n"
        "    ssl_certificate " + d + "/server.pem;\n    ssl_certificate_key " + d + "/server.key;\n"
        "    ssl_client_certificate " + d + "/ca.pem;\n    ssl_verify_client on;\n"
        "    location ~ ^/users/([0-9]+)$ { return 200 '{\"id\": $1}\\n'; }\n"
        "  }\n",
        kPort));
    ASSERT_NO_FATAL_FAILURE(node_->Start());
    ASSERT_NO_FATAL_FAILURE(node_->ApplyPolicy(
        "apiVersion: rampart/v1\nkind: Policy\nmetadata: {name: mtls-api}\nspec:\n"
        "  interfaces: [" + server_if_ + "]\n"
        "  segmentation:\n    ingress: {default: allow}\n"
        "  inspection:\n    capture: {processes: [nginx]}\n"
        "    apis:\n"
        "      identity: {mtlsPeer: auto}\n"
        "      rateLimits: {reads: " + std::to_string(kReadLimit) + "/minute}\n"
        "      alerts: {rateLimit: monitor}\n"));
    ASSERT_NO_FATAL_FAILURE(node_->WaitCaptureAttached(nginx_->pid()));
  }

  // The statuses of `count` GETs of /users/ID with client certificate NAME.
  std::vector<int> Get(const std::string& name, const std::string& tls, int count) {
    const std::string& d = dir_->path();
    const std::string base = d + "/" + name;
    std::vector<std::string> argv = {"ip",        "netns",           "exec",           client_->name(),
                                     "python3",   d + "/client.py",  server_ip_,       std::to_string(kPort),
                                     client_ip_,  d + "/" + name + ".pem", d + "/" + name + ".key", tls};
    for (int i = 0; i < count; ++i) argv.push_back("/users/" + std::to_string(i + 1));
    const testing::Finished finished = testing::RunToExit(argv, base + ".out", base + ".err", 120s);
    EXPECT_EQ(finished.status, 0) << ReadFile(base + ".err");
    std::vector<int> statuses;
    std::istringstream in(ReadFile(base + ".out"));
    for (std::string line; std::getline(in, line);) statuses.push_back(std::stoi(line));
    return statuses;
  }

  std::vector<v1::Finding> Findings(const std::string& detector) {
    std::vector<v1::Finding> out;
    std::istringstream in(Rampartctl("findings --json --limit 10000"));
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] != '{') continue;
      v1::Finding finding;
      EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &finding).ok()) << line;
      if (finding.detector() == detector) out.push_back(finding);
    }
    return out;
  }
};

TEST_F(MtlsIdentity, RequestsAreAttributedToTheClientCertificateNotTheAddress) {
  ASSERT_NO_FATAL_FAILURE(Start());
  // Windows are wall-clock minutes: all 40 requests fall in one.
  {
    const auto into_minute = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch()) % 60;
    if (into_minute > 40s) std::this_thread::sleep_for(61s - into_minute);
  }
  const std::vector<int> a = Get("client-a", "1.3", 30);
  const std::vector<int> b = Get("client-b", "1.2", 25);
  EXPECT_EQ(a, std::vector<int>(30, 200)) << "monitor: client-a is served";
  EXPECT_EQ(b, std::vector<int>(25, 200));
  const std::string access = ReadFile(dir_->path() + "/access.log");
  EXPECT_NE(access.find("TLSv1.3 CN=client-a,O=Rampart tests GET /users/30"), std::string::npos) << access;
  EXPECT_NE(access.find("TLSv1.2 CN=client-b,O=Rampart tests GET /users/25"), std::string::npos) << access;

  ASSERT_TRUE(WaitFor([&] { return Status().inspection().apis().requests() >= 55u; }, 10s))
      << Status().inspection().apis().ShortDebugString() << Logs();
  std::vector<v1::Finding> limited;
  ASSERT_TRUE(WaitFor([&] { return (limited = Findings("api.rate_limit")).size() >= 2; }, 10s))
      << "expected one api.rate_limit per client certificate" << Logs();
  std::set<std::string> identities;
  for (const auto& f : limited) {
    identities.insert(f.masked_value());
    EXPECT_NE(f.reason().find("request 21 in the current window"), std::string::npos)
        << "each certificate has its own count: " << f.ShortDebugString();
    EXPECT_EQ(f.remote().rfind(client_ip_ + ":", 0), 0u) << f.ShortDebugString();
  }
  EXPECT_EQ(identities, (std::set<std::string>{"mtls_peer CN=client-a", std::string("mtls_peer ") + kClientB}))
      << "named by the certificate's URI SAN, else its subject CN; never the address";
  EXPECT_EQ(limited.size(), 2u) << "monitor alerts are raised once per identity and endpoint";

  const auto inventory = [&] {
    v1::ApiInventoryReply reply;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(Rampartctl("apis --json"), &reply).ok());
    return reply;
  }();
  ASSERT_EQ(inventory.services_size(), 1) << inventory.ShortDebugString();
  bool found = false;
  for (const auto& e : inventory.services(0).endpoints()) {
    if (e.path_template() != "/users/{id}") continue;
    found = true;
    EXPECT_EQ(std::vector<std::string>(e.auth_schemes().begin(), e.auth_schemes().end()),
              std::vector<std::string>{"mtls"});
  }
  EXPECT_TRUE(found) << inventory.ShortDebugString();

  const v1::CaptureStatus capture = Status().capture();
  EXPECT_GE(capture.peer_certificates(), 55u) << capture.ShortDebugString();
  EXPECT_GE(capture.peer_certificates_attached(), 55u) << capture.ShortDebugString();
  EXPECT_EQ(capture.peer_certificates_truncated(), 0u);
  EXPECT_EQ(capture.peer_certificates_lost(), 0u);
  const std::string status = Rampartctl("status");
  EXPECT_NE(status.find("Peer certificates: "), std::string::npos) << status;
  std::cout << "[ figures  ] " << capture.peer_certificates() << " peer certificates seen, "
            << capture.peer_certificates_attached() << " attached; rate-limit findings:";
  for (const auto& f : limited) std::cout << " [" << f.masked_value() << ": " << f.reason() << "]";
  std::cout << "\n";
}

}  // namespace
}  // namespace rampart

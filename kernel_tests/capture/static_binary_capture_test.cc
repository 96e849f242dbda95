// A statically linked OpenSSL client, built in the test from a small C
// program against libssl.a: its TLS code is found by the ELF symbols of the
// executable itself (it maps no libssl.so at all) and its plaintext is
// captured with its 5-tuple. A stripped copy has no symbols left: nothing
// identifies its TLS code, so it is listed nowhere and not captured, as
// docs/capture.md says. The server is openssl s_server.
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "agent/capture/capture_manager.h"
#include "agent/capture/elf_symbols.h"
#include "agent/capture/process_scan.h"
#include "agent/capture/ssl_capture_probe.h"
#include "kernel_tests/capture/capture_fixture.h"
#include "kernel_tests/fixtures/kernel_env.h"
#include "kernel_tests/fixtures/netns.h"
#include "kernel_tests/fixtures/process.h"

namespace rampart {
namespace {

using namespace std::chrono_literals;
using capture::Direction;
using testing::Capture;
using testing::ChildProcess;
using testing::NetNs;
using testing::RecordedStream;
using testing::Shell;
using testing::WaitFor;

constexpr uint16_t kPort = 14435;

// Waits for GO_FILE (so the test can look at it and attach first), then
// connects, sends LINE with SSL_write and prints the reply SSL_read returns.
constexpr char kClientSource[] = R"(
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s IP PORT GO_FILE LINE\n", argv[0]);
    return 2;
  }
  while (access(argv[3], F_OK) != 0) usleep(10000);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
  inet_pton(AF_INET, argv[1], &addr.sin_addr);
  if (connect(fd, (struct sockaddr*)&addr, sizeof(addr)) != 0) {
    perror("connect");
    return 1;
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  if (SSL_connect(ssl) != 1) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  const int len = (int)strlen(argv[4]);
  if (SSL_write(ssl, argv[4], len) != len) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  char reply[4096];
  int got = 0;
  while (got < (int)sizeof(reply) - 1) {
    int n = SSL_read(ssl, reply + got, (int)sizeof(reply) - 1 - got);
    if (n <= 0) break;
    got += n;
    if (reply[got - 1] == '\n') break;
  }
  reply[got] = 0;
  fputs(reply, stdout);
  SSL_shutdown(ssl);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(fd);
  return got > 0 ? 0 : 1;
}
)";

class StaticBinaryCapture : public ::testing::Test {
 protected:
  // Built once for the suite: compiling against libcrypto.a takes a second.
  static void SetUpTestSuite() {
    build_dir_ = new testing::TempDir("rampart-static");
    const std::string d = build_dir_->path();
    std::ofstream(d + "/client.c") << kClientSource;
    const std::string libs = "/usr/lib/x86_64-linux-gnu/libssl.a /usr/lib/x86_64-linux-gnu/libcrypto.a";
    // Fully static if glibc allows it; otherwise OpenSSL static, libc shared.
    if (Shell("cc -static -O1 " + d + "/client.c -o " + d + "/rpstatic " + libs + " -lpthread -ldl > " + d +
              "/build.log 2>&1") == 0) {
      linkage_ = "fully static";
    } else if (Shell("cc -O1 " + d + "/client.c -o " + d + "/rpstatic -Wl,-Bstatic -lssl -lcrypto -Wl,-Bdynamic " +
                     "-lpthread -ldl >> " + d + "/build.log 2>&1") == 0) {
      linkage_ = "OpenSSL static, libc shared";
    } else {
      build_error_ = Capture("tail -20 " + d + "/build.log");
      return;
    }
    if (Shell("cp " + d + "/rpstatic " + d + "/rpstripped && strip " + d + "/rpstripped") != 0) {
      build_error_ = "strip failed";
    }
  }
  static void TearDownTestSuite() {
    delete build_dir_;
    build_dir_ = nullptr;
  }

  void SetUp() override {
    RAMPART_REQUIRE_KERNEL_OR_SKIP();
    ASSERT_TRUE(build_error_.empty()) << "could not build the static client against libssl.a:\n" << build_error_;
    dir_ = std::make_unique<testing::TempDir>("rampart-static-run");
    const std::string& d = dir_->path();
    ASSERT_EQ(Shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
                    "-subj /CN=localhost -keyout " + d + "/key.pem -out " + d + "/cert.pem 2>/dev/null"),
              0);
    ns_ = std::make_unique<NetNs>(testing::UniqueName("rpstc"));
    // -rev: each line comes back reversed. (The server's own side goes
    // through OpenSSL's SSL BIO and is not what this test captures.)
    server_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"ip", "netns", "exec", ns_->name(), "openssl", "s_server", "-quiet", "-rev",
                                 "-accept", "127.0.0.1:" + std::to_string(kPort), "-cert", d + "/cert.pem", "-key",
                                 d + "/key.pem"},
        d + "/server.log");
    ASSERT_TRUE(WaitFor(
        [&] { return Capture(ns_->Exec() + "ss -Hltn 'sport = :" + std::to_string(kPort) + "'") != ""; }, 10s))
        << Capture("cat " + d + "/server.log");
    auto probe = capture::SslCaptureProbe::Load(
        {}, [this](const rp_capture_header& h, std::span<const uint8_t> data) { recorder_.OnChunk(h, data); });
    ASSERT_TRUE(probe.ok()) << probe.status();
    probe_ = std::move(*probe);
    manager_ = std::make_unique<capture::CaptureManager>(*probe_);
  }

  void TearDown() override {
    client_.reset();
    server_.reset();
    manager_.reset();
    probe_.reset();
    ns_.reset();
    if (dir_ && HasFailure()) {
      if (dir_->keep() && build_dir_->keep()) {
        std::cerr << "logs kept in " << dir_->path() << " (binaries in " << build_dir_->path() << ")\n";
      }
    }
    dir_.reset();
  }

  // Starts `binary` in the namespace; it waits for the go file before connecting.
  void StartClient(const std::string& binary, const std::string& line) {
    const std::string& d = dir_->path();
    client_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"ip", "netns", "exec", ns_->name(), build_dir_->path() + "/" + binary, "127.0.0.1",
                                 std::to_string(kPort), d + "/go", line},
        d + "/client.out");
    const std::string comm = binary.substr(0, 15);
    ASSERT_TRUE(WaitFor([&] { return capture::ProcessName(client_->pid()) == comm; }, 10s));
  }

  // Lets the client go and waits for it to exit; returns what it printed.
  std::string RunClient() {
    const std::string& d = dir_->path();
    std::ofstream(d + "/go") << "go\n";
    EXPECT_TRUE(WaitFor([&] { return !client_->Running(); }, 15s)) << "the client did not finish";
    return testing::ReadFile(d + "/client.out");
  }

  const capture::TlsProcess* Listed(pid_t pid) {
    listed_ = manager_->Processes();
    for (const auto& p : listed_) {
      if (p.pid == pid) return &p;
    }
    return nullptr;
  }

  static inline testing::TempDir* build_dir_ = nullptr;
  static inline std::string linkage_;
  static inline std::string build_error_;
  std::unique_ptr<testing::TempDir> dir_;
  std::unique_ptr<NetNs> ns_;
  std::unique_ptr<ChildProcess> server_, client_;
  testing::CaptureRecorder recorder_;
  std::unique_ptr<capture::SslCaptureProbe> probe_;
  std::unique_ptr<capture::CaptureManager> manager_;
  std::vector<capture::TlsProcess> listed_;
};

TEST_F(StaticBinaryCapture, IsFoundByItsOwnSymbolsAndCapturedWithItsFiveTuple) {
  const std::string binary = build_dir_->path() + "/rpstatic";
  auto functions = capture::FindFunctions(binary, capture::kSslFunctions);
  ASSERT_TRUE(functions.ok()) << functions.status();
  EXPECT_TRUE(functions->contains("SSL_write")) << "in " << binary;
  EXPECT_TRUE(functions->contains("SSL_read"));
  EXPECT_TRUE(functions->contains("SSL_write_ex"));
  EXPECT_TRUE(functions->contains("SSL_read_ex"));

  ASSERT_NO_FATAL_FAILURE(StartClient("rpstatic", "static binary says hello\n"));
  const pid_t pid = client_->pid();
  // It maps no libssl.so: the only file with OpenSSL's functions is the executable.
  std::vector<std::string> with_tls;
  for (const auto& file : capture::ExecutableMappings(pid)) {
    EXPECT_EQ(file.path.find("libssl"), std::string::npos) << "the static client maps " << file.path;
    auto found = capture::FindFunctions(file.host_path, capture::kSslFunctions);
    if (found.ok() && !found->empty()) with_tls.push_back(file.path);
  }
  EXPECT_EQ(with_tls, std::vector<std::string>{binary});

  // The agent's own path: selected by name, found by symbol, attached per process.
  capture::CaptureSelection selection;
  selection.processes = {"rpstatic"};
  manager_->SetSelection(selection);
  manager_->Rescan();
  const capture::TlsProcess* listed = Listed(pid);
  ASSERT_NE(listed, nullptr) << "CaptureManager did not find TLS code in the static client";
  EXPECT_TRUE(listed->attached) << listed->reason;
  EXPECT_EQ(listed->file, binary);
  // Entry and return of the five functions, and the entry of libcrypto's
  // d2i_X509 (peer certificates), linked into the same executable.
  auto d2i = capture::FindFunctions(binary, {capture::kPeerCertFunction});
  ASSERT_TRUE(d2i.ok()) << d2i.status();
  EXPECT_TRUE(d2i->contains(capture::kPeerCertFunction)) << "in " << binary;
  EXPECT_EQ(probe_->attached_probes(), 11u);

  const std::string line = "static binary says hello\n";
  const std::string reply = RunClient();
  ASSERT_EQ(reply, "olleh syas yranib citats\n");

  ASSERT_TRUE(WaitFor([&] { return recorder_.chunks_of(pid) >= 2; }, 5s));
  const auto writes = recorder_.Streams(pid, Direction::kWrite);
  const auto reads = recorder_.Streams(pid, Direction::kRead);
  ASSERT_EQ(writes.size(), 1u);
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(writes[0].comm, "rpstatic");
  EXPECT_EQ(writes[0].Bytes(), line);
  EXPECT_EQ(reads[0].Bytes(), reply);
  for (const RecordedStream* s : {&writes[0], &reads[0]}) {
    EXPECT_TRUE(s->Contiguous());
    EXPECT_EQ(s->chunks_with_tuple, s->chunks);
    ASSERT_EQ(s->tuples.size(), 1u);
    const auto& [local, local_port, remote, remote_port, proto] = *s->tuples.begin();
    EXPECT_EQ(local, "127.0.0.1");
    EXPECT_EQ(remote, "127.0.0.1");
    EXPECT_EQ(remote_port, kPort);
    EXPECT_NE(local_port, kPort);
    EXPECT_EQ(proto, 6);
  }
  std::cout << "[ figures  ] client linked " << linkage_ << "; SSL_write at file offset 0x" << std::hex
            << functions->at("SSL_write") << std::dec << "; chunks " << recorder_.chunks_of(pid) << "\n";
}

TEST_F(StaticBinaryCapture, StrippedCopyHasNoSymbolsAndIsNeitherListedNorCaptured) {
  const std::string stripped = build_dir_->path() + "/rpstripped";
  auto functions = capture::FindFunctions(stripped, capture::kSslFunctions);
  ASSERT_TRUE(functions.ok()) << functions.status();
  EXPECT_TRUE(functions->empty()) << "a stripped static binary should define no OpenSSL symbols; found "
                                  << functions->size();

  ASSERT_NO_FATAL_FAILURE(StartClient("rpstripped", "stripped binary says hello\n"));
  const pid_t pid = client_->pid();
  capture::CaptureSelection selection;
  selection.processes = {"rpstripped"};
  manager_->SetSelection(selection);
  manager_->Rescan();
  EXPECT_EQ(Listed(pid), nullptr) << "a stripped binary cannot be recognised as TLS code";
  EXPECT_EQ(probe_->attached_probes(), 0u);

  // It works, and none of it is captured: the documented limitation.
  ASSERT_EQ(RunClient(), "olleh syas yranib deppirts\n");
  std::this_thread::sleep_for(300ms);  // what the reader thread would have delivered by now
  EXPECT_EQ(recorder_.chunks_of(pid), 0u);
}

}  // namespace
}  // namespace rampart

// TLS plaintext capture with real peers none of which Rampart wrote: the
// bytes captured at SSL_write/SSL_read, on both sides, must be exactly what
// the client sent and received, each with its connection's 5-tuple.
#include <arpa/inet.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>

#include <gtest/gtest.h>

#include "agent/capture/elf_symbols.h"
#include "agent/capture/process_scan.h"
#include "agent/capture/ssl_capture_probe.h"
#include "agent/datapath/cgroups.h"
#include "kernel_tests/fixtures/kernel_env.h"
#include "kernel_tests/fixtures/netns.h"
#include "kernel_tests/fixtures/process.h"
#include "kernel_tests/fixtures/test_cgroup.h"

namespace rampart {
namespace {

using namespace std::chrono_literals;
using testing::Capture;
using testing::ChildProcess;
using testing::NetNs;
using testing::Shell;
using testing::WaitFor;

// Everything captured, per (pid, SSL pointer, direction), in order.
struct CapturedStream {
  // Who sent each chunk, as its header says.
  struct Chunk {
    std::string comm;
    uint64_t cgroup_id = 0;
    std::string bytes;
  };
  std::string comm;  // the last chunk's
  std::vector<Chunk> chunks;
  std::string bytes;
  rp_conn_tuple tuple{};
  bool tuple_known = false;
  bool truncated = false;
  uint64_t moved = 0;
};

class Captures {
 public:
  void Add(const rp_capture_header& h, std::span<const uint8_t> data) {
    std::lock_guard lock(mu_);
    CapturedStream& s = streams_[{h.pid, h.ssl, h.direction}];
    s.comm = h.comm;
    s.chunks.push_back({h.comm, h.cgroup_id, std::string(reinterpret_cast<const char*>(data.data()), data.size())});
    s.bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
    s.moved += h.len;
    s.truncated |= (h.flags & RP_CAPTURE_TRUNCATED) != 0;
    if (h.flags & RP_CAPTURE_TUPLE_KNOWN) {
      s.tuple = h.tuple;
      s.tuple_known = true;
    }
  }
  // The streams of process `pid` in `direction`.
  std::vector<CapturedStream> OfPid(pid_t pid, uint8_t direction) {
    return Where(direction, [&](uint32_t p, const CapturedStream&) { return p == static_cast<uint32_t>(pid); });
  }
  // The streams of processes named `comm` in `direction`.
  std::vector<CapturedStream> Of(const std::string& comm, uint8_t direction) {
    return Where(direction, [&](uint32_t, const CapturedStream& s) { return s.comm == comm; });
  }

 private:
  template <typename Keep>
  std::vector<CapturedStream> Where(uint8_t direction, Keep keep) {
    std::lock_guard lock(mu_);
    std::vector<CapturedStream> out;
    for (const auto& [key, s] : streams_) {
      if (std::get<2>(key) == direction && keep(std::get<0>(key), s)) out.push_back(s);
    }
    return out;
  }

  std::mutex mu_;
  std::map<std::tuple<uint32_t, uint64_t, uint8_t>, CapturedStream> streams_;
};

std::string Port(uint16_t port) { return std::to_string(port); }


std::string Ipv4(const uint8_t addr[16]) {
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, addr + 12, buf, sizeof(buf));
  return buf;
}

class SslCaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RAMPART_REQUIRE_KERNEL_OR_SKIP();
    char tmpl[] = "/tmp/rampart-cap-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(Shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost "
                    "-keyout " + dir_ + "/key.pem -out " + dir_ + "/cert.pem 2>/dev/null"),
              0);
    ns_ = std::make_unique<NetNs>(testing::UniqueName("rpcap"));
    auto probe = capture::SslCaptureProbe::Load(
        {}, [this](const rp_capture_header& h, std::span<const uint8_t> data) { captures_.Add(h, data); });
    ASSERT_TRUE(probe.ok()) << probe.status();
    probe_ = std::move(*probe);
  }
  void TearDown() override {
    processes_.clear();
    cgroup_.reset();  // empty now that its processes are gone
    probe_.reset();
    ns_.reset();
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
  }

  // Attaches to every file the process maps that defines OpenSSL's functions.
  int AttachToProcess(pid_t pid) {
    int probes = 0;
    for (const auto& file : capture::ExecutableMappings(pid)) {
      auto functions = capture::FindFunctions(file.host_path, capture::kSslFunctions);
      if (!functions.ok() || functions->empty()) continue;
      auto attached = probe_->Attach(file.host_path, -1, *functions);
      EXPECT_TRUE(attached.ok()) << attached.status();
      if (attached.ok()) probes += *attached;
    }
    return probes;
  }

  ChildProcess& Start(const std::string& command) {
    processes_.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{"ip", "netns", "exec", ns_->name(), "sh", "-c", command}, dir_ + "/peers.log"));
    return *processes_.back();
  }

  // openssl s_server in -rev mode: it answers each line reversed.
  pid_t StartReverseServer(uint16_t port) {
    // ip netns exec and sh both exec: the server keeps the child's pid.
    const pid_t server = Start("exec openssl s_server -quiet -rev -accept 127.0.0.1:" + Port(port) + " -cert " +
                               dir_ + "/cert.pem -key " + dir_ + "/key.pem")
                             .pid();
    EXPECT_TRUE(WaitFor(
        [&] {
          return capture::ProcessName(server) == "openssl" &&
                 Shell(ns_->Exec() + "bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + Port(port) + "' 2>/dev/null") == 0;
        },
        10s))
        << "s_server did not come up; log:\n"
        << Capture("cat " + dir_ + "/peers.log");
    return server;
  }

  std::string dir_;
  std::unique_ptr<NetNs> ns_;
  Captures captures_;
  std::unique_ptr<capture::SslCaptureProbe> probe_;
  std::vector<std::unique_ptr<ChildProcess>> processes_;
  std::unique_ptr<testing::TestCgroup> cgroup_;  // a test's own, removed after its processes
};

TEST_F(SslCaptureTest, OpensslClientAndServerAreCapturedExactlyWithTheirFiveTuple) {
  // s_server in its plain mode: what arrives goes to its stdout, its stdin
  // goes to the client, both through SSL_read/SSL_write. (-rev mode uses the
  // SSL BIO, whose OpenSSL 3 internals bypass the exported functions.)
  const uint16_t port = 14433;
  const std::string fifo = dir_ + "/server-stdin";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const pid_t server = Start("exec openssl s_server -quiet -accept 127.0.0.1:" + Port(port) + " -cert " + dir_ +
                             "/cert.pem -key " + dir_ + "/key.pem < " + fifo + " > " + dir_ + "/server.out")
                           .pid();
  std::ofstream server_stdin(fifo);  // opens once the server side opened it
  ASSERT_TRUE(WaitFor([&] { return capture::ProcessName(server) == "openssl"; }, 10s));
  ASSERT_TRUE(WaitFor([&] { return Capture(ns_->Exec() + "ss -Hltn 'sport = :" + Port(port) + "'") != ""; }, 10s));
  // The agent comes after the server: it finds libssl in the server's mappings.
  ASSERT_GT(AttachToProcess(server), 0) << "no libssl with SSL_write/SSL_read in the server's mappings";

  const std::string request = "hello rampart, the plaintext\n";
  const std::string reply = "the reply, also plaintext\n";
  Start("(printf 'hello rampart, the plaintext\\n'; sleep 3) | openssl s_client -quiet -no_ign_eof -connect 127.0.0.1:" +
        Port(port) + " > " + dir_ + "/client.out 2>/dev/null");
  ASSERT_TRUE(WaitFor([&] { return Capture("cat " + dir_ + "/server.out") == request; }, 10s))
      << "server got: " << Capture("cat " + dir_ + "/server.out");
  server_stdin << reply << std::flush;
  ASSERT_TRUE(WaitFor([&] { return Capture("cat " + dir_ + "/client.out") == reply; }, 10s))
      << "client got: " << Capture("cat " + dir_ + "/client.out");

  ASSERT_TRUE(WaitFor([&] { return captures_.Of("openssl", RP_CAPTURE_READ).size() == 2; }, 5s));
  std::vector<CapturedStream> writes = captures_.Of("openssl", RP_CAPTURE_WRITE);
  std::vector<CapturedStream> reads = captures_.Of("openssl", RP_CAPTURE_READ);
  ASSERT_EQ(writes.size(), 2u);
  ASSERT_EQ(reads.size(), 2u);
  int client_requests = 0, server_replies = 0;
  for (const auto& w : writes) {
    EXPECT_TRUE(w.tuple_known);
    EXPECT_FALSE(w.truncated);
    EXPECT_EQ(w.moved, w.bytes.size());
    EXPECT_EQ(Ipv4(w.tuple.local_addr), "127.0.0.1");
    EXPECT_EQ(Ipv4(w.tuple.remote_addr), "127.0.0.1");
    EXPECT_EQ(w.tuple.proto, 6);
    if (w.bytes == request) {
      ++client_requests;
      EXPECT_EQ(w.tuple.remote_port, port);  // the client writes to the server's port
    } else if (w.bytes == reply) {
      ++server_replies;
      EXPECT_EQ(w.tuple.local_port, port);
    } else {
      ADD_FAILURE() << "unexpected captured write: " << w.bytes;
    }
  }
  EXPECT_EQ(client_requests, 1);
  EXPECT_EQ(server_replies, 1);
  for (const auto& r : reads) {
    EXPECT_TRUE(r.tuple_known);
    EXPECT_TRUE(r.bytes == request || r.bytes == reply) << r.bytes;
    if (r.bytes == request) {
      EXPECT_EQ(r.tuple.local_port, port);
    } else {
      EXPECT_EQ(r.tuple.remote_port, port);
    }
  }
  capture::CaptureStats stats = probe_->Stats();
  EXPECT_EQ(stats.chunks_lost, 0u);
  EXPECT_EQ(stats.bytes_truncated, 0u);
  EXPECT_EQ(stats.bytes, stats.bytes_captured);
}

TEST_F(SslCaptureTest, PythonSslModuleIsCapturedThroughTheExFunctions) {
  const uint16_t port = 14434;
  pid_t server = StartReverseServer(port);
  ASSERT_GT(server, 0);
  ASSERT_GT(AttachToProcess(server), 0);
  std::ofstream(dir_ + "/client.py") << R"(
import socket, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(b"python says hi\n")
        data = b""
        while not data.endswith(b"\n"):
            data += s.recv(100)
        sys.stdout.write(data.decode())
)";
  std::string out = Capture(ns_->Exec() + "python3 " + dir_ + "/client.py " + Port(port));
  ASSERT_EQ(out, "ih syas nohtyp\n");
  ASSERT_TRUE(WaitFor([&] { return !captures_.Of("python3", RP_CAPTURE_READ).empty(); }, 5s));
  auto writes = captures_.Of("python3", RP_CAPTURE_WRITE);
  auto reads = captures_.Of("python3", RP_CAPTURE_READ);
  ASSERT_EQ(writes.size(), 1u);
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(writes[0].bytes, "python says hi\n");
  EXPECT_EQ(reads[0].bytes, "ih syas nohtyp\n");
  EXPECT_TRUE(writes[0].tuple_known);
  EXPECT_EQ(writes[0].tuple.remote_port, port);
  EXPECT_TRUE(reads[0].tuple_known);
}

// The probes keep a thread's name and cgroup id between calls instead of
// reading them on each one (capture.bpf.c, rp_ssl_call): a rename and a move
// to another cgroup must still show on the thread's very next chunk.
TEST_F(SslCaptureTest, EachChunkNamesTheThreadAndCgroupItWasSentFromAfterARenameAndAMove) {
  const std::string mount = datapath::Cgroup2Mount();
  ASSERT_FALSE(mount.empty()) << "no cgroup v2 mount on this host";
  cgroup_ = std::make_unique<testing::TestCgroup>(mount + "/" + testing::UniqueName("rampart-cap-"));
  const testing::TestCgroup& cgroup = *cgroup_;
  const uint16_t port = 14435;
  pid_t server = StartReverseServer(port);
  ASSERT_GT(server, 0);
  ASSERT_GT(AttachToProcess(server), 0);
  // One connection, three lines: as python3, renamed by prctl(PR_SET_NAME),
  // then once the test has moved the process into its cgroup.
  std::ofstream(dir_ + "/client.py") << R"(
import ctypes, os, socket, ssl, sys, time
port, flag = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
def say(s, line):
    s.sendall(line)
    data = b""
    while not data.endswith(b"\n"):
        data += s.recv(100)
with socket.create_connection(("127.0.0.1", port)) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        say(s, b"as python\n")
        ctypes.CDLL(None).prctl(15, b"rp-renamed", 0, 0, 0)
        say(s, b"renamed\n")
        open(flag + ".ready", "w").close()
        while not os.path.exists(flag + ".moved"):
            time.sleep(0.01)
        say(s, b"moved\n")
)";
  const std::string flag = dir_ + "/client";
  ChildProcess& client = Start("exec python3 " + dir_ + "/client.py " + Port(port) + " " + flag);
  const pid_t client_pid = client.pid();
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(flag + ".ready"); }, 10s))
      << Capture("cat " + dir_ + "/peers.log");
  ASSERT_TRUE(cgroup.Adopt(client_pid)) << "could not move the client into " << cgroup.path();
  std::ofstream(flag + ".moved").flush();
  ASSERT_TRUE(WaitFor([&] { return !client.Running(); }, 10s));

  std::vector<CapturedStream::Chunk> sent;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto writes = captures_.OfPid(client_pid, RP_CAPTURE_WRITE);
        if (writes.size() != 1 || writes[0].chunks.size() < 3) return false;
        sent = writes[0].chunks;
        return true;
      },
      5s))
      << "the client's three lines were not captured";
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].bytes, "as python\n");
  EXPECT_EQ(sent[0].comm, "python3");
  EXPECT_EQ(sent[1].bytes, "renamed\n");
  EXPECT_EQ(sent[1].comm, "rp-renamed") << "the rename did not reach the next chunk";
  EXPECT_EQ(sent[1].cgroup_id, sent[0].cgroup_id);
  EXPECT_EQ(sent[2].bytes, "moved\n");
  EXPECT_EQ(sent[2].comm, "rp-renamed");
  EXPECT_EQ(sent[2].cgroup_id, cgroup.id()) << "the move did not reach the next chunk";
  EXPECT_NE(sent[0].cgroup_id, cgroup.id());
}

}  // namespace
}  // namespace rampart

namespace rampart {
namespace {

// Feature probing (STYLE.md section 4): the agent learns sockets through the
// first hook this kernel accepts, and says why it skipped the others.
TEST(SocketHookProbeTest, AutoPicksTheFirstHookThisKernelAcceptsAndListsTheRefusedOnes) {
  RAMPART_REQUIRE_KERNEL_OR_SKIP();
  capture::CaptureOptions options;
  options.ring_bytes = 1 << 16;
  auto probe = capture::SslCaptureProbe::Load(options, [](const rp_capture_header&, std::span<const uint8_t>) {});
  ASSERT_TRUE(probe.ok()) << probe.status();
  const capture::SocketHook hook = (*probe)->socket_hook();
  EXPECT_NE(hook, capture::SocketHook::kAuto);
  // Every hook tried before the chosen one is listed with its reason.
  const size_t position = hook == capture::SocketHook::kTracepoint ? 0 : hook == capture::SocketHook::kFentry ? 1 : 2;
  EXPECT_EQ((*probe)->hooks_refused().size(), position);
  std::cout << "[ figures  ] socket hook: " << capture::SocketHookName(hook) << "\n";
}

TEST(SocketHookProbeTest, AForcedHookEitherLoadsAsItselfOrFailsNamingIt) {
  RAMPART_REQUIRE_KERNEL_OR_SKIP();
  for (capture::SocketHook hook :
       {capture::SocketHook::kTracepoint, capture::SocketHook::kFentry, capture::SocketHook::kKprobe}) {
    capture::CaptureOptions options;
    options.ring_bytes = 1 << 16;
    options.socket_hook = hook;
    auto probe = capture::SslCaptureProbe::Load(options, [](const rp_capture_header&, std::span<const uint8_t>) {});
    const std::string name(capture::SocketHookName(hook));
    if (probe.ok()) {
      EXPECT_EQ((*probe)->socket_hook(), hook);
      std::cout << "[ figures  ] " << name << ": loads\n";
    } else {
      EXPECT_NE(probe.status().message().find(name), std::string::npos) << probe.status();
      EXPECT_EQ(probe.status().message().find('\n'), std::string::npos) << "one line: " << probe.status();
      std::cout << "[ figures  ] " << name << ": " << probe.status().message() << "\n";
    }
  }
}

TEST(SocketHookProbeTest, HookNamesParseAndBadOnesAreRefused) {
  EXPECT_EQ(*capture::ParseSocketHook("kprobe"), capture::SocketHook::kKprobe);
  auto bad = capture::ParseSocketHook("uprobe");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "bad socket hook \"uprobe\" (expected auto, tp_btf, fentry or kprobe)");
}

}  // namespace
}  // namespace rampart

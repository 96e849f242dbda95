// Deep-inspection verdicts through the real binaries (issue 5's acceptance).
// nginx serves curl over TLS, between two namespaces of the test's own, a
// JSON response that holds ten valid card numbers. rampart-cp pushes a DLP
// policy to rampartd, which captures nginx's plaintext and inspects it:
//  - under `action: block` the finding is recorded, the connection is cut
//    while the response is still flowing (curl gets a truncated body), and
//    the client's address stays blocked for the policy's TTL, no longer,
//    while another address of the same client host is untouched;
//  - under `action: monitor` only the finding is recorded: the body arrives
//    whole and nothing enters the blocklist;
//  - `rampartctl findings --follow --json` prints findings as they happen.
// No card number leaves the agent in clear: not in rampartctl's output, not
// in the findings log, not in the agent's log.
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

#include "kernel_tests/capture/capture_fixture.h"
#include "kernel_tests/fixtures/kernel_env.h"
#include "kernel_tests/fixtures/process.h"
#include "kernel_tests/inspect/inspect_e2e_fixture.h"
#include "rampart/v1/agent_api.pb.h"
#include "rampart/v1/events.pb.h"

namespace rampart {
namespace {

using namespace std::chrono_literals;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::system_clock;
using testing::Capture;
using testing::ChildProcess;
using testing::ReadFile;
using testing::Shell;
using testing::WaitFor;

const std::string kBuild = RAMPART_BUILD_DIR;
constexpr uint16_t kPort = 8443;
constexpr auto kBlockTtl = 4s;
constexpr size_t kBigBodyBytes = size_t{8} << 20;
// Time for an HTTPS exchange (TLS handshake included) with a client that is
// not blocked; a blocked one never gets a SYN-ACK.
constexpr char kConnectTimeout[] = "1";

struct Card {
  std::string brand;
  std::string holder;
  std::string number;
};

// The digit that makes `payload` followed by it pass the Luhn check.
char LuhnCheckDigit(std::string_view payload) {
  int sum = 0;
  for (size_t i = 0; i < payload.size(); ++i) {
    int digit = payload[payload.size() - 1 - i] - '0';
    if (i % 2 == 0) {  // doubled: it sits second from the right once the check digit follows
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

// Ten distinct numbers that pass Luhn and fit their brand's IIN range and
// length, middle digits from a fixed xorshift sequence: real-looking cards,
// none of the numbers networks publish for testing (which a detector may
// rightly discount).
std::vector<Card> TenCards() {
  struct Spec {
    const char* brand;
    const char* holder;
    const char* prefix;
    size_t length;
  };
  static const Spec kSpecs[] = {
      {"Visa", "Ada Lovelace", "4", 16},
      {"Visa", "Alan Turing", "4", 16},
      {"Mastercard", "Grace Hopper", "53", 16},
      {"Mastercard", "Edsger Dijkstra", "2345", 16},
      {"American Express", "Barbara Liskov", "34", 15},
      {"American Express", "Donald Knuth", "37", 15},
      {"Discover", "Frances Allen", "6011", 16},
      {"JCB", "Ken Thompson", "3530", 16},
      {"Diners Club", "Margaret Hamilton", "36", 14},
      {"UnionPay", "John Backus", "62", 16},
  };
  uint64_t x = 0x2545F4914F6CDD1Dull;
  std::vector<Card> cards;
  for (const Spec& s : kSpecs) {
    std::string number = s.prefix;
    while (number.size() + 1 < s.length) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      number.push_back(static_cast<char>('0' + x % 10));
    }
    number.push_back(LuhnCheckDigit(number));
    cards.push_back({s.brand, s.holder, number});
  }
  return cards;
}

// `{"customers": [...]` with one object per card, the object left open.
std::string CustomersJson(const std::vector<Card>& cards) {
  std::string out = "{\"customers\": [\n";
  for (size_t i = 0; i < cards.size(); ++i) {
    out += "  {\"name\": \"" + cards[i].holder + "\", \"brand\": \"" + cards[i].brand + "\", \"card_number\": \"" +
           cards[i].number + "\"}" + (i + 1 < cards.size() ? ",\n" : "\n");
  }
  return out + "]";
}

// The cards in the first kilobyte, then a catalogue that DLP must find
// nothing in, up to `size` bytes: a response that takes long enough to send
// that a verdict can arrive while it is still flowing.
std::string CardsThenPadding(const std::vector<Card>& cards, size_t size) {
  static const char* kTitles[] = {"Folding garden chair, weatherproof", "Ceramic mug with a blue glaze",
                                  "Cotton tea towel, striped", "Oak chopping board, small",
                                  "Enamel saucepan with a lid", "Wool blanket in forest green"};
  std::string out = CustomersJson(cards) + ",\n\"catalogue\": [\n";
  for (int i = 0; out.size() < size; ++i) {
    out += "  {\"sku\": \"item-" + std::to_string(i) + "\", \"title\": \"" + kTitles[i % 6] +
           "\", \"in_stock\": true, \"quantity\": " + std::to_string(i % 40) + "},\n";
  }
  return out + "  {\"sku\": \"end\"}\n]}\n";
}

constexpr char kCleanJson[] =
    "{\"status\": \"ok\", \"items\": [{\"sku\": \"item-1\", \"title\": \"Folding garden chair\"}, "
    "{\"sku\": \"item-2\", \"title\": \"Ceramic mug\"}]}\n";

// One curl run: its exit code, the body bytes it wrote and what it said.
struct Fetch {
  int status = -1;
  uint64_t bytes = 0;
  std::string body_path;
  std::string error;
  std::string out;  // what curl printed (-w)
};

std::string Ms(std::chrono::nanoseconds d) { return std::to_string(duration_cast<milliseconds>(d).count()) + " ms"; }

system_clock::time_point FromUnixNs(int64_t ns) {
  return system_clock::time_point(duration_cast<system_clock::duration>(std::chrono::nanoseconds(ns)));
}

class DlpVerdicts : public testing::InspectEndToEnd {
 protected:
  void SetUp() override {
    RAMPART_REQUIRE_KERNEL_OR_SKIP();
    // 10.X.Y.0/24 from our pid: unique per run, and only ever on our own veth.
    const pid_t pid = getpid();
    const std::string net = "10." + std::to_string(64 + (pid >> 8) % 128) + "." + std::to_string(pid % 256) + ".";
    ASSERT_NO_FATAL_FAILURE(SetUpLab(
        {.dir_prefix = "rampart-dlp", .tag = "i", .server_ip = net + "2", .client_ip = net + "1",
         .node_name = "dlp-node"}));
    other_ip_ = net + "3";
    ASSERT_EQ(Shell(client_->Exec() + "ip addr add " + other_ip_ + "/24 dev " + client_if_), 0);
    const std::string& d = dir_->path();

    cards_ = TenCards();
    cards_json_ = CustomersJson(cards_) + "}\n";
    big_json_ = CardsThenPadding(cards_, kBigBodyBytes);
    std::filesystem::create_directories(d + "/www");
    std::ofstream(d + "/www/cards.json", std::ios::binary) << cards_json_;
    std::ofstream(d + "/www/cards-big.json", std::ios::binary) << big_json_;
    std::ofstream(d + "/www/clean.json", std::ios::binary) << kCleanJson;
    ASSERT_EQ(Shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
                    "-subj /CN=localhost -keyout " + d + "/key.pem -out " + d + "/cert.pem 2>/dev/null"),
              0);
  }

  void TearDown() override {
    followers_.clear();  // before the agent they follow
    InspectEndToEnd::TearDown();
  }

  // nginx, HTTPS on the server's veth address, every file served as
  // application/json, one request per connection; `http2` offers h2 by ALPN
  // (and curl then takes it). Then rampart-cp and rampartd in the server
  // namespace, over its loopback with mutual TLS, the policy applied with
  // `dlp` as its spec.inspection.dlp, and nginx attached for capture.
  void Start(const std::string& dlp, bool http2 = false) {
    const std::string& d = dir_->path();
    ASSERT_NO_FATAL_FAILURE(nginx_->Start(
        "  access_log " + d + "/access.log;\n"
        "  default_type application/json;\n  keepalive_timeout 0;\n"
        "  server {\n    listen " + server_ip_ + ":" + std::to_string(kPort) + (http2 ? " ssl http2;\n" : " ssl;\n") +
        "    ssl_certificate " + d + "/cert.pem;\n    ssl_certificate_key " + d + "/key.pem;\n"
        "    root " + d + "/www;\n  }\n",
        kPort));
    ASSERT_NO_FATAL_FAILURE(node_->Start());
    // Ingress default allow: only the blocklist drops anything.
    ASSERT_NO_FATAL_FAILURE(node_->ApplyPolicy(
        "apiVersion: rampart/v1\nkind: Policy\nmetadata: {name: card-leaks}\nspec:\n"
        "  interfaces: [" + server_if_ + "]\n"
        "  segmentation:\n    ingress: {default: allow}\n"
        "  inspection:\n    capture: {processes: [nginx]}\n    dlp: " + dlp + "\n"));
    ASSERT_NO_FATAL_FAILURE(node_->WaitCaptureAttached(nginx_->pid()));
    const v1::InspectionStatus inspection = Status().inspection();
    ASSERT_TRUE(inspection.enabled()) << inspection.ShortDebugString();
  }

  // curl in the client namespace from `source`, HTTP/1.1 over TLS unless
  // `options` names another version.
  Fetch Curl(const std::string& source, const std::string& path, const std::vector<std::string>& options = {}) {
    const std::string base = dir_->path() + "/curl-" + std::to_string(++curls_);
    const bool version_given =
        std::any_of(options.begin(), options.end(), [](const std::string& o) { return o.rfind("--http", 0) == 0; });
    std::vector<std::string> argv = {"ip", "netns", "exec", client_->name(), "curl", "-sS", "-k"};
    if (!version_given) argv.push_back("--http1.1");
    argv.insert(argv.end(), {"--interface", source});
    argv.insert(argv.end(), options.begin(), options.end());
    argv.insert(argv.end(), {"-o", base + ".body", "https://" + server_ip_ + ":" + std::to_string(kPort) + path});
    const testing::Finished finished = testing::RunToExit(argv, base + ".out", base + ".err", 60s);
    Fetch fetch;
    fetch.status = finished.status;
    fetch.body_path = base + ".body";
    std::error_code ec;
    const auto size = std::filesystem::file_size(fetch.body_path, ec);
    fetch.bytes = ec ? 0 : size;
    fetch.error = ReadFile(base + ".err");
    fetch.out = ReadFile(base + ".out");
    return fetch;
  }

  // Every JSON object line of `text` as a Finding.
  static std::vector<v1::Finding> ParseFindings(const std::string& text) {
    std::vector<v1::Finding> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] != '{') continue;
      v1::Finding finding;
      EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &finding).ok()) << line;
      out.push_back(finding);
    }
    return out;
  }

  // `rampartctl findings --json`: every finding the agent holds, oldest first.
  std::vector<v1::Finding> Findings(const std::string& filters = "") {
    return ParseFindings(Rampartctl("findings --json --limit 10000 " + filters));
  }

  v1::ListBlocksReply Blocks() {
    const std::string json = Rampartctl("block list --json");
    v1::ListBlocksReply reply;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &reply).ok()) << json;
    return reply;
  }

  const v1::BlockedPeer* SourceEntry(const v1::ListBlocksReply& blocks, const std::string& address) {
    for (const auto& b : blocks.entries()) {
      if (b.kind() == "source" && b.source() == address) return &b;
    }
    return nullptr;
  }

  static std::string Dump(const std::vector<v1::Finding>& findings) {
    std::string out;
    for (const auto& f : findings) out += "\n  " + f.ShortDebugString();
    return out.empty() ? " (none)" : out;
  }

  // What every finding of these tests shares: DLP, on nginx's side of a
  // connection from `client`, masked.
  void ExpectFindingOfTheServedResponse(const v1::Finding& f, const std::string& client,
                                        const std::string& protocol = "HTTP/1.1") {
    EXPECT_EQ(f.detector().rfind("dlp.", 0), 0u) << f.ShortDebugString();
    EXPECT_EQ(f.pid(), static_cast<uint32_t>(nginx_->pid()));
    EXPECT_EQ(f.comm(), "nginx");
    EXPECT_TRUE(f.server_side()) << "nginx served the response";
    EXPECT_EQ(f.local(), server_ip_ + ":" + std::to_string(kPort));
    EXPECT_EQ(f.remote().rfind(client + ":", 0), 0u) << f.remote();
    EXPECT_EQ(f.protocol(), protocol);
    EXPECT_EQ(f.status(), 200u);
    EXPECT_GT(f.id(), 0u);
    EXPECT_GT(f.unix_ns(), 0);
    EXPECT_NE(std::find(f.compliance().begin(), f.compliance().end(), "PCI-DSS"), f.compliance().end())
        << f.ShortDebugString();
    EXPECT_FALSE(f.masked_value().empty()) << f.ShortDebugString();
    // One card's finding shows it masked; the bulk finding, a count.
    if (f.detector() != "dlp.bulk_card_numbers") {
      EXPECT_NE(f.masked_value().find('*'), std::string::npos) << "nothing masked: " << f.ShortDebugString();
    }
  }

  // No card number in clear anywhere the agent writes or answers: every
  // rampartctl output of the test, the findings log, the agent's log, the
  // followers' output.
  void ExpectNoCardNumberLeft() {
    const std::string log_path = Status().inspection().findings_log();
    ASSERT_FALSE(log_path.empty()) << "status.inspection.findings_log is empty";
    const std::string findings_log = ReadFile(log_path);
    EXPECT_FALSE(findings_log.empty()) << log_path << " is empty though findings were recorded";
    std::map<std::string, std::string> places = {{"rampartctl output", node_->transcript()},
                                                 {"findings log " + log_path, findings_log},
                                                 {"agent.log", ReadFile(dir_->path() + "/agent.log")},
                                                 {"cp.log", ReadFile(dir_->path() + "/cp.log")},
                                                 {"rampart-cp findings", cp_findings_}};
    for (const auto& name : follower_files_) places["follower " + name] = ReadFile(name);
    for (const auto& [place, text] : places) {
      for (size_t i = 0; i < cards_.size(); ++i) {
        EXPECT_EQ(text.find(cards_[i].number), std::string::npos)
            << place << " holds card " << i << " (" << cards_[i].brand << ") in clear";
      }
    }
    // The log holds the same findings the agent answers with.
    std::set<uint64_t> logged, answered;
    for (const auto& f : ParseFindings(findings_log)) logged.insert(f.id());
    for (const auto& f : Findings()) answered.insert(f.id());
    EXPECT_EQ(logged, answered) << "the findings log and `rampartctl findings` disagree";
  }

  std::string other_ip_;  // a second address of the client namespace, never blocked
  std::vector<std::unique_ptr<ChildProcess>> followers_;
  std::vector<std::string> follower_files_;
  std::vector<Card> cards_;
  std::string cp_findings_;  // `rampart-cp findings --json`, when a test read it
  std::string cards_json_, big_json_;
  int curls_ = 0;
};

TEST_F(DlpVerdicts, BlockPolicyCutsTheLeakingResponseAndBlocksTheClientForTheTtl) {
  ASSERT_NO_FATAL_FAILURE(Start("{action: block, blockTtl: 4s}"));
  {
    const v1::InspectionStatus inspection = Status().inspection();
    ASSERT_EQ(inspection.families_size(), 1) << inspection.ShortDebugString();
    EXPECT_EQ(inspection.families(0).family(), "dlp");
    EXPECT_EQ(inspection.families(0).action(), "block");
    EXPECT_EQ(inspection.families(0).block_ttl_seconds(), 4u);
  }

  // Before: both addresses of the client host get the clean file, and a
  // clean exchange, inspected in both directions, yields no finding.
  for (const std::string& source : {client_ip_, other_ip_}) {
    const Fetch clean = Curl(source, "/clean.json", {"--connect-timeout", kConnectTimeout});
    ASSERT_EQ(clean.status, 0) << source << ": " << clean.error << Logs();
    ASSERT_EQ(ReadFile(clean.body_path), kCleanJson);
  }
  ASSERT_TRUE(WaitFor([&] { return Status().inspection().messages() >= 4; }, 5s))
      << "two requests and two responses not all parsed: " << Status().inspection().ShortDebugString() << Logs();
  ASSERT_TRUE(Findings().empty()) << "findings for a response with no sensitive data:" << Dump(Findings());

  // The leak, over a link of 300 KB/s from the server to the client: the
  // 8 MiB body takes about 28 s, so the verdict lands while it flows. (On
  // the bare veth the whole body sits in the client's receive buffer within
  // milliseconds, before any verdict could; a slow reader does not change
  // that, only a slow path does.) curl itself is patient: whether the
  // connection is cut is judged by what reaches it, not by its giving up.
  ASSERT_EQ(Shell(server_->Exec() + "tc qdisc add dev " + server_if_ +
                  " root tbf rate 2400kbit burst 16kb latency 100ms"),
            0);
  const std::string leak_body = dir_->path() + "/leak.body";
  auto leak_bytes = [&] {
    std::error_code no_file;
    const auto size = std::filesystem::file_size(leak_body, no_file);
    return no_file ? uint64_t{0} : uint64_t{size};
  };
  const auto request_sent = std::chrono::steady_clock::now();
  auto leak = std::make_unique<ChildProcess>(
      std::vector<std::string>{"ip", "netns", "exec", client_->name(), "curl", "-sS", "-k", "--http1.1",
                               "--interface", client_ip_, "--max-time", "60", "-o", leak_body,
                               "https://" + server_ip_ + ":" + std::to_string(kPort) + "/cards-big.json"},
      dir_->path() + "/leak.err");
  std::vector<v1::Finding> findings;
  auto blocking = [&] {
    std::vector<v1::Finding> out;
    for (const auto& f : findings) {
      if (f.action() == "block") out.push_back(f);
    }
    return out;
  };
  ASSERT_TRUE(WaitFor(
      [&] {
        findings = Findings("--detector dlp.");
        return !blocking().empty();
      },
      10s))
      << "no DLP finding with action \"block\" within 10 s of the request; findings:" << Dump(findings) << Logs();
  const auto verdict_seen = std::chrono::steady_clock::now();
  const uint64_t bytes_at_verdict = leak_bytes();
  const auto blocked_at = FromUnixNs(blocking().front().unix_ns());

  // While the TTL runs: the client's address gets nothing, not even a
  // SYN-ACK; the other address of the same host is served as before.
  const Fetch refused = Curl(client_ip_, "/clean.json", {"--connect-timeout", kConnectTimeout});
  const Fetch other = Curl(other_ip_, "/clean.json", {"--connect-timeout", kConnectTimeout});
  const v1::ListBlocksReply during = Blocks();
  const auto checked_at = system_clock::now();
  ASSERT_LT(checked_at - blocked_at, kBlockTtl)
      << "the checks took longer than the TTL, so they show nothing about the block";
  EXPECT_EQ(refused.status, 28) << "a new connection from the blocked client was not dropped: exit " << refused.status
                                << ", " << refused.error;
  EXPECT_EQ(refused.bytes, 0u);
  EXPECT_EQ(other.status, 0) << "another source was affected by the block: " << other.error;
  EXPECT_EQ(ReadFile(other.body_path), kCleanJson);
  const v1::BlockedPeer* source_entry = SourceEntry(during, client_ip_);
  ASSERT_NE(source_entry, nullptr) << "the client's address is not in the blocklist: " << during.ShortDebugString();
  EXPECT_GT(source_entry->remaining_ms(), 0u) << "the block must expire";
  EXPECT_LE(source_entry->remaining_ms(), 4000u);
  EXPECT_EQ(SourceEntry(during, other_ip_), nullptr);
  bool flow_listed = false;
  for (const auto& b : during.entries()) {
    flow_listed |= b.kind() == "flow" && b.source() == client_ip_ && b.destination() == server_ip_ &&
                   b.destination_port() == kPort;
  }
  EXPECT_TRUE(flow_listed) << "the leaking connection's flow is not in the blocklist: " << during.ShortDebugString();

  // The block lifts at its expiry by itself. Connection attempts from the
  // client's address, each allowed 300 ms, until one gets through.
  int dropped_attempts = 0;
  std::optional<system_clock::time_point> lifted_attempt;
  do {
    const auto attempt = system_clock::now();
    const Fetch probe = Curl(client_ip_, "/clean.json", {"--connect-timeout", "0.3"});
    if (probe.status == 0) {
      lifted_attempt = attempt;
      EXPECT_EQ(ReadFile(probe.body_path), kCleanJson);
      break;
    }
    ++dropped_attempts;
  } while (system_clock::now() < blocked_at + kBlockTtl + 3s);
  ASSERT_TRUE(lifted_attempt.has_value()) << "the client is still blocked 3 s after the TTL" << Logs();
  EXPECT_EQ(SourceEntry(Blocks(), client_ip_), nullptr) << "the expired block is still listed";

  // The leaking connection was cut, not paused: once the block has lifted
  // nothing more of the body arrives. A connection that was only paused
  // resumes at the server's next retransmission, whose exponential backoff
  // puts it within about twice the TTL of the block; the watch goes beyond.
  const uint64_t bytes_at_lift = leak_bytes();
  std::this_thread::sleep_until(blocked_at + 2 * kBlockTtl + 3s);
  const uint64_t bytes_after = leak_bytes();
  // Still running (stalled, so far a truncated body), or exited with an error.
  const int leak_status = leak->Stop(100ms);
  const std::string leak_error = ReadFile(dir_->path() + "/leak.err");
  EXPECT_NE(leak_status, 0) << "curl received the whole response as if nothing happened";
  EXPECT_LT(bytes_after, big_json_.size()) << "the whole response reached the client";
  EXPECT_EQ(bytes_after, bytes_at_lift) << "the connection resumed after the block lifted: "
                                        << bytes_after - bytes_at_lift << " more bytes of the response arrived";
  EXPECT_EQ(big_json_.compare(0, bytes_after, ReadFile(leak_body)), 0)
      << "what the client received is not a prefix of the response";

  // Every blocking finding re-arms the block; the last one sets its expiry.
  // An attempt that got through must have started after that expiry, give
  // or take the time curl takes to send its SYN.
  findings = Findings();
  ASSERT_FALSE(blocking().empty());
  int64_t last_block_ns = 0;
  for (const auto& f : blocking()) last_block_ns = std::max(last_block_ns, f.unix_ns());
  const auto lifted_after = *lifted_attempt - FromUnixNs(last_block_ns);
  EXPECT_GE(lifted_after, kBlockTtl - 200ms) << "the block lifted " << Ms(lifted_after) << " after it was written";
  EXPECT_LE(lifted_after, kBlockTtl + 1500ms) << "the block outlived its TTL: " << Ms(lifted_after);

  // The findings: DLP, at least high, blocking the flow and the client.
  std::map<std::string, int> by_detector;
  uint64_t latency_min = UINT64_MAX, latency_max = 0;
  for (const auto& f : findings) {
    ++by_detector[f.detector()];
    ExpectFindingOfTheServedResponse(f, client_ip_);
    const bool high = f.severity() == "high" || f.severity() == "critical";
    // minSeverity defaults to high: what reaches it blocks, the rest is monitored.
    EXPECT_EQ(f.action(), high ? "block" : "monitor") << f.ShortDebugString();
    if (f.action() != "block") continue;
    EXPECT_EQ(f.enforced(), "flow and source " + client_ip_) << f.ShortDebugString();
    EXPECT_GT(f.verdict_latency_us(), 0u) << f.ShortDebugString();
    latency_min = std::min(latency_min, f.verdict_latency_us());
    latency_max = std::max(latency_max, f.verdict_latency_us());
  }
  EXPECT_TRUE(by_detector.contains("dlp.bulk_card_numbers"))
      << "ten cards in one response and no bulk finding:" << Dump(findings);
  EXPECT_EQ(findings.size() - by_detector["dlp.bulk_card_numbers"], cards_.size())
      << "one finding per card expected:" << Dump(findings);
  const v1::InspectionStatus inspection = Status().inspection();
  EXPECT_GE(inspection.blocks(), blocking().size());
  EXPECT_EQ(inspection.block_errors(), 0u);
  EXPECT_EQ(inspection.findings(), findings.size());
  for (const auto& [detector, count] : by_detector) {
    const auto it = inspection.findings_by_detector().find(detector);
    ASSERT_NE(it, inspection.findings_by_detector().end()) << detector << " not counted in status";
    EXPECT_EQ(it->second, static_cast<uint64_t>(count)) << detector;
  }
  Rampartctl("findings --limit 10000");  // the table, for the plaintext check
  ASSERT_NO_FATAL_FAILURE(ExpectNoCardNumberLeft());

  std::string detectors;
  for (const auto& [detector, count] : by_detector) detectors += " " + detector + "=" + std::to_string(count);
  std::cout << "[ figures  ] block: client received " << bytes_after << " of " << big_json_.size()
            << " bytes: " << bytes_at_verdict << " when the verdict was seen, " << bytes_at_lift
            << " when the block lifted; curl "
            << (leak_status == -1 ? std::string("still running when stopped")
                                  : "exit " + std::to_string(leak_status) + ": " +
                                        leak_error.substr(0, leak_error.find('\n')))
            << "\n"
            << "[ figures  ] block: first blocking finding seen " << Ms(verdict_seen - request_sent)
            << " after the request; verdict_latency_us min " << latency_min << " max " << latency_max << "\n"
            << "[ figures  ] block: lifted " << Ms(lifted_after) << " after the last block write (TTL "
            << Ms(kBlockTtl) << "), " << dropped_attempts << " attempts dropped before; findings:" << detectors
            << "\n";
}

TEST_F(DlpVerdicts, MonitorPolicyRecordsTheFindingAndLeavesTheConnectionAlone) {
  ASSERT_NO_FATAL_FAILURE(Start("{action: monitor}"));
  const Fetch small = Curl(client_ip_, "/cards.json");
  const Fetch big = Curl(client_ip_, "/cards-big.json");
  ASSERT_EQ(small.status, 0) << small.error << Logs();
  ASSERT_EQ(big.status, 0) << big.error << Logs();
  EXPECT_TRUE(ReadFile(small.body_path) == cards_json_) << "cards.json arrived altered";
  EXPECT_EQ(big.bytes, big_json_.size());
  EXPECT_TRUE(ReadFile(big.body_path) == big_json_) << "cards-big.json arrived altered";

  // One connection per response: findings from two remote endpoints.
  std::vector<v1::Finding> findings;
  std::set<std::string> remotes;
  ASSERT_TRUE(WaitFor(
      [&] {
        findings = Findings();
        remotes.clear();
        for (const auto& f : findings) remotes.insert(f.remote());
        return remotes.size() >= 2;
      },
      10s))
      << "findings for both responses expected:" << Dump(findings) << Logs();
  EXPECT_EQ(remotes.size(), 2u);
  std::map<std::string, int> by_detector;
  for (const auto& f : findings) {
    ++by_detector[f.detector()];
    ExpectFindingOfTheServedResponse(f, client_ip_);
    EXPECT_EQ(f.action(), "monitor") << f.ShortDebugString();
    EXPECT_EQ(f.enforced(), "") << f.ShortDebugString();
    EXPECT_EQ(f.verdict_latency_us(), 0u);
  }
  // Critical, and still only recorded.
  EXPECT_TRUE(by_detector.contains("dlp.bulk_card_numbers")) << Dump(findings);
  for (const auto& remote : remotes) {
    const auto of_card = std::count_if(findings.begin(), findings.end(), [&](const v1::Finding& f) {
      return f.remote() == remote && f.detector() != "dlp.bulk_card_numbers";
    });
    EXPECT_EQ(of_card, static_cast<long>(cards_.size())) << "one finding per card expected for " << remote;
  }

  EXPECT_EQ(Blocks().entries_size(), 0) << Blocks().ShortDebugString();
  const v1::InspectionStatus inspection = Status().inspection();
  EXPECT_EQ(inspection.blocks(), 0u);
  ASSERT_EQ(inspection.families_size(), 1);
  EXPECT_EQ(inspection.families(0).action(), "monitor");
  const Fetch after = Curl(client_ip_, "/clean.json", {"--connect-timeout", kConnectTimeout});
  EXPECT_EQ(after.status, 0) << "the client lost access under a monitor policy: " << after.error;
  Rampartctl("findings --limit 10000");

  // The same findings reached the control plane on the event stream, masked.
  size_t at_cp = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        cp_findings_ = Capture(kBuild + "/controlplane/rampart-cp findings --json --limit 100000 --admin-socket " +
                               node_->admin_socket());
        at_cp = 0;
        std::istringstream lines(cp_findings_);
        for (std::string line; std::getline(lines, line);) {
          v1::FleetEvent event;
          if (google::protobuf::util::JsonStringToMessage(line, &event).ok() && event.node() == "dlp-node" &&
              event.has_finding() && !event.finding().masked_value().empty()) {
            ++at_cp;
          }
        }
        return at_cp >= findings.size();
      },
      10s))
      << at_cp << " of " << findings.size() << " findings reached the control plane" << Logs();
  EXPECT_EQ(at_cp, findings.size());
  ASSERT_NO_FATAL_FAILURE(ExpectNoCardNumberLeft());

  std::string detectors;
  for (const auto& [detector, count] : by_detector) detectors += " " + detector + "=" + std::to_string(count);
  std::cout << "[ figures  ] monitor: " << big.bytes << " of " << big_json_.size()
            << " bytes received intact; findings:" << detectors << "\n";
}

// HTTP/2 through the same path: nginx offers h2 by ALPN, curl takes it, and
// the agent decodes the frames and HPACK headers it captured from the
// connection's first byte (the preface), so the response is inspected as an
// HTTP/1.1 one would be.
TEST_F(DlpVerdicts, Http2ResponseNegotiatedByAlpnIsInspectedLikeHttp1) {
  ASSERT_NO_FATAL_FAILURE(Start("{action: monitor}", /*http2=*/true));
  const Fetch fetch = Curl(client_ip_, "/cards.json", {"--http2", "-w", "%{http_version}"});
  ASSERT_EQ(fetch.status, 0) << fetch.error << Logs();
  ASSERT_EQ(fetch.out, "2") << "curl did not negotiate HTTP/2";
  EXPECT_TRUE(ReadFile(fetch.body_path) == cards_json_) << "cards.json arrived altered";

  std::vector<v1::Finding> findings;
  ASSERT_TRUE(WaitFor(
      [&] {
        findings = Findings();
        return findings.size() >= cards_.size() + 1;
      },
      10s))
      << "one finding per card and the bulk finding expected:" << Dump(findings) << Logs();
  size_t card_findings = 0;
  bool bulk = false;
  for (const auto& f : findings) {
    ExpectFindingOfTheServedResponse(f, client_ip_, "HTTP/2");
    if (f.detector() == "dlp.bulk_card_numbers") bulk = true;
    else ++card_findings;
  }
  EXPECT_TRUE(bulk) << Dump(findings);
  EXPECT_EQ(card_findings, cards_.size()) << Dump(findings);
  EXPECT_EQ(Status().inspection().http2_midway_undecodable(), 0u);
  ASSERT_NO_FATAL_FAILURE(ExpectNoCardNumberLeft());
}

TEST_F(DlpVerdicts, FindingsFollowPrintsEachNewFindingAsItHappens) {
  ASSERT_NO_FATAL_FAILURE(Start("{action: monitor}"));
  const std::string out = dir_->path() + "/follow.jsonl";
  follower_files_.push_back(out);
  followers_.push_back(std::make_unique<ChildProcess>(
      std::vector<std::string>{kBuild + "/agent/rampartctl", "--socket", dir_->path() + "/agent.sock", "findings",
                               "--follow", "--json"},
      out));

  // The first response's findings reach the follower, as recent findings
  // or live; those of the second come after, so only live.
  ASSERT_EQ(Curl(client_ip_, "/cards.json").status, 0) << Logs();
  ASSERT_TRUE(WaitFor([&] { return !ParseFindings(ReadFile(out)).empty(); }, 10s))
      << "the follower printed nothing:" << ReadFile(out) << Logs();
  uint64_t last_id = 0;
  for (const auto& f : ParseFindings(ReadFile(out))) last_id = std::max(last_id, f.id());
  const auto second_sent = std::chrono::steady_clock::now();
  ASSERT_EQ(Curl(client_ip_, "/cards.json").status, 0) << Logs();
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& f : ParseFindings(ReadFile(out))) {
          if (f.id() > last_id) return true;
        }
        return false;
      },
      10s))
      << "the second response's findings never reached the follower" << Logs();
  const auto live_after = std::chrono::steady_clock::now() - second_sent;
  EXPECT_TRUE(followers_.back()->Running()) << "the follower stopped instead of following";

  // It printed what the agent recorded, finding for finding.
  std::vector<v1::Finding> recorded;
  std::vector<v1::Finding> followed;
  ASSERT_TRUE(WaitFor(
      [&] {
        recorded = Findings();
        followed = ParseFindings(ReadFile(out));
        return followed.size() == recorded.size();
      },
      5s))
      << "followed " << followed.size() << " findings, the agent holds " << recorded.size();
  for (size_t i = 0; i < recorded.size(); ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(followed[i], recorded[i]))
        << "followed: " << followed[i].ShortDebugString() << "\nrecorded: " << recorded[i].ShortDebugString();
    ExpectFindingOfTheServedResponse(recorded[i], client_ip_);
  }

  // The filters pick exactly the matching findings.
  std::set<std::string> detectors;
  size_t critical = 0;
  for (const auto& f : recorded) {
    detectors.insert(f.detector());
    critical += f.severity() == "critical";
  }
  for (const auto& detector : detectors) {
    const auto picked = Findings("--detector " + detector);
    const auto expected = std::count_if(recorded.begin(), recorded.end(),
                                        [&](const v1::Finding& f) { return f.detector().rfind(detector, 0) == 0; });
    EXPECT_EQ(picked.size(), static_cast<size_t>(expected)) << "--detector " << detector;
    for (const auto& f : picked) EXPECT_EQ(f.detector().rfind(detector, 0), 0u) << f.detector();
  }
  const auto picked = Findings("--severity critical");
  EXPECT_EQ(picked.size(), critical);
  for (const auto& f : picked) EXPECT_EQ(f.severity(), "critical");
  EXPECT_TRUE(Findings("--detector attack.").empty());

  ASSERT_NO_FATAL_FAILURE(ExpectNoCardNumberLeft());
  std::cout << "[ figures  ] follow: " << followed.size() << " findings printed; the second response's first "
            << Ms(live_after) << " after its request was sent\n";
}

}  // namespace
}  // namespace rampart

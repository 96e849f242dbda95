// Sampled drop events with real traffic: at sample rate 1 every dropped packet
// yields one event with its reason, direction, rule and 5-tuple; and when the
// ring buffer is full, every event that could not be reserved is counted.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <set>
#include <thread>

#include "agent/datapath/blocklist.h"
#include "agent/datapath/drop_events.h"
#include "kernel_tests/datapath/datapath_fixture.h"

namespace rampart::testing {
namespace {

using namespace std::chrono_literals;

class DropEvents : public DatapathNetTest {
 protected:
  bool WithIpv6() const override { return false; }  // exact counts: no MLD

  void Send(const std::string& src, int sport, int port, int count) {
    auto sent = ParseJson(Run(*client_, {"send", "--src", src, "--sport", std::to_string(sport), "--dst", kServer4,
                                         "--port", std::to_string(port), "--count", std::to_string(count)}));
    ASSERT_EQ(Number(sent, "sent"), count) << sent.ShortDebugString() << Logs();
  }
};

// What a test expects of one event; compared as text so a mismatch reads well.
std::string Describe(const rp_drop_event& e, const datapath::Datapath& dp) {
  datapath::Address src{}, dst{};
  std::copy(std::begin(e.src), std::end(e.src), src.begin());
  std::copy(std::begin(e.dst), std::end(e.dst), dst.begin());
  std::string rule = e.rule_id || e.reason == RP_REASON_DROP_RATE_LIMIT ? " rule " + dp.RateLimitName(e.rule_id) : "";
  return datapath::ReasonName(e.reason) + (e.direction == RP_DIR_INGRESS ? " ingress " : " egress ") + "proto " +
         std::to_string(e.proto) + " " + datapath::FormatAddress(src) + ":" + std::to_string(e.sport) + " -> " +
         datapath::FormatAddress(dst) + ":" + std::to_string(e.dport) + rule;
}

TEST_F(DropEvents, EveryDropYieldsOneEventWithReasonRuleAndFiveTuple) {
  datapath::DatapathOptions options;
  options.drop_sample_rate = 1;
  OpenDatapath(options);
  Apply(PolicyYaml("events", std::string(R"(interfaces: [SERVER_IF]
segmentation:
  ingress:
    default: deny
    allow:
      - {name: limited, from: [)") + kClientNet4 + R"(], ports: ["udp/6001"]}
  egress:
    default: deny
    allow:
      - {name: replies, to: [)" + kClientNet4 + R"(], ports: ["udp/6001"]}
rateLimits:
  - {name: slow, match: {ports: ["udp/6001"]}, packetsPerSecond: 1, burst: 1}
)"),
        1);
  const uint32_t ifindex = if_nametoindex(server_if_.c_str());
  ASSERT_NE(ifindex, 0u);
  // A silent listener for the admitted packet, so the server sends no ICMP
  // port unreachable (which egress default deny would drop, and report).
  Serve(*server_, {}, {6001}, "server", /*echo=*/false);

  std::mutex mu;
  std::vector<rp_drop_event> events;
  auto reader = datapath::DropEventReader::Start(datapath_->object().events_fd());
  ASSERT_TRUE(reader.ok()) << reader.status();
  (*reader)->Subscribe([&](const rp_drop_event& e) {
    std::lock_guard lock(mu);
    events.push_back(e);
  });
  auto before = Counters();
  const uint64_t start_ns = datapath::MonotonicNanos();

  // Ingress, default deny: a port no rule names.
  Send(kClient4, 41000, 6002, 5);
  // Ingress, blocklist: a blocked source (checked before the allowlist).
  auto other = datapath::ParseAddress(kOther4);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(datapath_->blocklist().BlockSource(*other, 60s, 0).ok());
  Send(kOther4, 41001, 6001, 3);
  // Ingress, rate limit: 1 pps with a burst of 1 admits the first of 4.
  Send(kClient4, 41002, 6001, 4);
  // Egress, default deny: the server (this process) sends to a port no rule names.
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(sock, 0);
  sockaddr_in local{.sin_family = AF_INET, .sin_port = htons(41003), .sin_addr = {}, .sin_zero = {}};
  inet_pton(AF_INET, kServer4, &local.sin_addr);
  ASSERT_EQ(bind(sock, reinterpret_cast<sockaddr*>(&local), sizeof(local)), 0) << strerror(errno);
  sockaddr_in to{.sin_family = AF_INET, .sin_port = htons(6100), .sin_addr = {}, .sin_zero = {}};
  inet_pton(AF_INET, kClient4, &to.sin_addr);
  for (int i = 0; i < 2; ++i) sendto(sock, "out", 3, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  close(sock);
  const uint64_t end_ns = datapath::MonotonicNanos();

  std::multiset<std::string> expected;
  const std::string c = kClient4, o = kOther4, s = kServer4;
  for (int i = 0; i < 5; ++i) expected.insert("drop_default ingress proto 17 " + c + ":41000 -> " + s + ":6002");
  for (int i = 0; i < 3; ++i) expected.insert("drop_blocked ingress proto 17 " + o + ":41001 -> " + s + ":6001");
  for (int i = 0; i < 3; ++i) {
    expected.insert("drop_rate_limit ingress proto 17 " + c + ":41002 -> " + s + ":6001 rule events/slow");
  }
  for (int i = 0; i < 2; ++i) expected.insert("drop_default egress proto 17 " + s + ":41003 -> " + c + ":6100");

  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return events.size() >= expected.size();
      },
      5s))
      << "only " << events.size() << " of " << expected.size() << " events arrived";
  std::this_thread::sleep_for(300ms);  // nothing more may come
  (*reader).reset();

  std::multiset<std::string> got;
  for (const auto& e : events) {
    got.insert(Describe(e, *datapath_));
    EXPECT_EQ(e.ifindex, ifindex) << Describe(e, *datapath_);
    EXPECT_GE(e.timestamp_ns, start_ns) << Describe(e, *datapath_);
    EXPECT_LE(e.timestamp_ns, end_ns) << Describe(e, *datapath_);
  }
  EXPECT_EQ(got, expected);

  // One event per counted drop, reason by reason.
  auto after = Counters();
  std::map<std::string, uint64_t> by_reason;
  for (const auto& e : events) {
    by_reason[std::string(e.direction == RP_DIR_INGRESS ? "ingress " : "egress ") + datapath::ReasonName(e.reason)]++;
  }
  for (const auto& [name, count] : by_reason) EXPECT_EQ(after[name] - before[name], count) << name;
  uint64_t drops = 0;
  for (const auto& [name, value] : after) {
    if (name.find(" drop_") != std::string::npos) drops += value - before[name];
  }
  EXPECT_EQ(drops, events.size()) << "a drop without an event";
  EXPECT_EQ(after["error ringbuf_full"], 0u);
}

TEST_F(DropEvents, EveryEventLostToAFullRingBufferIsCounted) {
  datapath::DatapathOptions options;
  options.drop_sample_rate = 1;
  options.sizes.event_ring_bytes = 4096;  // one page: 64 events of 64 bytes (header included)
  OpenDatapath(options);
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(datapath_->object().events_fd(), &info, &len), 0);
  EXPECT_EQ(info.max_entries, 4096u) << "the ring buffer is not the size asked for";
  Apply(PolicyYaml("deny", R"(interfaces: [SERVER_IF]
segmentation:
  ingress: {default: deny}
)"),
        1);

  // A burst of drops while nobody reads the ring.
  constexpr int kDrops = 500;
  auto before = Counters();
  Send(kClient4, 42000, 6200, kDrops);
  auto after = Counters();
  const uint64_t dropped = after["ingress drop_default"] - before["ingress drop_default"];
  const uint64_t lost = after["error ringbuf_full"] - before["error ringbuf_full"];
  EXPECT_EQ(dropped, static_cast<uint64_t>(kDrops));
  EXPECT_GT(lost, 0u) << "500 events cannot fit a 4 KiB ring";

  // Reading now drains what fit; with what was lost, that accounts for every drop.
  auto reader = datapath::DropEventReader::Start(datapath_->object().events_fd());
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto delivered = [&] { return (*reader)->delivered(); };
  ASSERT_TRUE(WaitFor([&] { return delivered() > 0 && delivered() + lost >= dropped; }, 5s))
      << "delivered " << delivered() << ", lost " << lost << ", dropped " << dropped;
  std::this_thread::sleep_for(300ms);
  const uint64_t read = delivered();
  (*reader).reset();
  EXPECT_EQ(read + lost, dropped) << "delivered " << read << ", lost " << lost;
  EXPECT_LE(read, 4096u / 64u);
}

}  // namespace
}  // namespace rampart::testing

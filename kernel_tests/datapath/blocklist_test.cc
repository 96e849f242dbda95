// The dynamic blocklist with real traffic: a source blocked for 2 s is
// dropped at ingress (and, as a destination, at egress), other sources are
// not, and once the 2 s have passed its traffic flows again with no action
// from user space: the programs compare the expiry with their clock.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "agent/datapath/blocklist.h"
#include "kernel_tests/datapath/datapath_fixture.h"

namespace rampart::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kPort = 5300;
constexpr int kCount = 10;

class Blocklist : public DatapathNetTest {
 protected:
  void Send(const std::string& src, const std::string& dst, const std::string& tag) {
    auto sent = ParseJson(Run(*client_, {"send", "--src", src, "--dst", dst, "--port", std::to_string(kPort),
                                         "--count", std::to_string(kCount), "--tag", tag}));
    ASSERT_EQ(Number(sent, "sent"), kCount) << sent.ShortDebugString() << Logs();
  }
  size_t Received(const std::string& src, const std::string& tag) {
    return CountLogLines(log_, "udp " + src + " " + std::to_string(kPort) + " " + tag + " ");
  }
  bool WaitReceived(const std::string& src, const std::string& tag) {
    return WaitFor([&] { return Received(src, tag) == kCount; }, 5s);
  }
  // Entries in rampart_block, expired or not, read straight from the map.
  std::vector<rp_block_value> RawEntries() {
    std::vector<rp_block_value> out;
    const int fd = datapath_->object().block_fd();
    rp_block_key key{}, next{};
    void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
      rp_block_value value{};
      if (bpf_map_lookup_elem(fd, &next, &value) == 0) out.push_back(value);
      key = next;
      prev = &key;
    }
    return out;
  }

  std::string log_;
};

TEST_F(Blocklist, BlockedSourceIsDroppedUntilItsExpiryThenPassesWithoutAgentAction) {
  OpenDatapath();
  log_ = Serve(*server_, {}, {kPort}, "server");
  Apply(PolicyYaml("open", "interfaces: [SERVER_IF]\n"), 1);  // default allow everywhere

  Send(kClient4, kServer4, "before-v4");
  Send(kClient6, kServer6, "before-v6");
  ASSERT_TRUE(WaitReceived(kClient4, "before-v4")) << Logs();
  ASSERT_TRUE(WaitReceived(kClient6, "before-v6")) << Logs();

  auto client4 = datapath::ParseAddress(kClient4);
  auto client6 = datapath::ParseAddress(kClient6);
  ASSERT_TRUE(client4.ok() && client6.ok());
  const auto blocked_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(datapath_->blocklist().BlockSource(*client4, 2000ms, 0).ok());
  ASSERT_TRUE(datapath_->blocklist().BlockSource(*client6, 2000ms, 0).ok());
  auto before = Counters();

  Send(kClient4, kServer4, "during-v4");
  Send(kClient6, kServer6, "during-v6");
  Send(kOther4, kServer4, "other-v4");  // not blocked
  // The server sends to a blocked peer: dropped at egress.
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(sock, 0);
  sockaddr_in to{.sin_family = AF_INET, .sin_port = htons(kPort), .sin_addr = {}, .sin_zero = {}};
  inet_pton(AF_INET, kClient4, &to.sin_addr);
  for (int i = 0; i < 5; ++i) sendto(sock, "out", 3, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  close(sock);
  const auto blocked_phase = std::chrono::steady_clock::now() - blocked_at;

  EXPECT_TRUE(WaitReceived(kOther4, "other-v4")) << "a source that is not blocked was dropped" << Logs();
  auto during = Counters();
  EXPECT_EQ(during["ingress drop_blocked"] - before["ingress drop_blocked"], 2u * kCount);
  EXPECT_EQ(during["egress drop_blocked"] - before["egress drop_blocked"], 5u);
  EXPECT_EQ(Received(kClient4, "during-v4"), 0u);
  EXPECT_EQ(Received(kClient6, "during-v6"), 0u);
  ASSERT_LT(blocked_phase, 1500ms) << "the machine was too slow to send inside the 2 s block; the checks above "
                                      "do not show the block";

  // Let the entries expire. User space does nothing: no sweep, no unblock.
  std::this_thread::sleep_until(blocked_at + 2300ms);
  auto raw = RawEntries();
  ASSERT_EQ(raw.size(), 2u) << "the entries must still be in the map: expiry is the kernel's check";
  for (const auto& value : raw) EXPECT_LT(value.expires_ns, datapath::MonotonicNanos());
  auto state = datapath_->writer().State();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->block_entries, 1u);

  Send(kClient4, kServer4, "after-v4");
  Send(kClient6, kServer6, "after-v6");
  EXPECT_TRUE(WaitReceived(kClient4, "after-v4")) << "IPv4 source still blocked after its expiry" << Logs();
  EXPECT_TRUE(WaitReceived(kClient6, "after-v6")) << "IPv6 source still blocked after its expiry" << Logs();
  EXPECT_EQ(Counter("ingress drop_blocked"), during["ingress drop_blocked"]);

  // The agent's sweep tidies up later; listing already hides expired entries.
  auto listed = datapath_->blocklist().List();
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  auto swept = datapath_->blocklist().Sweep();
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(*swept, 2u);
  EXPECT_TRUE(RawEntries().empty());
}

}  // namespace
}  // namespace rampart::testing

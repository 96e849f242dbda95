// The per-source token bucket with real traffic: a sender at about twice a
// 1,000 pps limit gets the limit through over 5 s, and no more than burst +
// rate in the first second. The receiver counts by kernel receive timestamps
// (SO_TIMESTAMPNS, taken as the veth hands the packet up, before the ingress
// hook), so a slow receiver process does not skew the windows.
#include <bpf/bpf.h>

#include <cstring>
#include <filesystem>

#include "agent/datapath/blocklist.h"
#include "kernel_tests/datapath/datapath_fixture.h"

namespace rampart::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kPort = 6000;
constexpr double kRate = 1000, kBurst = 200, kSendRate = 2000, kSeconds = 5;

class RateLimit : public DatapathNetTest {
 protected:
  bool WithIpv6() const override { return false; }  // exact counts: no MLD
};

TEST_F(RateLimit, SourceAtTwiceTheLimitGetsTheLimitAndAtMostBurstPlusRateInTheFirstSecond) {
  OpenDatapath();
  Apply(PolicyYaml("limits", R"(interfaces: [SERVER_IF]
rateLimits:
  - name: udp-per-source
    match: {ports: ["udp/6000"]}
    key: source
    packetsPerSecond: 1000
    burst: 200
)"),
        1);
  const std::string ready = dir_ + "/recv.ready", out = dir_ + "/recv.json";
  ChildProcess& receiver = Start(*server_,
                                 {"rate-recv", "--port", std::to_string(kPort), "--ready", ready, "--out", out,
                                  "--idle", "1.5"},
                                 "rate-recv");
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(ready); }, 10s)) << Logs();
  auto before = Counters();

  auto sent_json = ParseJson(Run(*client_, {"rate-send", "--src", kClient4, "--dst", kServer4, "--port",
                                            std::to_string(kPort), "--pps", std::to_string(kSendRate), "--seconds",
                                            std::to_string(kSeconds)}));
  const double sent = Number(sent_json, "sent"), duration = Number(sent_json, "duration"),
               send_rate = Number(sent_json, "pps");
  ASSERT_EQ(Number(sent_json, "errors"), 0) << sent_json.ShortDebugString();
  // A sender that could not outrun the limit proves nothing: fail, don't pass.
  ASSERT_GE(send_rate, 1.5 * kRate) << "the sender reached only " << send_rate
                                    << " pps; this test needs at least 1.5x the 1000 pps limit ("
                                    << sent_json.ShortDebugString() << ")";
  ASSERT_GE(duration, 0.9 * kSeconds) << sent_json.ShortDebugString();

  ASSERT_TRUE(WaitFor([&] { return !receiver.Running(); }, 15s)) << "receiver never finished" << Logs();
  auto received_json = ParseJson(ReadFile(out));
  const double received = Number(received_json, "count"), first_second = Number(received_json, "first_second");
  const std::string detail = "sent " + sent_json.ShortDebugString() + "; received " + received_json.ShortDebugString();
  std::cout << detail << "\n";

  // Over the whole run: the rate, within 10%, plus at most the initial burst.
  EXPECT_GE(received, 0.9 * kRate * duration) << detail;
  EXPECT_LE(received, 1.1 * kRate * duration + kBurst) << detail;
  // In the first second: the full bucket (burst) and one second of refill, no
  // more. 1% slack for the few microseconds between the receive timestamp and
  // the bucket's clock.
  EXPECT_LE(first_second, (kBurst + kRate) * 1.01) << detail;
  EXPECT_GE(first_second, kRate) << "the burst was not available at the start: " << detail;

  // The kernel's own books agree with the receiver, packet for packet.
  auto after = Counters();
  const uint64_t passed = after["ingress allow_default"] - before["ingress allow_default"];
  const uint64_t limited = after["ingress drop_rate_limit"] - before["ingress drop_rate_limit"];
  EXPECT_EQ(passed + limited, static_cast<uint64_t>(sent)) << "not every packet met the rate limit";
  EXPECT_EQ(passed, static_cast<uint64_t>(received)) << "a passed packet did not reach the receiver";

  // One bucket, keyed by the source, holds the same numbers.
  auto client = datapath::ParseAddress(kClient4);
  ASSERT_TRUE(client.ok());
  const int fd = datapath_->object().buckets_fd();
  rp_bucket_key key{}, next{};
  void* prev = nullptr;
  int buckets = 0;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    ++buckets;
    rp_bucket bucket{};
    ASSERT_EQ(bpf_map_lookup_elem(fd, &key, &bucket), 0);
    EXPECT_EQ(std::memcmp(key.src, client->data(), 16), 0) << "a bucket for another source";
    EXPECT_EQ(key.sport, 0) << "a per-source bucket carries no ports";
    EXPECT_EQ(datapath_->RateLimitName(key.limit_id), "limits/udp-per-source");
    EXPECT_EQ(bucket.passed_packets, passed);
    EXPECT_EQ(bucket.dropped_packets, limited);
  }
  EXPECT_EQ(buckets, 1);
}

// docs/policy-reference.md, Rate limits: "Buckets belong to a policy version:
// a new version starts with fresh, full buckets." Bucket keys carry the limit
// id, which is generation * 16 + index, and there are two generations: the
// version after next reuses the ids, and so the buckets, of this one unless
// they are cleared when the generation is rewritten.
TEST_F(RateLimit, ThePolicyVersionAfterNextStartsWithFullBucketsToo) {
  OpenDatapath();
  auto limit = [](const std::string& name, int pps, int burst) {
    return PolicyYaml("limits", "interfaces: [SERVER_IF]\nrateLimits:\n  - name: " + name +
                                    "\n    match: {ports: [\"udp/6000\"]}\n    packetsPerSecond: " +
                                    std::to_string(pps) + "\n    burst: " + std::to_string(burst) + "\n");
  };
  auto send = [&](int count) {
    auto before = Counters();
    auto sent = ParseJson(Run(*client_, {"send", "--src", kClient4, "--dst", kServer4, "--port",
                                         std::to_string(kPort), "--count", std::to_string(count)}));
    EXPECT_EQ(Number(sent, "sent"), count);
    return Counters()["ingress allow_default"] - before["ingress allow_default"];
  };

  // Version 1: a slow limit, exhausted. Its bucket is now ~30 s in debt.
  Apply(limit("slow", 1, 30), 1);
  ASSERT_EQ(send(40), 30u) << "a fresh bucket admits its burst";
  // Version 2, the other generation: a fresh bucket, as documented.
  Apply(limit("slow", 1, 30), 2);
  ASSERT_EQ(send(5), 5u) << "version 2 did not start with a full bucket";
  // Version 3, back in version 1's generation, with a generous limit: 10
  // packets are far below its burst of 200 and must all pass.
  Apply(limit("fast", 1000, 200), 3);
  EXPECT_EQ(send(10), 10u)
      << "version 3 inherited the exhausted bucket of version 1 (same generation, same limit index): its "
         "1000 pps limit drops a source that sent 10 packets, until version 1's 1 pps debt is paid";
}

}  // namespace
}  // namespace rampart::testing

// Atomic policy updates: real UDP traffic flows while the policy flips 1,000
// times between A and B, and no packet gets a verdict that neither A nor B
// gives it. Meanwhile another thread runs the XDP program under
// BPF_PROG_TEST_RUN on crafted packets as fast as it can, checking each
// verdict, so flips are also probed between the real packets.
//
//   source  port   A      B      so
//   S1      P1     allow  allow  always received
//   S2      P1     allow  allow  always received
//   S1      P2     allow  deny   either
//   S2      P3     deny   allow  either
//   S1      P3     deny   deny   never received
//   S2      P2     deny   deny   never received
//
// A mix of the two (B's prefixes with A's rule sets, a half-written
// generation, a default read from the other generation) would let a "never"
// packet through or drop an "always" one.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "kernel_tests/datapath/datapath_fixture.h"
#include "kernel_tests/fixtures/packet_builder.h"

namespace rampart::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kP1 = 6101, kP2 = 6102, kP3 = 6103;
constexpr int kFlips = 1000;
constexpr int kPacketsPerSecondPerFlow = 300;
// A flip takes well under a millisecond here; pacing them spreads the 1,000
// flips over about 5 s, so each policy is in force for a few packets of every
// flow at a time.
constexpr auto kFlipEvery = 5ms;

enum class Legal { kAlways, kEither, kNever };

struct Flow {
  const char* src;
  int port;
  Legal legal;
  std::string Spec() const { return std::string(src) + "," + kServer4 + "," + std::to_string(port); }
  std::string Key() const { return std::string(src) + " " + std::to_string(port); }  // as serve counts
};

const Flow kFlows[] = {
    {kClient4, kP1, Legal::kAlways}, {kOther4, kP1, Legal::kAlways}, {kClient4, kP2, Legal::kEither},
    {kOther4, kP3, Legal::kEither},  {kClient4, kP3, Legal::kNever}, {kOther4, kP2, Legal::kNever},
};

std::string Policy(const std::string& name, const std::string& s1_ports, const std::string& s2_ports) {
  return PolicyYaml(name, std::string(R"(interfaces: [SERVER_IF]
segmentation:
  ingress:
    default: deny
    allow:
      - {name: s1, from: [)") + kClient4 + "/32], ports: [" + s1_ports + R"(]}
      - {name: s2, from: [)" + kOther4 + "/32], ports: [" + s2_ports + R"(]}
)");
}

// "Udp: ... RcvbufErrors ..." of this thread's network namespace.
uint64_t UdpRcvbufErrors() {
  std::ifstream snmp("/proc/thread-self/net/snmp");
  std::string header, values;
  for (std::string line; std::getline(snmp, line);) {
    if (line.rfind("Udp: ", 0) != 0) continue;
    if (header.empty()) {
      header = line;
    } else {
      values = line;
      break;
    }
  }
  std::istringstream names(header), numbers(values);
  std::string name, number;
  while (names >> name && numbers >> number) {
    if (name == "RcvbufErrors") return std::stoull(number);
  }
  return 0;
}

class AtomicUpdate : public DatapathNetTest {
 protected:
  bool WithIpv6() const override { return false; }  // exact counts: no MLD
};

TEST_F(AtomicUpdate, ThousandFlipsUnderTrafficGiveEveryPacketAVerdictOfAOrB) {
  OpenDatapath();
  policy::CompiledPolicy a = Compile(Policy("flip", "udp/6101, udp/6102", "udp/6101"), 1);
  policy::CompiledPolicy b = Compile(Policy("flip", "udp/6101", "udp/6101, udp/6103"), 2);
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(datapath_->Apply(a).ok());

  const std::string ready = dir_ + "/sink.ready", counts = dir_ + "/sink.json", stop = dir_ + "/flood.stop";
  ChildProcess& sink = Start(*server_,
                             {"serve", "--ready", ready, "--counts", counts, "--udp", std::to_string(kP1),
                              std::to_string(kP2), std::to_string(kP3)},
                             "sink");
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(ready); }, 10s)) << Logs();
  const uint64_t rcvbuf_errors = UdpRcvbufErrors();
  auto before = Counters();

  std::vector<std::string> flood_args = {"flood", "--stop", stop, "--pps", std::to_string(kPacketsPerSecondPerFlow)};
  for (const Flow& f : kFlows) flood_args.push_back(f.Spec());
  ChildProcess& flood = Start(*client_, flood_args, "flood");

  // BPF_PROG_TEST_RUN on crafted copies of the six flows, between the flips.
  std::atomic<bool> flipping{true};
  std::atomic<uint64_t> run_pass{0}, run_drop{0}, run_errors{0};
  std::atomic<uint64_t> either_pass{0}, either_drop{0};
  std::mutex violations_mu;
  std::vector<std::string> violations;
  std::thread runner([&] {
    std::vector<std::pair<std::vector<uint8_t>, const Flow*>> frames;
    for (const Flow& f : kFlows) frames.emplace_back(PacketBuilder::Udp(f.src, kServer4, f.port).Build(), &f);
    const int fd = datapath_->object().xdp_ingress_fd();
    while (flipping) {
      for (const auto& [frame, flow] : frames) {
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                    .data_size_in = static_cast<__u32>(frame.size()), .repeat = 1);
        if (bpf_prog_test_run_opts(fd, &opts) != 0) {
          run_errors++;
          continue;
        }
        const bool pass = opts.retval == XDP_PASS;
        (pass ? run_pass : run_drop)++;
        if (flow->legal == Legal::kEither) (pass ? either_pass : either_drop)++;
        if ((flow->legal == Legal::kAlways && !pass) || (flow->legal == Legal::kNever && pass)) {
          std::lock_guard lock(violations_mu);
          if (violations.size() < 10) {
            violations.push_back(flow->Spec() + (pass ? " passed" : " dropped"));
          }
        }
      }
      std::this_thread::sleep_for(100us);  // leave the CPUs to the flips and the real traffic
    }
  });

  std::this_thread::sleep_for(300ms);  // traffic under A before the first flip
  int failed_flips = 0;
  std::string first_failure;
  const auto flips_started = std::chrono::steady_clock::now();
  for (int i = 1; i <= kFlips; ++i) {
    std::this_thread::sleep_until(flips_started + i * kFlipEvery);
    policy::CompiledPolicy& next = i % 2 ? b : a;
    next.version = static_cast<uint64_t>(i) + 1;
    if (absl::Status st = datapath_->Apply(next); !st.ok()) {
      if (failed_flips++ == 0) first_failure = st.ToString();
    }
  }
  const double flip_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - flips_started).count();
  std::this_thread::sleep_for(200ms);  // traffic under the last policy
  flipping = false;
  runner.join();
  std::ofstream(stop) << "stop\n";
  ASSERT_TRUE(WaitFor([&] { return !flood.Running(); }, 10s)) << "the sender did not stop" << Logs();
  std::this_thread::sleep_for(500ms);  // let the sink drain its sockets
  sink.Stop();                         // SIGTERM: it writes its counts
  auto after = Counters();

  std::cout << kFlips << " flips in " << flip_seconds << " s; test runs: " << run_pass + run_drop << "\n";
  ASSERT_EQ(failed_flips, 0) << first_failure;
  EXPECT_EQ(*datapath_->ActiveVersion(), static_cast<uint64_t>(kFlips) + 1);

  // Crafted packets: never a verdict outside {A, B}, and both policies seen.
  EXPECT_EQ(run_errors.load(), 0u);
  EXPECT_TRUE(violations.empty()) << violations.size() << " illegal verdicts under BPF_PROG_TEST_RUN, e.g. "
                                  << violations.front();
  EXPECT_GT(either_pass.load(), 0u) << "the test runs never saw the policy that allows the \"either\" flows";
  EXPECT_GT(either_drop.load(), 0u) << "the test runs never saw the policy that denies the \"either\" flows";

  // Real packets.
  std::string flood_out;
  {
    std::ifstream log(dir_ + "/flood.log");
    for (std::string line; std::getline(log, line);) {
      if (!line.empty() && line[0] == '{') flood_out = line;
    }
  }
  auto sent_json = ParseJson(flood_out);
  auto received_json = ParseJson(ReadFile(counts));
  ASSERT_TRUE(sent_json.fields().contains("sent") && sent_json.fields().contains("errors"))
      << "no result from the sender: " << flood_out << Logs();
  const auto& sent_by = sent_json.fields().at("sent").struct_value().fields();
  const auto& errors_by = sent_json.fields().at("errors").struct_value().fields();
  auto received = [&](const Flow& f) -> uint64_t {
    auto it = received_json.fields().find(f.Key());
    return it == received_json.fields().end() ? 0 : static_cast<uint64_t>(it->second.number_value());
  };
  uint64_t sent_total = 0, received_total = 0;
  for (const Flow& f : kFlows) {
    const uint64_t sent = static_cast<uint64_t>(sent_by.at(f.Spec()).number_value());
    const uint64_t got = received(f);
    sent_total += sent;
    received_total += got;
    EXPECT_EQ(errors_by.at(f.Spec()).number_value(), 0) << f.Spec();
    EXPECT_GT(sent, 1000u) << f.Spec() << ": too little traffic to show anything";
    switch (f.legal) {
      case Legal::kAlways:
        EXPECT_EQ(got, sent) << f.Spec() << ": allowed by A and by B, yet " << sent - got << " of " << sent
                             << " were dropped";
        break;
      case Legal::kNever:
        EXPECT_EQ(got, 0u) << f.Spec() << ": denied by A and by B, yet " << got << " got through";
        break;
      case Legal::kEither:
        // Both policies were in force while this flow ran.
        EXPECT_GT(got, 0u) << f.Spec() << ": never saw the policy that allows it";
        EXPECT_LT(got, sent) << f.Spec() << ": never saw the policy that denies it";
        break;
    }
  }
  EXPECT_EQ(UdpRcvbufErrors(), rcvbuf_errors) << "the sink lost datagrams: the counts below cannot be exact";

  // The kernel's counters tell the same story: every real and crafted packet
  // got one verdict, allow_rule or drop_default, and nothing else.
  auto delta = [&](const std::string& name) { return after[name] - before[name]; };
  EXPECT_EQ(delta("ingress allow_rule"), received_total + run_pass.load());
  EXPECT_EQ(delta("ingress drop_default"), (sent_total - received_total) + run_drop.load());
  EXPECT_EQ(delta("ingress allow_default"), 0u);
  EXPECT_EQ(delta("ingress drop_malformed"), 0u);
}

}  // namespace
}  // namespace rampart::testing

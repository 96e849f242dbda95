// rampart-cp-load: how fast a policy change reaches a fleet, and what each
// connected agent costs the control plane (issue #6; BENCHMARKS.md "Fleet
// propagation"). A benchmark program, not a test.
//
// For each fleet size, and first for one agent (the baseline, measured in the
// same run), it starts a fresh rampart-cp on 127.0.0.1, connects that many
// simulated agents (each with its own client certificate, all in this
// process), waits until the server lists them all as connected, then applies
// --changes successive policy changes through the admin socket. The latency of
// one change for one agent runs from the moment Apply returned to the moment
// the agent received that version; it includes the server's 100 ms debounce
// and its push pacing (serve --push-rate). Reported per size: p50, p90, p99
// and max over the agents, each the median over the changes (and rounds), the
// p99 ratio against one agent, and rampart-cp's RSS and threads before the
// agents connect and with all of them connected.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "agent/common/strings.h"
#include "agent/policy/loader.h"
#include "controlplane/loadtest/control_plane_process.h"
#include "controlplane/loadtest/fleet_pki.h"
#include "controlplane/loadtest/simulated_agent.h"

namespace po = boost::program_options;
using namespace std::chrono_literals;

namespace rampart::cp::load {
namespace {

struct Settings {
  ControlPlaneOptions cp;
  std::vector<size_t> fleet_sizes;
  int changes = 10;
  int rounds = 1;
  size_t connecting = 256;  // TLS handshakes in flight at once
  std::chrono::seconds connect_timeout{180};
  std::chrono::seconds change_timeout{60};
};

// One change as the fleet saw it, in milliseconds after Apply returned.
struct ChangeLatency {
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
  size_t missed = 0;  // agents that never received it
};

struct RunResult {
  size_t agents = 0;
  double connect_seconds = 0;
  ProcessUsage idle, connected, after_changes;
  std::vector<ChangeLatency> changes;
  size_t missed = 0;
};

// A temporary directory (mkdtemp), removed with its contents when it goes.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "rampart-cp-load-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

double Percentile(std::vector<double> sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<size_t>(rank, 1)) - 1];
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// The policy set of change `n`: one policy whose allowed port moves each time,
// so every change gives every node new content.
absl::StatusOr<std::vector<v1::Policy>> PolicyOfChange(int n) {
  return policy::ParsePolicyYaml(
      StrCat("apiVersion: rampart/v1\nkind: Policy\nmetadata: {name: load}\nspec:\n  segmentation:\n"
             "    ingress:\n      default: deny\n      allow:\n"
             "        - {name: app, from: [10.0.0.0/8], ports: [\"tcp/",
             10000 + n, "\"]}\n"),
      "load.yaml");
}

absl::StatusOr<v1::ListNodesReply> ListNodes(ControlPlaneProcess& cp) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 10s);
  v1::ListNodesReply reply;
  grpc::Status status = cp.admin().ListNodes(&context, v1::ListNodesRequest(), &reply);
  if (!status.ok()) return absl::UnavailableError("ListNodes: " + status.error_message());
  return reply;
}

template <typename Predicate>
size_t CountNodes(const v1::ListNodesReply& reply, Predicate predicate) {
  return static_cast<size_t>(std::count_if(reply.nodes().begin(), reply.nodes().end(), predicate));
}

// Polls ListNodes until `predicate` holds for `want` nodes. Returns how many it held for.
template <typename Predicate>
absl::StatusOr<size_t> WaitForNodes(ControlPlaneProcess& cp, size_t want, Predicate predicate,
                                    std::chrono::steady_clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  size_t count = 0;
  while (true) {
    auto nodes = ListNodes(cp);
    if (!nodes.ok()) return nodes.status();
    count = CountNodes(*nodes, predicate);
    if (count >= want || Clock::now() > deadline) return count;
    std::this_thread::sleep_for(100ms);
  }
}

absl::StatusOr<RunResult> RunOnce(const Settings& settings, const FleetPki& pki, size_t agents,
                                  const std::string& dir) {
  std::filesystem::create_directories(dir);
  auto cp = ControlPlaneProcess::Start(settings.cp, pki, dir);
  if (!cp.ok()) return cp.status();
  RunResult result;
  result.agents = agents;
  auto idle = (*cp)->Usage();
  if (!idle.ok()) return idle.status();
  result.idle = *idle;

  std::atomic<size_t> hellos{0}, ended{0};
  std::vector<std::atomic<size_t>> arrivals(static_cast<size_t>(settings.changes) + 2);
  AgentEvents events;
  events.hello_sent = [&] { ++hellos; };
  events.ended = [&] { ++ended; };
  events.pushed = [&](uint64_t version) {
    if (version < arrivals.size()) ++arrivals[version];
  };

  // Agents are destroyed (streams cancelled) before `cp` ends.
  std::vector<std::unique_ptr<SimulatedAgent>> fleet;
  fleet.reserve(agents);
  const std::map<std::string, std::string> labels = {{"role", "load"}};
  const auto connect_start = Clock::now();
  for (size_t i = 0; i < agents; ++i) {
    while (fleet.size() - hellos - ended >= settings.connecting) std::this_thread::sleep_for(1ms);
    fleet.push_back(std::make_unique<SimulatedAgent>(pki.agents[i], pki.ca_pem, (*cp)->agent_target(), labels, events));
  }
  // The agents' own view first: ListNodes of thousands of nodes is not free,
  // and polling it would slow the handshakes it waits for.
  while (hellos + ended < agents && Clock::now() - connect_start < settings.connect_timeout) {
    std::this_thread::sleep_for(10ms);
  }
  auto connected = WaitForNodes(
      **cp, agents, [](const v1::NodeState& n) { return n.connected(); }, settings.connect_timeout);
  if (!connected.ok()) return connected.status();
  if (*connected < agents) {
    std::string why;
    for (const auto& agent : fleet) {
      if (!agent->status().ok()) {
        why = StrCat("; first failed stream: ", agent->status().error_message());
        break;
      }
    }
    return absl::DeadlineExceededError(StrCat("only ", *connected, " of ", agents, " agents connected within ",
                                              settings.connect_timeout.count(), " s", why,
                                              "; rampart-cp log: ", (*cp)->LogTail()));
  }
  result.connect_seconds = std::chrono::duration<double>(Clock::now() - connect_start).count();
  auto usage = (*cp)->Usage();
  if (!usage.ok()) return usage.status();
  result.connected = *usage;

  for (int change = 1; change <= settings.changes; ++change) {
    auto policies = PolicyOfChange(change);
    if (!policies.ok()) return policies.status();
    v1::ApplyRequest request;
    for (const auto& p : *policies) *request.add_policies() = p;
    request.set_author("rampart-cp-load");
    request.set_message(StrCat("change ", change));
    grpc::ClientContext context;
    v1::ApplyReply reply;
    grpc::Status status = (*cp)->admin().Apply(&context, request, &reply);
    const auto applied = Clock::now();
    if (!status.ok()) return absl::InternalError("Apply: " + status.error_message());
    const uint64_t version = reply.version();
    if (version >= arrivals.size()) return absl::InternalError(StrCat("unexpected version ", version));

    const auto deadline = applied + settings.change_timeout;
    while (arrivals[version] < agents && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
    std::vector<double> ms;
    ms.reserve(agents);
    ChangeLatency latency;
    for (const auto& agent : fleet) {
      auto arrived = agent->ArrivalOf(version);
      if (!arrived) {
        ++latency.missed;
        continue;
      }
      ms.push_back(std::chrono::duration<double, std::milli>(*arrived - applied).count());
    }
    std::sort(ms.begin(), ms.end());
    latency.p50 = Percentile(ms, 0.50);
    latency.p90 = Percentile(ms, 0.90);
    latency.p99 = Percentile(ms, 0.99);
    latency.max = ms.empty() ? 0 : ms.back();
    result.missed += latency.missed;
    result.changes.push_back(latency);
    // The next change starts once the server recorded every ACK of this one.
    auto in_sync = WaitForNodes(
        **cp, agents,
        [version](const v1::NodeState& n) {
          return n.status() == v1::NODE_SYNC_STATUS_IN_SYNC && n.applied_version() == version;
        },
        settings.change_timeout);
    if (!in_sync.ok()) return in_sync.status();
    if (*in_sync < agents) {
      std::cerr << "rampart-cp-load: " << agents << " agents, change " << change << ": only " << *in_sync
                << " nodes in sync after " << settings.change_timeout.count() << " s\n";
    }
  }
  usage = (*cp)->Usage();
  if (!usage.ok()) return usage.status();
  result.after_changes = *usage;
  fleet.clear();
  return result;
}

double KibPerAgent(const RunResult& r, const ProcessUsage& at) {
  return r.agents ? static_cast<double>(at.rss_kib - r.idle.rss_kib) / static_cast<double>(r.agents) : 0;
}

std::string Fixed(double v, int decimals = 1) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, v);
  return text;
}

void PrintRun(const RunResult& r, int round) {
  std::vector<double> p50, p99, max;
  for (const auto& c : r.changes) {
    p50.push_back(c.p50);
    p99.push_back(c.p99);
    max.push_back(c.max);
  }
  std::cout << "round " << round << ", " << r.agents << " agents: connected in " << Fixed(r.connect_seconds)
            << " s; rampart-cp RSS " << r.idle.rss_kib / 1024 << " -> " << r.connected.rss_kib / 1024 << " MiB ("
            << Fixed(KibPerAgent(r, r.connected)) << " KiB/agent), threads " << r.idle.threads << " -> "
            << r.connected.threads << "; median over " << r.changes.size() << " changes: p50 " << Fixed(Median(p50))
            << " ms, p99 " << Fixed(Median(p99)) << " ms, max " << Fixed(Median(max)) << " ms";
  if (r.missed) std::cout << "; " << r.missed << " pushes never arrived";
  std::cout << std::endl;
}

int Run(const Settings& settings) {
  const size_t largest = *std::max_element(settings.fleet_sizes.begin(), settings.fleet_sizes.end());
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  setrlimit(RLIMIT_NOFILE, &files);
  if (files.rlim_cur < largest + 256) {
    std::cerr << "rampart-cp-load: " << largest << " agents need " << largest + 256
              << " open files in this process and in rampart-cp; the limit is " << files.rlim_cur
              << " (raise it with ulimit -Hn)\n";
    return 2;
  }

  ScratchDir scratch;
  if (scratch.path().empty()) {
    std::cerr << "rampart-cp-load: mkdtemp in " << std::filesystem::temp_directory_path() << ": "
              << std::strerror(errno) << "\n";
    return 1;
  }
  const auto pki_start = Clock::now();
  auto pki = MakeFleetPki(scratch.path() + "/pki", largest);
  if (!pki.ok()) {
    std::cerr << "rampart-cp-load: making certificates: " << pki.status().message() << "\n";
    return 1;
  }
  std::cout << "issued " << largest << " agent certificates in "
            << Fixed(std::chrono::duration<double>(Clock::now() - pki_start).count()) << " s" << std::endl;

  // Per fleet size (1 first: the baseline), the results of every round.
  std::vector<size_t> sizes = {1};
  for (size_t n : settings.fleet_sizes) {
    if (n != 1) sizes.push_back(n);
  }
  std::map<size_t, std::vector<RunResult>> results;
  int run = 0;
  for (int round = 1; round <= settings.rounds; ++round) {
    for (size_t n : sizes) {
      auto result = RunOnce(settings, *pki, n, StrCat(scratch.path(), "/run-", ++run));
      if (!result.ok()) {
        std::cerr << "rampart-cp-load: round " << round << ", " << n << " agents: " << result.status().message()
                  << "\n";
        return 1;
      }
      PrintRun(*result, round);
      results[n].push_back(*std::move(result));
    }
  }

  // Medians over changes and rounds; the ratio is taken per round, then its median.
  std::cout << "\n| agents | p50 ms | p90 ms | p99 ms | max ms | p99 vs 1 agent | connect s "
               "| cp RSS idle MiB | cp RSS connected MiB | KiB per agent | cp threads idle | cp threads connected |\n"
               "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (size_t n : sizes) {
    std::vector<double> p50, p90, p99, max, ratio, connect, idle, rss, per_agent, threads_idle, threads;
    for (size_t i = 0; i < results[n].size(); ++i) {
      const RunResult& r = results[n][i];
      std::vector<double> round_p99;
      for (const auto& c : r.changes) {
        p50.push_back(c.p50);
        p90.push_back(c.p90);
        p99.push_back(c.p99);
        max.push_back(c.max);
        round_p99.push_back(c.p99);
      }
      std::vector<double> base_p99;
      for (const auto& c : results[1][i].changes) base_p99.push_back(c.p99);
      ratio.push_back(Median(round_p99) / std::max(Median(base_p99), 1e-9));
      connect.push_back(r.connect_seconds);
      idle.push_back(r.idle.rss_kib / 1024.0);
      rss.push_back(r.connected.rss_kib / 1024.0);
      per_agent.push_back(KibPerAgent(r, r.connected));
      threads_idle.push_back(static_cast<double>(r.idle.threads));
      threads.push_back(static_cast<double>(r.connected.threads));
    }
    std::cout << "| " << n << " | " << Fixed(Median(p50)) << " | " << Fixed(Median(p90)) << " | "
              << Fixed(Median(p99)) << " | " << Fixed(Median(max)) << " | " << Fixed(Median(ratio), 2) << "x | "
              << Fixed(Median(connect)) << " | " << Fixed(Median(idle)) << " | " << Fixed(Median(rss)) << " | "
              << (n > 1 ? Fixed(Median(per_agent)) : "-") << " | " << Fixed(Median(threads_idle), 0) << " | "
              << Fixed(Median(threads), 0) << " |\n";
  }
  std::cout << "\n(latency: Apply returned -> the agent received the version, including the 100 ms debounce; "
            << "median over " << settings.changes << " changes x " << settings.rounds << " rounds)" << std::endl;
  return 0;
}

}  // namespace
}  // namespace rampart::cp::load

int main(int argc, char** argv) {
  rampart::cp::load::Settings settings;
  std::string sizes;
  double push_rate = -1;
  int connect_timeout = 180, change_timeout = 60;
  po::options_description flags(
      "rampart-cp-load: simulated agents on loopback against a real rampart-cp (benchmark)\noptions");
  flags.add_options()
      ("help,h", "show this help")
      ("rampart-cp", po::value(&settings.cp.binary)->required(), "the rampart-cp binary to measure")
      ("agents", po::value(&sizes)->default_value("1000"), "fleet sizes, comma-separated (1 agent is always measured first, as the baseline)")
      ("changes", po::value(&settings.changes)->default_value(settings.changes), "policy changes per fleet size")
      ("rounds", po::value(&settings.rounds)->default_value(settings.rounds), "repetitions, interleaving the sizes")
      ("push-rate", po::value(&push_rate), "passed to rampart-cp serve --push-rate (default: its default)")
      ("connecting", po::value(&settings.connecting)->default_value(settings.connecting), "TLS handshakes in flight at once")
      ("connect-timeout", po::value(&connect_timeout)->default_value(connect_timeout), "seconds for a fleet to connect")
      ("change-timeout", po::value(&change_timeout)->default_value(change_timeout), "seconds for a change to reach every agent");
  po::variables_map vars;
  try {
    po::store(po::parse_command_line(argc, argv, flags), vars);
    if (vars.count("help")) {
      std::cout << flags;
      return 0;
    }
    po::notify(vars);
    std::stringstream list(sizes);
    for (std::string item; std::getline(list, item, ',');) {
      const long n = std::stol(item);
      if (n < 1) throw std::invalid_argument("--agents: sizes must be 1 or more");
      settings.fleet_sizes.push_back(static_cast<size_t>(n));
    }
    if (settings.fleet_sizes.empty()) throw std::invalid_argument("--agents: no size given");
    if (settings.changes < 1 || settings.rounds < 1) throw std::invalid_argument("--changes and --rounds must be 1 or more");
  } catch (const std::exception& e) {
    std::cerr << "rampart-cp-load: " << e.what() << "\n";
    return 2;
  }
  if (vars.count("push-rate")) settings.cp.push_rate = push_rate;
  settings.connect_timeout = std::chrono::seconds(connect_timeout);
  settings.change_timeout = std::chrono::seconds(change_timeout);
  return rampart::cp::load::Run(settings);
}

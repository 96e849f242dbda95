// rampartd: wires flags to the Agent and waits for SIGINT/SIGTERM.
#include <signal.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "agent/common/logging.h"
#include "agent/common/service_notify.h"
#include "agent/daemon/agent.h"
#include "agent/datapath/cgroups.h"
#include "agent/enroll/bootstrap.h"
#include "agent/enroll/renewer.h"

namespace po = boost::program_options;

namespace {

std::string Hostname() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

}  // namespace

int main(int argc, char** argv) {
  rampart::agent::AgentOptions options;
  std::string config_file, control_plane, ca, cert, key, server_name, join_token, hook, log_level;
  std::vector<std::string> labels;
  po::options_description flags("rampartd options");
  flags.add_options()
      ("help,h", "show this help")
      ("config", po::value(&config_file), "read options from this file (one NAME = VALUE per line)")
      ("node-name", po::value(&options.node_name)->default_value(Hostname()), "this node's name")
      ("label", po::value(&labels)->composing(), "node label KEY=VALUE (repeatable)")
      ("control-plane", po::value(&control_plane),
       "control plane HOST:PORT, or several replicas HOST:PORT,HOST:PORT,... (tried in order, failing over to "
       "the next); empty: last-known-good only")
      ("join", po::value(&join_token), "join the fleet with this one-time token (`rampart-cp token create`); "
                                        "the identity it yields stays in the state directory and renews itself")
      ("ca", po::value(&ca), "static identity: CA certificate (PEM) that signed the control plane's certificate")
      ("cert", po::value(&cert), "this node's client certificate (PEM)")
      ("key", po::value(&key), "this node's private key (PEM)")
      ("server-name", po::value(&server_name), "name to verify in the control plane's certificate")
      ("state-dir", po::value(&options.state_dir)->default_value("/var/lib/rampart"), "state directory")
      ("pin-dir", po::value(&options.datapath.pin_dir)->default_value("/sys/fs/bpf/rampart"), "bpffs pin directory")
      ("socket", po::value(&options.api_socket)->default_value(rampart::api::kDefaultAgentSocket), "local API socket")
      ("ingress-hook", po::value(&hook)->default_value("auto"), "auto | xdp-native | xdp-generic | tc")
      ("drop-sample-rate", po::value(&options.datapath.drop_sample_rate)->default_value(1),
       "send one drop event per N drops (0: none)")
      ("bucket-entries", po::value(&options.datapath.sizes.bucket_entries)->default_value(131072),
       "token buckets the rate limiter tracks (LRU)")
      ("block-entries", po::value(&options.datapath.sizes.block_entries)->default_value(65536),
       "blocklist capacity")
      ("capture-process", po::value<std::vector<std::string>>()->composing(),
       "capture TLS plaintext of processes with this name (repeatable)")
      ("capture-unit", po::value<std::vector<std::string>>()->composing(),
       "capture TLS plaintext of this systemd unit or cgroup path (repeatable)")
      ("capture-all", "capture TLS plaintext of every process with TLS code")
      ("capture-directions", po::value<std::string>()->default_value("read,write"),
       "what the probes of the processes selected by flag take: read (plaintext received), write (sent), "
       "or read,write")
      ("capture-max-bytes", po::value(&options.capture_options.max_bytes_per_call)->default_value(16384),
       "plaintext bytes captured per SSL call, at most 16384; the rest is counted as truncated")
      ("capture-ring-bytes", po::value(&options.capture_options.ring_bytes)->default_value(8 << 20),
       "the capture ring buffer's size: a power of two from 64 KiB to 1 GiB; chunks that find it full are lost "
       "and counted")
      ("capture-peer-certificates", po::value(&options.capture_options.peer_certificates)->default_value(true),
       "learn the certificate each TLS peer of a captured process presents (mTLS identity): true or false")
      ("capture-socket-hook", po::value<std::string>()->default_value("auto"),
       "how SSL calls learn their socket: auto (probe the kernel), tp_btf, fentry or kprobe")
      ("capture-reader-scheduling", po::value<std::string>()->default_value("high"),
       "the capture reader thread (inspection, blocking): high (nice -20) or realtime (SCHED_FIFO 1), each within "
       "a CPU budget of 10 ms per drain and 20% of a CPU per second and needing CAP_SYS_NICE (else normal with a "
       "warning), or normal")
      ("event-ring-bytes", po::value(&options.datapath.sizes.event_ring_bytes)->default_value(256 * 1024),
       "drop-event ring buffer size (a power of two)")
      ("metrics-address", po::value(&options.metrics_address),
       "serve Prometheus metrics on HOST:PORT (/metrics, plain HTTP: keep it on loopback); default: none")
      ("inventory-report-interval", po::value<unsigned>()->default_value(60),
       "seconds between offers of the API inventory to the control plane, sent when it changed (1..86400)")
      ("drop-summary-interval", po::value<unsigned>()->default_value(10),
       "seconds between the drop summaries sent to the control plane (1..3600)")
      ("log-level", po::value(&log_level)->default_value("info"), "trace | debug | info | warn | error");
  po::variables_map vars;
  try {
    po::store(po::parse_command_line(argc, argv, flags), vars);
    if (vars.count("config")) po::store(po::parse_config_file(vars["config"].as<std::string>().c_str(), flags), vars);
    po::notify(vars);
  } catch (const std::exception& e) {
    std::cerr << "rampartd: " << e.what() << "\n";
    return 2;
  }
  if (vars.count("help")) {
    std::cout << flags << "\n";
    return 0;
  }
  rampart::InitLogging(log_level);
  auto log = rampart::Logger("agent");

  auto parsed_hook = rampart::datapath::ParseIngressHook(hook);
  if (!parsed_hook.ok()) {
    std::cerr << "rampartd: --ingress-hook: " << parsed_hook.status().message() << "\n";
    return 2;
  }
  options.datapath.hook = *parsed_hook;
  auto socket_hook = rampart::capture::ParseSocketHook(vars["capture-socket-hook"].as<std::string>());
  if (!socket_hook.ok()) {
    std::cerr << "rampartd: --capture-socket-hook: " << socket_hook.status().message() << "\n";
    return 2;
  }
  options.capture_options.socket_hook = *socket_hook;
  auto reader_scheduling =
      rampart::capture::ParseReaderScheduling(vars["capture-reader-scheduling"].as<std::string>());
  if (!reader_scheduling.ok()) {
    std::cerr << "rampartd: --capture-reader-scheduling: " << reader_scheduling.status().message() << "\n";
    return 2;
  }
  options.capture_options.reader_scheduling = *reader_scheduling;
  if (const uint32_t ring = options.capture_options.ring_bytes;
      ring < (64u << 10) || ring > (1u << 30) || (ring & (ring - 1)) != 0) {
    std::cerr << "rampartd: --capture-ring-bytes " << ring << ": expected a power of two from 65536 to 1073741824\n";
    return 2;
  }
  const unsigned summary_seconds = vars["drop-summary-interval"].as<unsigned>();
  if (summary_seconds < 1 || summary_seconds > 3600) {
    std::cerr << "rampartd: --drop-summary-interval " << summary_seconds << ": expected 1..3600 seconds\n";
    return 2;
  }
  options.drop_summary_interval = std::chrono::seconds(summary_seconds);
  const unsigned inventory_seconds = vars["inventory-report-interval"].as<unsigned>();
  if (inventory_seconds < 1 || inventory_seconds > 86400) {
    std::cerr << "rampartd: --inventory-report-interval " << inventory_seconds << ": expected 1..86400 seconds\n";
    return 2;
  }
  options.inventory_report_interval = std::chrono::seconds(inventory_seconds);
  options.capture.all = vars.count("capture-all") > 0;
  auto directions = rampart::capture::ParseCaptureDirections(vars["capture-directions"].as<std::string>());
  if (!directions.ok()) {
    std::cerr << "rampartd: --capture-directions: " << directions.status().message() << "\n";
    return 2;
  }
  options.capture.reads = directions->first;
  options.capture.writes = directions->second;
  if (vars.count("capture-process")) {
    for (const auto& name : vars["capture-process"].as<std::vector<std::string>>()) options.capture.processes.insert(name);
  }
  if (vars.count("capture-unit")) {
    for (const auto& unit : vars["capture-unit"].as<std::vector<std::string>>()) {
      auto id = rampart::datapath::ResolveCgroup(unit[0] == '/' ? "cgroup" : "unit", unit);
      if (!id) {
        std::cerr << "rampartd: --capture-unit " << unit << ": no such unit or cgroup on this node\n";
        return 2;
      }
      options.capture.cgroups.insert(*id);
    }
  }
  std::map<std::string, std::string> node_labels;
  for (const std::string& label : labels) {
    auto eq = label.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "rampartd: --label \"" << label << "\": expected KEY=VALUE\n";
      return 2;
    }
    node_labels[label.substr(0, eq)] = label.substr(eq + 1);
  }
  std::vector<std::string> replicas;
  for (auto address : absl::StrSplit(control_plane, ',', absl::SkipWhitespace())) {
    replicas.emplace_back(absl::StripAsciiWhitespace(address));
  }
  // Enrolled identity: --join now, or a node.pem from an earlier join.
  const bool static_identity = !ca.empty() || !cert.empty() || !key.empty();
  const bool enrolled = !join_token.empty() ||
                        (!static_identity && !replicas.empty() &&
                         std::filesystem::exists(rampart::enroll::IdentityFiles::In(options.state_dir).identity_file));
  std::optional<rampart::enroll::RenewOptions> renew;
  if (enrolled) {
    if (static_identity) {
      std::cerr << "rampartd: --join and --ca/--cert/--key exclude each other (enrolled or static identity)\n";
      return 2;
    }
    // A join goes to one address: the first replica listed, else the token's.
    auto identity = rampart::enroll::EnsureJoined({.token = join_token,
                                                   .address = replicas.empty() ? "" : replicas.front(),
                                                   .server_name = server_name, .node_name = options.node_name,
                                                   .labels = node_labels, .state_dir = options.state_dir});
    if (!identity.ok()) {
      std::cerr << "rampartd: " << identity.status().message() << "\n";
      return 1;
    }
    if (identity->joined_now) log->info("joined the fleet as {}", identity->spiffe_id);
    if (replicas.empty()) replicas = {identity->address};
    ca = identity->files.ca_file;
    cert = key = identity->files.identity_file;
    renew = rampart::enroll::RenewOptions{.addresses = replicas, .server_name = server_name,
                                          .state_dir = options.state_dir};
  }
  if (!replicas.empty()) {
    if (ca.empty() || cert.empty() || key.empty()) {
      std::cerr << "rampartd: --control-plane needs --join TOKEN (or an earlier join), or --ca, --cert and --key "
                   "(the connection is mutual TLS)\n";
      return 2;
    }
    options.control_plane = rampart::sync::ControlPlaneOptions{
        .addresses = replicas, .ca_file = ca, .cert_file = cert, .key_file = key, .server_name = server_name,
        .node_name = options.node_name, .labels = node_labels};
  }

  // Block the signals before any thread starts, then wait for them here.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto agent = rampart::agent::Agent::Start(options);
  if (!agent.ok()) {
    log->critical("{}", std::string(agent.status().message()));
    return 1;
  }
  log->info("rampartd {} running as node {}", RAMPART_VERSION, options.node_name);
  if (absl::Status st = rampart::NotifyServiceManager("READY=1"); !st.ok()) log->warn("{}", std::string(st.message()));
  std::unique_ptr<rampart::enroll::CertificateRenewer> renewer;
  if (renew) {
    renewer = std::make_unique<rampart::enroll::CertificateRenewer>(rampart::enroll::RenewerOptions{.renew = *renew});
    renewer->Start();
  }
  int signal = 0;
  sigwait(&signals, &signal);
  log->info("signal {}: stopping; enforcement stays in force through the pinned programs", signal);
  if (renewer) renewer->Stop();
  agent->reset();
  return 0;
}

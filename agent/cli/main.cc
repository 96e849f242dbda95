// rampartctl: inspect the local agent over its root-only unix socket.
// Exit codes (agent/cli/agent_call.h, docs/cli.md): 0 success, 1 the agent
// could not answer or refused, 2 bad usage; scan and policy trace add theirs.
#include <signal.h>
#include <unistd.h>

#include <grpcpp/grpcpp.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <iostream>

#include "agent/cli/agent_call.h"
#include "agent/cli/apis_view.h"
#include "agent/cli/policy_commands.h"
#include "agent/cli/status_view.h"
#include "agent/cli/scan_view.h"
#include "agent/scan/file_scanner.h"
#include "rampart/v1/agent_api.grpc.pb.h"

namespace po = boost::program_options;
namespace v1 = rampart::v1;

namespace {

using rampart::cli::kExitFailed;
using rampart::cli::kExitUsage;

const char kUsage[] =
    "usage: rampartctl [--socket PATH] COMMAND [ARGS] [--json]\n"
    "\n"
    "commands:\n"
    "  status                      programs and hooks per device, policy version, control plane, counters\n"
    "  flows [--sample-ms N] [--limit N]\n"
    "                              rate-limited sources and flows, by rate (read from the token buckets)\n"
    "  drops --follow              live drop events with their reason and rule\n"
    "  block add ADDRESS [--ttl SECONDS]\n"
    "  block del ADDRESS\n"
    "  block list                  the dynamic blocklist\n"
    "  capture --follow [--pid N | --unit UNIT] [--show-payload]\n"
    "                              captured TLS chunks (metadata; plaintext only with --show-payload, root only)\n"
    "  findings [--follow] [--limit N] [--severity S] [--detector PREFIX]\n"
    "                              findings of deep inspection (masked values), newest last\n"
    "  apis [--service S] [--openapi yaml|json]\n"
    "                              the API inventory: endpoints per service, shadow and zombie ones marked;\n"
    "                              --openapi prints one service's as an OpenAPI 3 document\n"
    "  policy show                 the policy in force: rules, defaults, unit cgroups, rate limits, inspection\n"
    "  policy trace --from A --to B --proto P [--dport N] [--sport N] [--direction ingress|egress]\n"
    "               [--interface IF] [--unit U | --cgroup ID|PATH] [--later-fragment] [--icmp-type T]\n"
    "                              which step of the datapath decides the packet, and why; exits 0 allowed,\n"
    "                              3 dropped\n"
    "  policy trace --http FILE    the node's detectors over an HTTP request/response, with the verdict its\n"
    "                              policy gives each finding; exits 0 nothing found, 3 would block, 4 monitored\n"
    "  scan FILE|DIR...            the agent's parsers and detectors over files (raw HTTP messages or\n"
    "                              bodies), offline; exits 1 when anything is found\n"
    "\n"
    "options:\n";

int Fail(const std::string& socket, const grpc::Status& status) { return rampart::cli::ReportFailure(socket, status); }

std::unique_ptr<grpc::ClientContext> Deadline(int seconds) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

// Exit codes: 0 nothing found, 1 findings, 2 bad usage or unreadable input.
int Scan(const std::vector<std::string>& paths, bool json) {
  if (paths.empty()) {
    std::cerr << "rampartctl: scan needs a FILE or DIR\n";
    return kExitUsage;
  }
  auto scanner = rampart::scan::FileScanner::Create();
  if (!scanner.ok()) {
    std::cerr << "rampartctl: scan: " << scanner.status().message() << "\n";
    return kExitFailed;
  }
  bool found = false;
  for (const std::string& path : paths) {
    auto findings = (*scanner)->ScanPath(path);
    if (!findings.ok()) {
      std::cerr << "rampartctl: " << findings.status().message() << "\n";
      return kExitUsage;
    }
    for (const auto& s : *findings) {
      found = true;
      std::cout << (json ? rampart::cli::RenderScanJson(s) : rampart::cli::RenderScan(s)) << "\n";
    }
  }
  return found ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket;
  std::vector<std::string> words;
  uint32_t sample_ms = 1000, limit = 20;
  double ttl = 0;
  po::options_description flags;
  flags.add_options()
      ("help,h", "show this help")
      ("socket", po::value(&socket)->default_value("/run/rampart/agent.sock"), "the agent's local API socket")
      ("json", "print JSON (one object per line for streams)")
      ("follow,f", "keep printing events as they come (drops)")
      ("sample-ms", po::value(&sample_ms)->default_value(1000), "flows: sampling interval")
      ("limit", po::value(&limit)->default_value(20), "flows, findings: at most this many rows")
      ("ttl", po::value(&ttl)->default_value(0), "block add: seconds until the entry expires (0: never)")
      ("pid", po::value<uint32_t>(), "capture: only this process")
      ("unit", po::value<std::string>(), "capture: only this systemd unit or cgroup path; policy trace: the egress sender")
      ("show-payload", "capture: print the plaintext too (root only)")
      ("severity", po::value<std::string>(), "findings: at least this severity (info, low, medium, high, critical)")
      ("detector", po::value<std::string>(), "findings: only detectors starting with this (dlp, attack.sqli)")
      ("service", po::value<std::string>(), "apis: only this service (name, host, host:port or process)")
      ("openapi", po::value<std::string>(), "apis: print the service as an OpenAPI 3 document, yaml or json");
  rampart::cli::AddPolicyTraceFlags(flags);
  po::options_description hidden;
  hidden.add_options()("words", po::value(&words)->composing());
  po::options_description all;
  all.add(flags).add(hidden);
  po::positional_options_description positional;
  positional.add("words", -1);
  po::variables_map vars;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vars);
    po::notify(vars);
  } catch (const std::exception& e) {
    std::cerr << "rampartctl: " << e.what() << "\n";
    return kExitUsage;
  }
  if (vars.count("help") || words.empty()) {
    std::cout << kUsage << flags;
    return words.empty() && !vars.count("help") ? kExitUsage : 0;
  }
  const bool json = vars.count("json") > 0;
  const std::string& command = words[0];
  if (command == "scan") return Scan(std::vector<std::string>(words.begin() + 1, words.end()), json);
  auto stub = v1::AgentApi::NewStub(grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials()));

  if (command == "status" && words.size() == 1) {
    v1::AgentStatus status;
    grpc::Status rpc = stub->GetStatus(Deadline(5).get(), v1::GetStatusRequest(), &status);
    if (!rpc.ok()) return Fail(socket, rpc);
    std::cout << (json ? rampart::cli::RenderJson(status) + "\n" : rampart::cli::RenderStatus(status));
    return 0;
  }
  if (command == "flows" && words.size() == 1) {
    v1::ListFlowsRequest request;
    request.set_sample_ms(sample_ms);
    request.set_limit(limit);
    v1::ListFlowsReply reply;
    grpc::Status rpc = stub->ListFlows(Deadline(15).get(), request, &reply);
    if (!rpc.ok()) return Fail(socket, rpc);
    std::cout << (json ? rampart::cli::RenderJson(reply) + "\n" : rampart::cli::RenderFlows(reply));
    return 0;
  }
  if (command == "drops" && words.size() == 1) {
    if (!vars.count("follow")) {
      std::cerr << "rampartctl: drops needs --follow (drop totals are in rampartctl status)\n";
      return kExitUsage;
    }
    grpc::ClientContext context;
    auto reader = stub->WatchDrops(&context, v1::WatchDropsRequest());
    v1::DropEvent event;
    while (reader->Read(&event)) {
      std::cout << (json ? rampart::cli::RenderJson(event) : rampart::cli::RenderDrop(event)) << std::endl;
    }
    grpc::Status rpc = reader->Finish();
    if (!rpc.ok()) return Fail(socket, rpc);
    return 0;
  }
  if (command == "capture" && words.size() == 1) {
    if (!vars.count("follow")) {
      std::cerr << "rampartctl: capture needs --follow (capture totals are in rampartctl status)\n";
      return kExitUsage;
    }
    v1::WatchCaptureRequest request;
    if (vars.count("pid")) request.set_pid(vars["pid"].as<uint32_t>());
    if (vars.count("unit")) request.set_unit(vars["unit"].as<std::string>());
    if (vars.count("show-payload")) {
      if (geteuid() != 0) {
        std::cerr << "rampartctl: --show-payload prints captured plaintext and is for root only\n";
        return kExitUsage;
      }
      request.set_show_payload(true);
    }
    grpc::ClientContext context;
    auto reader = stub->WatchCapture(&context, request);
    v1::CaptureEvent event;
    while (reader->Read(&event)) {
      std::cout << (json ? rampart::cli::RenderJson(event) : rampart::cli::RenderCapture(event)) << std::endl;
    }
    grpc::Status rpc = reader->Finish();
    if (!rpc.ok()) return Fail(socket, rpc);
    return 0;
  }
  if (command == "findings" && words.size() == 1) {
    v1::WatchFindingsRequest request;
    request.set_limit(limit);
    request.set_follow(vars.count("follow") > 0);
    if (vars.count("severity")) {
      const std::string& severity = vars["severity"].as<std::string>();
      if (severity != "info" && severity != "low" && severity != "medium" && severity != "high" &&
          severity != "critical") {
        std::cerr << "rampartctl: bad --severity \"" << severity
                  << "\" (expected info, low, medium, high or critical)\n";
        return kExitUsage;
      }
      request.set_min_severity(severity);
    }
    if (vars.count("detector")) request.set_detector(vars["detector"].as<std::string>());
    grpc::ClientContext context;
    auto reader = stub->WatchFindings(&context, request);
    v1::Finding finding;
    std::vector<v1::Finding> table;
    while (reader->Read(&finding)) {
      if (json) {
        std::cout << rampart::cli::RenderJson(finding) << std::endl;
      } else if (request.follow()) {
        std::cout << rampart::cli::RenderFinding(finding) << std::endl;
      } else {
        table.push_back(finding);
      }
    }
    grpc::Status rpc = reader->Finish();
    if (!rpc.ok()) return Fail(socket, rpc);
    if (!json && !request.follow()) std::cout << rampart::cli::RenderFindings(table);
    return 0;
  }
  if (command == "apis" && words.size() == 1) {
    v1::ListApisRequest request;
    if (vars.count("service")) request.set_service(vars["service"].as<std::string>());
    if (vars.count("openapi")) {
      request.set_openapi(vars["openapi"].as<std::string>());
      if (request.openapi() != "yaml" && request.openapi() != "json") {
        std::cerr << "rampartctl: bad --openapi \"" << request.openapi() << "\" (expected yaml or json)\n";
        return kExitUsage;
      }
    }
    v1::ApiInventoryReply reply;
    grpc::Status rpc = stub->ListApis(Deadline(10).get(), request, &reply);
    if (!rpc.ok()) return Fail(socket, rpc);
    if (!request.openapi().empty()) {
      // One document: the service must be unambiguous.
      if (reply.services_size() != 1) {
        std::cerr << "rampartctl: --openapi prints one service; "
                  << (reply.services().empty() ? std::string("none seen yet") : "pick one with --service:");
        for (const auto& service : reply.services()) std::cerr << "\n  " << service.name();
        std::cerr << "\n";
        return reply.services().empty() ? kExitFailed : kExitUsage;
      }
      std::cout << reply.services(0).openapi();
      return 0;
    }
    std::cout << (json ? rampart::cli::RenderJson(reply) + "\n" : rampart::cli::RenderApis(reply));
    return 0;
  }
  if (command == "policy") return rampart::cli::PolicyCommand(*stub, socket, words, vars, json);
  if (command == "block" && words.size() >= 2) {
    const std::string& verb = words[1];
    if (verb == "list" && words.size() == 2) {
      v1::ListBlocksReply reply;
      grpc::Status rpc = stub->ListBlocks(Deadline(5).get(), v1::ListBlocksRequest(), &reply);
      if (!rpc.ok()) return Fail(socket, rpc);
      std::cout << (json ? rampart::cli::RenderJson(reply) + "\n" : rampart::cli::RenderBlocks(reply));
      return 0;
    }
    if (verb == "add" && words.size() == 3) {
      if (ttl < 0) {
        std::cerr << "rampartctl: --ttl " << ttl << ": must be 0 (never expires) or more\n";
        return kExitUsage;
      }
      v1::BlockRequest request;
      request.set_source(words[2]);
      request.set_ttl_ms(static_cast<uint64_t>(ttl * 1000));
      v1::BlockReply reply;
      grpc::Status rpc = stub->Block(Deadline(5).get(), request, &reply);
      if (!rpc.ok()) return Fail(socket, rpc);
      if (json) {
        std::cout << rampart::cli::RenderJson(request) << "\n";  // what is now in force
        return 0;
      }
      std::cout << "blocked " << words[2];
      if (ttl > 0) std::cout << " for " << ttl << " s";
      std::cout << "\n";
      return 0;
    }
    if (verb == "del" && words.size() == 3) {
      v1::UnblockRequest request;
      request.set_source(words[2]);
      v1::UnblockReply reply;
      grpc::Status rpc = stub->Unblock(Deadline(5).get(), request, &reply);
      if (!rpc.ok()) return Fail(socket, rpc);
      std::cout << (json ? rampart::cli::RenderJson(reply) : (reply.removed() ? "unblocked " : "not blocked: ") + words[2])
                << "\n";
      return reply.removed() ? 0 : kExitFailed;
    }
  }
  std::string line;
  for (const auto& w : words) line += (line.empty() ? "" : " ") + w;
  std::cerr << "rampartctl: unknown command \"" << line << "\" (try rampartctl --help)\n";
  return kExitUsage;
}

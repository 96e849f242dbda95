#include "agent/cli/policy_commands.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "agent/api/local_api_server.h"
#include "agent/cli/agent_call.h"
#include "agent/cli/policy_view.h"
#include "agent/cli/status_view.h"

namespace rampart::cli {
namespace {

namespace po = boost::program_options;

// The flags that describe a packet; none of them goes with --http.
constexpr const char* kPacketFlags[] = {"from", "to", "proto", "sport", "dport", "direction", "interface",
                                        "unit", "cgroup", "later-fragment", "icmp-type"};

std::unique_ptr<grpc::ClientContext> Deadline(int seconds) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

int Usage(const std::string& message) {
  std::cerr << "rampartctl: " << message << "\n";
  return kExitUsage;
}

int Show(v1::AgentApi::Stub& stub, const std::string& socket, bool json) {
  v1::AppliedPolicy reply;
  grpc::Status rpc = stub.GetPolicy(Deadline(5).get(), v1::GetPolicyRequest(), &reply);
  if (!rpc.ok()) return ReportFailure(socket, rpc);
  std::cout << (json ? RenderJson(reply) + "\n" : RenderAppliedPolicy(reply));
  return kExitOk;
}

int TraceHttp(v1::AgentApi::Stub& stub, const std::string& socket, const std::string& file, bool json) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return Usage("policy trace --http " + file + ": no such file");
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) return Usage("policy trace --http " + file + ": " + ec.message());
  if (size > static_cast<uintmax_t>(api::kMaxTraceFileBytes)) {
    return Usage("policy trace --http " + file + ": " + std::to_string(size) + " bytes, more than the " +
                 std::to_string(api::kMaxTraceFileBytes) + " a trace takes");
  }
  std::ifstream in(file, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  if (!in) return Usage("policy trace --http " + file + ": cannot read it");
  v1::TraceHttpRequest request;
  request.set_name(file);
  request.set_content(content.str());
  v1::HttpTrace reply;
  grpc::Status rpc = stub.TraceHttp(Deadline(30).get(), request, &reply);
  if (!rpc.ok()) return ReportFailure(socket, rpc);
  std::cout << (json ? RenderJson(reply) + "\n" : RenderHttpTrace(file, reply));
  bool blocks = false;
  for (const auto& f : reply.findings()) blocks |= f.action() == "block";
  return blocks ? kExitDropped : reply.findings().empty() ? kExitOk : kExitMonitored;
}

int TracePacket(v1::AgentApi::Stub& stub, const std::string& socket, const po::variables_map& vars, bool json) {
  if (!vars.count("from") || !vars.count("to") || !vars.count("proto")) {
    return Usage("policy trace needs --from, --to and --proto (or --http FILE)");
  }
  v1::TracePacketRequest request;
  request.set_source(vars["from"].as<std::string>());
  request.set_destination(vars["to"].as<std::string>());
  request.set_protocol(vars["proto"].as<std::string>());
  if (vars.count("sport")) request.set_source_port(vars["sport"].as<uint32_t>());
  if (vars.count("dport")) request.set_destination_port(vars["dport"].as<uint32_t>());
  if (vars.count("direction")) request.set_direction(vars["direction"].as<std::string>());
  if (request.direction() != "" && request.direction() != "ingress" && request.direction() != "egress") {
    return Usage("bad --direction \"" + request.direction() + "\" (expected ingress or egress)");
  }
  if (vars.count("interface")) request.set_interface(vars["interface"].as<std::string>());
  if (vars.count("unit")) request.set_unit(vars["unit"].as<std::string>());
  if (vars.count("cgroup")) request.set_cgroup(vars["cgroup"].as<std::string>());
  request.set_later_fragment(vars.count("later-fragment") > 0);
  if (vars.count("icmp-type")) request.set_icmp_type(vars["icmp-type"].as<uint32_t>());
  v1::PacketTrace reply;
  grpc::Status rpc = stub.TracePacket(Deadline(10).get(), request, &reply);
  if (!rpc.ok()) return ReportFailure(socket, rpc);
  std::cout << (json ? RenderJson(reply) + "\n" : RenderPacketTrace(request, reply));
  return reply.verdict() == "drop" ? kExitDropped : kExitOk;
}

}  // namespace

void AddPolicyTraceFlags(po::options_description& flags) {
  flags.add_options()
      ("from", po::value<std::string>(), "policy trace: the packet's source address")
      ("to", po::value<std::string>(), "policy trace: the packet's destination address")
      ("proto", po::value<std::string>(), "policy trace: tcp, udp, icmp, icmpv6 or a protocol number")
      ("sport", po::value<uint32_t>(), "policy trace: source port (0 unless given)")
      ("dport", po::value<uint32_t>(), "policy trace: destination port (tcp, udp)")
      ("direction", po::value<std::string>(), "policy trace: ingress (default) or egress")
      ("interface", po::value<std::string>(), "policy trace: the device the packet crosses")
      ("cgroup", po::value<std::string>(), "policy trace: egress sender, a cgroup id or /cgroup/v2/path")
      ("later-fragment", "policy trace: a fragment other than the first (no ports)")
      ("icmp-type", po::value<uint32_t>(), "policy trace: the ICMPv6 type (icmpv6)")
      ("http", po::value<std::string>(), "policy trace: an HTTP request/response file for the node's detectors");
}

int PolicyCommand(v1::AgentApi::Stub& stub, const std::string& socket, const std::vector<std::string>& words,
                  const po::variables_map& vars, bool json) {
  if (words.size() == 2 && words[1] == "show") return Show(stub, socket, json);
  if (words.size() == 2 && words[1] == "trace") {
    if (!vars.count("http")) return TracePacket(stub, socket, vars, json);
    for (const char* flag : kPacketFlags) {
      if (vars.count(flag)) return Usage(std::string("policy trace --http takes no --") + flag);
    }
    return TraceHttp(stub, socket, vars["http"].as<std::string>(), json);
  }
  std::string line;
  for (const auto& w : words) line += (line.empty() ? "" : " ") + w;
  return Usage("unknown command \"" + line + "\" (policy show, policy trace; try rampartctl --help)");
}

}  // namespace rampart::cli

// rampartctl: inspect the local agent over its root-only unix socket.
// Exit codes: 0 success, 1 the agent could not answer, 2 bad usage.
#include <grpcpp/grpcpp.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <iostream>

#include "agent/cli/status_view.h"
#include "rampart/v1/agent_api.grpc.pb.h"

namespace po = boost::program_options;

namespace {

constexpr int kExitUnavailable = 1;
constexpr int kExitUsage = 2;

const char kUsage[] =
    "usage: rampartctl [--socket PATH] COMMAND [--json]\n"
    "\n"
    "commands:\n"
    "  status    attached programs, policy version, control-plane connection, packet counters\n"
    "\n"
    "options:\n";

}  // namespace

int main(int argc, char** argv) {
  std::string socket, command;
  po::options_description flags;
  flags.add_options()
      ("help,h", "show this help")
      ("socket", po::value(&socket)->default_value("/run/rampart/agent.sock"), "the agent's local API socket")
      ("json", "print JSON instead of a table");
  po::options_description hidden;
  hidden.add_options()("command", po::value(&command));
  po::options_description all;
  all.add(flags).add(hidden);
  po::positional_options_description positional;
  positional.add("command", 1);
  po::variables_map vars;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vars);
    po::notify(vars);
  } catch (const std::exception& e) {
    std::cerr << "rampartctl: " << e.what() << "\n";
    return kExitUsage;
  }
  if (vars.count("help") || command.empty()) {
    std::cout << kUsage << flags;
    return command.empty() && !vars.count("help") ? kExitUsage : 0;
  }
  if (command != "status") {
    std::cerr << "rampartctl: unknown command \"" << command << "\" (try rampartctl --help)\n";
    return kExitUsage;
  }

  auto channel = grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
  auto stub = rampart::v1::AgentApi::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  rampart::v1::AgentStatus status;
  grpc::Status rpc = stub->GetStatus(&context, rampart::v1::GetStatusRequest(), &status);
  if (!rpc.ok()) {
    std::cerr << "rampartctl: agent at " << socket << " did not answer: " << rpc.error_message() << "\n";
    return kExitUnavailable;
  }
  if (vars.count("json")) {
    std::cout << rampart::cli::RenderJson(status) << "\n";
  } else {
    std::cout << rampart::cli::RenderStatus(status);
  }
  return 0;
}

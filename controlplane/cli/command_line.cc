#include "controlplane/cli/command_line.h"

#include <iostream>

namespace rampart::cp::cli {

bool Parse(int argc, char** argv, int command, const po::options_description& flags, po::variables_map& vars,
           int& exit_code, const po::positional_options_description& positional) {
  try {
    po::command_line_parser parser(argc - command, argv + command);
    parser.options(flags).positional(positional);
    po::store(parser.run(), vars);
    if (vars.count("help")) {
      std::cout << flags;
      exit_code = 0;
      return false;
    }
    po::notify(vars);
  } catch (const std::exception& e) {
    std::cerr << "rampart-cp: " << e.what() << "\n";
    exit_code = kExitUsage;
    return false;
  }
  return true;
}

std::shared_ptr<grpc::Channel> AdminChannel(const std::string& socket) {
  return grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
}

int Fail(const std::string& what, const grpc::Status& status) {
  std::cerr << "rampart-cp: " << what << ": " << status.error_message() << "\n";
  return status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? kExitUsage : kExitFailed;
}

}  // namespace rampart::cp::cli

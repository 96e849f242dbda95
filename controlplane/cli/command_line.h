// What every rampart-cp command shares: exit codes, option parsing, the admin
// socket, one-line failures.
#pragma once

#include <boost/program_options.hpp>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

namespace rampart::cp::cli {

namespace po = boost::program_options;

inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr char kDefaultAdminSocket[] = "/run/rampart/cp-admin.sock";

// Parses the options after argv[command] (the command word itself, "serve" or
// "apply", stands where the parser expects a program name) against `flags`
// and `positional`; any other bare word is an error. Prints help when asked,
// before checking for required options.
bool Parse(int argc, char** argv, int command, const po::options_description& flags, po::variables_map& vars,
           int& exit_code, const po::positional_options_description& positional = {});

// A channel to the control plane's root-only admin socket.
std::shared_ptr<grpc::Channel> AdminChannel(const std::string& socket);

// Prints "rampart-cp: WHAT: ERROR" and returns the exit code for it.
int Fail(const std::string& what, const grpc::Status& status);

// The commands other than `policy` and `nodes` (main.cc).
int Serve(int argc, char** argv);         // serve.cc
int CaCommand(int argc, char** argv);     // identity_commands.cc: ca init
int TokenCommand(int argc, char** argv);  // token create
int NodeCommand(int argc, char** argv);   // node delete
int EventsCommand(int argc, char** argv);  // event_commands.cc: events, findings
int ApisCommand(int argc, char** argv);    // event_commands.cc: the fleet's merged API inventory

}  // namespace rampart::cp::cli

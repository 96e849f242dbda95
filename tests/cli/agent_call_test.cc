// rampartctl without an agent: the one line an unreachable socket gives, and
// the exit codes scripts rely on (docs/cli.md "Exit codes").
#include "agent/cli/agent_call.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rampart::cli {
namespace {

using ::testing::HasSubstr;

class RampartctlWithoutAgent : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rampartctl-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs rampartctl with `args`; stdout and stderr in *out; the exit code.
  int Run(const std::string& args, std::string* out) {
    FILE* pipe = popen((std::string(RAMPARTCTL) + " " + args + " 2>&1").c_str(), "r");
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out->append(buffer, n);
    return WEXITSTATUS(pclose(pipe));
  }

  // A unix socket that exists but where nobody listens (the agent died).
  std::string StaleSocket() {
    const std::string path = dir_ + "/stale.sock";
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    close(fd);
    return path;
  }

  std::string dir_;
};

TEST_F(RampartctlWithoutAgent, EveryAgentCommandSaysInOneLineThatTheAgentCannotBeReached) {
  const std::string socket = dir_ + "/agent.sock";
  const std::string line = "rampartctl: cannot reach the agent at " + socket +
                           ": no such socket (is rampartd running? see --socket)\n";
  for (const std::string command :
       {"status", "status --json", "flows", "drops --follow", "block list", "block add 10.0.0.1", "block del 10.0.0.1",
        "findings", "capture --follow", "policy show", "policy show --json",
        "policy trace --from 10.0.0.5 --to 10.0.0.1 --proto tcp --dport 80"}) {
    SCOPED_TRACE(command);
    std::string out;
    EXPECT_EQ(Run("--socket " + socket + " " + command, &out), kExitFailed);
    EXPECT_EQ(out, line);
  }
}

TEST_F(RampartctlWithoutAgent, AStaleSocketIsNamedAsSuch) {
  const std::string socket = StaleSocket();
  std::string out;
  EXPECT_EQ(Run("--socket " + socket + " status", &out), kExitFailed);
  EXPECT_EQ(out, "rampartctl: cannot reach the agent at " + socket +
                     ": connection refused (rampartd is not running; a stale socket is left)\n");
}

TEST_F(RampartctlWithoutAgent, BadUsageExitsTwoBeforeAnyCall) {
  const std::string socket = "--socket " + dir_ + "/agent.sock ";
  std::ofstream(dir_ + "/req.http") << "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "usage: rampartctl"},
      {"frobnicate", "unknown command \"frobnicate\""},
      {"policy", "unknown command \"policy\""},
      {"policy apply", "unknown command \"policy apply\""},
      {"policy trace", "policy trace needs --from, --to and --proto (or --http FILE)"},
      {"policy trace --from 10.0.0.1 --to 10.0.0.2", "needs --from, --to and --proto"},
      {"policy trace --from 10.0.0.1 --to 10.0.0.2 --proto tcp --dport 1 --direction sideways",
       "bad --direction \"sideways\""},
      {"policy trace --http " + dir_ + "/missing.http", "no such file"},
      {"policy trace --http " + dir_ + "/req.http --from 10.0.0.1", "policy trace --http takes no --from"},
      {"policy trace --dport eighty", "the argument ('eighty') for option '--dport' is invalid"},
      {"drops", "drops needs --follow"},
  };
  for (const auto& [args, message] : cases) {
    SCOPED_TRACE(args);
    std::string out;
    EXPECT_EQ(Run(socket + args, &out), kExitUsage);
    EXPECT_THAT(out, HasSubstr(message));
  }
}

TEST(UnreachableReason, EmptyWhenSomethingListens) {
  char tmpl[] = "/tmp/rampartctl-listen-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/ok.sock";
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  EXPECT_EQ(UnreachableReason(path), "");
  close(fd);
  EXPECT_THAT(UnreachableReason(path), HasSubstr("connection refused"));
  std::filesystem::remove_all(tmpl);
  EXPECT_THAT(UnreachableReason(path), HasSubstr("no such socket"));
}

}  // namespace
}  // namespace rampart::cli

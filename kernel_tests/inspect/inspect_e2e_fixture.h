// What the inspection end-to-end tests share: a server namespace where nginx
// and the managed node (rampart-cp + rampartd) run, a client namespace, one
// veth between them on a /24 of the test's own, and a temporary directory
// for everything they write, kept when the test failed. TearDown stops nginx,
// then rampartd and rampart-cp (and removes the pins), then removes the veth
// and the namespaces, also after a failed assertion.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "kernel_tests/capture/capture_fixture.h"
#include "kernel_tests/fixtures/managed_node.h"
#include "kernel_tests/fixtures/netns.h"
#include "rampart/v1/agent_api.pb.h"

namespace rampart::testing {

class InspectEndToEnd : public ::testing::Test {
 protected:
  struct Lab {
    std::string dir_prefix;  // of the temporary directory under /tmp
    std::string tag;         // one letter in the namespaces' names
    std::string server_ip;   // the veth's server end, a /24
    std::string client_ip;   // its client end
    std::string node_name;
  };
  // From SetUp, after RAMPART_REQUIRE_KERNEL_OR_SKIP(). Nothing runs yet.
  void SetUpLab(const Lab& lab);
  void TearDown() override;

  // rampartctl against the agent (the node keeps a transcript), its status,
  // and the logs' tails (nginx's error log too) for failure messages.
  std::string Rampartctl(const std::string& args) { return node_->Rampartctl(args); }
  v1::AgentStatus Status() { return node_->Status(); }
  std::string Logs() { return node_->Logs(); }

  std::unique_ptr<TempDir> dir_;
  std::string server_ip_, client_ip_, server_if_, client_if_;
  std::unique_ptr<NetNs> server_, client_;
  std::unique_ptr<VethPair> veth_;
  std::unique_ptr<NginxServer> nginx_;
  std::unique_ptr<ManagedNode> node_;
};

}  // namespace rampart::testing

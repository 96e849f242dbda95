#include "kernel_tests/inspect/inspect_e2e_fixture.h"

#include <iostream>

#include "kernel_tests/fixtures/kernel_env.h"

namespace rampart::testing {

void InspectEndToEnd::SetUpLab(const Lab& lab) {
  dir_ = std::make_unique<TempDir>(lab.dir_prefix);
  server_ip_ = lab.server_ip;
  client_ip_ = lab.client_ip;
  server_ = std::make_unique<NetNs>(UniqueName("rp" + lab.tag + "s"));
  client_ = std::make_unique<NetNs>(UniqueName("rp" + lab.tag + "c"));
  server_if_ = UniqueName("rpvs");
  client_if_ = UniqueName("rpvc");
  veth_ = std::make_unique<VethPair>(VethEnd{server_.get(), server_if_, server_ip_ + "/24", ""},
                                     VethEnd{client_.get(), client_if_, client_ip_ + "/24", ""});
  nginx_ = std::make_unique<NginxServer>(*server_, dir_->path());
  node_ = std::make_unique<ManagedNode>(
      *server_, dir_->path(), ManagedNode::Options{.node_name = lab.node_name, .extra_logs = {nginx_->error_log()}});
}

void InspectEndToEnd::TearDown() {
  nginx_.reset();
  node_.reset();  // rampartd, rampart-cp, the pins
  veth_.reset();
  client_.reset();
  server_.reset();
  if (dir_ && HasFailure()) {
    if (dir_->keep()) std::cerr << "logs kept in " << dir_->path() << "\n";
  }
  dir_.reset();
}

}  // namespace rampart::testing

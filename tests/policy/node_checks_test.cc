// Checks against the node a bundle is about to be enforced on, with a fake
// interface table standing in for the host's.
#include "agent/policy/node_checks.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace rampart::policy {
namespace {

v1::Policy MakePolicy(const std::string& name, const std::string& source, std::vector<std::string> interfaces) {
  v1::Policy policy;
  policy.mutable_metadata()->set_name(name);
  policy.set_source(source);
  for (const std::string& interface : interfaces) policy.mutable_spec()->add_interfaces(interface);
  return policy;
}

v1::PolicyBundle MakeBundle(std::vector<v1::Policy> policies) {
  v1::PolicyBundle bundle;
  bundle.set_version(3);
  for (v1::Policy& policy : policies) *bundle.add_policies() = std::move(policy);
  return bundle;
}

// A node whose only interfaces are `names`.
InterfaceExists NodeWith(std::set<std::string> names) {
  return [names = std::move(names)](const std::string& name) { return names.count(name) > 0; };
}

TEST(ValidateForNodeTest, BundleWhoseInterfacesAllExistIsAccepted) {
  v1::PolicyBundle bundle = MakeBundle({
      MakePolicy("web", "web.yaml", {"eth0", "ens5"}),
      MakePolicy("ops", "ops.yaml", {"eth0"}),
  });

  EXPECT_TRUE(ValidateForNode(bundle, NodeWith({"lo", "eth0", "ens5"})).ok());
}

TEST(ValidateForNodeTest, EmptyBundleIsAcceptedOnAnyNode) {
  EXPECT_TRUE(ValidateForNode(MakeBundle({}), NodeWith({})).ok());
}

TEST(ValidateForNodeTest, MissingInterfaceIsNamedWithItsSourceAndField) {
  v1::PolicyBundle bundle = MakeBundle({MakePolicy("web", "/etc/rampart/web.yaml", {"eth0", "eth9"})});

  absl::Status status = ValidateForNode(bundle, NodeWith({"eth0"}));

  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_EQ(std::string(status.message()),
            "/etc/rampart/web.yaml: spec.interfaces[1]: interface \"eth9\" does not exist on this node");
}

TEST(ValidateForNodeTest, PolicyWithoutSourceIsNamedByItsMetadataName) {
  v1::PolicyBundle bundle = MakeBundle({
      MakePolicy("web", "web.yaml", {"eth0"}),
      MakePolicy("ops", "", {"eth0", "eth9"}),
  });

  absl::Status status = ValidateForNode(bundle, NodeWith({"eth0"}));

  EXPECT_EQ(std::string(status.message()),
            "policy ops: spec.interfaces[1]: interface \"eth9\" does not exist on this node");
}

TEST(ValidateForNodeTest, InterfaceIndexCountsWithinItsOwnPolicy) {
  v1::PolicyBundle bundle = MakeBundle({
      MakePolicy("web", "web.yaml", {"eth0", "eth1"}),
      MakePolicy("ops", "ops.yaml", {"eth0", "eth1", "eth9"}),
  });

  absl::Status status = ValidateForNode(bundle, NodeWith({"eth0", "eth1"}));

  EXPECT_EQ(std::string(status.message()),
            "ops.yaml: spec.interfaces[2]: interface \"eth9\" does not exist on this node");
}

}  // namespace
}  // namespace rampart::policy

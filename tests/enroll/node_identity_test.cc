// Node names, trust domains and the SPIFFE IDs built from them.
#include "agent/enroll/node_identity.h"

#include <gtest/gtest.h>

namespace rampart::identity {
namespace {

TEST(NodeIdentity, HostnamesAndFqdnsAreNodeNames) {
  for (const char* name : {"a", "node-1", "web-01.eu-west.example.com", "10-0-0-1"}) {
    EXPECT_TRUE(ValidateNodeName(name).ok()) << name;
  }
  EXPECT_TRUE(ValidateNodeName(std::string(63, 'a') + "." + std::string(63, 'b')).ok());
}

TEST(NodeIdentity, OtherNamesAreRefusedWithTheReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "node name \"\" is empty"},
      {"Web1", "has an uppercase letter"},
      {"web 1", "has the character ' '"},
      {"web/1", "has the character '/'"},
      {"web.", "has an empty label"},
      {"-web", "starts or ends with '-'"},
      {std::string(64, 'a'), "has a label longer than 63 characters"},
      {std::string(127, 'a') + "." + std::string(127, 'a'), "longer than 253 characters"},
  };
  for (const auto& [name, reason] : cases) {
    absl::Status status = ValidateNodeName(name);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_NE(status.message().find(reason), std::string::npos) << name << ": " << status;
  }
}

TEST(NodeIdentity, SpiffeIdsRoundTrip) {
  EXPECT_EQ(NodeSpiffeId("fleet.example", "web-1"), "spiffe://fleet.example/agent/web-1");
  auto parsed = ParseNodeSpiffeId("spiffe://fleet.example/agent/web-1");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->trust_domain, "fleet.example");
  EXPECT_EQ(parsed->node, "web-1");
}

TEST(NodeIdentity, OnlyAgentSpiffeIdsNameANode) {
  for (const char* uri :
       {"spiffe://fleet.example", "spiffe://fleet.example/workload/web-1", "https://fleet.example/agent/web-1",
        "spiffe://fleet.example/agent/web-1/x", "spiffe://fleet.example/agent/", "spiffe:///agent/web-1"}) {
    EXPECT_FALSE(ParseNodeSpiffeId(uri).ok()) << uri;
  }
}

}  // namespace
}  // namespace rampart::identity

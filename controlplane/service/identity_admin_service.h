// IdentityAdmin (proto/rampart/v1/admin.proto): join tokens and node removal
// for `rampart-cp token create` and `rampart-cp node delete`. Needs the
// control plane's CA (for the pin a token carries); without one (static
// certificates) every call is refused.
#pragma once

#include <functional>
#include <string>

#include "controlplane/pki/certificate_authority.h"
#include "controlplane/store/store.h"
#include "rampart/v1/admin.grpc.pb.h"

namespace rampart::cp {

class IdentityAdminService final : public v1::IdentityAdmin::Service {
 public:
  // `ca` may be null (static certificates). `advertise` is the agent-facing
  // HOST:PORT written into tokens. `on_delete` runs after a node is revoked
  // (to end its streams now rather than at the maximum connection age).
  IdentityAdminService(const CertificateAuthority* ca, Store& store, std::string advertise,
                       std::function<void(const std::string&)> on_delete = nullptr)
      : ca_(ca), store_(store), advertise_(std::move(advertise)), on_delete_(std::move(on_delete)) {}

  grpc::Status CreateJoinToken(grpc::ServerContext*, const v1::CreateJoinTokenRequest* request,
                               v1::CreateJoinTokenReply* reply) override;
  grpc::Status DeleteNode(grpc::ServerContext*, const v1::DeleteNodeRequest* request,
                          v1::DeleteNodeReply* reply) override;

 private:
  const CertificateAuthority* const ca_;
  Store& store_;
  const std::string advertise_;
  const std::function<void(const std::string&)> on_delete_;
};

}  // namespace rampart::cp

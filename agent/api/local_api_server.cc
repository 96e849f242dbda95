#include "agent/api/local_api_server.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <grpcpp/grpcpp.h>

#include "agent/common/errors.h"
#include "rampart/v1/agent_api.grpc.pb.h"

namespace rampart::api {

class LocalApiServer::Service final : public v1::AgentApi::Service {
 public:
  explicit Service(AgentApiProviders providers) : providers_(std::move(providers)) {}

  grpc::Status GetStatus(grpc::ServerContext*, const v1::GetStatusRequest*, v1::AgentStatus* reply) override {
    *reply = providers_.status();
    return grpc::Status::OK;
  }

 private:
  AgentApiProviders providers_;
};

absl::StatusOr<std::unique_ptr<LocalApiServer>> LocalApiServer::Start(const std::string& socket_path,
                                                                      AgentApiProviders providers) {
  const std::string dir = std::filesystem::path(socket_path).parent_path();
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError(errno, "create socket directory " + dir);
  if (unlink(socket_path.c_str()) != 0 && errno != ENOENT) return ErrnoError(errno, "remove stale " + socket_path);

  std::unique_ptr<LocalApiServer> server(new LocalApiServer());
  server->socket_path_ = socket_path;
  server->service_ = std::make_unique<Service>(std::move(providers));
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket_path, grpc::InsecureServerCredentials());
  builder.RegisterService(server->service_.get());
  // The socket must never be reachable by other users, even for a moment.
  mode_t old_mask = umask(0077);
  server->server_ = builder.BuildAndStart();
  umask(old_mask);
  if (!server->server_) return absl::UnavailableError("listen on unix socket " + socket_path + " failed");
  if (chmod(socket_path.c_str(), 0600) != 0) return ErrnoError(errno, "chmod " + socket_path);
  return server;
}

LocalApiServer::~LocalApiServer() {
  if (server_) server_->Shutdown();
  unlink(socket_path_.c_str());
}

}  // namespace rampart::api

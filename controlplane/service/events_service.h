// Fleet events on the control plane's side (proto/rampart/v1/events.proto):
// FleetEventsService takes agents' reports on the agent port and acks what it
// stored; EventsAdminService serves `rampart-cp events|findings [--follow]`
// on the admin socket. Both read and write one EventStore.
//
// Report streams run on gRPC's callback API like AgentSync, so a connected
// agent costs no thread here.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "controlplane/events/event_store.h"
#include "rampart/v1/events.grpc.pb.h"

namespace rampart::cp {

class FleetEventsService final : public v1::FleetEvents::CallbackService {
 public:
  // `identity` names the node a stream authenticated as ("" refuses it), as
  // SyncOptions::identity.
  FleetEventsService(EventStore& store, std::function<std::string(const grpc::ServerContextBase&)> identity);

  grpc::ServerBidiReactor<v1::EventReport, v1::EventAck>* Report(grpc::CallbackServerContext* context) override;

  // Cancels the open report streams of `node` (deleted: it must not keep
  // reporting until its connection's maximum age). Returns how many.
  size_t Disconnect(const std::string& node);

 private:
  class Reporter;  // one agent's stream (events_service.cc)
  EventStore& store_;
  const std::function<std::string(const grpc::ServerContextBase&)> identity_;
  std::mutex streams_mu_;  // a stream is listed from its start until OnDone
  std::multimap<std::string, grpc::CallbackServerContext*> streams_;
};

class EventsAdminService final : public v1::EventsAdmin::Service {
 public:
  EventsAdminService(EventStore& store, const FleetInventory& inventory) : store_(store), inventory_(inventory) {}

  // Stored events first, then (follow) new ones until the client goes away.
  // A follower that cannot keep up loses the oldest queued events and is told
  // how many, in a line of its own, rather than slowing the agents down.
  grpc::Status Watch(grpc::ServerContext* context, const v1::WatchEventsRequest* request,
                     grpc::ServerWriter<v1::FleetEvent>* writer) override;
  grpc::Status Stats(grpc::ServerContext*, const v1::EventStatsRequest*, v1::EventStats* reply) override;
  grpc::Status ListApis(grpc::ServerContext*, const v1::ListFleetApisRequest* request, v1::FleetApis* reply) override;

 private:
  EventStore& store_;
  const FleetInventory& inventory_;
};

}  // namespace rampart::cp

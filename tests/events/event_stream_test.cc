// The event stream between an agent and a control plane, through a real gRPC
// server on 127.0.0.1 (plaintext; the node name is fixed instead of coming from
// a client certificate): every event arrives once and in order, an outage
// loses nothing the agent's queue could hold and counts what it could not,
// and a stalled event stream does not hold back a policy push on the same
// connection.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "agent/common/strings.h"
#include "agent/sync/drop_summary.h"
#include "agent/sync/event_reporter.h"
#include "controlplane/events/event_store.h"
#include "controlplane/events/fleet_inventory.h"
#include "controlplane/service/events_service.h"
#include "controlplane/service/sync_service.h"

namespace rampart {
namespace {

using namespace std::chrono_literals;

std::string FixedNode(const grpc::ServerContextBase&) { return "node-a"; }

v1::Finding MakeFinding(int i) {
  v1::Finding finding;
  finding.set_detector("dlp.card_number");
  finding.set_severity("high");
  finding.set_masked_value("************1111");
  finding.set_reason(StrCat("finding ", i));
  return finding;
}

template <typename Predicate>
bool WaitFor(Predicate predicate, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return predicate();
}

class EventStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = std::make_unique<cp::FleetEventsService>(store_, FixedNode);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_ != nullptr);
    channel_ = grpc::CreateChannel(StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now() + 2s); }

  std::vector<std::string> StoredReasons() {
    std::vector<std::string> reasons;
    for (const auto& e : store_.Recent({}, 100000)) reasons.push_back(e.finding().reason());
    return reasons;
  }

  cp::EventStore store_;
  std::unique_ptr<cp::FleetEventsService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(EventStreamTest, EveryEventArrivesOnceInOrderAndIsAcked) {
  sync::EventReporter reporter([this] { return channel_; }, {.max_queued = 10000, .max_per_report = 7});
  reporter.Start();
  for (int i = 0; i < 500; ++i) reporter.Report(MakeFinding(i));

  ASSERT_TRUE(WaitFor([&] { return reporter.counts().acked == 500; }));
  std::vector<std::string> expected;
  for (int i = 0; i < 500; ++i) expected.push_back(StrCat("finding ", i));
  EXPECT_EQ(StoredReasons(), expected);
  EXPECT_EQ(reporter.counts().queued, 0u);
  EXPECT_EQ(store_.Stats().nodes(0).duplicates(), 0u);
}

TEST_F(EventStreamTest, EventsQueuedDuringAnOutageArriveWhenTheControlPlaneIsBack) {
  std::atomic<bool> up{false};
  sync::EventReporter reporter([&]() -> std::shared_ptr<grpc::Channel> { return up ? channel_ : nullptr; });
  reporter.Start();
  for (int i = 0; i < 50; ++i) reporter.Report(MakeFinding(i));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(reporter.counts().queued, 50u);
  EXPECT_TRUE(StoredReasons().empty());

  up = true;

  ASSERT_TRUE(WaitFor([&] { return StoredReasons().size() == 50; }));
  EXPECT_TRUE(WaitFor([&] { return reporter.counts().queued == 0; }));
}

TEST_F(EventStreamTest, AFullQueueDropsTheOldestAndTheControlPlaneSeesTheCount) {
  std::atomic<bool> up{false};
  sync::EventReporter reporter([&]() -> std::shared_ptr<grpc::Channel> { return up ? channel_ : nullptr; },
                               {.max_queued = 10});
  reporter.Start();
  for (int i = 0; i < 25; ++i) reporter.Report(MakeFinding(i));
  EXPECT_EQ(reporter.counts().dropped, 15u);

  up = true;

  ASSERT_TRUE(WaitFor([&] { return StoredReasons().size() == 10; }));
  EXPECT_EQ(StoredReasons().front(), "finding 15");
  EXPECT_EQ(StoredReasons().back(), "finding 24");
  EXPECT_EQ(store_.Stats().nodes(0).agent_dropped(), 15u);
}

TEST_F(EventStreamTest, AReportResentAfterAReconnectIsStoredOnce) {
  auto stub = v1::FleetEvents::NewStub(channel_);
  v1::EventReport report;
  report.set_run_id("run-1");
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    auto* e = report.add_events();
    e->set_seq(seq);
    *e->mutable_finding() = MakeFinding(static_cast<int>(seq));
  }
  for (int attempt = 0; attempt < 2; ++attempt) {  // the second is the resend on a new stream
    grpc::ClientContext context;
    auto stream = stub->Report(&context);
    ASSERT_TRUE(stream->Write(report));
    v1::EventAck ack;
    ASSERT_TRUE(stream->Read(&ack));
    EXPECT_EQ(ack.run_id(), "run-1");
    EXPECT_EQ(ack.seq(), 3u);
    stream->WritesDone();
    EXPECT_TRUE(stream->Finish().ok());
  }
  EXPECT_EQ(StoredReasons().size(), 3u);
  EXPECT_EQ(store_.Stats().nodes(0).duplicates(), 3u);
}

TEST_F(EventStreamTest, AReportWithTooManyEventsIsRefusedWithTheCounts) {
  auto stub = v1::FleetEvents::NewStub(channel_);
  v1::EventReport report;
  report.set_run_id("run-1");
  for (uint64_t seq = 1; seq <= 1001; ++seq) report.add_events()->set_seq(seq);
  grpc::ClientContext context;
  auto stream = stub->Report(&context);
  stream->Write(report);
  v1::EventAck ack;
  EXPECT_FALSE(stream->Read(&ack));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("holds 1001 events; at most 1000"));
  EXPECT_TRUE(StoredReasons().empty());
}

// `rampart-cp events --follow`: the stored events first, then each new one
// once, as it arrives, filtered as asked.
TEST(EventsFollow, StoredEventsThenNewOnesAsTheyArrive) {
  cp::FleetInventory inventory;
  cp::EventStore store;
  cp::EventsAdminService admin(store, inventory);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&admin);
  auto server = builder.BuildAndStart();
  ASSERT_TRUE(server != nullptr);
  auto add = [&](uint64_t seq, const std::string& detector) {
    v1::EventReport report;
    report.set_run_id("run");
    auto* e = report.add_events();
    e->set_seq(seq);
    *e->mutable_finding() = MakeFinding(static_cast<int>(seq));
    e->mutable_finding()->set_detector(detector);
    store.Add("node-a", report);
  };
  add(1, "dlp.card_number");
  add(2, "attack.sqli");

  auto stub = v1::EventsAdmin::NewStub(
      grpc::CreateChannel(StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  v1::WatchEventsRequest request;
  request.set_follow(true);
  request.set_detector("dlp");
  auto reader = stub->Watch(&context, request);
  v1::FleetEvent event;
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.finding().reason(), "finding 1");  // stored, and a dlp finding

  add(3, "attack.xss");       // filtered out
  add(4, "dlp.us_ssn");       // arrives live
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.finding().reason(), "finding 4");
  EXPECT_EQ(event.finding().detector(), "dlp.us_ssn");

  context.TryCancel();
  while (reader->Read(&event)) {
  }
  reader->Finish();
  server->Shutdown(std::chrono::system_clock::now() + 1s);
}

TEST(FleetApisOverTheStream, AnAgentsInventoryReachesTheFleetView) {
  cp::FleetInventory inventory;
  cp::EventStore store({}, std::chrono::system_clock::now, &inventory);
  cp::FleetEventsService service(store, FixedNode);
  cp::EventsAdminService admin(store, inventory);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  builder.RegisterService(&admin);
  auto server = builder.BuildAndStart();
  ASSERT_TRUE(server != nullptr);
  auto channel = grpc::CreateChannel(StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());

  sync::EventReporter reporter([&] { return channel; });
  reporter.Start();
  v1::ApiInventoryReply report;
  report.set_enabled(true);
  auto* api = report.add_services();
  api->set_name("api.local:443 (nginx)");
  api->set_host("api.local");
  api->set_port(443);
  auto* endpoint = api->add_endpoints();
  endpoint->set_method("GET");
  endpoint->set_path_template("/users/{id}");
  endpoint->set_requests(12);
  endpoint->set_spec("shadow");
  reporter.Report(report);
  ASSERT_TRUE(WaitFor([&] { return reporter.counts().acked == 1; }));

  auto stub = v1::EventsAdmin::NewStub(channel);
  grpc::ClientContext context;
  v1::FleetApis apis;
  ASSERT_TRUE(stub->ListApis(&context, v1::ListFleetApisRequest(), &apis).ok());
  ASSERT_EQ(apis.services_size(), 1);
  ASSERT_EQ(apis.services(0).endpoints_size(), 1);
  EXPECT_EQ(apis.services(0).endpoints(0).endpoint().path_template(), "/users/{id}");
  EXPECT_EQ(apis.services(0).endpoints(0).endpoint().spec(), "shadow");
  ASSERT_EQ(apis.services(0).endpoints(0).nodes_size(), 1);
  EXPECT_EQ(apis.services(0).endpoints(0).nodes(0), "node-a");
  reporter.Stop();
  server->Shutdown(std::chrono::system_clock::now() + 1s);
}

TEST_F(EventStreamTest, ADeletedNodesStreamIsCutAtOnce) {
  auto stub = v1::FleetEvents::NewStub(channel_);
  grpc::ClientContext context;
  auto stream = stub->Report(&context);
  v1::EventReport report;
  report.set_run_id("run-1");
  auto* e = report.add_events();
  e->set_seq(1);
  *e->mutable_finding() = MakeFinding(1);
  ASSERT_TRUE(stream->Write(report));
  v1::EventAck ack;
  ASSERT_TRUE(stream->Read(&ack));  // the stream is established and registered

  EXPECT_EQ(service_->Disconnect("node-b"), 0u);
  EXPECT_EQ(service_->Disconnect("node-a"), 1u);

  EXPECT_FALSE(stream->Read(&ack));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitFor([&] { return service_->Disconnect("node-a") == 0; }));  // gone from the list
}

TEST(EventStreamRefusal, AStreamWithoutAnIdentityIsRefused) {
  cp::EventStore store;
  cp::FleetEventsService service(store, [](const grpc::ServerContextBase&) { return std::string(); });
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  auto stub = v1::FleetEvents::NewStub(
      grpc::CreateChannel(StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  auto stream = stub->Report(&context);
  v1::EventAck ack;
  EXPECT_FALSE(stream->Read(&ack));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  server->Shutdown(std::chrono::system_clock::now() + 1s);
}

// A FleetEvents service that takes streams and never reads them: the agent's
// event writes stall once HTTP/2 flow control runs out.
class StalledEvents final : public v1::FleetEvents::CallbackService {
 public:
  grpc::ServerBidiReactor<v1::EventReport, v1::EventAck>* Report(grpc::CallbackServerContext*) override {
    auto* reactor = new Reactor();
    std::lock_guard lock(mu_);
    reactors_.push_back(reactor);
    return reactor;
  }
  void FinishAll() {
    std::lock_guard lock(mu_);
    for (auto* r : reactors_) r->Finish(grpc::Status::CANCELLED);
    reactors_.clear();
  }

 private:
  struct Reactor final : grpc::ServerBidiReactor<v1::EventReport, v1::EventAck> {
    void OnDone() override { delete this; }
  };
  std::mutex mu_;
  std::vector<Reactor*> reactors_;
};

TEST(EventBacklog, AStalledEventStreamDoesNotHoldBackAPolicyPush) {
  cp::FleetOptions fleet_options;
  fleet_options.debounce = 0ms;
  v1::PolicyVersion first;
  first.set_version(1);
  cp::Fleet fleet(first, fleet_options);
  cp::SyncOptions sync_options;
  sync_options.identity = FixedNode;
  cp::SyncService sync(fleet, sync_options);
  StalledEvents events;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&sync);
  builder.RegisterService(&events);
  auto server = builder.BuildAndStart();
  ASSERT_TRUE(server != nullptr);
  auto channel = grpc::CreateChannel(StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());

  // 4,000 findings of ~2 KiB each: 8 MB, far beyond the stream's flow-control
  // window, all stuck behind a reader that never reads.
  sync::EventReporter reporter([&] { return channel; }, {.max_queued = 10000, .max_in_flight = 10000});
  reporter.Start();
  for (int i = 0; i < 4000; ++i) {
    v1::Finding finding = MakeFinding(i);
    finding.set_reason(std::string(2048, 'r'));
    reporter.Report(finding);
  }
  std::this_thread::sleep_for(500ms);
  ASSERT_EQ(reporter.counts().acked, 0u);

  // The sync stream on the same channel still gets its push at once.
  auto stub = v1::AgentSync::NewStub(channel);
  grpc::ClientContext context;
  auto stream = stub->Sync(&context);
  v1::AgentMessage hello;
  hello.mutable_hello()->set_node_name("node-a");
  ASSERT_TRUE(stream->Write(hello));
  v1::PolicyVersion second;
  second.set_version(2);
  auto* policy = second.add_policies();
  policy->set_api_version("rampart/v1");
  policy->set_kind("Policy");
  policy->mutable_metadata()->set_name("web");
  auto* rule = policy->mutable_spec()->mutable_segmentation()->mutable_ingress()->add_allow();
  rule->set_name("app");
  rule->add_from("10.0.0.0/8");
  rule->add_ports("tcp/80");
  fleet.Publish(second);
  v1::ControlMessage message;
  std::atomic<bool> pushed{false};
  std::thread reader([&] {
    while (stream->Read(&message)) {
      if (message.has_push() && message.push().version() == 2) {
        pushed = true;
        break;
      }
    }
  });
  const bool in_time = WaitFor([&] { return pushed.load(); }, 5s);
  context.TryCancel();
  reader.join();
  stream->Finish();
  EXPECT_TRUE(in_time) << "the push of version 2 waited behind the event backlog";
  EXPECT_EQ(reporter.counts().acked, 0u);  // the events are still stalled
  reporter.Stop();
  events.FinishAll();
  server->Shutdown(std::chrono::system_clock::now() + 1s);
}

TEST(DropSummary, CountsTheDropsOfAWindowByReasonAndNamesTheTopSources) {
  sync::DropSummaryBuilder builder;
  auto counters = [](uint64_t default_drops, uint64_t blocked, uint64_t allowed) {
    v1::Counters c;
    auto add = [&](const char* reason, uint64_t packets) {
      auto* r = c.add_by_reason();
      r->set_reason(reason);
      r->set_direction("ingress");
      r->set_packets(packets);
    };
    add("drop_default", default_drops);
    add("drop_blocked", blocked);
    add("allow_rule", allowed);
    return c;
  };
  const auto t0 = std::chrono::system_clock::time_point(1'800'000'000s);
  EXPECT_FALSE(builder.CloseWindow(counters(100, 5, 1000), t0).has_value());  // the baseline

  for (int i = 0; i < 3; ++i) builder.OnDropEvent("10.0.0.9", "drop_default");
  builder.OnDropEvent("10.0.0.7", "drop_blocked");
  auto summary = builder.CloseWindow(counters(130, 6, 5000), t0 + 10s);

  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ(summary->dropped_packets(), 31u);
  EXPECT_EQ(summary->end_unix_ms() - summary->start_unix_ms(), 10000);
  ASSERT_EQ(summary->by_reason_size(), 2);  // allowed packets are not drops
  ASSERT_EQ(summary->top_sources_size(), 2);
  EXPECT_EQ(summary->top_sources(0).source(), "10.0.0.9");
  EXPECT_EQ(summary->top_sources(0).events(), 3u);

  // A quiet window sends nothing.
  EXPECT_FALSE(builder.CloseWindow(counters(130, 6, 9000), t0 + 20s).has_value());
  // Counters that went back (a reloaded datapath) count from zero.
  auto after_reload = builder.CloseWindow(counters(4, 0, 0), t0 + 30s);
  ASSERT_TRUE(after_reload.has_value());
  EXPECT_EQ(after_reload->dropped_packets(), 4u);
}

}  // namespace
}  // namespace rampart

// rampart-cp events | findings: what the fleet's agents reported (findings and
// drop summaries), from the events this replica holds, then live with --follow.
#include <iostream>

#include "agent/cli/status_view.h"
#include "agent/common/strings.h"
#include "agent/common/utc_time.h"
#include "controlplane/cli/command_line.h"
#include "rampart/v1/events.grpc.pb.h"

namespace rampart::cp::cli {
namespace {

std::string RenderDropSummary(const v1::DropSummary& drops) {
  std::string line = rampart::StrCat("dropped ", drops.dropped_packets(), " packets in ",
                                     (drops.end_unix_ms() - drops.start_unix_ms()) / 1000, "s:");
  for (const auto& r : drops.by_reason()) {
    line += rampart::StrCat(" ", r.reason(), "/", r.direction(), "=", r.packets());
  }
  if (!drops.top_sources().empty()) {
    line += "; sampled sources:";
    for (const auto& s : drops.top_sources()) line += rampart::StrCat(" ", s.source(), "(", s.reason(), ")x", s.events());
  }
  return line;
}

std::string RenderEvent(const v1::FleetEvent& event) {
  std::string line;
  if (event.skipped_before()) {
    line = rampart::StrCat("(", event.skipped_before(), " events skipped: this watcher read too slowly)\n");
  }
  line += rampart::StrCat(FormatUtcMs(event.received_unix_ms()), "  ", event.node(), "  ");
  if (event.has_finding()) return line + "finding  " + rampart::cli::RenderFinding(event.finding());
  if (event.has_drops()) return line + "drops    " + RenderDropSummary(event.drops());
  return line + "(unknown event kind)";
}

int PrintStats(v1::EventsAdmin::Stub& stub, bool json) {
  grpc::ClientContext context;
  v1::EventStats stats;
  if (grpc::Status status = stub.Stats(&context, v1::EventStatsRequest(), &stats); !status.ok()) {
    return Fail("events --stats", status);
  }
  if (json) {
    std::cout << rampart::cli::RenderJson(stats) << "\n";
    return 0;
  }
  std::cout << "holding " << stats.stored() << " of at most " << stats.capacity() << " events; " << stats.expired()
            << " expired\n";
  std::vector<std::vector<std::string>> rows = {{"NODE", "RECEIVED", "DUPLICATES", "LOST ON AGENT", "LAST"}};
  for (const auto& n : stats.nodes()) {
    rows.push_back({n.node(), rampart::StrCat(n.received()), rampart::StrCat(n.duplicates()),
                    rampart::StrCat(n.agent_dropped()), n.last_unix_ms() ? FormatUtcMs(n.last_unix_ms()) : "-"});
  }
  std::cout << rampart::cli::RenderTable(rows);
  return 0;
}

}  // namespace

int EventsCommand(int argc, char** argv) {
  const std::string command = argv[1];  // "events" or "findings"
  const bool findings_only = command == "findings";
  std::string admin_socket;
  v1::WatchEventsRequest request;
  uint32_t limit = 100;
  po::options_description flags("rampart-cp " + command + " options");
  flags.add_options()
      ("help,h", "show this help")
      ("admin-socket", po::value(&admin_socket)->default_value(kDefaultAdminSocket), "admin socket")
      ("follow,f", "after the stored events, print new ones as they arrive")
      ("limit", po::value(&limit)->default_value(limit), "stored events shown first, newest")
      ("node", po::value<std::string>(), "only this node")
      ("detector", po::value<std::string>(), "findings whose detector starts with this: dlp, attack.sqli")
      ("min-severity", po::value<std::string>(), "findings at least this severe: info|low|medium|high|critical")
      ("json", "one JSON object per line");
  if (!findings_only) {
    flags.add_options()
        ("drops", "only drop summaries")
        ("stats", "what this replica holds, and per node what it received and what agents lost");
  }
  po::variables_map vars;
  int code = 0;
  if (!Parse(argc, argv, 1, flags, vars, code)) return code;
  const bool json = vars.count("json") > 0;
  auto stub = v1::EventsAdmin::NewStub(AdminChannel(admin_socket));
  if (vars.count("stats")) return PrintStats(*stub, json);

  if (vars.count("min-severity")) {
    const std::string severity = vars["min-severity"].as<std::string>();
    if (severity != "info" && severity != "low" && severity != "medium" && severity != "high" &&
        severity != "critical") {
      std::cerr << "rampart-cp " << command << ": --min-severity \"" << severity
                << "\": expected info, low, medium, high or critical\n";
      return kExitUsage;
    }
    request.set_min_severity(severity);
  }
  if (vars.count("node")) request.set_node(vars["node"].as<std::string>());
  if (vars.count("detector")) request.set_detector(vars["detector"].as<std::string>());
  if (findings_only) request.set_kind(v1::WatchEventsRequest::KIND_FINDING);
  if (vars.count("drops")) {
    if (!request.detector().empty() || !request.min_severity().empty()) {
      std::cerr << "rampart-cp events: --drops excludes --detector and --min-severity (they filter findings)\n";
      return kExitUsage;
    }
    request.set_kind(v1::WatchEventsRequest::KIND_DROPS);
  }
  request.set_limit(limit);
  request.set_follow(vars.count("follow") > 0);

  grpc::ClientContext context;
  auto reader = stub->Watch(&context, request);
  v1::FleetEvent event;
  while (reader->Read(&event)) {
    std::cout << (json ? rampart::cli::RenderJson(event) : RenderEvent(event)) << std::endl;
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return Fail(command, status);
  return 0;
}

int ApisCommand(int argc, char** argv) {
  std::string admin_socket;
  v1::ListFleetApisRequest request;
  po::options_description flags("rampart-cp apis options");
  flags.add_options()
      ("help,h", "show this help")
      ("admin-socket", po::value(&admin_socket)->default_value(kDefaultAdminSocket), "admin socket")
      ("service", po::value(request.mutable_service()), "one service: its name, host, host:port or process")
      ("json", "print JSON");
  po::variables_map vars;
  int code = 0;
  if (!Parse(argc, argv, 1, flags, vars, code)) return code;
  grpc::ClientContext context;
  v1::FleetApis apis;
  auto stub = v1::EventsAdmin::NewStub(AdminChannel(admin_socket));
  if (grpc::Status status = stub->ListApis(&context, request, &apis); !status.ok()) return Fail("apis", status);
  if (vars.count("json")) {
    std::cout << rampart::cli::RenderJson(apis) << "\n";
    return 0;
  }
  std::cout << apis.nodes_reporting() << " nodes reporting";
  if (apis.oldest_report_unix_ms()) std::cout << ", oldest report " << FormatUtcMs(apis.oldest_report_unix_ms());
  std::cout << "\n";
  for (const auto& service : apis.services()) {
    std::cout << "\n" << service.name() << "  on " << service.nodes_size() << " node(s)\n";
    std::vector<std::vector<std::string>> rows = {{"METHOD", "PATH", "SPEC", "REQUESTS", "AUTH", "SENSITIVE", "NODES"}};
    for (const auto& e : service.endpoints()) {
      const auto& ep = e.endpoint();
      auto join = [](const auto& list) {
        std::string out;
        for (const auto& v : list) out += (out.empty() ? "" : ",") + v;
        return out.empty() ? std::string("-") : out;
      };
      std::string spec = ep.spec() == "shadow" || ep.spec() == "zombie" ? "! " + ep.spec() : ep.spec();
      rows.push_back({ep.method(), ep.path_template(), spec, rampart::StrCat(ep.requests()), join(ep.auth_schemes()),
                      join(ep.sensitive_data()), join(e.nodes())});
    }
    std::cout << rampart::cli::RenderTable(rows, "  ");
  }
  return 0;
}

}  // namespace rampart::cp::cli

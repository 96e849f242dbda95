#include "agent/inspect/pipeline.h"

#include <time.h>

#include <algorithm>

#include "agent/common/logging.h"
#include "agent/common/strings.h"
#include "agent/datapath/blocklist.h"

namespace rampart::inspect {
namespace {

constexpr std::chrono::milliseconds kFlowBlockTtl = std::chrono::minutes(16);

// Capture directions map onto the parser's two flows.
int FlowOf(capture::Direction direction) { return direction == capture::Direction::kWrite ? 0 : 1; }

datapath::Address AddressOf(const uint8_t bytes[16]) {
  datapath::Address a;
  std::copy(bytes, bytes + 16, a.begin());
  return a;
}

std::string Endpoint(const uint8_t address[16], uint16_t port) {
  std::string host = datapath::FormatAddress(AddressOf(address));
  if (host.find(':') != std::string::npos) host = rampart::StrCat("[", host, "]");
  return rampart::StrCat(host, ":", port);
}

// Microseconds from a chunk's capture (kernel CLOCK_MONOTONIC) to `now`, the
// same clock; 0 when the chunk carries no timestamp.
uint64_t MicrosSinceCapture(const capture::ConnectionInfo& info, uint64_t now) {
  return info.timestamp_ns != 0 && now > info.timestamp_ns ? (now - info.timestamp_ns) / 1000 : 0;
}

int64_t UnixNanos() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

// Hands a connection's messages to the pipeline, knowing which flow is being
// fed: the parser emits synchronously, so that is the message's flow.
class InspectionPipeline::ConnectionSink final : public http::MessageSink {
 public:
  ConnectionSink(InspectionPipeline& pipeline, Connection& connection)
      : pipeline_(pipeline), connection_(connection) {}
  void OnMessage(const http::Message& message) override { pipeline_.OnMessage(connection_, message); }

 private:
  InspectionPipeline& pipeline_;
  Connection& connection_;
};

struct InspectionPipeline::Connection {
  capture::ConnectionInfo info;
  int feeding_flow = 0;
  uint64_t received_ns = 0;  // when the chunk (or end) being fed reached the pipeline
  std::unique_ptr<ConnectionSink> sink;
  std::unique_ptr<http::ConnectionParser> parser;
};

InspectionPipeline::InspectionPipeline(FindingSink& sink, BlockTarget* target) : sink_(sink), target_(target) {}
InspectionPipeline::~InspectionPipeline() = default;

void InspectionPipeline::Configure(InspectionSetup setup) {
  std::lock_guard lock(mu_);
  setup_ = std::move(setup);
}

bool InspectionPipeline::active() const {
  std::lock_guard lock(mu_);
  return !setup_.detectors.empty();
}

std::map<std::string, FamilyVerdict> InspectionPipeline::verdicts() const {
  std::lock_guard lock(mu_);
  return setup_.verdicts;
}

void InspectionPipeline::VisitDetectors(const std::function<void(const Detector&)>& visit) const {
  std::lock_guard lock(mu_);
  for (const auto& detector : setup_.detectors) visit(*detector);
}

PipelineStats InspectionPipeline::stats() const {
  std::lock_guard lock(mu_);
  PipelineStats s = stats_;
  s.connections = connections_.size();
  s.parser = ended_parsers_;
  for (const auto& [key, c] : connections_) s.parser += c->parser->stats();
  return s;
}

InspectionPipeline::Connection& InspectionPipeline::ConnectionFor(const capture::ConnectionInfo& info) {
  auto& slot = connections_[info.key];
  if (!slot) {
    slot = std::make_unique<Connection>();
    slot->sink = std::make_unique<ConnectionSink>(*this, *slot);
    slot->parser = std::make_unique<http::ConnectionParser>(*slot->sink, setup_.parser_limits);
  }
  slot->info = info;
  return *slot;
}

void InspectionPipeline::OnData(const capture::ConnectionInfo& connection, capture::Direction direction,
                                uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mu_);
  if (setup_.detectors.empty()) return;
  Connection& c = ConnectionFor(connection);
  c.received_ns = datapath::MonotonicNanos();
  c.feeding_flow = FlowOf(direction);
  c.parser->OnData(c.feeding_flow, offset, data);
}

void InspectionPipeline::OnGap(const capture::ConnectionInfo& connection, capture::Direction direction,
                               uint64_t offset, uint64_t bytes) {
  std::lock_guard lock(mu_);
  if (setup_.detectors.empty()) return;
  Connection& c = ConnectionFor(connection);
  c.received_ns = datapath::MonotonicNanos();
  c.feeding_flow = FlowOf(direction);
  c.parser->OnGap(c.feeding_flow, offset, bytes);
}

void InspectionPipeline::OnEnd(const capture::ConnectionInfo& connection) {
  std::lock_guard lock(mu_);
  auto it = connections_.find(connection.key);
  if (it == connections_.end()) return;
  // A response read until close completes here; other open messages are
  // delivered marked as not fully captured.
  it->second->received_ns = datapath::MonotonicNanos();
  it->second->parser->OnEnd();
  ended_parsers_ += it->second->parser->stats();
  connections_.erase(it);
}

void InspectionPipeline::OnMessage(Connection& connection, const http::Message& message) {
  ++stats_.messages;
  const capture::ConnectionInfo& info = connection.info;
  // A request read, or a response written, was served by this process. The
  // parser knows which flow carries requests (a message is not always
  // delivered while its own flow is fed).
  const int request_flow = connection.parser->request_flow();
  const bool requests_read = request_flow >= 0 ? request_flow == FlowOf(capture::Direction::kRead)
                                               : connection.feeding_flow == FlowOf(capture::Direction::kRead);
  const bool server_side = requests_read;
  MessageContext context{.connection = info,
                         .server_side = server_side,
                         .remote_address = info.tuple_known ? datapath::FormatAddress(AddressOf(info.tuple.remote_addr))
                                                            : std::string(),
                         .now = std::chrono::system_clock::now()};
  std::vector<findings::Finding> all;
  for (const auto& detector : setup_.detectors) {
    std::vector<findings::Finding> found;
    detector->Inspect(message, context, found);
    if (found.empty()) continue;
    const uint64_t detected_ns = datapath::MonotonicNanos();
    auto verdict_it = setup_.verdicts.find(std::string(detector->family()));
    const FamilyVerdict family_verdict = verdict_it == setup_.verdicts.end() ? FamilyVerdict{} : verdict_it->second;
    all.insert(all.end(), found.begin(), found.end());
    for (findings::Finding& f : found) {
      const FamilyVerdict verdict = detector->VerdictFor(f, family_verdict);
      v1::Finding out;
      out.set_unix_ns(UnixNanos());
      out.set_detector(f.detector);
      out.set_severity(std::string(findings::SeverityName(f.severity)));
      out.set_confidence(f.confidence);
      out.set_masked_value(f.masked_value);
      out.set_reason(f.reason);
      out.set_location(f.location);
      for (auto& tag : findings::ComplianceTagNames(f.compliance)) out.add_compliance(std::move(tag));
      out.set_pid(info.key.pid);
      out.set_comm(info.comm);
      out.set_cgroup_id(info.cgroup_id);
      if (info.tuple_known) {
        out.set_local(Endpoint(info.tuple.local_addr, info.tuple.local_port));
        out.set_remote(Endpoint(info.tuple.remote_addr, info.tuple.remote_port));
      }
      out.set_server_side(server_side);
      out.set_protocol(message.protocol == 2 ? "HTTP/2" : "HTTP/1.1");
      out.set_method(message.method);
      out.set_status(message.is_request ? 0 : message.status);
      out.set_truncated(message.capture_gap || message.body_truncated);
      out.set_receive_latency_us(MicrosSinceCapture(info, connection.received_ns));
      out.set_detection_latency_us(MicrosSinceCapture(info, detected_ns));
      const bool blocks = verdict.block && f.severity >= verdict.min_severity;
      out.set_action(blocks ? "block" : "monitor");
      if (blocks) out.set_enforced(Enforce(verdict, info, server_side, out));
      ++stats_.findings;
      sink_.OnFinding(std::move(out));
    }
  }
  for (const auto& detector : setup_.detectors) detector->AfterInspection(message, context, all);
}

std::string InspectionPipeline::Enforce(const FamilyVerdict& verdict, const capture::ConnectionInfo& info,
                                        bool server_side, v1::Finding& finding) {
  if (!info.tuple_known) return "nothing: connection 5-tuple unknown";
  if (target_ == nullptr) return "nothing: no datapath";
  const auto ttl = std::chrono::duration_cast<std::chrono::milliseconds>(verdict.ttl);
  // The flow outlives the source block: when a flow entry expires while the
  // connection is still open, TCP retransmits and the connection resumes.
  // Kept until TCP itself gives up (tcp_retries2, about 15 minutes), so a
  // blocked connection dies; the key holds the client's ephemeral port, so
  // nothing else is caught by it.
  const auto flow_ttl = std::max(ttl, kFlowBlockTtl);
  const uint64_t started = datapath::MonotonicNanos();
  // Flows are keyed as seen on ingress: the remote peer is the source.
  datapath::FlowTuple flow{.src = AddressOf(info.tuple.remote_addr),
                           .dst = AddressOf(info.tuple.local_addr),
                           .proto = info.tuple.proto,
                           .sport = info.tuple.remote_port,
                           .dport = info.tuple.local_port};
  std::string enforced;
  absl::Status s = target_->BlockFlow(flow, flow_ttl, verdict.reason);
  if (s.ok()) enforced = "flow";
  // The client that sent the request (or received the leak) loses every new
  // connection too; a server the local process talks to is not blamed.
  if (s.ok() && server_side) {
    s = target_->BlockSource(flow.src, ttl, verdict.reason);
    if (s.ok()) enforced = rampart::StrCat("flow and source ", datapath::FormatAddress(flow.src));
  }
  if (!s.ok()) {
    ++stats_.block_errors;
    Logger("inspect")->warn("block for {} failed: {}", finding.detector(), MessageOf(s));
    return enforced.empty() ? "nothing: datapath refused the block" : enforced;
  }
  ++stats_.blocks;
  const uint64_t now = datapath::MonotonicNanos();
  finding.set_block_write_us((now - started) / 1000);
  finding.set_verdict_latency_us(MicrosSinceCapture(info, now));
  return enforced;
}

absl::StatusOr<findings::Severity> ParseSeverity(const std::string& text) {
  using findings::Severity;
  for (Severity s : {Severity::kInfo, Severity::kLow, Severity::kMedium, Severity::kHigh, Severity::kCritical}) {
    if (findings::SeverityName(s) == text) return s;
  }
  return absl::InvalidArgumentError(
      rampart::StrCat("bad severity \"", text, "\" (expected info, low, medium, high or critical)"));
}

}  // namespace rampart::inspect

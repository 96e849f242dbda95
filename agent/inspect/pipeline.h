// Deep inspection of captured TLS plaintext: per connection, the HTTP parser
// turns the two byte streams into messages; every detector family inspects
// each message; findings get their connection context and a verdict, and a
// block goes to the datapath at once, on the capture thread, so the kernel
// drops the peer within milliseconds of the bytes being captured.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/capture/stream_assembler.h"
#include "agent/http/connection_parser.h"
#include "agent/inspect/detector.h"
#include "agent/inspect/enforcement.h"
#include "rampart/v1/agent_api.pb.h"

namespace rampart::inspect {

// Receives each finding with its context and verdict. Called on the capture
// thread: must not block.
class FindingSink {
 public:
  virtual ~FindingSink() = default;
  virtual void OnFinding(v1::Finding finding) = 0;
};

struct PipelineStats {
  uint64_t connections = 0;  // open now
  uint64_t messages = 0;
  uint64_t findings = 0;
  uint64_t blocks = 0;        // findings that wrote a block
  uint64_t block_errors = 0;  // writes the datapath refused
  http::ParserStats parser;   // over every connection, open and ended
};

// The detectors and verdicts in force; replaced as a whole when policy changes.
struct InspectionSetup {
  std::vector<std::unique_ptr<Detector>> detectors;
  std::map<std::string, FamilyVerdict> verdicts;  // by Detector::family()
  http::ParserLimits parser_limits;
};

class InspectionPipeline final : public capture::PlaintextConsumer {
 public:
  // `target` may be null (no datapath): blocks are then reported, not written.
  InspectionPipeline(FindingSink& sink, BlockTarget* target);
  ~InspectionPipeline() override;

  // Thread-safe; connections already open keep their parser state.
  void Configure(InspectionSetup setup);
  bool active() const;  // any detector configured
  std::map<std::string, FamilyVerdict> verdicts() const;
  PipelineStats stats() const;
  // Calls `visit` with each detector in force, under the pipeline's lock
  // (for their own counters; `visit` must not call back into the pipeline).
  void VisitDetectors(const std::function<void(const Detector&)>& visit) const;

  // capture::PlaintextConsumer, on the capture thread.
  void OnData(const capture::ConnectionInfo& connection, capture::Direction direction, uint64_t offset,
              std::span<const uint8_t> data) override;
  void OnGap(const capture::ConnectionInfo& connection, capture::Direction direction, uint64_t offset,
             uint64_t bytes) override;
  void OnEnd(const capture::ConnectionInfo& connection) override;

 private:
  struct Connection;
  class ConnectionSink;

  Connection& ConnectionFor(const capture::ConnectionInfo& info);
  void OnMessage(Connection& connection, const http::Message& message);
  // Writes the block a finding calls for; returns what was written.
  std::string Enforce(const FamilyVerdict& verdict, const capture::ConnectionInfo& info, bool server_side,
                      v1::Finding& finding);

  FindingSink& sink_;
  BlockTarget* const target_;
  mutable std::mutex mu_;
  InspectionSetup setup_;
  std::map<capture::ConnectionKey, std::unique_ptr<Connection>> connections_;
  PipelineStats stats_;
  http::ParserStats ended_parsers_;
};

}  // namespace rampart::inspect

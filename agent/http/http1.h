// HTTP/1.x over the two directions of one connection (RFC 9112): heads,
// Content-Length, chunked bodies with trailers, read-until-close responses,
// pipelining with FIFO request/response pairing, and resynchronisation
// after malformed input or lost bytes. Internal to agent/http: the public
// entry point is ConnectionParser.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>

#include "agent/http/connection_parser.h"
#include "agent/http/message_output.h"

namespace rampart::http::internal {

class Http1Connection {
 public:
  Http1Connection(MessageOutput& output, const ParserLimits& limits, ParserStats& stats);
  ~Http1Connection();
  Http1Connection(const Http1Connection&) = delete;
  Http1Connection& operator=(const Http1Connection&) = delete;

  void Feed(int flow, std::span<const uint8_t> data);
  void Gap(int flow, uint64_t bytes);
  // Delivers what is still open (see ConnectionParser::OnEnd).
  void End();

  // A complete message head has been parsed in either direction. Until
  // then the connection is only presumed HTTP/1, and a direction that
  // skips more than max_unrecognised_bytes looking for one gives up.
  bool recognised() const { return recognised_; }
  bool gave_up() const { return gave_up_; }
  bool tunnel() const { return tunnel_; }
  // The flow whose role is client, or -1.
  int request_flow() const;

 private:
  class Flow;
  struct PendingRequest {
    std::string method;
    std::string target;
    std::string authority;
  };

  void OnRecognised(Flow& flow, bool is_request);
  void PushRequest(const Message& request);
  bool PopRequest(PendingRequest& request);
  void LosePairing();
  void EnterTunnel();
  void GiveUp();
  // After a final response: a client direction held back behind a request
  // that asked to switch protocols resumes when that request is answered.
  void ResumeHeldClient();

  MessageOutput& output_;
  const ParserLimits& limits_;
  ParserStats& stats_;
  std::unique_ptr<Flow> flows_[2];
  std::deque<PendingRequest> pending_;
  bool pairing_lost_ = false;
  bool recognised_ = false;
  bool gave_up_ = false;
  bool tunnel_ = false;
};

}  // namespace rampart::http::internal

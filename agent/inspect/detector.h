// The seam between the inspection pipeline and the detector families (DLP,
// attack payloads, JWT): each gets every parsed message with its connection
// and returns findings with masked values.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "agent/capture/stream_assembler.h"
#include "agent/findings/finding.h"
#include "agent/http/message.h"
#include "agent/inspect/enforcement.h"

namespace rampart::inspect {

struct MessageContext {
  const capture::ConnectionInfo& connection;
  // The captured process served the request (it read the request); false
  // when it was the client.
  bool server_side = true;
  std::string remote_address;  // "10.0.0.1" / "2001:db8::1"; "" when the 5-tuple is unknown
  std::chrono::system_clock::time_point now;
};

class Detector {
 public:
  virtual ~Detector() = default;
  // The family, which names the policy section: "dlp", "attacks", "jwt".
  virtual std::string_view family() const = 0;
  virtual void Inspect(const http::Message& message, const MessageContext& context,
                       std::vector<findings::Finding>& out) = 0;
  // The verdict for one of this detector's findings, asked right after the
  // Inspect call that produced it. The default is the family's verdict from
  // policy; a family whose findings differ in action or TTL (apis: each alert
  // kind has its own) answers per finding.
  virtual FamilyVerdict VerdictFor(const findings::Finding& finding, const FamilyVerdict& family) const {
    return family;
  }
  // Called once every detector has inspected `message`, with all their
  // findings (masked, as reported), so a family can learn from the others
  // (apis records which DLP data types each endpoint returns).
  virtual void AfterInspection(const http::Message& message, const MessageContext& context,
                               const std::vector<findings::Finding>& all) {}
};

}  // namespace rampart::inspect

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
};

}  // namespace rampart::inspect

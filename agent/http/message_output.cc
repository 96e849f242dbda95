#include "agent/http/message_output.h"

namespace rampart::http::internal {

void MessageOutput::Deliver(Message& message, std::string& raw_body, bool raw_truncated) {
  codings_.clear();
  bool supported = true;
  // The sender applied content codings first, then transfer codings.
  for (const Header& header : message.headers) {
    if (header.name == "content-encoding") supported &= AppendCodings(header.value, false, codings_);
  }
  if (message.protocol == 1) {
    for (const Header& header : message.headers) {
      if (header.name == "transfer-encoding") supported &= AppendCodings(header.value, true, codings_);
    }
  }
  message.body_truncated = raw_truncated;
  if (!supported) ++stats_.unsupported_encodings;
  if (!supported || codings_.empty() || raw_body.empty()) {
    message.body.swap(raw_body);
  } else {
    switch (DecodeContent(codings_, raw_body, limits_.max_decompressed_bytes, message.body)) {
      case DecodeStatus::kComplete:
      case DecodeStatus::kIncomplete:
        break;
      case DecodeStatus::kCapped:
        message.body_truncated = true;
        break;
      case DecodeStatus::kError:
        ++stats_.gzip_errors;
        message.body.swap(raw_body);
        break;
    }
  }
  raw_body.clear();
  ++stats_.messages;
  if (message.is_request) {
    ++stats_.requests;
  } else {
    ++stats_.responses;
    if (message.method.empty()) ++stats_.unpaired_responses;
  }
  if (message.body_truncated) ++stats_.bodies_truncated;
  sink_.OnMessage(message);
}

}  // namespace rampart::http::internal

// Human-readable rendering of rampartctl's replies: tables and one-line events.
#pragma once

#include <string>
#include <vector>

#include "rampart/v1/agent_api.pb.h"

namespace rampart::cli {

// Columns padded to their widest cell (the last one not padded), each row
// starting with `indent`.
std::string RenderTable(const std::vector<std::vector<std::string>>& rows, const std::string& indent = "");

std::string RenderStatus(const v1::AgentStatus& status);
std::string RenderFlows(const v1::ListFlowsReply& flows);
std::string RenderDrop(const v1::DropEvent& event);  // one line
std::string RenderBlocks(const v1::ListBlocksReply& blocks);
// One line of metadata, then the payload (escaped) when the event carries one.
std::string RenderCapture(const v1::CaptureEvent& event);
std::string RenderFinding(const v1::Finding& finding);  // one line, masked values only
std::string RenderFindings(const std::vector<v1::Finding>& findings);  // a table

// JSON with every field present (zeros included) and proto field names.
std::string RenderJson(const google::protobuf::Message& message);

}  // namespace rampart::cli

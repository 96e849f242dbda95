#include "agent/cli/status_view.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <sstream>
#include <vector>

#include "agent/common/strings.h"

namespace rampart::cli {
namespace {

std::string StateName(v1::ConnectionState state) {
  switch (state) {
    case v1::CONNECTION_STATE_CONNECTING: return "connecting";
    case v1::CONNECTION_STATE_CONNECTED: return "connected";
    case v1::CONNECTION_STATE_DISCONNECTED: return "disconnected";
    case v1::CONNECTION_STATE_DISABLED: return "disabled (no control plane configured)";
    default: return "unknown";
  }
}

// Columns padded to their widest cell.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::ostringstream out;
  for (const auto& row : rows) {
    out << "  ";
    for (size_t i = 0; i < row.size(); ++i) {
      out << row[i];
      if (i + 1 < row.size()) out << std::string(width[i] - row[i].size() + 2, ' ');
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace

std::string RenderStatus(const v1::AgentStatus& s) {
  std::ostringstream out;
  out << "Node:           " << s.node_name() << "\n";
  out << "Policy version: " << (s.policy_version() ? rampart::StrCat(s.policy_version()) : "none");
  if (!s.policy_source().empty()) out << " (from " << s.policy_source() << ")";
  out << "\n";
  if (!s.last_policy_error().empty()) out << "Policy error:   " << s.last_policy_error() << "\n";
  out << "Control plane:  " << StateName(s.control_plane().state());
  if (!s.control_plane().address().empty()) out << " " << s.control_plane().address();
  out << "\n";
  if (!s.control_plane().last_error().empty() && s.control_plane().state() != v1::CONNECTION_STATE_CONNECTED) {
    out << "  last error:   " << s.control_plane().last_error() << "\n";
  }
  out << "\nPrograms:\n";
  if (s.programs().empty()) {
    out << "  (none attached)\n";
  } else {
    std::vector<std::vector<std::string>> rows = {{"INTERFACE", "HOOK", "PROGRAM", "PROG ID", "LINK ID"}};
    for (const auto& p : s.programs()) {
      rows.push_back({p.interface(), p.hook(), p.program(), rampart::StrCat(p.program_id()), rampart::StrCat(p.link_id())});
    }
    out << Table(rows);
  }
  out << "\nPackets:\n";
  out << Table({{"allowed", rampart::StrCat(s.counters().allowed_packets())},
                {"dropped", rampart::StrCat(s.counters().dropped_packets())}});
  std::vector<std::vector<std::string>> reasons = {{"REASON", "PACKETS"}};
  for (const auto& r : s.counters().by_reason()) {
    if (r.packets() != 0) reasons.push_back({r.reason(), rampart::StrCat(r.packets())});
  }
  if (reasons.size() > 1) out << "\n" << Table(reasons);
  if (!s.counters().by_rule().empty()) {
    std::vector<std::vector<std::string>> rules = {{"POLICY", "RULE", "PACKETS"}};
    for (const auto& r : s.counters().by_rule()) rules.push_back({r.policy(), r.rule(), rampart::StrCat(r.packets())});
    out << "\n" << Table(rules);
  }
  return out.str();
}

std::string RenderJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

}  // namespace rampart::cli

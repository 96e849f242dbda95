#include "agent/cli/apis_view.h"

#include <algorithm>
#include <map>
#include <vector>

#include "agent/cli/status_view.h"
#include "agent/common/strings.h"
#include "agent/common/utc_time.h"

namespace rampart::cli {
namespace {

std::string Join(const google::protobuf::RepeatedPtrField<std::string>& items, const std::string& empty = "-") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out.empty() ? empty : out;
}

// "200:41 404:2", by status code.
std::string Statuses(const google::protobuf::Map<uint32_t, uint64_t>& statuses) {
  std::map<uint32_t, uint64_t> sorted(statuses.begin(), statuses.end());
  std::string out;
  for (const auto& [status, count] : sorted) out += rampart::StrCat(out.empty() ? "" : " ", status, ":", count);
  return out.empty() ? "-" : out;
}

std::string SpecColumn(const std::string& spec) {
  if (spec == "shadow") return "SHADOW";
  if (spec == "zombie") return "ZOMBIE";
  return spec;
}

std::string MeanBytes(const v1::ApiBodySizes& sizes) {
  if (sizes.count() == 0) return "-";
  return rampart::StrCat(sizes.sum() / sizes.count());
}

}  // namespace

std::string RenderApis(const v1::ApiInventoryReply& reply) {
  std::string out;
  if (!reply.enabled()) {
    out += "API analytics is not in force (no policy has spec.inspection.apis): the inventory as last recorded\n";
  }
  if (reply.services().empty()) return out + "(no API traffic seen yet)\n";
  size_t shadow = 0, zombie = 0;
  for (const v1::ApiService& service : reply.services()) {
    out += rampart::StrCat(out.empty() ? "" : "\n", service.name(), ": ", service.endpoints_size(), " endpoints");
    if (service.dropped_requests() != 0) {
      out += rampart::StrCat(", ", service.dropped_requests(), " requests of endpoints past the cap");
    }
    out += "\n";
    std::vector<std::vector<std::string>> rows = {
        {"", "METHOD", "PATH", "REQUESTS", "STATUSES", "AUTH", "RESPONSE", "MEAN BYTES", "SENSITIVE", "SPEC",
         "LAST SEEN"}};
    for (const v1::ApiEndpoint& e : service.endpoints()) {
      const bool flagged = e.spec() == "shadow" || e.spec() == "zombie";
      shadow += e.spec() == "shadow";
      zombie += e.spec() == "zombie";
      rows.push_back({flagged ? "!" : "", e.method(), e.path_template(), rampart::StrCat(e.requests()),
                      Statuses(e.statuses()), Join(e.auth_schemes()), Join(e.response_content_types()),
                      MeanBytes(e.response_bytes()), Join(e.sensitive_data()), SpecColumn(e.spec()),
                      e.last_seen_unix_ms() != 0 ? FormatUtcMs(e.last_seen_unix_ms()) : "-"});
    }
    out += RenderTable(rows, "  ");
  }
  if (shadow + zombie > 0) {
    out += rampart::StrCat("\n! ", shadow, " shadow endpoints (not in the service's OpenAPI spec), ", zombie,
                           " zombie endpoints (deprecated in the spec and still called)\n");
  }
  return out;
}

}  // namespace rampart::cli

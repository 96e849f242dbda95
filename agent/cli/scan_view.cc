#include "agent/cli/scan_view.h"

#include <cstdio>

#include "agent/common/strings.h"

namespace rampart::cli {
namespace {

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\u%04x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

std::string RenderScan(const scan::ScanFinding& s) {
  const findings::Finding& f = s.finding;
  std::string where = s.located ? rampart::StrCat(s.file, ":", s.offset, "+", s.length) : s.file;
  return rampart::StrCat(where, " ", findings::SeverityName(f.severity), " ", f.detector, " ", f.location, " ",
                         f.masked_value, " - ", f.reason);
}

std::string RenderScanJson(const scan::ScanFinding& s) {
  const findings::Finding& f = s.finding;
  std::string out = rampart::StrCat("{\"file\":", JsonString(s.file));
  if (s.located) out += rampart::StrCat(",\"offset\":", s.offset, ",\"length\":", s.length);
  out += rampart::StrCat(",\"detector\":", JsonString(f.detector), ",\"severity\":",
                         JsonString(findings::SeverityName(f.severity)), ",\"masked_value\":", JsonString(f.masked_value),
                         ",\"location\":", JsonString(f.location), ",\"reason\":", JsonString(f.reason), "}");
  return out;
}

}  // namespace rampart::cli

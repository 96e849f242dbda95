// Precision on benign traffic: the CSIC 2010 "normal" requests (36,000
// requests to a web shop, with names, addresses, emails, card-like numbers
// and passwords in forms) must not raise high-severity DLP findings.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cctype>
#include <chrono>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "agent/dlp/dlp_scanner.h"

namespace rampart::dlp {
namespace {

std::string ReadGzip(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) return {};
  std::string out;
  char buffer[1 << 16];
  int n;
  while ((n = gzread(file, buffer, sizeof(buffer))) > 0) out.append(buffer, static_cast<size_t>(n));
  gzclose(file);
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The corpus is raw HTTP/1.1: request line, headers, a blank line, and for
// POST a one-line body; requests are separated by blank lines.
std::vector<http::Message> ParseRequests(const std::string& text) {
  std::vector<http::Message> out;
  size_t pos = 0;
  auto next_line = [&](std::string& line) {
    if (pos >= text.size()) return false;
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    pos = end + 1;
    return true;
  };
  std::string line;
  while (next_line(line)) {
    if (line.empty()) continue;
    http::Message m;
    m.is_request = true;
    size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    if (sp1 == std::string::npos || sp2 == sp1) continue;
    m.method = line.substr(0, sp1);
    m.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t content_length = 0;
    while (next_line(line) && !line.empty()) {
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      http::Header h{Lower(line.substr(0, colon)), line.substr(line.find_first_not_of(' ', colon + 1))};
      if (h.name == "content-length") content_length = std::stoul(h.value);
      m.headers.push_back(std::move(h));
    }
    if (content_length > 0 && next_line(line)) m.body = line;
    out.push_back(std::move(m));
  }
  return out;
}

TEST(PrecisionTest, BenignCsic2010RequestsRaiseNoHighSeverityFindings) {
  const std::string text = ReadGzip(std::string(RAMPART_DLP_TEST_DATA) + "/csic2010-normal-training.txt.gz");
  ASSERT_GT(text.size(), 10u << 20) << "test corpus missing";
  const std::vector<http::Message> requests = ParseRequests(text);
  ASSERT_EQ(requests.size(), 36000u);

  auto scanner = DlpScanner::Create({});
  ASSERT_TRUE(scanner.ok());
  std::map<std::string, size_t> by_detector_severity;
  size_t high_or_worse = 0, total = 0, requests_with_findings = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const http::Message& request : requests) {
    std::vector<findings::Finding> found = (*scanner)->Scan(request);
    total += found.size();
    requests_with_findings += found.empty() ? 0 : 1;
    for (const findings::Finding& f : found) {
      ++by_detector_severity[f.detector + " " + std::string(findings::SeverityName(f.severity))];
      if (f.severity >= findings::Severity::kHigh) {
        ++high_or_worse;
        ADD_FAILURE() << "high-severity finding on benign traffic: " << f.detector << " at " << f.location << ": "
                      << f.reason;
      }
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::cout << "CSIC 2010 normal: " << requests.size() << " requests, " << total << " findings in "
            << requests_with_findings << " requests, " << high_or_worse << " high or critical, scanned in " << seconds
            << " s\n";
  for (const auto& [key, count] : by_detector_severity) std::cout << "  " << key << ": " << count << "\n";
  EXPECT_EQ(high_or_worse, 0u);
  EXPECT_EQ((*scanner)->scan_errors(), 0u);
}

}  // namespace
}  // namespace rampart::dlp

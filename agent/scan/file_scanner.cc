#include "agent/scan/file_scanner.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/attacks/attack_detector.h"
#include "agent/common/strings.h"
#include "agent/dlp/dlp_scanner.h"
#include "agent/http/connection_parser.h"
#include "agent/jwt/jwt_inspector.h"

namespace rampart::scan {
namespace {

dlp::ContentKind KindOf(const std::string& content) {
  const size_t first = content.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (content[first] == '{' || content[first] == '[')) return dlp::ContentKind::kJson;
  const bool form = !content.empty() && content.find('=') != std::string::npos &&
                    content.find_first_of(" \n") == std::string::npos;
  return form ? dlp::ContentKind::kFormUrlEncoded : dlp::ContentKind::kPlainText;
}

// Collects a file's messages; parsing runs to the end of the file first.
class Collector final : public http::MessageSink {
 public:
  void OnMessage(const http::Message& message) override { messages.push_back(message); }
  std::vector<http::Message> messages;
};

}  // namespace

struct FileScanner::Detectors {
  std::unique_ptr<dlp::DlpScanner> dlp;
  std::unique_ptr<attacks::AttackDetector> attacks;
  std::unique_ptr<jwt::JwtInspector> jwt;
};

FileScanner::FileScanner(const ScanOptions& options, std::unique_ptr<Detectors> detectors)
    : options_(options), detectors_(std::move(detectors)) {}
FileScanner::~FileScanner() = default;

absl::StatusOr<std::unique_ptr<FileScanner>> FileScanner::Create(const ScanOptions& options) {
  auto detectors = std::make_unique<Detectors>();
  auto dlp = dlp::DlpScanner::Create();
  if (!dlp.ok()) return dlp.status();
  detectors->dlp = std::move(*dlp);
  detectors->attacks = std::make_unique<attacks::AttackDetector>(attacks::AttackOptions{});
  // No keys offline: tokens are checked for structure, algorithm and time.
  jwt::JwtOptions jwt_options;
  jwt_options.replay_window = std::chrono::seconds(0);
  auto jwt = jwt::JwtInspector::Create(jwt_options);
  if (!jwt.ok()) return jwt.status();
  detectors->jwt = std::move(*jwt);
  return std::unique_ptr<FileScanner>(new FileScanner(options, std::move(detectors)));
}

std::vector<ScanFinding> FileScanner::ScanContent(const std::string& name, const std::string& content) {
  std::vector<ScanFinding> out;
  auto add = [&](findings::Finding f, const std::string* scanned) {
    ScanFinding s{.file = name, .finding = std::move(f)};
    // The detector's span is within the text it scanned; that text sits in
    // the file verbatim unless it was decoded (gzip, chunks).
    if (scanned && s.finding.length > 0) {
      const size_t base = scanned->data() == content.data() ? 0 : content.find(*scanned);
      if (base != std::string::npos) {
        s.located = true;
        s.offset = base + s.finding.offset;
        s.length = s.finding.length;
      }
    }
    out.push_back(std::move(s));
  };
  // The agent's parser decides what is HTTP; anything else is a plain body.
  Collector collector;
  http::ConnectionParser parser(collector);
  parser.OnData(0, 0, {reinterpret_cast<const uint8_t*>(content.data()), content.size()});
  parser.OnEnd();
  if (collector.messages.empty() && parser.protocol() != http::Protocol::kHttp1 &&
      parser.protocol() != http::Protocol::kHttp2) {
    for (auto& f : detectors_->dlp->ScanText(content, "body", KindOf(content))) add(std::move(f), &content);
    return out;
  }
  for (const http::Message& message : collector.messages) {
    for (auto& f : detectors_->dlp->Scan(message)) {
      const bool in_body = f.location.find(".body") != std::string::npos;
      add(std::move(f), in_body && !message.body.empty() ? &message.body : nullptr);
    }
    if (!message.is_request) continue;
    for (auto& f : detectors_->attacks->Inspect(message)) add(std::move(f), nullptr);
    for (auto& f : detectors_->jwt->Inspect(message, "", std::chrono::system_clock::now())) add(std::move(f), nullptr);
  }
  return out;
}

absl::StatusOr<std::vector<ScanFinding>> FileScanner::ScanPath(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> files;
  if (fs::is_directory(path, ec)) {
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_regular_file()) files.push_back(it->path().string());
    }
    if (ec) return absl::NotFoundError(rampart::StrCat("scan ", path, ": ", ec.message()));
    std::sort(files.begin(), files.end());
  } else if (fs::is_regular_file(path, ec)) {
    files.push_back(path);
  } else {
    return absl::NotFoundError(rampart::StrCat("scan ", path, ": no such file or directory"));
  }
  std::vector<ScanFinding> all;
  for (const std::string& file : files) {
    const auto size = fs::file_size(file, ec);
    if (ec) return absl::UnavailableError(rampart::StrCat("scan ", file, ": ", ec.message()));
    if (size > options_.max_file_bytes) {
      return absl::InvalidArgumentError(
          rampart::StrCat("scan ", file, ": ", size, " bytes, more than the ", options_.max_file_bytes, " allowed"));
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) return absl::UnavailableError(rampart::StrCat("scan ", file, ": cannot open"));
    std::stringstream buffer;
    buffer << in.rdbuf();
    auto found = ScanContent(file, buffer.str());
    all.insert(all.end(), std::make_move_iterator(found.begin()), std::make_move_iterator(found.end()));
  }
  return all;
}

}  // namespace rampart::scan

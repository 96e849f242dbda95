#include "tests/attacks/corpus.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "agent/attacks/decode.h"

namespace rampart::attacks::testing {
namespace {

std::string ReadGzip(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw std::runtime_error("open " + path);
  std::string text;
  char buffer[1 << 16];
  int n = 0;
  while ((n = gzread(file, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<size_t>(n));
  gzclose(file);
  return text;
}

std::string ToLower(std::string_view in) {
  std::string out(in);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

void AddPairs(std::string_view pairs, std::vector<std::string>& out) {
  while (!pairs.empty()) {
    const size_t amp = pairs.find('&');
    const std::string_view pair = pairs.substr(0, amp);
    pairs = amp == std::string_view::npos ? std::string_view() : pairs.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && eq + 1 < pair.size()) {
      out.push_back(UrlDecode(pair.substr(eq + 1), /*plus_as_space=*/true));
    }
  }
}

}  // namespace

std::vector<std::string> ReadCorpusLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("open " + path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    lines.push_back(line);
  }
  return lines;
}

std::string DecodeCorpusLine(std::string_view line) {
  return UrlDecode(line, /*plus_as_space=*/line.find(' ') == std::string_view::npos);
}

std::vector<http::Message> ReadCsicRequests(const std::string& gz_path) {
  std::string text = ReadGzip(gz_path);
  text.erase(std::remove(text.begin(), text.end(), '\r'), text.end());
  std::vector<http::Message> requests;
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && text[pos] == '\n') ++pos;
    if (pos >= text.size()) break;
    const size_t line_end = text.find('\n', pos);
    const std::string_view request_line(text.data() + pos, (line_end == std::string::npos ? text.size() : line_end) - pos);
    const size_t sp1 = request_line.find(' ');
    const size_t sp2 = request_line.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 <= sp1) throw std::runtime_error("bad request line in " + gz_path);
    http::Message request;
    request.method = std::string(request_line.substr(0, sp1));
    request.target = std::string(request_line.substr(sp1 + 1, sp2 - sp1 - 1));
    pos = line_end == std::string::npos ? text.size() : line_end + 1;
    size_t content_length = 0;
    while (pos < text.size() && text[pos] != '\n') {
      const size_t end = std::min(text.find('\n', pos), text.size());
      const std::string_view header(text.data() + pos, end - pos);
      const size_t colon = header.find(':');
      if (colon != std::string_view::npos) {
        http::Header h;
        h.name = ToLower(header.substr(0, colon));
        std::string_view value = header.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        h.value = std::string(value);
        if (h.name == "content-length") content_length = std::stoul(h.value);
        if (h.name == "host") request.authority = h.value;
        request.headers.push_back(std::move(h));
      }
      pos = end + 1;
    }
    ++pos;  // the blank line after the headers
    if (content_length > 0 && pos < text.size()) {
      request.body = text.substr(pos, content_length);
      request.body_wire_bytes = request.body.size();
      pos += content_length;
    }
    requests.push_back(std::move(request));
  }
  return requests;
}

std::vector<std::string> ParameterValues(const http::Message& request) {
  std::vector<std::string> values;
  const size_t question = request.target.find('?');
  if (question != std::string::npos) AddPairs(std::string_view(request.target).substr(question + 1), values);
  const std::string* type = request.FindHeader("content-type");
  if (type != nullptr && type->find("x-www-form-urlencoded") != std::string::npos) AddPairs(request.body, values);
  return values;
}

std::vector<std::string> CorpusFiles(const std::string& dir, std::string_view prefix) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(prefix) && name.ends_with(".txt")) files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace rampart::attacks::testing

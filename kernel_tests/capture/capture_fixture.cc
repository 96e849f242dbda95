#include "kernel_tests/capture/capture_fixture.h"

#include <cstdlib>
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace rampart::testing {

std::string RecordedStream::Bytes() const {
  std::string out;
  for (const auto& [offset, bytes] : data) out += bytes;
  return out;
}

bool RecordedStream::Contiguous() const {
  if (!gaps.empty() || data.empty()) return false;
  uint64_t next = data.begin()->first;
  for (const auto& [offset, bytes] : data) {
    if (offset != next) return false;
    next += bytes.size();
  }
  return next == end_offset;
}

void CaptureRecorder::OnChunk(const rp_capture_header& h, std::span<const uint8_t> data) {
  std::unique_lock lock(mu_);
  // Bounded, so a test that fails while holding cannot hang the reader thread forever.
  released_.wait_for(lock, std::chrono::seconds(30), [&] { return !held_; });
  ++chunks_;
  ++chunks_by_pid_[h.pid];
  captured_bytes_ += h.captured;
  RecordedStream& s = StreamFor(h.pid, h.ssl, h.generation, static_cast<capture::Direction>(h.direction & 1));
  s.comm.assign(h.comm, strnlen(h.comm, sizeof(h.comm)));
  ++s.chunks;
  s.moved += h.len;
  s.captured += h.captured;
  if (h.flags & RP_CAPTURE_TRUNCATED) ++s.truncated_chunks;
  if (h.flags & RP_CAPTURE_TUPLE_KNOWN) {
    ++s.chunks_with_tuple;
    s.tuples.emplace(FormatIpv4Mapped(h.tuple.local_addr), h.tuple.local_port, FormatIpv4Mapped(h.tuple.remote_addr),
                     h.tuple.remote_port, h.tuple.proto);
  }
  s.end_offset = std::max<uint64_t>(s.end_offset, h.stream_offset + h.len);
  assembler_.Add(h, data);
}

void CaptureRecorder::OnPeerCertificate(const rp_capture_header& h, std::span<const uint8_t> der) {
  std::unique_lock lock(mu_);
  released_.wait_for(lock, std::chrono::seconds(30), [&] { return !held_; });
  ++peer_certificates_;
  assembler_.AddPeerCertificate(h, der);
}

uint64_t CaptureRecorder::peer_certificates() const {
  std::lock_guard lock(mu_);
  return peer_certificates_;
}

void CaptureRecorder::Hold() {
  std::lock_guard lock(mu_);
  held_ = true;
}

void CaptureRecorder::Release() {
  {
    std::lock_guard lock(mu_);
    held_ = false;
  }
  released_.notify_all();
}

RecordedStream& CaptureRecorder::StreamFor(uint32_t pid, uint64_t ssl, uint32_t generation,
                                           capture::Direction direction) {
  RecordedStream& s = streams_[{pid, ssl, static_cast<uint8_t>(direction), generation}];
  s.pid = pid;
  s.ssl = ssl;
  s.direction = direction;
  return s;
}

void CaptureRecorder::OnData(const capture::ConnectionInfo& connection, capture::Direction direction,
                             uint64_t offset, std::span<const uint8_t> data) {
  RecordedStream& s = StreamFor(connection.key.pid, connection.key.ssl, connection.key.generation, direction);
  s.info = connection;
  s.data[offset].append(reinterpret_cast<const char*>(data.data()), data.size());
  s.data_bytes += data.size();
}

void CaptureRecorder::OnGap(const capture::ConnectionInfo& connection, capture::Direction direction,
                            uint64_t offset, uint64_t bytes) {
  RecordedStream& s = StreamFor(connection.key.pid, connection.key.ssl, connection.key.generation, direction);
  s.info = connection;
  s.gaps[offset] += bytes;
  s.gap_bytes += bytes;
}

std::vector<RecordedStream> CaptureRecorder::Streams(uint32_t pid, capture::Direction direction) const {
  std::lock_guard lock(mu_);
  std::vector<RecordedStream> out;
  for (const auto& [key, s] : streams_) {
    if (std::get<0>(key) == pid && std::get<2>(key) == static_cast<uint8_t>(direction)) out.push_back(s);
  }
  return out;
}

std::vector<RecordedStream> CaptureRecorder::StreamsOf(const std::string& comm, capture::Direction direction) const {
  std::lock_guard lock(mu_);
  std::vector<RecordedStream> out;
  for (const auto& [key, s] : streams_) {
    if (s.comm == comm && std::get<2>(key) == static_cast<uint8_t>(direction)) out.push_back(s);
  }
  return out;
}

uint64_t CaptureRecorder::chunks() const {
  std::lock_guard lock(mu_);
  return chunks_;
}

uint64_t CaptureRecorder::chunks_of(uint32_t pid) const {
  std::lock_guard lock(mu_);
  auto it = chunks_by_pid_.find(pid);
  return it == chunks_by_pid_.end() ? 0 : it->second;
}

capture::StreamTotals CaptureRecorder::totals() const {
  std::lock_guard lock(mu_);
  return assembler_.totals();
}

uint64_t CaptureRecorder::captured_bytes() const {
  std::lock_guard lock(mu_);
  return captured_bytes_;
}

std::string FormatIpv4Mapped(const uint8_t address[16]) {
  char buf[INET6_ADDRSTRLEN];
  static const uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (memcmp(address, kPrefix, 12) == 0) {
    inet_ntop(AF_INET, address + 12, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, address, buf, sizeof(buf));
  }
  return buf;
}

Finished RunToExit(const std::vector<std::string>& argv, const std::string& stdout_path,
                   const std::string& stderr_path, std::chrono::milliseconds timeout) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int out = open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  Finished result;
  result.pid = fork();
  if (result.pid < 0) throw std::runtime_error("fork failed");
  if (result.pid == 0) {
    if (out >= 0) dup2(out, STDOUT_FILENO);
    if (err >= 0) dup2(err, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  if (out >= 0) close(out);
  if (err >= 0) close(err);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t r = waitpid(result.pid, &status, WNOHANG);
    if (r == result.pid) {
      result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      return result;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(result.pid, SIGKILL);
      waitpid(result.pid, &status, 0);
      result.status = -1;
      return result;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

CurlTrace ParseCurlTrace(const std::string& path) {
  CurlTrace trace;
  std::ifstream in(path);
  if (!in) return trace;
  std::string* target = nullptr;
  size_t remaining = 0;
  auto starts = [](const std::string& line, const char* prefix) { return line.rfind(prefix, 0) == 0; };
  for (std::string line; std::getline(in, line);) {
    if (starts(line, "=> ") || starts(line, "<= ") || starts(line, "== ")) {
      target = nullptr;
      remaining = 0;
      const bool send = starts(line, "=> Send header, ") || starts(line, "=> Send data, ");
      const bool recv = starts(line, "<= Recv header, ") || starts(line, "<= Recv data, ");
      if (send || recv) {
        target = send ? &trace.sent : &trace.received;
        remaining = std::strtoull(line.c_str() + line.find(", ") + 2, nullptr, 10);
      }
      continue;
    }
    if (!target || remaining == 0) continue;
    // "0000: 47 45 54 20 ... GET ..."
    const size_t colon = line.find(": ");
    if (colon == std::string::npos) return trace;
    const size_t n = std::min<size_t>(16, remaining);
    for (size_t i = 0; i < n; ++i) {
      const size_t at = colon + 2 + 3 * i;
      if (at + 2 > line.size()) return trace;
      target->push_back(static_cast<char>(std::strtoul(line.substr(at, 2).c_str(), nullptr, 16)));
    }
    remaining -= n;
  }
  trace.ok = true;
  return trace;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp " + tmpl + " failed");
  path_ = tmpl;
}

bool TempDir::keep() {
  const char* wanted = std::getenv("RAMPART_KEEP_TEST_DIRS");
  keep_ = wanted != nullptr && std::string(wanted) == "1";
  return keep_;
}

TempDir::~TempDir() {
  if (!keep_) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
}

}  // namespace rampart::testing

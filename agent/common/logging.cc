#include "agent/common/logging.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>

#include "spdlog/sinks/stdout_color_sinks.h"

namespace rampart {
namespace {

int LibbpfPrint(enum libbpf_print_level level, const char* format, va_list args) {
  char line[1024];
  vsnprintf(line, sizeof(line), format, args);
  std::string text(line);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  auto log = Logger("libbpf");
  switch (level) {
    case LIBBPF_WARN: log->warn("{}", text); break;
    case LIBBPF_INFO: log->debug("{}", text); break;
    default: log->trace("{}", text); break;
  }
  return 0;
}

}  // namespace

void InitLogging(const std::string& level) {
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  spdlog::set_level(spdlog::level::from_str(level));
  libbpf_set_print(LibbpfPrint);
}

std::shared_ptr<spdlog::logger> Logger(const std::string& subsystem) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (auto existing = spdlog::get(subsystem)) return existing;
  auto logger = spdlog::stderr_color_mt(subsystem);
  return logger;
}

}  // namespace rampart

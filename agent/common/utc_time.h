// How times an operator reads are written everywhere (errors, tables, logs):
// "2024-05-01T12:00:03Z", UTC, whole seconds; and times as records store them.
#pragma once

#include <time.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace rampart {

inline std::string FormatUtc(std::chrono::system_clock::time_point time) {
  const time_t seconds = std::chrono::system_clock::to_time_t(time);
  struct tm parts {};
  gmtime_r(&seconds, &parts);
  char text[32];
  strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

// Milliseconds since the epoch, as records and protos store times.
inline int64_t UnixMs(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

inline std::string FormatUtcMs(int64_t unix_ms) {
  return FormatUtc(std::chrono::system_clock::time_point(std::chrono::milliseconds(unix_ms)));
}

}  // namespace rampart

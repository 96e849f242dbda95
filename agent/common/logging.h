// One spdlog logger per subsystem ("datapath", "sync", "api", "store", ...),
// all writing to stderr with the same pattern. libbpf's own messages go to the
// "libbpf" logger. Levels: docs/operations.md#log-levels.
#pragma once

#include <memory>
#include <string>

#include "spdlog/spdlog.h"

namespace rampart {

// Sets the global level ("trace".."off") and routes libbpf output. Call once
// from main before anything logs.
void InitLogging(const std::string& level);

// The named subsystem logger, created on first use.
std::shared_ptr<spdlog::logger> Logger(const std::string& subsystem);

}  // namespace rampart

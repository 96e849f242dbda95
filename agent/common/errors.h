// Error construction for calls into the kernel and libbpf: say what was being
// done, to which object, and the errno by name ("attach XDP to eth1: EBUSY
// (Device or resource busy)").
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace rampart {

// `err` is a positive errno; libbpf's negative returns are accepted too.
absl::Status ErrnoError(int err, std::string_view what);

// Prefixes a status's message with context, keeping its code.
absl::Status Annotate(const absl::Status& status, std::string_view context);

}  // namespace rampart

#define RAMPART_RETURN_IF_ERROR(expr)      \
  do {                                     \
    if (absl::Status _st = (expr); !_st.ok()) \
      return _st;                          \
  } while (0)

// Readiness for systemd's Type=notify units (rampart-agent.service,
// rampart-controlplane.service): the sd_notify(3) protocol, which is one
// datagram to the unix socket named in $NOTIFY_SOCKET. Written here rather
// than linked from libsystemd because the protocol is a single sendto(), and
// the binaries then need no systemd library on hosts that run them by hand.
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace rampart {

// Sends `state` (for example "READY=1") to the service manager. Does nothing
// and returns OK when $NOTIFY_SOCKET is unset (not started by systemd, or not
// Type=notify). A name starting with '@' is an abstract socket. An error names
// the socket and the errno; callers log it and carry on, since a manager that
// cannot be told will time the start out on its own.
absl::Status NotifyServiceManager(std::string_view state);

}  // namespace rampart

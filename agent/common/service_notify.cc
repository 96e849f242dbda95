#include "agent/common/service_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>

#include "agent/common/errors.h"

namespace rampart {

absl::Status NotifyServiceManager(std::string_view state) {
  const char* variable = getenv("NOTIFY_SOCKET");
  if (variable == nullptr || *variable == '\0') return absl::OkStatus();
  const std::string name(variable);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if ((name[0] != '/' && name[0] != '@') || name.size() > sizeof(address.sun_path)) {
    return absl::InvalidArgumentError("NOTIFY_SOCKET \"" + name + "\": expected an absolute path or @abstract name");
  }
  memcpy(address.sun_path, name.data(), name.size());
  // An abstract name is the bytes after a leading NUL, and its length is the
  // address length: no terminating NUL is counted, for either kind.
  if (name[0] == '@') address.sun_path[0] = '\0';
  const socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());

  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError(errno, "socket for NOTIFY_SOCKET " + name);
  const ssize_t sent =
      sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&address), length);
  const int err = errno;
  close(fd);
  if (sent < 0) return ErrnoError(err, "notify the service manager at " + name);
  return absl::OkStatus();
}

}  // namespace rampart

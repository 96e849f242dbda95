// NotifyServiceManager speaks sd_notify(3): one datagram to $NOTIFY_SOCKET,
// a filesystem path or an '@' abstract name, and nothing at all without it.
#include "agent/common/service_notify.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace rampart {
namespace {

// A datagram socket standing in for systemd's notification socket.
class FakeServiceManager {
 public:
  // `name` is what goes into NOTIFY_SOCKET: "/path" or "@abstract".
  explicit FakeServiceManager(const std::string& name) : name_(name) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    memcpy(address.sun_path, name.data(), name.size());
    if (name[0] == '@') address.sun_path[0] = '\0';
    bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&address),
                  static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size())) == 0;
    setenv("NOTIFY_SOCKET", name.c_str(), 1);
  }
  ~FakeServiceManager() {
    unsetenv("NOTIFY_SOCKET");
    close(fd_);
    if (name_[0] == '/') unlink(name_.c_str());
  }
  bool bound() const { return bound_; }
  // The next datagram, or "" when none is waiting.
  std::string Received() {
    char buffer[256];
    ssize_t n = recv(fd_, buffer, sizeof(buffer), MSG_DONTWAIT);
    return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
  }

 private:
  std::string name_;
  int fd_ = -1;
  bool bound_ = false;
};

std::string UniqueSuffix() { return std::to_string(getpid()) + "-" + std::to_string(rand()); }

TEST(NotifyServiceManager, SendsTheStateToAFilesystemSocket) {
  FakeServiceManager manager((std::filesystem::temp_directory_path() / ("rampart-notify-" + UniqueSuffix())).string());
  ASSERT_TRUE(manager.bound());
  ASSERT_TRUE(NotifyServiceManager("READY=1").ok());
  EXPECT_EQ(manager.Received(), "READY=1");
}

TEST(NotifyServiceManager, SendsTheStateToAnAbstractSocket) {
  FakeServiceManager manager("@rampart-notify-" + UniqueSuffix());
  ASSERT_TRUE(manager.bound());
  ASSERT_TRUE(NotifyServiceManager("READY=1\nSTATUS=serving").ok());
  EXPECT_EQ(manager.Received(), "READY=1\nSTATUS=serving");
}

TEST(NotifyServiceManager, DoesNothingWithoutNotifySocket) {
  unsetenv("NOTIFY_SOCKET");
  EXPECT_TRUE(NotifyServiceManager("READY=1").ok());
}

TEST(NotifyServiceManager, ReportsAManagerThatIsGone) {
  const std::string name = "@rampart-notify-gone-" + UniqueSuffix();
  setenv("NOTIFY_SOCKET", name.c_str(), 1);
  absl::Status status = NotifyServiceManager("READY=1");
  unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(status.ok());
  EXPECT_NE(std::string(status.message()).find(name), std::string::npos) << status.message();
}

TEST(NotifyServiceManager, RefusesARelativeName) {
  setenv("NOTIFY_SOCKET", "notify.sock", 1);
  absl::Status status = NotifyServiceManager("READY=1");
  unsetenv("NOTIFY_SOCKET");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rampart

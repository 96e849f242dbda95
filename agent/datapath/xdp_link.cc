#include "agent/datapath/xdp_link.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <optional>

#include "absl/strings/match.h"
#include "agent/common/strings.h"
#include "agent/common/errors.h"

namespace rampart::datapath {
namespace {

constexpr char kLinkPrefix[] = "xdp_";

std::string LinkPin(const std::string& pin_dir, const std::string& ifname) {
  return rampart::StrCat(pin_dir, "/links/", kLinkPrefix, ifname);
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

// The hook of the program attached to ifindex through `prog_id`, if any.
std::optional<IngressHook> AttachedHook(uint32_t ifindex, uint32_t prog_id) {
  LIBBPF_OPTS(bpf_xdp_query_opts, query);
  if (bpf_xdp_query(static_cast<int>(ifindex), 0, &query) != 0) return std::nullopt;
  if (query.skb_prog_id == prog_id) return IngressHook::kXdpGeneric;
  if (query.drv_prog_id == prog_id) return IngressHook::kXdpNative;
  return std::nullopt;
}

absl::StatusOr<XdpAttachment> Describe(int link_fd, const std::string& ifname, const std::string& pin) {
  bpf_link_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(link_fd, &info, &len) != 0) return ErrnoError(errno, "read link info of " + pin);
  XdpAttachment out;
  out.ifname = ifname;
  out.ifindex = info.xdp.ifindex;
  out.program_id = info.prog_id;
  out.link_id = info.id;
  out.pin = pin;
  auto hook = AttachedHook(out.ifindex, out.program_id);
  if (!hook) return absl::FailedPreconditionError(rampart::StrCat("link ", pin, " is no longer attached"));
  out.hook = *hook;
  return out;
}

absl::StatusOr<int> CreateLink(int prog_fd, uint32_t ifindex, IngressHook hook, const std::string& ifname) {
  LIBBPF_OPTS(bpf_link_create_opts, opts);
  opts.flags = hook == IngressHook::kXdpGeneric ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
  int fd = bpf_link_create(prog_fd, static_cast<int>(ifindex), BPF_XDP, &opts);
  if (fd < 0) return ErrnoError(errno, rampart::StrCat("attach XDP (", HookName(hook), ") to ", ifname));
  return fd;
}

}  // namespace

absl::StatusOr<IngressHook> ParseIngressHook(const std::string& text) {
  if (text == "auto") return IngressHook::kAuto;
  if (text == "xdp-native") return IngressHook::kXdpNative;
  if (text == "xdp-generic") return IngressHook::kXdpGeneric;
  return absl::InvalidArgumentError(
      rampart::StrCat("ingress hook \"", text, "\" is not one of auto, xdp-native, xdp-generic"));
}

std::string HookName(IngressHook hook) {
  switch (hook) {
    case IngressHook::kAuto: return "auto";
    case IngressHook::kXdpNative: return "xdp-native";
    case IngressHook::kXdpGeneric: return "xdp-generic";
  }
  return "unknown";
}

IngressHook ChooseHook(const std::string& driver) {
  static constexpr std::array<const char*, 12> kVirtual = {
      "veth", "virtio_net", "tun", "bridge", "dummy", "vxlan", "geneve", "macvlan", "ipvlan", "bonding", "vrf", ""};
  for (const char* name : kVirtual) {
    if (driver == name) return IngressHook::kXdpGeneric;
  }
  return IngressHook::kXdpNative;
}

std::string DeviceDriver(const std::string& ifname) {
  Fd sock{socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (sock.fd < 0) return "";
  ethtool_drvinfo info{};
  info.cmd = ETHTOOL_GDRVINFO;
  ifreq req{};
  std::strncpy(req.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  req.ifr_data = reinterpret_cast<char*>(&info);
  if (ioctl(sock.fd, SIOCETHTOOL, &req) != 0) return "";
  return info.driver;
}

absl::StatusOr<XdpAttachment> AttachXdp(const std::string& pin_dir, const std::string& ifname, int prog_fd,
                                        IngressHook requested) {
  const uint32_t ifindex = if_nametoindex(ifname.c_str());
  if (ifindex == 0) return ErrnoError(errno, "attach XDP to " + ifname);
  const bool auto_hook = requested == IngressHook::kAuto;
  const IngressHook hook = auto_hook ? ChooseHook(DeviceDriver(ifname)) : requested;
  const std::string pin = LinkPin(pin_dir, ifname);

  // Adopt: same device and hook -> swap the program in place.
  Fd pinned{bpf_obj_get(pin.c_str())};
  if (pinned.fd >= 0) {
    auto current = Describe(pinned.fd, ifname, pin);
    if (current.ok() && current->ifindex == ifindex && current->hook == hook) {
      if (bpf_link_update(pinned.fd, prog_fd, nullptr) != 0) {
        return ErrnoError(errno, rampart::StrCat("update pinned XDP link ", pin));
      }
      return Describe(pinned.fd, ifname, pin);
    }
    // A stale pin (device gone or recreated) or a different hook: replace it.
    unlink(pin.c_str());
  }

  auto link = CreateLink(prog_fd, ifindex, hook, ifname);
  if (!link.ok() && auto_hook && hook == IngressHook::kXdpNative) {
    link = CreateLink(prog_fd, ifindex, IngressHook::kXdpGeneric, ifname);  // driver without native XDP
  }
  if (!link.ok()) return link.status();
  Fd owned{*link};
  if (bpf_obj_pin(owned.fd, pin.c_str()) != 0) return ErrnoError(errno, "pin XDP link at " + pin);
  return Describe(owned.fd, ifname, pin);
}

absl::Status DetachXdp(const std::string& pin_dir, const std::string& ifname) {
  const std::string pin = LinkPin(pin_dir, ifname);
  Fd pinned{bpf_obj_get(pin.c_str())};
  if (pinned.fd < 0) return errno == ENOENT ? absl::OkStatus() : ErrnoError(errno, "open pinned link " + pin);
  // Detach explicitly: another process may still hold an fd to the link.
  if (bpf_link_detach(pinned.fd) != 0 && errno != ENOLINK) return ErrnoError(errno, "detach XDP link " + pin);
  if (unlink(pin.c_str()) != 0) return ErrnoError(errno, "unpin " + pin);
  return absl::OkStatus();
}

std::vector<XdpAttachment> ListXdpAttachments(const std::string& pin_dir) {
  std::vector<XdpAttachment> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(pin_dir + "/links", ec)) {
    std::string name = entry.path().filename();
    if (!absl::StartsWith(name, kLinkPrefix)) continue;
    Fd fd{bpf_obj_get(entry.path().c_str())};
    if (fd.fd < 0) continue;
    auto described = Describe(fd.fd, name.substr(sizeof(kLinkPrefix) - 1), entry.path());
    if (described.ok()) out.push_back(*described);
  }
  return out;
}

}  // namespace rampart::datapath

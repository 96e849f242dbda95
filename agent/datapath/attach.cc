#include "agent/datapath/attach.h"

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

#include "agent/common/errors.h"
#include "agent/common/strings.h"

namespace rampart::datapath {
namespace {

constexpr char kLinkPrefix[] = "xdp_";

// bpffs refuses names with a dot (VLAN devices such as eth0.100 have one):
// pins spell it %2E.
std::string PinName(const std::string& ifname) {
  std::string out;
  for (char c : ifname) out += c == '.' ? std::string("%2E") : std::string(1, c);
  return out;
}

std::string IfName(const std::string& pin_name) {
  std::string out;
  for (size_t i = 0; i < pin_name.size(); ++i) {
    if (pin_name.compare(i, 3, "%2E") == 0) {
      out += '.';
      i += 2;
    } else {
      out += pin_name[i];
    }
  }
  return out;
}

std::string LinkPin(const std::string& pin_dir, const std::string& ifname) {
  return rampart::StrCat(pin_dir, "/links/", kLinkPrefix, PinName(ifname));
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

// The XDP hook `prog_id` is attached at on ifindex, if any.
std::optional<IngressHook> XdpHookOf(uint32_t ifindex, uint32_t prog_id) {
  LIBBPF_OPTS(bpf_xdp_query_opts, query);
  if (bpf_xdp_query(static_cast<int>(ifindex), 0, &query) != 0) return std::nullopt;
  if (query.skb_prog_id == prog_id) return IngressHook::kXdpGeneric;
  if (query.drv_prog_id == prog_id) return IngressHook::kXdpNative;
  return std::nullopt;
}

absl::StatusOr<Attachment> DescribeXdp(int link_fd, const std::string& ifname, const std::string& pin) {
  bpf_link_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(link_fd, &info, &len) != 0) return ErrnoError(errno, "read link info of " + pin);
  auto hook = XdpHookOf(info.xdp.ifindex, info.prog_id);
  if (!hook) return absl::FailedPreconditionError(rampart::StrCat("link ", pin, " is no longer attached"));
  return Attachment{.ifname = ifname, .ifindex = info.xdp.ifindex, .direction = "ingress", .hook = HookName(*hook),
                    .program_id = info.prog_id, .link_id = info.id, .pin = pin};
}

absl::StatusOr<int> CreateXdpLink(int prog_fd, uint32_t ifindex, IngressHook hook, const std::string& ifname) {
  LIBBPF_OPTS(bpf_link_create_opts, opts);
  opts.flags = hook == IngressHook::kXdpGeneric ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
  int fd = bpf_link_create(prog_fd, static_cast<int>(ifindex), BPF_XDP, &opts);
  if (fd < 0) return ErrnoError(errno, rampart::StrCat("attach XDP (", HookName(hook), ") to ", ifname));
  return fd;
}

absl::StatusOr<Attachment> AttachXdp(const std::string& pin_dir, const std::string& ifname, uint32_t ifindex,
                                     int prog_fd, IngressHook hook, bool fallback_to_generic) {
  const std::string pin = LinkPin(pin_dir, ifname);
  Fd pinned{bpf_obj_get(pin.c_str())};
  if (pinned.fd >= 0) {
    auto current = DescribeXdp(pinned.fd, ifname, pin);
    if (current.ok() && current->ifindex == ifindex && current->hook == HookName(hook)) {
      if (bpf_link_update(pinned.fd, prog_fd, nullptr) != 0) {
        return ErrnoError(errno, rampart::StrCat("update pinned XDP link ", pin));
      }
      return DescribeXdp(pinned.fd, ifname, pin);
    }
    // A stale pin (device gone or recreated) or another XDP mode: replace it.
    if (current.ok()) bpf_link_detach(pinned.fd);
    unlink(pin.c_str());
  }
  auto link = CreateXdpLink(prog_fd, ifindex, hook, ifname);
  if (!link.ok() && fallback_to_generic) link = CreateXdpLink(prog_fd, ifindex, IngressHook::kXdpGeneric, ifname);
  if (!link.ok()) return link.status();
  Fd owned{*link};
  if (bpf_obj_pin(owned.fd, pin.c_str()) != 0) {
    bpf_link_detach(owned.fd);
    return ErrnoError(errno, "pin XDP link at " + pin);
  }
  return DescribeXdp(owned.fd, ifname, pin);
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

const char* TcSide(bpf_tc_attach_point point) { return point == BPF_TC_INGRESS ? "ingress" : "egress"; }

// TC filters need no pin to stay attached; Rampart pins the program at
// PIN_DIR/tc/SIDE_IFNAME as a record of where it attached, so listing and
// detaching never have to probe devices that carry no clsact qdisc.
std::string TcMarker(const std::string& pin_dir, const std::string& ifname, bpf_tc_attach_point point) {
  return rampart::StrCat(pin_dir, "/tc/", TcSide(point), "_", PinName(ifname));
}

// The id of Rampart's TC program on that side of the device, 0 when none.
uint32_t TcProgramId(uint32_t ifindex, bpf_tc_attach_point point) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = point);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
  if (bpf_tc_query(&hook, &opts) != 0) return 0;
  return opts.prog_id;
}

absl::StatusOr<Attachment> AttachTc(const std::string& pin_dir, const std::string& ifname, uint32_t ifindex,
                                    int prog_fd, bpf_tc_attach_point point) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = point);
  if (int err = bpf_tc_hook_create(&hook); err != 0 && err != -EEXIST) {
    return ErrnoError(err, rampart::StrCat("create clsact qdisc on ", ifname));
  }
  // Replace in place: the old program keeps enforcing until the new one is in.
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE, .handle = kTcHandle,
              .priority = kTcPriority);
  if (int err = bpf_tc_attach(&hook, &opts); err != 0) {
    return ErrnoError(err, rampart::StrCat("attach TC ", TcSide(point), " program to ", ifname));
  }
  const std::string marker = TcMarker(pin_dir, ifname, point);
  unlink(marker.c_str());
  if (bpf_obj_pin(prog_fd, marker.c_str()) != 0) return ErrnoError(errno, "pin TC program at " + marker);
  return Attachment{.ifname = ifname, .ifindex = ifindex, .direction = TcSide(point), .hook = "tc",
                    .program_id = opts.prog_id, .link_id = 0, .pin = ""};
}

absl::Status DetachTc(const std::string& pin_dir, const std::string& ifname, uint32_t ifindex,
                      bpf_tc_attach_point point) {
  const std::string marker = TcMarker(pin_dir, ifname, point);
  if (access(marker.c_str(), F_OK) != 0) return absl::OkStatus();
  unlink(marker.c_str());
  if (ifindex == 0 || TcProgramId(ifindex, point) == 0) return absl::OkStatus();
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = point);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
  if (int err = bpf_tc_detach(&hook, &opts); err != 0 && err != -ENOENT) {
    return ErrnoError(err, rampart::StrCat("detach TC ", TcSide(point), " program from ", ifname));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> IfIndex(const std::string& ifname, const char* action) {
  const uint32_t ifindex = if_nametoindex(ifname.c_str());
  if (ifindex == 0) return ErrnoError(errno, rampart::StrCat(action, " ", ifname));
  return ifindex;
}

}  // namespace

absl::StatusOr<IngressHook> ParseIngressHook(const std::string& text) {
  if (text == "auto") return IngressHook::kAuto;
  if (text == "xdp-native") return IngressHook::kXdpNative;
  if (text == "xdp-generic") return IngressHook::kXdpGeneric;
  if (text == "tc") return IngressHook::kTc;
  return absl::InvalidArgumentError(
      rampart::StrCat("ingress hook \"", text, "\" is not one of auto, xdp-native, xdp-generic, tc"));
}

std::string HookName(IngressHook hook) {
  switch (hook) {
    case IngressHook::kAuto: return "auto";
    case IngressHook::kXdpNative: return "xdp-native";
    case IngressHook::kXdpGeneric: return "xdp-generic";
    case IngressHook::kTc: return "tc";
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

absl::StatusOr<Attachment> AttachIngress(const std::string& pin_dir, const std::string& ifname,
                                         const IngressPrograms& programs, IngressHook requested) {
  auto ifindex = IfIndex(ifname, "attach ingress program to");
  if (!ifindex.ok()) return ifindex.status();
  const bool auto_hook = requested == IngressHook::kAuto;
  const IngressHook hook = auto_hook ? ChooseHook(DeviceDriver(ifname)) : requested;

  absl::StatusOr<Attachment> attached =
      hook == IngressHook::kTc
          ? AttachTc(pin_dir, ifname, *ifindex, programs.tc_fd, BPF_TC_INGRESS)
          : AttachXdp(pin_dir, ifname, *ifindex, programs.xdp_fd, hook,
                      /*fallback_to_generic=*/auto_hook && hook == IngressHook::kXdpNative);
  if (!attached.ok()) return attached;
  // One ingress hook per device: the new one is in force, drop the other.
  absl::Status other =
      attached->hook == "tc" ? DetachXdp(pin_dir, ifname) : DetachTc(pin_dir, ifname, *ifindex, BPF_TC_INGRESS);
  if (!other.ok()) return other;
  return attached;
}

absl::StatusOr<Attachment> AttachEgress(const std::string& pin_dir, const std::string& ifname, int prog_fd) {
  auto ifindex = IfIndex(ifname, "attach egress program to");
  if (!ifindex.ok()) return ifindex.status();
  return AttachTc(pin_dir, ifname, *ifindex, prog_fd, BPF_TC_EGRESS);
}

absl::Status DetachAll(const std::string& pin_dir, const std::string& ifname) {
  RAMPART_RETURN_IF_ERROR(DetachXdp(pin_dir, ifname));
  const uint32_t ifindex = if_nametoindex(ifname.c_str());  // 0: gone, and its filters with it
  RAMPART_RETURN_IF_ERROR(DetachTc(pin_dir, ifname, ifindex, BPF_TC_INGRESS));
  return DetachTc(pin_dir, ifname, ifindex, BPF_TC_EGRESS);
}

std::vector<Attachment> ListAttachments(const std::string& pin_dir) {
  std::vector<Attachment> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(pin_dir + "/links", ec)) {
    std::string name = entry.path().filename();
    if (name.rfind(kLinkPrefix, 0) != 0) continue;
    Fd fd{bpf_obj_get(entry.path().c_str())};
    if (fd.fd < 0) continue;
    auto described = DescribeXdp(fd.fd, IfName(name.substr(sizeof(kLinkPrefix) - 1)), entry.path());
    if (described.ok()) out.push_back(*described);
  }
  for (const auto& entry : std::filesystem::directory_iterator(pin_dir + "/tc", ec)) {
    const std::string name = entry.path().filename();
    const auto sep = name.find('_');
    if (sep == std::string::npos) continue;
    const std::string side = name.substr(0, sep), ifname = IfName(name.substr(sep + 1));
    const bpf_tc_attach_point point = side == "ingress" ? BPF_TC_INGRESS : BPF_TC_EGRESS;
    const uint32_t ifindex = if_nametoindex(ifname.c_str());
    if (ifindex == 0) continue;
    if (uint32_t id = TcProgramId(ifindex, point)) {
      out.push_back(Attachment{.ifname = ifname, .ifindex = ifindex, .direction = TcSide(point), .hook = "tc",
                               .program_id = id, .link_id = 0, .pin = ""});
    }
  }
  return out;
}

}  // namespace rampart::datapath

// Attaches the ingress program to a device at XDP through a bpf_link pinned at
// PIN_DIR/links/xdp_IFNAME, so the program stays attached after the agent
// exits. A restarted agent adopts the pinned link and swaps in its freshly
// loaded program with bpf_link_update, with no moment unenforced.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace rampart::datapath {

enum class IngressHook {
  kAuto,        // see ChooseHook
  kXdpNative,   // driver mode
  kXdpGeneric,  // skb mode
};

absl::StatusOr<IngressHook> ParseIngressHook(const std::string& text);  // auto|xdp-native|xdp-generic
std::string HookName(IngressHook hook);

// The `auto` rule: generic XDP on virtual devices (veth, virtio_net, tun,
// bridges, tunnels...), where native XDP costs GRO and offloads; native XDP on
// other drivers. `driver` is the ethtool driver name ("" when unknown).
IngressHook ChooseHook(const std::string& driver);

// ethtool's driver name of a device, "" when the device has none.
std::string DeviceDriver(const std::string& ifname);

struct XdpAttachment {
  std::string ifname;
  uint32_t ifindex = 0;
  IngressHook hook = IngressHook::kXdpGeneric;
  uint32_t program_id = 0;
  uint32_t link_id = 0;
  std::string pin;
};

// Attaches `prog_fd` to `ifname`, adopting a pinned link when one exists for
// the same device and hook. Returns the resolved attachment.
absl::StatusOr<XdpAttachment> AttachXdp(const std::string& pin_dir, const std::string& ifname, int prog_fd,
                                        IngressHook requested);

// Unpins the link of `ifname`; the kernel detaches it once no fd holds it.
absl::Status DetachXdp(const std::string& pin_dir, const std::string& ifname);

// Every pinned XDP link under pin_dir, with what the kernel says about it.
std::vector<XdpAttachment> ListXdpAttachments(const std::string& pin_dir);

}  // namespace rampart::datapath

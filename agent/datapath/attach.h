// Attaching the datapath programs to devices.
//
// Ingress runs at one of three hooks per device, all sharing the same policy
// logic and maps: native XDP, generic XDP, or TC ingress. XDP attaches through
// a bpf_link pinned at PIN_DIR/links/xdp_IFNAME (a dot in IFNAME spelled
// %2E: bpffs refuses dots), so it stays after the agent
// exits; a restarted agent adopts the pinned link and swaps in its freshly
// loaded program with bpf_link_update. TC programs are clsact filters (handle
// kTcHandle, priority kTcPriority) that the kernel keeps without pins; their
// programs are pinned at PIN_DIR/tc/SIDE_IFNAME as a record of where they are,
// and a restarted agent replaces them in place (BPF_TC_F_REPLACE). Egress always
// runs at TC egress, where the sending socket's cgroup is known.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace rampart::datapath {

inline constexpr uint32_t kTcHandle = 0x5250;  // "RP"
inline constexpr uint32_t kTcPriority = 1;

enum class IngressHook {
  kAuto,        // see ChooseHook
  kXdpNative,   // driver mode
  kXdpGeneric,  // skb mode
  kTc,          // clsact ingress
};

absl::StatusOr<IngressHook> ParseIngressHook(const std::string& text);  // auto|xdp-native|xdp-generic|tc
std::string HookName(IngressHook hook);

// The `auto` rule: generic XDP on virtual devices (veth, virtio_net, tun,
// bridges, tunnels...), where native XDP costs GRO and offloads; native XDP on
// other drivers. `driver` is the ethtool driver name ("" when unknown).
IngressHook ChooseHook(const std::string& driver);

// ethtool's driver name of a device, "" when the device has none.
std::string DeviceDriver(const std::string& ifname);

struct Attachment {
  std::string ifname;
  uint32_t ifindex = 0;
  std::string direction;  // "ingress" or "egress"
  std::string hook;       // "xdp-native", "xdp-generic", "tc"
  uint32_t program_id = 0;
  uint32_t link_id = 0;   // XDP only
  std::string pin;        // XDP only
};

struct IngressPrograms {
  int xdp_fd = -1;
  int tc_fd = -1;
};

// Attaches ingress enforcement to `ifname` at the requested hook (adopting
// what is there), then removes Rampart's program from the device's other
// ingress hooks. Returns the attachment in force.
absl::StatusOr<Attachment> AttachIngress(const std::string& pin_dir, const std::string& ifname,
                                         const IngressPrograms& programs, IngressHook requested);

// Attaches (or replaces) the egress program at TC egress of `ifname`.
absl::StatusOr<Attachment> AttachEgress(const std::string& pin_dir, const std::string& ifname, int prog_fd);

// Removes every Rampart program from `ifname`, both directions.
absl::Status DetachAll(const std::string& pin_dir, const std::string& ifname);

// Every Rampart program attached in this network namespace, from the kernel:
// pinned XDP links, and the TC filters recorded under pin_dir that are still
// attached.
std::vector<Attachment> ListAttachments(const std::string& pin_dir);

}  // namespace rampart::datapath

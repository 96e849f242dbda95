// Value types of the policy language: address prefixes, port ranges and
// quantities, parsed from their policy spelling. Pure and allocation-light;
// used by the loader, the validator, the compiler and the tests.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace rampart::policy {

// An IPv4 or IPv6 prefix stored in the IPv4-mapped IPv6 space the datapath uses:
// 10.0.0.0/8 is ::ffff:10.0.0.0/104. Host bits are zero.
struct IpPrefix {
  std::array<uint8_t, 16> addr{};
  uint8_t mapped_len = 0;  // 0..128, in the mapped space
  bool ipv4 = false;

  // Accepts "a.b.c.d/n", "a.b.c.d" (/32), "x::y/n" and "x::y" (/128). Refuses
  // set host bits ("10.0.0.1/8"): they usually mean a typo, and silently
  // masking them would widen the rule.
  static absl::StatusOr<IpPrefix> Parse(std::string_view text);

  // The prefix length in the address's own family (8 for 10.0.0.0/8).
  int FamilyLength() const { return ipv4 ? mapped_len - 96 : mapped_len; }
  bool Contains(const IpPrefix& other) const;
  std::string ToString() const;
  bool operator==(const IpPrefix&) const = default;
  auto operator<=>(const IpPrefix&) const = default;
};

// The IPv4-mapped block ::ffff:0:0/96.
IpPrefix Ipv4MappedBlock();

// "tcp/443", "udp/53", "tcp/8443-8445". Ports are 1..65535; first <= last.
struct PortRange {
  uint8_t protocol = 0;  // IPPROTO_TCP or IPPROTO_UDP
  uint16_t first = 0;
  uint16_t last = 0;

  static absl::StatusOr<PortRange> Parse(std::string_view text);
  std::string ToString() const;
  bool operator==(const PortRange&) const = default;
  auto operator<=>(const PortRange&) const = default;
};

// A byte count as rate limits spell it: plain digits ("1500"), or digits and a
// unit: K, M, G, T (x1000) or Ki, Mi, Gi, Ti (x1024), so "10Mi" is 10485760 and
// "500K" 500000. Refuses signs, fractions ("1.5Mi"), other units ("10Mb") and
// values above 2^64-1; ranges are the validator's business (0 parses as 0).
absl::StatusOr<uint64_t> ParseQuantity(std::string_view text);

// A duration as policies spell it: digits and a unit, s, m, h or d ("10m" is
// 600). Returns seconds; at most 2^32 seconds.
absl::StatusOr<uint64_t> ParseDurationSeconds(std::string_view text);

}  // namespace rampart::policy

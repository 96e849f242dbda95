#include "agent/policy/types.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cctype>
#include <charconv>
#include <cstring>
#include <limits>

#include "absl/status/status.h"
#include "agent/common/strings.h"

namespace rampart::policy {
namespace {

absl::StatusOr<int> ParseNumber(std::string_view text, int min, int max, std::string_view what) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return absl::InvalidArgumentError(rampart::StrCat(what, " \"", text, "\" is not a number"));
  }
  if (value < min || value > max) {
    return absl::InvalidArgumentError(
        rampart::StrCat(what, " ", value, " is out of range ", min, "-", max));
  }
  return value;
}

void MaskHostBits(std::array<uint8_t, 16>& addr, int len) {
  for (int bit = len; bit < 128; ++bit) addr[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
}

}  // namespace

absl::StatusOr<IpPrefix> IpPrefix::Parse(std::string_view text) {
  std::string_view address = text;
  std::string_view length;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    address = text.substr(0, slash);
    length = text.substr(slash + 1);
    if (length.empty()) return absl::InvalidArgumentError(rampart::StrCat("bad CIDR \"", text, "\": empty prefix length"));
  }
  std::string addr_str(address);
  IpPrefix prefix;
  in_addr v4{};
  in6_addr v6{};
  int family_max;
  if (inet_pton(AF_INET, addr_str.c_str(), &v4) == 1) {
    prefix.ipv4 = true;
    prefix.addr[10] = prefix.addr[11] = 0xff;
    std::memcpy(prefix.addr.data() + 12, &v4, 4);
    family_max = 32;
  } else if (inet_pton(AF_INET6, addr_str.c_str(), &v6) == 1) {
    std::memcpy(prefix.addr.data(), &v6, 16);
    family_max = 128;
    // The datapath keeps IPv4 in ::ffff:0:0/96 and drops IPv6 packets from
    // it, so a prefix there could only ever match IPv4: make the operator say so.
    IpPrefix inside = prefix;
    inside.mapped_len = 128;
    if (Ipv4MappedBlock().Contains(inside)) {
      return absl::InvalidArgumentError(rampart::StrCat("bad CIDR \"", text,
                                                        "\": an IPv4-mapped IPv6 prefix; write it as an IPv4 prefix"));
    }
  } else {
    return absl::InvalidArgumentError(rampart::StrCat("bad CIDR \"", text, "\": not an IPv4 or IPv6 address"));
  }
  int len = family_max;
  if (!length.empty()) {
    auto parsed = ParseNumber(length, 0, family_max, "prefix length");
    if (!parsed.ok()) return absl::InvalidArgumentError(rampart::StrCat("bad CIDR \"", text, "\": ", parsed.status().message()));
    len = *parsed;
  }
  prefix.mapped_len = static_cast<uint8_t>(prefix.ipv4 ? len + 96 : len);
  auto masked = prefix.addr;
  MaskHostBits(masked, prefix.mapped_len);
  if (masked != prefix.addr) {
    IpPrefix suggestion = prefix;
    suggestion.addr = masked;
    return absl::InvalidArgumentError(rampart::StrCat("bad CIDR \"", text, "\": host bits are set (did you mean ",
                                                   suggestion.ToString(), "?)"));
  }
  return prefix;
}

bool IpPrefix::Contains(const IpPrefix& other) const {
  if (other.mapped_len < mapped_len) return false;
  auto masked = other.addr;
  MaskHostBits(masked, mapped_len);
  return masked == addr;
}

std::string IpPrefix::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  if (ipv4) {
    inet_ntop(AF_INET, addr.data() + 12, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, addr.data(), buf, sizeof(buf));
  }
  return rampart::StrCat(buf, "/", FamilyLength());
}

IpPrefix Ipv4MappedBlock() {
  IpPrefix block;
  block.addr[10] = block.addr[11] = 0xff;
  block.mapped_len = 96;
  return block;
}

absl::StatusOr<PortRange> PortRange::Parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    return absl::InvalidArgumentError(
        rampart::StrCat("bad port \"", text, "\": expected PROTO/PORT or PROTO/FIRST-LAST, e.g. tcp/443"));
  }
  PortRange range;
  std::string_view proto = text.substr(0, slash);
  if (proto == "tcp") {
    range.protocol = IPPROTO_TCP;
  } else if (proto == "udp") {
    range.protocol = IPPROTO_UDP;
  } else {
    return absl::InvalidArgumentError(rampart::StrCat("bad port \"", text, "\": protocol \"", proto, "\" is not tcp or udp"));
  }
  std::string_view ports = text.substr(slash + 1);
  std::string_view first = ports, last = ports;
  if (auto dash = ports.find('-'); dash != std::string_view::npos) {
    first = ports.substr(0, dash);
    last = ports.substr(dash + 1);
  }
  auto lo = ParseNumber(first, 1, 65535, "port");
  if (!lo.ok()) return absl::InvalidArgumentError(rampart::StrCat("bad port \"", text, "\": ", lo.status().message()));
  auto hi = ParseNumber(last, 1, 65535, "port");
  if (!hi.ok()) return absl::InvalidArgumentError(rampart::StrCat("bad port \"", text, "\": ", hi.status().message()));
  if (*lo > *hi) {
    return absl::InvalidArgumentError(rampart::StrCat("bad port \"", text, "\": range starts after it ends"));
  }
  range.first = static_cast<uint16_t>(*lo);
  range.last = static_cast<uint16_t>(*hi);
  return range;
}

std::string PortRange::ToString() const {
  std::string proto = protocol == IPPROTO_TCP ? "tcp" : protocol == IPPROTO_UDP ? "udp" : rampart::StrCat(protocol);
  if (first == last) return rampart::StrCat(proto, "/", first);
  return rampart::StrCat(proto, "/", first, "-", last);
}

absl::StatusOr<uint64_t> ParseQuantity(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(rampart::StrCat("bad quantity \"", text, "\": ", why));
  };
  static constexpr std::string_view kUnits = "K, M, G or T (x1000), or Ki, Mi, Gi or Ti (x1024)";
  if (text.empty()) return bad("is empty");
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) {
    if (text.front() == '-') return bad("must not be negative");
    return bad(rampart::StrCat("expected a whole number, optionally followed by ", kUnits, ", e.g. 10Mi"));
  }
  std::string_view unit = text.substr(digits);
  if (!unit.empty() && (unit.front() == '.' || unit.front() == ',')) {
    return bad("fractions are not allowed: use a smaller unit (1536Ki, not 1.5Mi)");
  }
  struct Unit {
    std::string_view name;
    uint64_t factor;
  };
  static constexpr Unit kFactors[] = {
      {"", 1},
      {"K", 1000},
      {"M", 1000 * 1000},
      {"G", 1000 * 1000 * 1000},
      {"T", uint64_t{1000} * 1000 * 1000 * 1000},
      {"Ki", uint64_t{1} << 10},
      {"Mi", uint64_t{1} << 20},
      {"Gi", uint64_t{1} << 30},
      {"Ti", uint64_t{1} << 40},
  };
  const Unit* found = nullptr;
  for (const Unit& u : kFactors) {
    if (u.name == unit) found = &u;
  }
  if (found == nullptr) {
    std::string message = rampart::StrCat("unknown unit \"", unit, "\": expected ", kUnits);
    for (const Unit& u : kFactors) {
      auto lower = [](char c) { return std::tolower(static_cast<unsigned char>(c)); };
      bool same = !u.name.empty() && u.name.size() == unit.size();
      for (size_t i = 0; same && i < unit.size(); ++i) same = lower(u.name[i]) == lower(unit[i]);
      if (same) message += rampart::StrCat(" (did you mean \"", u.name, "\"?)");
    }
    return bad(message);
  }
  // All digits, so from_chars can only fail by overflowing.
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, value);
  if (ec != std::errc() || value > std::numeric_limits<uint64_t>::max() / found->factor) {
    return bad("too large (more than 18446744073709551615)");
  }
  return value * found->factor;
}

}  // namespace rampart::policy

namespace rampart::policy {

absl::StatusOr<uint64_t> ParseDurationSeconds(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(rampart::StrCat("bad duration \"", text, "\": ", why));
  };
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return bad("expected a whole number and a unit: s, m, h or d (e.g. 10m)");
  std::string_view unit = text.substr(digits);
  uint64_t factor = 0;
  if (unit == "s") {
    factor = 1;
  } else if (unit == "m") {
    factor = 60;
  } else if (unit == "h") {
    factor = 3600;
  } else if (unit == "d") {
    factor = 86400;
  } else {
    return bad(unit.empty() ? "missing unit: s, m, h or d (e.g. 10m)"
                            : rampart::StrCat("unknown unit \"", unit, "\": expected s, m, h or d"));
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, value);
  if (ec != std::errc() || value > (uint64_t{1} << 32) / factor) return bad("too large");
  return value * factor;
}

}  // namespace rampart::policy

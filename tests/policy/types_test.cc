// IpPrefix, PortRange and ParseQuantity: the value types of the policy language.
#include "agent/policy/types.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <string>

namespace rampart::policy {
namespace {

IpPrefix MustParsePrefix(const std::string& text) {
  auto prefix = IpPrefix::Parse(text);
  EXPECT_TRUE(prefix.ok()) << text << ": " << prefix.status();
  return prefix.ok() ? *prefix : IpPrefix{};
}

std::string PrefixError(const std::string& text) {
  auto prefix = IpPrefix::Parse(text);
  EXPECT_FALSE(prefix.ok()) << text << " parsed as " << (prefix.ok() ? prefix->ToString() : "");
  return prefix.ok() ? "" : std::string(prefix.status().message());
}

PortRange MustParsePort(const std::string& text) {
  auto range = PortRange::Parse(text);
  EXPECT_TRUE(range.ok()) << text << ": " << range.status();
  return range.ok() ? *range : PortRange{};
}

std::string PortError(const std::string& text) {
  auto range = PortRange::Parse(text);
  EXPECT_FALSE(range.ok()) << text << " parsed as " << (range.ok() ? range->ToString() : "");
  return range.ok() ? "" : std::string(range.status().message());
}

uint64_t MustParseQuantity(const std::string& text) {
  auto value = ParseQuantity(text);
  EXPECT_TRUE(value.ok()) << text << ": " << value.status();
  return value.ok() ? *value : 0;
}

std::string QuantityError(const std::string& text) {
  auto value = ParseQuantity(text);
  EXPECT_FALSE(value.ok()) << text << " parsed as " << (value.ok() ? *value : 0);
  return value.ok() ? "" : std::string(value.status().message());
}

// --- IpPrefix: parsing ---

TEST(IpPrefixTest, Ipv4PrefixIsStoredInTheIpv4MappedSpace) {
  IpPrefix p = MustParsePrefix("10.0.0.0/8");
  EXPECT_TRUE(p.ipv4);
  EXPECT_EQ(p.mapped_len, 104);
  EXPECT_EQ(p.FamilyLength(), 8);
  std::array<uint8_t, 16> want{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 0};
  EXPECT_EQ(p.addr, want);
}

TEST(IpPrefixTest, BareIpv4AddressIsASlash32) {
  IpPrefix p = MustParsePrefix("192.0.2.7");
  EXPECT_EQ(p.FamilyLength(), 32);
  EXPECT_EQ(p.mapped_len, 128);
  EXPECT_EQ(p.ToString(), "192.0.2.7/32");
}

TEST(IpPrefixTest, Ipv6PrefixKeepsItsOwnLength) {
  IpPrefix p = MustParsePrefix("2001:db8::/32");
  EXPECT_FALSE(p.ipv4);
  EXPECT_EQ(p.mapped_len, 32);
  EXPECT_EQ(p.FamilyLength(), 32);
  std::array<uint8_t, 16> want{0x20, 0x01, 0x0d, 0xb8};
  EXPECT_EQ(p.addr, want);
}

TEST(IpPrefixTest, BareIpv6AddressIsASlash128) {
  EXPECT_EQ(MustParsePrefix("2001:db8::1").ToString(), "2001:db8::1/128");
}

TEST(IpPrefixTest, Ipv4DefaultRouteIsTheWholeMappedBlock) {
  IpPrefix any4 = MustParsePrefix("0.0.0.0/0");
  EXPECT_EQ(any4.mapped_len, 96);
  EXPECT_EQ(any4.addr, Ipv4MappedBlock().addr);
  EXPECT_EQ(any4.mapped_len, Ipv4MappedBlock().mapped_len);
}

// IPv4 lives in ::ffff:0:0/96 in the datapath, which drops IPv6 packets from
// that block: an IPv6 prefix there could only match IPv4, so it must be spelled as IPv4.
TEST(IpPrefixTest, RefusesIpv4MappedIpv6Prefixes) {
  EXPECT_EQ(PrefixError("::ffff:10.0.0.0/104"),
            R"(bad CIDR "::ffff:10.0.0.0/104": an IPv4-mapped IPv6 prefix; write it as an IPv4 prefix)");
  EXPECT_NE(PrefixError("::ffff:0:0/96"), "");
  EXPECT_NE(PrefixError("::ffff:1.2.3.4"), "");
}

TEST(IpPrefixTest, PrefixesThatCoverTheMappedBlockAreStillIpv6) {
  IpPrefix all = MustParsePrefix("::/0");
  EXPECT_FALSE(all.ipv4);
  EXPECT_TRUE(all.Contains(Ipv4MappedBlock()));
}

TEST(IpPrefixTest, RefusesAnInvalidIpv4Address) {
  EXPECT_EQ(PrefixError("10.0.0.300/8"), R"(bad CIDR "10.0.0.300/8": not an IPv4 or IPv6 address)");
}

TEST(IpPrefixTest, RefusesAnInvalidIpv6Address) {
  EXPECT_EQ(PrefixError("2001:db8::g/32"), R"(bad CIDR "2001:db8::g/32": not an IPv4 or IPv6 address)");
}

TEST(IpPrefixTest, RefusesIpv4HostBitsAndSuggestsTheNetwork) {
  EXPECT_EQ(PrefixError("10.0.0.1/8"), R"(bad CIDR "10.0.0.1/8": host bits are set (did you mean 10.0.0.0/8?))");
}

TEST(IpPrefixTest, RefusesIpv6HostBitsAndSuggestsTheNetwork) {
  EXPECT_EQ(PrefixError("2001:db8::1/32"),
            R"(bad CIDR "2001:db8::1/32": host bits are set (did you mean 2001:db8::/32?))");
}

TEST(IpPrefixTest, RefusesPrefixLengthBeyondTheFamily) {
  EXPECT_EQ(PrefixError("10.0.0.0/33"), R"(bad CIDR "10.0.0.0/33": prefix length 33 is out of range 0-32)");
  EXPECT_EQ(PrefixError("2001:db8::/129"), R"(bad CIDR "2001:db8::/129": prefix length 129 is out of range 0-128)");
}

TEST(IpPrefixTest, RefusesEmptyOrNonNumericPrefixLength) {
  EXPECT_EQ(PrefixError("10.0.0.0/"), R"(bad CIDR "10.0.0.0/": empty prefix length)");
  EXPECT_EQ(PrefixError("10.0.0.0/x"), R"(bad CIDR "10.0.0.0/x": prefix length "x" is not a number)");
}

TEST(IpPrefixTest, RefusesEmptyText) { EXPECT_EQ(PrefixError(""), R"(bad CIDR "": not an IPv4 or IPv6 address)"); }

// --- IpPrefix: Contains and ToString ---

TEST(IpPrefixTest, ContainsItselfAndLongerPrefixesInside) {
  IpPrefix net = MustParsePrefix("10.0.0.0/8");
  EXPECT_TRUE(net.Contains(net));
  EXPECT_TRUE(net.Contains(MustParsePrefix("10.1.0.0/16")));
  EXPECT_TRUE(net.Contains(MustParsePrefix("10.255.255.255")));
}

TEST(IpPrefixTest, DoesNotContainShorterOrDisjointPrefixes) {
  IpPrefix net = MustParsePrefix("10.0.0.0/8");
  EXPECT_FALSE(net.Contains(MustParsePrefix("10.0.0.0/7")));
  EXPECT_FALSE(net.Contains(MustParsePrefix("11.0.0.0/8")));
}

TEST(IpPrefixTest, Ipv4PrefixDoesNotContainIpv6Prefixes) {
  EXPECT_FALSE(MustParsePrefix("0.0.0.0/0").Contains(MustParsePrefix("2001:db8::/32")));
}

TEST(IpPrefixTest, Ipv6DefaultRouteContainsIpv4PrefixesThroughTheMappedSpace) {
  EXPECT_TRUE(MustParsePrefix("::/0").Contains(MustParsePrefix("10.0.0.0/8")));
}

TEST(IpPrefixTest, Ipv4MappedBlockContainsEveryIpv4PrefixAndNoOtherIpv6) {
  EXPECT_TRUE(Ipv4MappedBlock().Contains(MustParsePrefix("203.0.113.0/24")));
  EXPECT_TRUE(Ipv4MappedBlock().Contains(MustParsePrefix("0.0.0.0/0")));
  EXPECT_FALSE(Ipv4MappedBlock().Contains(MustParsePrefix("2001:db8::/32")));
}

TEST(IpPrefixTest, ToStringUsesTheFamilysOwnSpellingAndLength) {
  EXPECT_EQ(MustParsePrefix("203.0.113.0/24").ToString(), "203.0.113.0/24");
  EXPECT_EQ(MustParsePrefix("2001:0db8:0000::/32").ToString(), "2001:db8::/32");
  EXPECT_EQ(MustParsePrefix("::/0").ToString(), "::/0");
}

TEST(IpPrefixTest, ToStringParsesBackToTheSamePrefix) {
  for (const char* text : {"10.0.0.0/8", "192.0.2.1/32", "0.0.0.0/0", "2001:db8::/32", "fe80::/10", "::1/128"}) {
    IpPrefix p = MustParsePrefix(text);
    EXPECT_EQ(MustParsePrefix(p.ToString()), p) << text;
  }
}

// --- PortRange ---

TEST(PortRangeTest, ParsesASingleTcpPort) {
  PortRange r = MustParsePort("tcp/443");
  EXPECT_EQ(r.protocol, IPPROTO_TCP);
  EXPECT_EQ(r.first, 443);
  EXPECT_EQ(r.last, 443);
}

TEST(PortRangeTest, ParsesAUdpPort) {
  PortRange r = MustParsePort("udp/53");
  EXPECT_EQ(r.protocol, IPPROTO_UDP);
  EXPECT_EQ(r.first, 53);
  EXPECT_EQ(r.last, 53);
}

TEST(PortRangeTest, ParsesAnInclusiveRange) {
  PortRange r = MustParsePort("tcp/8443-8445");
  EXPECT_EQ(r.first, 8443);
  EXPECT_EQ(r.last, 8445);
}

TEST(PortRangeTest, AcceptsTheExtremePorts) {
  PortRange r = MustParsePort("tcp/1-65535");
  EXPECT_EQ(r.first, 1);
  EXPECT_EQ(r.last, 65535);
}

TEST(PortRangeTest, ToStringSpellsSinglePortsAndRanges) {
  EXPECT_EQ(MustParsePort("tcp/443").ToString(), "tcp/443");
  EXPECT_EQ(MustParsePort("udp/53").ToString(), "udp/53");
  EXPECT_EQ(MustParsePort("tcp/8443-8445").ToString(), "tcp/8443-8445");
  EXPECT_EQ(MustParsePort("tcp/80-80").ToString(), "tcp/80");
}

TEST(PortRangeTest, RefusesPortZero) {
  EXPECT_EQ(PortError("tcp/0"), R"(bad port "tcp/0": port 0 is out of range 1-65535)");
}

TEST(PortRangeTest, RefusesPort65536) {
  EXPECT_EQ(PortError("tcp/65536"), R"(bad port "tcp/65536": port 65536 is out of range 1-65535)");
  EXPECT_EQ(PortError("udp/1-65536"), R"(bad port "udp/1-65536": port 65536 is out of range 1-65535)");
}

TEST(PortRangeTest, RefusesAReversedRange) {
  EXPECT_EQ(PortError("tcp/8445-8443"), R"(bad port "tcp/8445-8443": range starts after it ends)");
}

TEST(PortRangeTest, RefusesAnUnknownProtocol) {
  EXPECT_EQ(PortError("sctp/80"), R"(bad port "sctp/80": protocol "sctp" is not tcp or udp)");
}

TEST(PortRangeTest, ProtocolNamesAreLowercase) {
  EXPECT_EQ(PortError("TCP/443"), R"(bad port "TCP/443": protocol "TCP" is not tcp or udp)");
}

TEST(PortRangeTest, RefusesAPortWithoutProtocol) {
  EXPECT_EQ(PortError("443"), R"(bad port "443": expected PROTO/PORT or PROTO/FIRST-LAST, e.g. tcp/443)");
}

TEST(PortRangeTest, RefusesNamedOrMissingPorts) {
  EXPECT_EQ(PortError("tcp/https"), R"(bad port "tcp/https": port "https" is not a number)");
  EXPECT_EQ(PortError("tcp/"), R"(bad port "tcp/": port "" is not a number)");
  EXPECT_EQ(PortError("tcp/80-"), R"(bad port "tcp/80-": port "" is not a number)");
}

// --- ParseQuantity ---

TEST(QuantityTest, PlainDigitsAreBytes) {
  EXPECT_EQ(MustParseQuantity("0"), 0u);
  EXPECT_EQ(MustParseQuantity("1"), 1u);
  EXPECT_EQ(MustParseQuantity("1500"), 1500u);
  EXPECT_EQ(MustParseQuantity("007"), 7u);
  EXPECT_EQ(MustParseQuantity("18446744073709551615"), UINT64_MAX);
}

TEST(QuantityTest, DecimalUnitsArePowersOfAThousand) {
  EXPECT_EQ(MustParseQuantity("500K"), 500'000u);
  EXPECT_EQ(MustParseQuantity("10M"), 10'000'000u);
  EXPECT_EQ(MustParseQuantity("10G"), 10'000'000'000u);
  EXPECT_EQ(MustParseQuantity("2T"), 2'000'000'000'000u);
}

TEST(QuantityTest, BinaryUnitsArePowersOf1024) {
  EXPECT_EQ(MustParseQuantity("1Ki"), 1024u);
  EXPECT_EQ(MustParseQuantity("1Mi"), 1'048'576u);
  EXPECT_EQ(MustParseQuantity("10Mi"), 10'485'760u);
  EXPECT_EQ(MustParseQuantity("3Gi"), 3u << 30);
  EXPECT_EQ(MustParseQuantity("1Ti"), uint64_t{1} << 40);
}

TEST(QuantityTest, LargestValuesWithAUnitStillFit) {
  EXPECT_EQ(MustParseQuantity("16777215Ti"), UINT64_MAX - (uint64_t{1} << 40) + 1);  // 2^64 - 2^40
  EXPECT_EQ(MustParseQuantity("18446744T"), 18'446'744'000'000'000'000u);
}

TEST(QuantityTest, RefusesOtherUnits) {
  EXPECT_EQ(QuantityError("10Mb"),
            R"(bad quantity "10Mb": unknown unit "Mb": expected K, M, G or T (x1000), or Ki, Mi, Gi or Ti (x1024))");
  EXPECT_EQ(QuantityError("10MB"),
            R"(bad quantity "10MB": unknown unit "MB": expected K, M, G or T (x1000), or Ki, Mi, Gi or Ti (x1024))");
  EXPECT_EQ(QuantityError("1 Mi"),
            R"(bad quantity "1 Mi": unknown unit " Mi": expected K, M, G or T (x1000), or Ki, Mi, Gi or Ti (x1024))");
  EXPECT_NE(QuantityError("1P"), "");
  EXPECT_NE(QuantityError("1Pi"), "");
  EXPECT_NE(QuantityError("1KiB"), "");
  EXPECT_NE(QuantityError("1e6"), "");
  EXPECT_NE(QuantityError("0x10"), "");
}

TEST(QuantityTest, UnitsAreCaseSensitiveWithAHint) {
  EXPECT_EQ(
      QuantityError("500k"),
      R"(bad quantity "500k": unknown unit "k": expected K, M, G or T (x1000), or Ki, Mi, Gi or Ti (x1024) (did you mean "K"?))");
  EXPECT_EQ(
      QuantityError("10mi"),
      R"(bad quantity "10mi": unknown unit "mi": expected K, M, G or T (x1000), or Ki, Mi, Gi or Ti (x1024) (did you mean "Mi"?))");
}

TEST(QuantityTest, RefusesNegativeNumbers) {
  EXPECT_EQ(QuantityError("-1"), R"(bad quantity "-1": must not be negative)");
  EXPECT_EQ(QuantityError("-1Mi"), R"(bad quantity "-1Mi": must not be negative)");
}

TEST(QuantityTest, RefusesFractions) {
  EXPECT_EQ(QuantityError("1.5Mi"), R"(bad quantity "1.5Mi": fractions are not allowed: use a smaller unit (1536Ki, not 1.5Mi))");
  EXPECT_NE(QuantityError("1.0"), "");
  EXPECT_NE(QuantityError("1,5K"), "");
}

TEST(QuantityTest, RefusesEmptyTextSignsAndBareUnits) {
  EXPECT_EQ(QuantityError(""), R"(bad quantity "": is empty)");
  const std::string expected = ": expected a whole number, optionally followed by K, M, G or T (x1000), or Ki, Mi, Gi or Ti (x1024), e.g. 10Mi";
  EXPECT_EQ(QuantityError("Mi"), R"(bad quantity "Mi")" + expected);
  EXPECT_EQ(QuantityError("+1"), R"(bad quantity "+1")" + expected);
  EXPECT_EQ(QuantityError(" 1"), R"(bad quantity " 1")" + expected);
  EXPECT_EQ(QuantityError(".5"), R"(bad quantity ".5")" + expected);
}

TEST(QuantityTest, RefusesValuesAbove64Bits) {
  EXPECT_EQ(QuantityError("18446744073709551616"),
            R"(bad quantity "18446744073709551616": too large (more than 18446744073709551615))");
  EXPECT_EQ(QuantityError("16777216Ti"), R"(bad quantity "16777216Ti": too large (more than 18446744073709551615))");
  EXPECT_EQ(QuantityError("18446745T"), R"(bad quantity "18446745T": too large (more than 18446744073709551615))");
  EXPECT_EQ(QuantityError("99999999999999999999999999Ki"),
            R"(bad quantity "99999999999999999999999999Ki": too large (more than 18446744073709551615))");
}

}  // namespace
}  // namespace rampart::policy

// IpAddress formatting: IPv4 is written by hand (the beacon path formats every client's
// address), IPv6 by inet_ntop.
#include "util/net.h"

#include <gtest/gtest.h>

namespace oceanus {
namespace {

TEST(IpAddressTest, FormatsIpv4AtEveryLengthAndIpv6AsInetNtopDoes) {
  const std::pair<std::uint32_t, const char*> v4[] = {
      {0x00000000, "0.0.0.0"},
      {0xffffffff, "255.255.255.255"},
      {0x0a0116c5, "10.1.22.197"},
      {0x7f000001, "127.0.0.1"},
  };
  for (const auto& [bits, text] : v4) {
    const IpAddress ip = IpAddress::FromV4(bits);
    char buf[64];
    EXPECT_EQ(std::string(buf, ip.Format(buf)), text);
    EXPECT_STREQ(buf, text) << "not terminated";
    EXPECT_EQ(ip.ToString(), text);
  }
  std::array<std::uint8_t, 16> v6{};
  v6[0] = 0x20;
  v6[1] = 0x01;
  v6[2] = 0x0d;
  v6[3] = 0xb8;
  v6[15] = 1;
  EXPECT_EQ(IpAddress::FromV6(v6).ToString(), "2001:db8::1");
}

}  // namespace
}  // namespace oceanus

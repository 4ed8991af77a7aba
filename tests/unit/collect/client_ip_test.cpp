#include "collect/client_ip.h"

#include <gtest/gtest.h>

namespace oceanus::collect {
namespace {

IpAddress Ip(const char* s) {
  IpAddress ip;
  EXPECT_TRUE(IpAddress::Parse(s, ip)) << s;
  return ip;
}

std::string Resolve(const char* peer, const char* xff, std::vector<std::string> trusted) {
  return ResolveClientIp(Ip(peer), xff, *NetworkSet::Parse(trusted)).ToString();
}

TEST(ClientIpTest, UntrustedPeerIgnoresForwardingHeaders) {
  EXPECT_EQ(Resolve("203.0.113.9", "1.2.3.4", {"10.0.0.0/8"}), "203.0.113.9");
  EXPECT_EQ(Resolve("203.0.113.9", "1.2.3.4", {}), "203.0.113.9");
}

TEST(ClientIpTest, TrustedPeerYieldsNearestUntrustedHop) {
  // A client forged "6.6.6.6"; the load balancer appended the real client 198.51.100.7.
  EXPECT_EQ(Resolve("10.0.0.2", "6.6.6.6, 198.51.100.7", {"10.0.0.0/8"}), "198.51.100.7");
  // Two trusted proxies in a row.
  EXPECT_EQ(Resolve("10.0.0.2", "198.51.100.7, 10.1.1.1", {"10.0.0.0/8"}), "198.51.100.7");
  // Every hop trusted: the leftmost.
  EXPECT_EQ(Resolve("10.0.0.2", "10.9.9.9, 10.1.1.1", {"10.0.0.0/8"}), "10.9.9.9");
}

TEST(ClientIpTest, GarbageStopsTheWalk) {
  EXPECT_EQ(Resolve("10.0.0.2", "198.51.100.7, unknown", {"10.0.0.0/8"}), "10.0.0.2");
  EXPECT_EQ(Resolve("10.0.0.2", "unknown, 10.1.1.1", {"10.0.0.0/8"}), "10.1.1.1");
}

TEST(ClientIpTest, PortsAndIpv6) {
  EXPECT_EQ(Resolve("10.0.0.2", "198.51.100.7:5555", {"10.0.0.0/8"}), "198.51.100.7");
  EXPECT_EQ(Resolve("::1", "[2001:db8::7]:443", {"::1/128"}), "2001:db8::7");
  EXPECT_EQ(Resolve("::1", "2001:DB8:0:0::7", {"::1"}), "2001:db8::7");
}

TEST(NetworkTest, ContainsAndRejects) {
  auto n = Network::Parse("192.168.0.0/16");
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->Contains(Ip("192.168.4.5")));
  EXPECT_FALSE(n->Contains(Ip("192.169.0.1")));
  EXPECT_FALSE(n->Contains(Ip("::ffff:c0a9:1")));
  EXPECT_FALSE(Network::Parse("10.0.0.0/33").ok());
  EXPECT_FALSE(Network::Parse("nonsense").ok());
  EXPECT_TRUE(Network::Parse("::/0")->Contains(Ip("1.2.3.4")));
}

}  // namespace
}  // namespace oceanus::collect

// IpAddress / Network: thin wrappers over inet_pton/inet_ntop with CIDR matching.
#include "util/net.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <string>

namespace oceanus {

bool IpAddress::Parse(std::string_view text, IpAddress& out) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buf)) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  in_addr v4;
  if (inet_pton(AF_INET, buf, &v4) == 1) {
    out = FromV4(ntohl(v4.s_addr));
    return true;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, buf, &v6) == 1) {
    std::memcpy(out.bytes_.data(), v6.s6_addr, 16);
    return true;
  }
  return false;
}

IpAddress IpAddress::FromV4(std::uint32_t host_order) {
  IpAddress ip;
  ip.bytes_[10] = 0xff;
  ip.bytes_[11] = 0xff;
  ip.bytes_[12] = static_cast<std::uint8_t>(host_order >> 24);
  ip.bytes_[13] = static_cast<std::uint8_t>(host_order >> 16);
  ip.bytes_[14] = static_cast<std::uint8_t>(host_order >> 8);
  ip.bytes_[15] = static_cast<std::uint8_t>(host_order);
  return ip;
}

IpAddress IpAddress::FromV6(const std::array<std::uint8_t, 16>& bytes) {
  IpAddress ip;
  ip.bytes_ = bytes;
  return ip;
}

bool IpAddress::is_v4() const {
  static constexpr std::uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(bytes_.data(), kPrefix, 12) == 0;
}

std::size_t IpAddress::Format(char* out) const {
  if (is_v4()) {
    // By hand: glibc's inet_ntop formats IPv4 with sprintf, which shows in the beacon path.
    char* p = out;
    for (int i = 12; i < 16; ++i) {
      if (i > 12) *p++ = '.';
      p = std::to_chars(p, p + 3, bytes_[i]).ptr;
    }
    *p = '\0';
    return static_cast<std::size_t>(p - out);
  } else {
    inet_ntop(AF_INET6, bytes_.data(), out, INET6_ADDRSTRLEN);
  }
  return std::strlen(out);
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  return std::string(buf, Format(buf));
}

Result<Network> Network::Parse(std::string_view text) {
  Network n;
  const std::size_t slash = text.find('/');
  const std::string_view addr = text.substr(0, slash);
  if (!IpAddress::Parse(addr, n.base_))
    return Status::InvalidArgument("'" + std::string(text) + "' is not an IP network");
  const unsigned max_bits = n.base_.is_v4() ? 32 : 128;
  unsigned bits = max_bits;
  if (slash != std::string_view::npos) {
    const std::string_view b = text.substr(slash + 1);
    if (b.empty() || b.size() > 3)
      return Status::InvalidArgument("bad prefix in '" + std::string(text) + "'");
    bits = 0;
    for (char c : b) {
      if (c < '0' || c > '9')
        return Status::InvalidArgument("bad prefix in '" + std::string(text) + "'");
      bits = bits * 10 + static_cast<unsigned>(c - '0');
    }
    if (bits > max_bits)
      return Status::InvalidArgument("prefix /" + std::to_string(bits) +
                                     " is longer than the address in '" + std::string(text) +
                                     "' (at most /" + std::to_string(max_bits) + ")");
  }
  n.prefix_bits_ = n.base_.is_v4() ? bits + 96 : bits;
  return n;
}

bool Network::Contains(const IpAddress& ip) const {
  const auto& a = ip.bytes();
  const auto& b = base_.bytes();
  unsigned bits = prefix_bits_;
  for (std::size_t i = 0; i < 16 && bits > 0; ++i) {
    const unsigned take = bits >= 8 ? 8 : bits;
    const std::uint8_t mask = static_cast<std::uint8_t>(0xff00u >> take);
    if ((a[i] & mask) != (b[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

Result<NetworkSet> NetworkSet::Parse(const std::vector<std::string>& texts) {
  NetworkSet set;
  for (const auto& t : texts) {
    auto n = Network::Parse(t);
    if (!n.ok()) return n.status();
    set.networks_.push_back(*n);
  }
  return set;
}

bool NetworkSet::Contains(const IpAddress& ip) const {
  for (const auto& n : networks_)
    if (n.Contains(ip)) return true;
  return false;
}

}  // namespace oceanus

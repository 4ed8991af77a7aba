// IP addresses and networks without allocation: parsing, normalised text, CIDR membership.
//
// Used on the hot path to decide whether a peer is a trusted proxy and to normalise `rad`;
// IPv4 addresses are held as IPv4-mapped IPv6 so that one comparison covers both families.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace oceanus {

class IpAddress {
 public:
  IpAddress() = default;
  // Parses dotted IPv4 or textual IPv6 (no brackets, no zone, no port). False if invalid.
  static bool Parse(std::string_view text, IpAddress& out);
  static IpAddress FromV4(std::uint32_t host_order);
  static IpAddress FromV6(const std::array<std::uint8_t, 16>& bytes);

  bool is_v4() const;
  // Canonical text ("10.0.0.1", "2001:db8::1") into `out` (>= 46 bytes); returns the length.
  std::size_t Format(char* out) const;
  std::string ToString() const;
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
  bool operator==(const IpAddress&) const = default;

 private:
  std::array<std::uint8_t, 16> bytes_{};
};

class Network {
 public:
  // "10.0.0.0/8", "::1/128", or a bare address (a /32 or /128).
  static Result<Network> Parse(std::string_view text);
  bool Contains(const IpAddress& ip) const;

 private:
  IpAddress base_;
  unsigned prefix_bits_ = 0;  // over the 128-bit (mapped) form
};

class NetworkSet {
 public:
  NetworkSet() = default;
  static Result<NetworkSet> Parse(const std::vector<std::string>& texts);
  bool Contains(const IpAddress& ip) const;
  bool empty() const { return networks_.empty(); }

 private:
  std::vector<Network> networks_;
};

}  // namespace oceanus

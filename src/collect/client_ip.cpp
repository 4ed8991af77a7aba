// ResolveClientIp; see the header for the rule and why.
#include "collect/client_ip.h"

#include "util/ascii.h"

namespace oceanus::collect {
namespace {

// Accepts "1.2.3.4", "1.2.3.4:5678", "[2001:db8::1]:443", "2001:db8::1".
bool ParseHop(std::string_view hop, IpAddress& out) {
  if (IpAddress::Parse(hop, out)) return true;
  if (!hop.empty() && hop.front() == '[') {
    const auto close = hop.find(']');
    return close != std::string_view::npos && IpAddress::Parse(hop.substr(1, close - 1), out);
  }
  const auto colon = hop.rfind(':');
  return colon != std::string_view::npos && hop.find(':') == colon &&
         IpAddress::Parse(hop.substr(0, colon), out);
}

}  // namespace

IpAddress ResolveClientIp(const IpAddress& peer, std::string_view xff,
                          const NetworkSet& trusted_proxies) {
  IpAddress client = peer;
  if (xff.empty() || !trusted_proxies.Contains(peer)) return client;
  while (!xff.empty()) {
    const auto comma = xff.rfind(',');
    const std::string_view hop =
        TrimOws(comma == std::string_view::npos ? xff : xff.substr(comma + 1));
    xff = comma == std::string_view::npos ? std::string_view() : xff.substr(0, comma);
    if (hop.empty()) continue;  // an empty list element is ignored (RFC 9110 §5.6.1)
    IpAddress ip;
    if (!ParseHop(hop, ip)) break;
    client = ip;
    if (!trusted_proxies.Contains(ip)) break;
  }
  return client;
}

}  // namespace oceanus::collect

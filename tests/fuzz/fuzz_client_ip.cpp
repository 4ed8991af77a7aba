// Fuzzes client address resolution: IpAddress::Parse / Format, Network (CIDR) parsing and
// membership, NetworkSet, and collect::ResolveClientIp over an X-Forwarded-For chain.
// Input: three lines — the peer address, the trusted proxies (comma-separated CIDRs; the ones
// that do not parse are left out), and the X-Forwarded-For value (the rest of the input, any
// bytes). Invariants: no out-of-bounds access; an address that parses formats to text that parses
// back to the same address, and formatting is stable; a network contains its own address and
// any /0 of its family contains every address; the resolved client is the peer itself when the
// peer is not a trusted proxy (a client cannot forge its address through the header), and
// otherwise the peer or an address written in one of the header's hops.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "collect/client_ip.h"
#include "fuzz_check.h"
#include "util/net.h"

namespace {

using oceanus::IpAddress;
using oceanus::Network;
using oceanus::NetworkSet;

std::string_view NextLine(std::string_view& rest) {
  const std::size_t nl = rest.find('\n');
  const std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  return line;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Parsing and formatting agree with each other.
void CheckRoundTrip(const IpAddress& ip) {
  char buf[64];
  std::memset(buf, 'x', sizeof buf);
  const std::size_t n = ip.Format(buf);
  FUZZ_CHECK(n > 0 && n < 46 && buf[n] == '\0', "Format wrote %zu bytes", n);
  const std::string text(buf, n);
  FUZZ_CHECK(ip.ToString() == text, "ToString and Format differ");
  IpAddress back;
  FUZZ_CHECK(IpAddress::Parse(text, back), "formatted address '%s' does not parse", text.c_str());
  FUZZ_CHECK(back == ip, "'%s' parses to another address", text.c_str());
  FUZZ_CHECK(back.ToString() == text, "formatting is not stable for '%s'", text.c_str());
}

// Any reading of a hop that ResolveClientIp could have taken: bare, "[v6]:port", "v4:port".
bool HopNames(std::string_view hop, const IpAddress& ip) {
  IpAddress parsed;
  if (IpAddress::Parse(hop, parsed) && parsed == ip) return true;
  if (!hop.empty() && hop.front() == '[') {
    const std::size_t close = hop.find(']');
    if (close != std::string_view::npos && IpAddress::Parse(hop.substr(1, close - 1), parsed) &&
        parsed == ip)
      return true;
  }
  const std::size_t colon = hop.rfind(':');
  return colon != std::string_view::npos && IpAddress::Parse(hop.substr(0, colon), parsed) &&
         parsed == ip;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view peer_text = NextLine(rest);
  const std::string_view proxies_text = NextLine(rest);
  const std::string_view xff = rest;

  IpAddress peer;
  if (!IpAddress::Parse(peer_text, peer)) {
    // Keep going with a fixed peer, so that the other lines are still fuzzed.
    FUZZ_CHECK(IpAddress::Parse("10.0.0.1", peer), "fixed peer must parse");
  }
  CheckRoundTrip(peer);

  std::vector<std::string> proxies;
  for (std::string_view p = proxies_text; !p.empty();) {
    const std::size_t comma = p.find(',');
    const std::string_view item = Trim(p.substr(0, comma));
    p = comma == std::string_view::npos ? std::string_view() : p.substr(comma + 1);
    auto network = Network::Parse(item);
    if (!network.ok()) continue;
    // A network contains the address it was written with.
    IpAddress base;
    const std::string_view addr = item.substr(0, item.find('/'));
    FUZZ_CHECK(IpAddress::Parse(addr, base), "network parsed but its address did not");
    FUZZ_CHECK(network->Contains(base), "'%.*s' does not contain its own address",
               static_cast<int>(item.size()), item.data());
    CheckRoundTrip(base);
    proxies.emplace_back(item);
  }
  auto trusted = NetworkSet::Parse(proxies);
  FUZZ_CHECK(trusted.ok(), "networks that parse one by one must parse as a set");
  auto everything = Network::Parse(peer.is_v4() ? "0.0.0.0/0" : "::/0");
  FUZZ_CHECK(everything.ok() && everything->Contains(peer), "/0 must contain every address");

  const IpAddress client = oceanus::collect::ResolveClientIp(peer, xff, *trusted);
  CheckRoundTrip(client);
  if (!trusted->Contains(peer)) {
    FUZZ_CHECK(client == peer, "an untrusted peer's header was believed");
    return 0;
  }
  if (client == peer) return 0;
  bool named = false;
  for (std::string_view x = xff; !named;) {
    const std::size_t comma = x.find(',');
    named = HopNames(Trim(x.substr(0, comma)), client);
    if (comma == std::string_view::npos) break;
    x = x.substr(comma + 1);
  }
  FUZZ_CHECK(named, "client %s is neither the peer nor a hop of the header",
             client.ToString().c_str());
  return 0;
}

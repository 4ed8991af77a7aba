// The client address of a request: the peer, or, when the peer is a trusted proxy, the
// nearest untrusted address in X-Forwarded-For.
//
// The original believed the first X-Forwarded-For entry, which any client can forge. Here the
// chain is walked from the right (the entry the nearest proxy appended) and every hop that is
// itself a trusted proxy is skipped; the first address that is not trusted is the client.
// If every hop is trusted, the leftmost is taken. An entry that is not an address stops the
// walk: the last address that could be believed is used.
#pragma once

#include <string_view>

#include "util/net.h"

namespace oceanus::collect {

IpAddress ResolveClientIp(const IpAddress& peer, std::string_view x_forwarded_for,
                          const NetworkSet& trusted_proxies);

}  // namespace oceanus::collect

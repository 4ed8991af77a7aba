// The client address of a request: the peer, or, when the peer is a trusted proxy, the
// nearest untrusted address in X-Forwarded-For.
//
// The first X-Forwarded-For entry is not believed: any client can forge it. The chain is
// walked from the right (the entry the nearest proxy appended) and every hop that is
// itself a trusted proxy is skipped; the first address that is not trusted is the client.
// If every hop is trusted, the leftmost is taken. An entry that is not an address stops the
// walk: the last address that could be believed is used.
//
// A proxy may add its own X-Forwarded-For field line instead of extending the client's
// (HAProxy's `option forwardfor`): the HTTP layer passes every line, combined in order with
// ", " (RFC 9110 §5.3), so that the walk starts from what the nearest proxy wrote and a line the
// client forged first is reached only past every trusted hop. Empty list elements are skipped.
#pragma once

#include <string_view>

#include "util/net.h"

namespace oceanus::collect {

// `x_forwarded_for`: the field's lines combined, or empty when the request has none.
IpAddress ResolveClientIp(const IpAddress& peer, std::string_view x_forwarded_for,
                          const NetworkSet& trusted_proxies);

}  // namespace oceanus::collect

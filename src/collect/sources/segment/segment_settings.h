// The keys of a segment site (endpoint: segment) and the columns every such site has.
//
//   sites:
//     sampleapp:
//       endpoint: segment
//       write_keys: ["${OCEANUS_SEGMENT_WRITE_KEY:-}"]   # empty entries are ignored
//       max_message_bytes: 32KiB                        # Segment's limits by default
//       max_batch_bytes: 500KiB
//       trusted_senders: [10.0.0.0/8]                   # may set context.ip (servers)
//       schema:                                         # added to the default columns
//         - {name: revenue, from: json, path: properties.revenue, type: float}
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/reader.h"
#include "config/registry.h"

namespace oceanus::collect::segment {

struct Settings final : config::ComponentSettings {
  std::vector<std::string> write_keys;  // non-empty, each given to one site only
  std::size_t max_message_bytes = 32 * 1024;
  std::size_t max_batch_bytes = 500 * 1024;
  // Clients (after the trusted-proxy walk) whose context.ip is taken as rad: the caller's
  // own servers, sending for their visitors. Empty: rad is always the client.
  std::vector<std::string> trusted_senders;

  void Describe(std::ostream& out) const override;
};

// The most max_batch_bytes may be: the tape addresses a body with 32-bit offsets, and a
// request is held in memory whole.
inline constexpr std::size_t kMaxBatchBytesLimit = 64 * 1024 * 1024;

inline const std::vector<std::string>& SiteKeys() {
  static const std::vector<std::string> keys = {"write_keys", "max_message_bytes",
                                                "max_batch_bytes", "trusted_senders"};
  return keys;
}

Settings Parse(const config::Reader& r, const YAML::Node& node, const config::Site& site);

// eid, dt, message_id, type, event, name, user_id, anonymous_id, group_id, previous_id,
// timestamp, original_timestamp, sent_at, properties, traits, context, rad, ua, dev.
std::vector<config::Field> DefaultSchema();

}  // namespace oceanus::collect::segment

// The local spool as an operator sees it, per site: bytes and segments on disk, and the
// record bytes the slowest group has not acknowledged. Both queue types show it: the spool
// is the queue itself (type spool) or the collector's fallback (type redis).
#pragma once

#include <cstdint>
#include <vector>

#include "config/config.h"
#include "queue/queue_status.h"
#include "queue/spool/spool.h"
#include "util/metrics.h"

namespace oceanus::queue {

struct SpoolSiteSnapshot {
  Spool::SiteStats stats;
  std::uint64_t unconsumed_bytes = 0;  // not yet acknowledged by the slowest group
};

// One per site of `shared`.
std::vector<SpoolSiteSnapshot> TakeSpoolSnapshot(const config::Config& shared, const Spool& spool);

// spool_bytes, spool_segments, spool_unconsumed_bytes.
void WriteSpoolMembers(const SpoolSiteSnapshot& site, JsonMembers& out);

// oceanus_spool_bytes / _segments / _unconsumed_bytes, each family's samples together; nothing
// when `sites` is empty (a process without a spool).
void WriteSpoolMetrics(const config::Config& shared, const std::vector<SpoolSiteSnapshot>& sites,
                       MetricsWriter& out);

}  // namespace oceanus::queue

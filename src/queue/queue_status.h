// The queue as an operator sees it, per site — stream length, each group's pending and lag,
// dead-letter length, local spool size — and whether Redis answers: as JSON for /rstatus and
// as Prometheus samples for /metrics. Both read one snapshot.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/config.h"
#include "queue/spool/spool.h"
#include "util/metrics.h"

namespace oceanus::queue {

struct GroupSnapshot {
  std::string name;
  long long pending = 0;  // delivered to a consumer, not yet acknowledged
  long long lag = -1;     // not yet delivered (-1: Redis could not say)
  // Age of the oldest entry the group has not acknowledged; 0 when it has none.
  double oldest_unacked_seconds = 0;
};

struct SiteSnapshot {
  long long stream_length = -1;  // redis
  long long dead_letter_length = -1;
  std::vector<GroupSnapshot> groups;
  std::optional<Spool::SiteStats> spool;
  std::uint64_t spool_unconsumed_bytes = 0;  // not yet acknowledged by the slowest group
};

struct QueueSnapshot {
  std::string type;  // spool | redis
  bool redis_reachable = false;
  std::string redis_address;
  std::string redis_error;
  std::vector<SiteSnapshot> sites;  // by index in config.sites
};

// `spool` may be null (a process without a local spool, e.g. `oceanus load`). Queries Redis
// with its own short-lived connection: call it off the I/O threads.
QueueSnapshot TakeQueueSnapshot(const app::Config& config, const Spool* spool);

std::string QueueStatusJson(const app::Config& config, const QueueSnapshot& snapshot);
std::string QueueStatusJson(const app::Config& config, const Spool* spool);

// oceanus_queue_length / _pending / _lag / _lag_seconds, oceanus_dead_letter_length,
// oceanus_spool_bytes / _segments / _unconsumed_bytes, oceanus_redis_up. Each family's samples
// are written together, after its HELP and TYPE.
void WriteQueueMetrics(const app::Config& config, const QueueSnapshot& snapshot,
                       MetricsWriter& out);

}  // namespace oceanus::queue

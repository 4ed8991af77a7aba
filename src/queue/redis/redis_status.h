// The Redis queue as an operator sees it, per site — stream length, each group's pending and
// lag, dead-letter length — and whether Redis answers, for /rstatus and /metrics (the
// collector's fallback spool is added by spool_status.h). One snapshot feeds either answer.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "queue/queue_config.h"
#include "queue/queue_status.h"
#include "queue/redis/redis_config.h"
#include "util/metrics.h"

namespace oceanus::queue::redis {

struct GroupSnapshot {
  std::string name;
  long long pending = 0;  // delivered to a consumer, not yet acknowledged
  long long lag = -1;     // not yet delivered (-1: Redis could not say)
  // Age of the oldest entry the group has not acknowledged; 0 when it has none.
  double oldest_unacked_seconds = 0;
};

struct SiteSnapshot {
  long long stream_length = -1;
  long long dead_letter_length = -1;
  std::vector<GroupSnapshot> groups;
};

struct RedisSnapshot {
  bool reachable = false;
  std::string address;
  std::string error;
  std::vector<SiteSnapshot> sites;  // by index in shared.sites; filled only when reachable
};

// Queries Redis with its own short-lived connection (connect timeout at most 500 ms): call
// it off the I/O threads. `queue.groups` are the groups a site is expected to have.
RedisSnapshot TakeRedisSnapshot(const config::Config& shared, const QueueConfig& queue,
                                const RedisConfig& redis);

// ,"redis":{"address":…,"reachable":…[,"error":…]} after "queue".
void AppendRedisHead(const RedisSnapshot& snapshot, std::string& out);
// stream_length, dead_letter_length, groups: only while Redis is reachable.
void WriteRedisMembers(const RedisSnapshot& snapshot, SiteId site, JsonMembers& out);

// oceanus_redis_up; and while reachable oceanus_queue_length / _pending / _lag / _lag_seconds
// and oceanus_dead_letter_length, each family's samples together.
void WriteRedisMetrics(const config::Config& shared, const RedisSnapshot& snapshot,
                       MetricsWriter& out);

}  // namespace oceanus::queue::redis

// Parses the queue section (queue/queue_config.h).
#include "queue/queue_config.h"

#include <algorithm>

#include "config/reader.h"

namespace oceanus::queue {

using config::Choose;
using config::HostPort;
using config::ValidName;

QueueConfig ParseQueueConfig(const config::Reader& r, const YAML::Node& q) {
  QueueConfig queue;
  if (!q) return queue;
  r.ExpectKeys(q, "queue", {"type", "durability", "segment_bytes", "groups", "redis"});
  if (q["type"]) {
    queue.type = r.Str(q["type"]);
    if (queue.type != "spool" && queue.type != "redis")
      r.Fail(q["type"], "unknown queue type '" + queue.type + "' (expected: spool, redis)");
  }
  if (q["groups"]) {
    queue.groups = r.StrList(q["groups"]);
    for (const auto& g : queue.groups)
      if (!ValidName(g, false))
        r.Fail(q["groups"], "group name '" + g + "' must match [a-z_][a-z0-9_]*");
    if (std::find(queue.groups.begin(), queue.groups.end(), "load") == queue.groups.end())
      r.Fail(q["groups"], "groups must include 'load'");
  }
  if (const auto& rd = q["redis"]) {
    r.ExpectKeys(rd, "queue.redis",
                 {"address", "password", "db", "prefix", "connect_timeout", "command_timeout",
                  "publish", "claim_idle", "max_deliveries", "trim_every"});
    auto& redis = queue.redis;
    if (rd["address"]) {
      const HostPort address = ParseAddress(r, rd["address"]);
      redis.host = address.host;
      redis.port = address.port;
    }
    if (rd["password"]) redis.password = r.Str(rd["password"]);
    if (rd["db"]) redis.db = static_cast<unsigned>(r.Unsigned(rd["db"], 1024));
    if (rd["prefix"]) redis.prefix = r.Str(rd["prefix"]);
    if (rd["connect_timeout"]) redis.connect_timeout = r.Duration(rd["connect_timeout"]);
    if (rd["command_timeout"]) redis.command_timeout = r.Duration(rd["command_timeout"]);
    if (rd["publish"]) redis.publish = r.Bool(rd["publish"]);
    if (rd["claim_idle"]) redis.claim_idle = r.Duration(rd["claim_idle"]);
    if (rd["max_deliveries"])
      redis.max_deliveries = static_cast<unsigned>(r.Unsigned(rd["max_deliveries"], 1000));
    if (rd["trim_every"]) redis.trim_every = r.Duration(rd["trim_every"]);
    if (redis.max_deliveries == 0)
      r.Fail(rd["max_deliveries"], "max_deliveries must be at least 1");
  }
  if (q["durability"])
    queue.durability = Choose<Durability>(r, q["durability"], "durability",
                                          {{"os", Durability::kOs}, {"fsync", Durability::kFsync}});
  if (q["segment_bytes"])
    queue.segment_bytes = r.Bytes(q["segment_bytes"], 4096, 1ull << 30, "segment_bytes");

  return queue;
}

}  // namespace oceanus::queue

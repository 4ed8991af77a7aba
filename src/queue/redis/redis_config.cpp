// Parses the `redis:` block of the queue section (queue/redis/redis_config.h).
#include "queue/redis/redis_config.h"

#include <yaml-cpp/yaml.h>

#include "config/reader.h"

namespace oceanus::queue::redis {

RedisConfig ParseRedisConfig(const config::Reader& r, const YAML::Node& rd) {
  RedisConfig redis;
  if (!rd) return redis;
  r.ExpectKeys(rd, "queue.redis",
               {"address", "password", "db", "prefix", "connect_timeout", "command_timeout",
                "publish", "claim_idle", "max_deliveries", "trim_every"});
  if (rd["address"]) {
    const config::HostPort address = config::ParseAddress(r, rd["address"]);
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
  if (redis.max_deliveries == 0) r.Fail(rd["max_deliveries"], "max_deliveries must be at least 1");
  return redis;
}

}  // namespace oceanus::queue::redis

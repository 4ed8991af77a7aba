// The `redis:` block of the queue section (queue type `redis`): where the Redis is, and how
// the streams are named, claimed and trimmed.
#pragma once

#include <chrono>
#include <string>

#include "config/parser_fwd.h"
#include "redis/redis_options.h"

namespace oceanus::queue {
struct QueueConfig;
}

namespace oceanus::queue::redis {

struct RedisConfig : oceanus::redis::ConnectOptions {
  std::string prefix;    // stream key = <prefix><site>; dead-letter = <prefix><site>:dead
  bool publish = false;  // also PUBLISH each record on channel <site>, as the original did
  std::chrono::milliseconds claim_idle{30'000};  // pending this long in a consumer: claim it
  unsigned max_deliveries = 5;                   // then it goes to the dead-letter stream
  std::chrono::milliseconds trim_every{5'000};
};

// The `redis:` block (`block` undefined: the defaults). Errors are file:line:col.
RedisConfig ParseRedisConfig(const config::Reader& r, const YAML::Node& block);

// The parsed `redis:` block of a section whose type is redis; null for any other type.
const RedisConfig* RedisConfigOf(const QueueConfig& queue);

}  // namespace oceanus::queue::redis

// The dead-letter as a Redis stream per site (<prefix><site>:dead): fields d (the record as
// queued) and reason. Used by the loader on its own thread, with its own connection.
#pragma once

#include <memory>

#include "queue/dead_letter.h"
#include "queue/redis/redis_config.h"
#include "redis/redis_connection.h"

namespace oceanus::queue::redis {

class RedisDeadLetter final : public DeadLetter {
 public:
  explicit RedisDeadLetter(const RedisConfig& config) : config_(config) {}
  Status Put(const std::string& site, const std::vector<Item>& items) override;
  // XRANGE over the stream in chunks, XDEL of the entries whose record matches.
  Result<long long> Erase(const std::string& site, const RecordMatcher& matches,
                          bool count_only) override;

 private:
  const RedisConfig& config_;
  std::unique_ptr<oceanus::redis::RedisConnection> conn_;
};

}  // namespace oceanus::queue::redis

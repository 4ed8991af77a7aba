// The dead-letter as a Redis stream per site (<prefix><site>:dead): fields d (the record as
// queued) and reason. Used by the loader on its own thread, with its own connection.
#pragma once

#include <memory>

#include "load/dead_letter.h"
#include "queue/redis/redis_config.h"
#include "queue/redis/redis_connection.h"

namespace oceanus::queue::redis {

class RedisDeadLetter final : public load::DeadLetter {
 public:
  explicit RedisDeadLetter(const RedisConfig& config) : config_(config) {}
  Status Put(const std::string& site, const std::vector<Item>& items) override;

 private:
  const RedisConfig& config_;
  std::unique_ptr<RedisConnection> conn_;
};

}  // namespace oceanus::queue::redis

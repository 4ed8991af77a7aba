// The ledger of the redis queue (queue/ledger.h): one hash, <prefix>ledger/<name>, in the
// queue's Redis, so that a loader claiming a dead loader's entries finds what that loader
// recorded. PutIfAbsent and Replace are Lua scripts (one EVAL per call, atomic in Redis);
// their durability is Redis's own (appendfsync), as for the queue's entries. One connection,
// used under a lock by the threads that share the ledger.
#pragma once

#include <memory>
#include <mutex>

#include "queue/ledger.h"
#include "queue/redis/redis_config.h"
#include "redis/redis_connection.h"

namespace oceanus::queue::redis {

class RedisLedger final : public Ledger {
 public:
  RedisLedger(const RedisConfig& config, const std::string& name);

  Result<std::vector<std::optional<std::string>>> Get(std::span<const std::string> keys) override;
  Result<std::vector<std::string>> PutIfAbsent(std::span<const std::string> keys,
                                               std::span<const std::string> values) override;
  Result<std::vector<std::string>> Replace(std::span<const std::string> keys,
                                           std::span<const std::string> expected,
                                           std::span<const std::string> values) override;
  Status Erase(std::span<const std::string> keys) override;

 private:
  // Runs `args` on the connection, reconnecting first if it is broken. Under mu_.
  Result<oceanus::redis::Reply> Run(const std::vector<std::string_view>& args);

  const RedisConfig& config_;
  const std::string key_;
  std::mutex mu_;
  std::unique_ptr<oceanus::redis::RedisConnection> conn_;
};

}  // namespace oceanus::queue::redis

// The visitor hash's daily salt shared by the collectors of a redis queue: each day's salt is
// the Redis key <key_prefix>salt:<day> (32 hex), made by whichever collector asks first and
// expiring ten minutes after its UTC day ends, so that a visitor behind a load balancer keeps
// one id per day whatever collector they reach, and the salt is gone from Redis once its day
// is over, as it is from memory.
//
// Sync runs on a timer thread (never an I/O thread): it fetches today's and tomorrow's salt
// ahead of their use and hands them to DailySalts::Provide. A collector that could not reach
// Redis when a day began keeps the random salt it made (its ids differ from the others' that
// day); it never changes a salt within a day.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "event/privacy.h"
#include "redis/redis_connection.h"
#include "redis/redis_options.h"
#include "util/status.h"

namespace oceanus::event {

class SharedSalts {
 public:
  SharedSalts(redis::ConnectOptions options, std::string key_prefix);
  // Fetches (or makes) the salts of `now`'s UTC day and the next, once each, into `salts`.
  Status Sync(DailySalts& salts, std::chrono::system_clock::time_point now);

 private:
  const redis::ConnectOptions options_;
  const std::string key_prefix_;
  std::unique_ptr<redis::RedisConnection> conn_;
  std::set<std::int64_t> provided_;  // days handed to DailySalts
};

}  // namespace oceanus::event

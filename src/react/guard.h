// Guards: the limits a rule puts on itself before it makes tasks.
//
//   once:   one firing per rendered key within a window ("docreq_{{sid}}" per 60 s)
//   per_ip: at most N firings per client address within a window
//   total:  at most N firings of the rule within a window
//
// With the redis queue the counts live in Redis (SET NX PX; INCR + PEXPIRE), so every
// reactor process shares them; with the embedded default they live in the process.
// A once-key holds the event id that took it, so a reactor that restarts and sees the same
// event again passes its own guard instead of dropping the event's tasks.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "redis/redis_connection.h"
#include "redis/redis_options.h"
#include "util/status.h"

namespace oceanus::react {

class GuardStore {
 public:
  virtual ~GuardStore() = default;
  // Takes `key` for `ttl` unless someone else holds it. True if taken now, or already held
  // by `owner` (the same event seen again).
  virtual Result<bool> Once(const std::string& key, const std::string& owner,
                            std::chrono::milliseconds ttl) = 0;
  // Counts one more firing in the window that the first firing opened; true while the count
  // is at most `max`.
  virtual Result<bool> Allow(const std::string& key, unsigned max,
                             std::chrono::milliseconds window) = 0;
};

// In the process: a map with expiry times.
class LocalGuardStore final : public GuardStore {
 public:
  Result<bool> Once(const std::string& key, const std::string& owner,
                    std::chrono::milliseconds ttl) override;
  Result<bool> Allow(const std::string& key, unsigned max,
                     std::chrono::milliseconds window) override;

 private:
  struct Entry {
    std::string owner;
    std::uint64_t count = 0;
    std::chrono::steady_clock::time_point expires;
  };
  void Purge(std::chrono::steady_clock::time_point now);

  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::chrono::steady_clock::time_point next_purge_{};
};

// In Redis (the queue's, when it offers one: QueueSettings::SharedStore), under
// "<prefix>guard:<key>". One connection, used from the reactor's thread; reconnects on the
// next call after a transport failure.
class RedisGuardStore final : public GuardStore {
 public:
  RedisGuardStore(oceanus::redis::ConnectOptions options, std::string prefix)
      : options_(std::move(options)), prefix_(std::move(prefix)) {}
  Result<bool> Once(const std::string& key, const std::string& owner,
                    std::chrono::milliseconds ttl) override;
  Result<bool> Allow(const std::string& key, unsigned max,
                     std::chrono::milliseconds window) override;

 private:
  Result<redis::RedisConnection*> Connection();

  oceanus::redis::ConnectOptions options_;
  std::string prefix_;
  std::unique_ptr<redis::RedisConnection> connection_;
};

}  // namespace oceanus::react

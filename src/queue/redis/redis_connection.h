// One blocking Redis connection (hiredis), owned by one thread.
//
// Every user of Redis in oceanus (a collector's sender thread, a loader's reader, the
// forwarder) owns its connection and runs it on its own thread, so nothing here is shared or
// locked. Errors are classified once, here: a transport failure (refused, timeout, reset)
// is kUnavailable and marks the connection broken (the owner reconnects with backoff); an
// error reply from Redis (WRONGTYPE, NOGROUP, ...) is kInvalidArgument and leaves it usable.
#pragma once

#include <hiredis/hiredis.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "util/status.h"

namespace oceanus::queue::redis {

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

class RedisConnection {
 public:
  // Connects, authenticates and selects the db.
  static Result<std::unique_ptr<RedisConnection>> Connect(const config::RedisConfig& config);

  // Sends one command and waits for its reply.
  Result<Reply> Command(const std::vector<std::string_view>& args);
  // Pipelining: queue commands, then read their replies in order.
  void Append(const std::vector<std::string_view>& args);
  Result<Reply> Next();

  bool broken() const { return broken_; }
  std::string address() const;

 private:
  struct ContextDeleter {
    void operator()(redisContext* c) const { redisFree(c); }
  };
  RedisConnection() = default;
  Status TransportError(const char* what);

  std::unique_ptr<redisContext, ContextDeleter> context_;
  config::RedisConfig config_;
  bool broken_ = false;
};

// Reply helpers.
std::string_view ReplyString(const redisReply* r);

}  // namespace oceanus::queue::redis

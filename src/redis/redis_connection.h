// One blocking Redis connection (hiredis), owned by one thread.
//
// Every user of Redis in oceanus (a collector's sender thread, a loader's reader, the
// forwarder) owns its connection and runs it on its own thread, so nothing here is shared or
// locked. Errors are classified once, here: a transport failure (refused, timeout, reset)
// is kUnavailable and marks the connection broken (the owner reconnects with backoff); an
// error reply from Redis (WRONGTYPE, NOGROUP, ...) is kInvalidArgument and leaves it usable.
// NextWithin is the one exception: a reply that is merely late (Redis slow or stopped) leaves
// the connection usable, so that commands already sent are not sent again on a new one.
//
// A connection counts as broken only when the kernel says so: the peer closed or reset it, or
// TCP keepalive / TCP_USER_TIMEOUT (kDeadPeerAfter) found the peer gone. A Redis that is alive
// but does not answer (stopped, busy) keeps its connections.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "redis/redis_options.h"
#include "util/status.h"

namespace oceanus::redis {

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

class RedisConnection {
 public:
  // Connects, authenticates and selects the db.
  static Result<std::unique_ptr<RedisConnection>> Connect(
      const oceanus::redis::ConnectOptions& options);

  // Sends one command and waits for its reply.
  Result<Reply> Command(const std::vector<std::string_view>& args);
  // Pipelining: queue commands, then read their replies in order.
  void Append(const std::vector<std::string_view>& args);
  Result<Reply> Next();
  // Writes what Append queued without waiting for a reply (Next reads it later).
  Status Flush();
  // Waits at most `wait` for the next reply, sending what is still unsent meanwhile. No reply
  // in time: kUnavailable with broken() still false — the reply may come later and is the
  // next one read. Never mix with Next() on a connection that has timed out here.
  Result<Reply> NextWithin(std::chrono::milliseconds wait);

  // After this long without an acknowledgement from the peer's kernel (keepalive probes, or
  // data sent and not acknowledged), the connection is broken.
  static constexpr std::chrono::seconds kDeadPeerAfter{20};

  bool broken() const { return broken_; }
  std::string address() const;

 private:
  struct ContextDeleter {
    void operator()(redisContext* c) const { redisFree(c); }
  };
  RedisConnection() = default;
  Status TransportError(const char* what);
  Result<Reply> Classify(void* raw);

  std::unique_ptr<redisContext, ContextDeleter> context_;
  oceanus::redis::ConnectOptions config_;
  bool broken_ = false;
  bool unsent_ = false;  // commands appended and not yet all written to the socket
};

// Reply helpers.
std::string_view ReplyString(const redisReply* r);

}  // namespace oceanus::redis

// Guard stores (see guard.h).
#include "react/guard.h"

namespace oceanus::react {

using Steady = std::chrono::steady_clock;

void LocalGuardStore::Purge(Steady::time_point now) {
  if (now < next_purge_) return;
  std::erase_if(entries_, [now](const auto& kv) { return kv.second.expires <= now; });
  next_purge_ = now + std::chrono::seconds(10);
}

Result<bool> LocalGuardStore::Once(const std::string& key, const std::string& owner,
                                   std::chrono::milliseconds ttl) {
  std::lock_guard lock(mu_);
  const auto now = Steady::now();
  Purge(now);
  auto [it, inserted] = entries_.try_emplace(key);
  if (inserted || it->second.expires <= now) {
    it->second = Entry{owner, 1, now + ttl};
    return true;
  }
  return it->second.owner == owner;
}

Result<bool> LocalGuardStore::Allow(const std::string& key, unsigned max,
                                    std::chrono::milliseconds window) {
  std::lock_guard lock(mu_);
  const auto now = Steady::now();
  Purge(now);
  auto [it, inserted] = entries_.try_emplace(key);
  if (inserted || it->second.expires <= now) it->second = Entry{"", 0, now + window};
  return ++it->second.count <= max;
}

Result<redis::RedisConnection*> RedisGuardStore::Connection() {
  if (connection_ && !connection_->broken()) return connection_.get();
  connection_.reset();
  auto c = redis::RedisConnection::Connect(options_);
  if (!c.ok()) return c.status();
  connection_ = std::move(c).value();
  return connection_.get();
}

Result<bool> RedisGuardStore::Once(const std::string& key, const std::string& owner,
                                   std::chrono::milliseconds ttl) {
  auto c = Connection();
  if (!c.ok()) return c.status();
  const std::string full = prefix_ + "guard:" + key;
  const std::string px = std::to_string(std::max<std::int64_t>(1, ttl.count()));
  auto reply = (*c)->Command({"SET", full, owner, "NX", "PX", px});
  if (!reply.ok()) return reply.status();
  if ((*reply)->type == REDIS_REPLY_STATUS) return true;  // +OK: taken now
  auto holder = (*c)->Command({"GET", full});
  if (!holder.ok()) return holder.status();
  return (*holder)->type == REDIS_REPLY_STRING && redis::ReplyString(holder->get()) == owner;
}

Result<bool> RedisGuardStore::Allow(const std::string& key, unsigned max,
                                    std::chrono::milliseconds window) {
  auto c = Connection();
  if (!c.ok()) return c.status();
  const std::string full = prefix_ + "guard:" + key;
  auto count = (*c)->Command({"INCR", full});
  if (!count.ok()) return count.status();
  const long long n = (*count)->integer;
  if (n == 1) {
    // The first firing opens the window. If this process dies right here the key has no
    // expiry; the next call repairs that (PTTL -1 below).
    auto set = (*c)->Command({"PEXPIRE", full, std::to_string(window.count())});
    if (!set.ok()) return set.status();
  } else {
    auto ttl = (*c)->Command({"PTTL", full});
    if (ttl.ok() && (*ttl)->integer == -1)
      (void)(*c)->Command({"PEXPIRE", full, std::to_string(window.count())});
  }
  return n <= static_cast<long long>(max);
}

}  // namespace oceanus::react

// RedisDeadLetter: one pipelined XADD per item; a failure fails the whole Put (the loader
// then retries the batch instead of acknowledging it).
#include "queue/redis/redis_dead_letter.h"

#include "queue/redis/redis_queue.h"

namespace oceanus::queue::redis {

Status RedisDeadLetter::Put(const std::string& site, const std::vector<Item>& items) {
  if (items.empty()) return Status::Ok();
  if (!conn_ || conn_->broken()) {
    auto c = RedisConnection::Connect(config_);
    if (!c.ok()) return c.status();
    conn_ = std::move(c).value();
  }
  const std::string key = DeadLetterKey(config_, site);
  for (const auto& item : items)
    conn_->Append({"XADD", key, "*", "d", item.record, "reason", item.reason});
  Status result;
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto r = conn_->Next();
    if (!r.ok() && result.ok()) result = r.status();
    if (conn_->broken()) break;
  }
  return result;
}

}  // namespace oceanus::queue::redis

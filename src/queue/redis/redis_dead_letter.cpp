// RedisDeadLetter: one pipelined XADD per item; a failure fails the whole Put (the loader
// then retries the batch instead of acknowledging it).
#include "queue/redis/redis_dead_letter.h"

#include "queue/redis/redis_queue.h"

namespace oceanus::queue::redis {

Status RedisDeadLetter::Put(const std::string& site, const std::vector<Item>& items) {
  if (items.empty()) return Status::Ok();
  if (!conn_ || conn_->broken()) {
    auto c = oceanus::redis::RedisConnection::Connect(config_);
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

Result<long long> RedisDeadLetter::Erase(const std::string& site, const RecordMatcher& matches,
                                         bool count_only) {
  if (!conn_ || conn_->broken()) {
    auto c = oceanus::redis::RedisConnection::Connect(config_);
    if (!c.ok()) return c.status();
    conn_ = std::move(c).value();
  }
  const std::string key = DeadLetterKey(config_, site);
  long long erased = 0;
  for (std::string start = "-";;) {
    auto range = conn_->Command({"XRANGE", key, start, "+", "COUNT", "500"});
    if (!range.ok()) return range.status();
    const redisReply* entries = range->get();
    if (entries->type != REDIS_REPLY_ARRAY || entries->elements == 0) return erased;
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < entries->elements; ++i) {
      const redisReply* e = entries->element[i];
      if (e->type != REDIS_REPLY_ARRAY || e->elements < 2) continue;
      const redisReply* fields = e->element[1];
      for (std::size_t k = 0; k + 1 < fields->elements; k += 2)
        if (oceanus::redis::ReplyString(fields->element[k]) == "d" &&
            matches(oceanus::redis::ReplyString(fields->element[k + 1])))
          ids.emplace_back(oceanus::redis::ReplyString(e->element[0]));
    }
    start = "(" + std::string(oceanus::redis::ReplyString(
                      entries->element[entries->elements - 1]->element[0]));
    erased += static_cast<long long>(ids.size());
    if (count_only || ids.empty()) continue;
    std::vector<std::string_view> del{"XDEL", key};
    for (const auto& id : ids) del.push_back(id);
    if (auto deleted = conn_->Command(del); !deleted.ok()) return deleted.status();
  }
}

}  // namespace oceanus::queue::redis

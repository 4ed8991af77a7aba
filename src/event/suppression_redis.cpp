// The suppression list as a Redis list; see suppression_redis.h.
#include "event/suppression_redis.h"

#include <utility>

namespace oceanus::event {
namespace {

// KEYS[1] the list; ARGV[1] the header's lines. Creates the list when it does not exist and
// answers its first two elements (the header as it is).
constexpr const char* kCreate = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then
  for line in string.gmatch(ARGV[1], '[^\n]+') do redis.call('RPUSH', KEYS[1], line) end
end
return redis.call('LRANGE', KEYS[1], 0, 1)
)lua";

std::string Joined(const redisReply* lines) {
  std::string text;
  for (std::size_t i = 0; i < lines->elements; ++i) {
    text += redis::ReplyString(lines->element[i]);
    text += '\n';
  }
  return text;
}

}  // namespace

RedisSuppressionStore::RedisSuppressionStore(redis::ConnectOptions options, std::string key)
    : options_(std::move(options)), key_(std::move(key)) {}

Status RedisSuppressionStore::Connected() {
  if (conn_ && !conn_->broken()) return Status::Ok();
  auto c = redis::RedisConnection::Connect(options_);
  if (!c.ok()) return c.status();
  conn_ = std::move(c).value();
  return Status::Ok();
}

Result<std::optional<std::string>> RedisSuppressionStore::ReadIfChanged() {
  if (Status s = Connected(); !s.ok()) return s;
  auto length = conn_->Command({"LLEN", key_});
  if (!length.ok()) return length.status();
  if ((*length)->type != REDIS_REPLY_INTEGER)
    return Status::Corruption(Describe() + ": not a list");
  if ((*length)->integer == length_) return std::optional<std::string>();
  auto lines = conn_->Command({"LRANGE", key_, "0", "-1"});
  if (!lines.ok()) return lines.status();
  if ((*lines)->type != REDIS_REPLY_ARRAY) return Status::Corruption(Describe() + ": not a list");
  length_ = static_cast<long long>((*lines)->elements);
  return std::optional<std::string>(Joined(lines->get()));
}

Status RedisSuppressionStore::Append(
    const std::string& header,
    const std::function<Result<std::string>(std::string_view)>& line_for) {
  if (Status s = Connected(); !s.ok()) return s;
  auto head = conn_->Command({"EVAL", kCreate, "1", key_, header});
  if (!head.ok()) return head.status();
  if ((*head)->type != REDIS_REPLY_ARRAY) return Status::Corruption(Describe() + ": not a list");
  auto line = line_for(Joined(head->get()));
  if (!line.ok()) return line.status();
  std::string_view text = *line;
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  auto pushed = conn_->Command({"RPUSH", key_, text});
  return pushed.ok() ? Status::Ok() : pushed.status();
}

std::string RedisSuppressionStore::Describe() const {
  return "redis " + options_.host + ":" + std::to_string(options_.port) + " key " + key_;
}

}  // namespace oceanus::event

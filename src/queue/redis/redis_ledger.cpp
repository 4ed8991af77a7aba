// RedisLedger: HMGET, HDEL and two Lua scripts over one hash; see the header.
#include "queue/redis/redis_ledger.h"

namespace oceanus::queue::redis {
namespace {

using oceanus::redis::RedisConnection;
using oceanus::redis::Reply;
using oceanus::redis::ReplyString;

// KEYS[1] the hash; ARGV key1, value1, key2, value2, ...: HSETNX each, answer every value.
constexpr const char* kPutIfAbsent = R"lua(
local out = {}
for i = 1, #ARGV, 2 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if not cur then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    cur = ARGV[i + 1]
  end
  out[#out + 1] = cur
end
return out
)lua";

// ARGV key1, expected1, value1, ...: set where the value is still the expected one.
constexpr const char* kReplace = R"lua(
local out = {}
for i = 1, #ARGV, 3 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if cur == ARGV[i + 1] then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
    cur = ARGV[i + 2]
  end
  out[#out + 1] = cur or ''
end
return out
)lua";

Result<std::vector<std::string>> Strings(const redisReply* r, std::size_t expected) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements != expected)
    return Status::Unavailable("redis ledger: unexpected reply");
  std::vector<std::string> out;
  out.reserve(r->elements);
  for (std::size_t i = 0; i < r->elements; ++i) out.emplace_back(ReplyString(r->element[i]));
  return out;
}

}  // namespace

RedisLedger::RedisLedger(const RedisConfig& config, const std::string& name)
    : config_(config), key_(config.prefix + "ledger/" + name) {}

Result<Reply> RedisLedger::Run(const std::vector<std::string_view>& args) {
  if (!conn_ || conn_->broken()) {
    auto c = RedisConnection::Connect(config_);
    if (!c.ok()) return c.status();
    conn_ = std::move(c).value();
  }
  return conn_->Command(args);
}

Result<std::vector<std::optional<std::string>>> RedisLedger::Get(
    std::span<const std::string> keys) {
  std::vector<std::optional<std::string>> out(keys.size());
  if (keys.empty()) return out;
  std::vector<std::string_view> args = {"HMGET", key_};
  for (const auto& k : keys) args.push_back(k);
  std::lock_guard lock(mu_);
  auto r = Run(args);
  if (!r.ok()) return r.status();
  const redisReply* reply = r->get();
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != keys.size())
    return Status::Unavailable("redis ledger: unexpected HMGET reply");
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (reply->element[i]->type != REDIS_REPLY_NIL)
      out[i] = std::string(ReplyString(reply->element[i]));
  return out;
}

Result<std::vector<std::string>> RedisLedger::PutIfAbsent(std::span<const std::string> keys,
                                                          std::span<const std::string> values) {
  if (keys.size() != values.size())
    return Status::InvalidArgument("ledger: as many values as keys are needed");
  if (keys.empty()) return std::vector<std::string>{};
  std::vector<std::string_view> args = {"EVAL", kPutIfAbsent, "1", key_};
  for (std::size_t i = 0; i < keys.size(); ++i) {
    args.push_back(keys[i]);
    args.push_back(values[i]);
  }
  std::lock_guard lock(mu_);
  auto r = Run(args);
  if (!r.ok()) return r.status();
  return Strings(r->get(), keys.size());
}

Result<std::vector<std::string>> RedisLedger::Replace(std::span<const std::string> keys,
                                                      std::span<const std::string> expected,
                                                      std::span<const std::string> values) {
  if (keys.size() != values.size() || keys.size() != expected.size())
    return Status::InvalidArgument("ledger: as many values as keys are needed");
  if (keys.empty()) return std::vector<std::string>{};
  std::vector<std::string_view> args = {"EVAL", kReplace, "1", key_};
  for (std::size_t i = 0; i < keys.size(); ++i) {
    args.push_back(keys[i]);
    args.push_back(expected[i]);
    args.push_back(values[i]);
  }
  std::lock_guard lock(mu_);
  auto r = Run(args);
  if (!r.ok()) return r.status();
  return Strings(r->get(), keys.size());
}

Status RedisLedger::Erase(std::span<const std::string> keys) {
  if (keys.empty()) return Status::Ok();
  std::vector<std::string_view> args = {"HDEL", key_};
  for (const auto& k : keys) args.push_back(k);
  std::lock_guard lock(mu_);
  auto r = Run(args);
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace oceanus::queue::redis

// RedisConnection: hiredis's blocking API with timeouts and one error classification.
#include "queue/redis/redis_connection.h"

#include <sys/time.h>

namespace oceanus::queue::redis {
namespace {

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

std::string_view ReplyString(const redisReply* r) {
  if (r == nullptr || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS &&
                       r->type != REDIS_REPLY_ERROR))
    return {};
  return {r->str, r->len};
}

std::string RedisConnection::address() const {
  return config_.host + ":" + std::to_string(config_.port);
}

Status RedisConnection::TransportError(const char* what) {
  broken_ = true;
  const std::string detail =
      context_ && context_->errstr[0] != '\0' ? context_->errstr : "connection lost";
  return Status::Unavailable(std::string("redis ") + address() + ": " + what + ": " + detail);
}

Result<std::unique_ptr<RedisConnection>> RedisConnection::Connect(
    const config::RedisConfig& config) {
  std::unique_ptr<RedisConnection> conn(new RedisConnection());
  conn->config_ = config;
  conn->context_.reset(
      redisConnectWithTimeout(config.host.c_str(), config.port, ToTimeval(config.connect_timeout)));
  if (!conn->context_ || conn->context_->err) return conn->TransportError("connect");
  if (redisSetTimeout(conn->context_.get(), ToTimeval(config.command_timeout)) != REDIS_OK)
    return conn->TransportError("set timeout");
  if (!config.password.empty()) {
    auto r = conn->Command({"AUTH", config.password});
    if (!r.ok())
      return Status::Unavailable("redis " + conn->address() + ": AUTH: " + r.status().message());
  }
  if (config.db != 0) {
    const std::string db = std::to_string(config.db);
    auto r = conn->Command({"SELECT", db});
    if (!r.ok())
      return Status::Unavailable("redis " + conn->address() + ": SELECT: " + r.status().message());
  }
  return conn;
}

void RedisConnection::Append(const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (auto a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAppendCommandArgv(context_.get(), static_cast<int>(argv.size()), argv.data(),
                             lens.data()) != REDIS_OK)
    broken_ = true;
}

Result<Reply> RedisConnection::Next() {
  if (broken_) return TransportError("pipeline");
  void* raw = nullptr;
  if (redisGetReply(context_.get(), &raw) != REDIS_OK || raw == nullptr)
    return TransportError("reply");
  Reply reply(static_cast<redisReply*>(raw));
  if (reply->type == REDIS_REPLY_ERROR)
    return Status::InvalidArgument("redis: " + std::string(ReplyString(reply.get())));
  return reply;
}

Result<Reply> RedisConnection::Command(const std::vector<std::string_view>& args) {
  Append(args);
  return Next();
}

}  // namespace oceanus::queue::redis

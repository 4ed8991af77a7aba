// RedisConnection: hiredis's blocking API with timeouts and one error classification.
#include "redis/redis_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>

namespace oceanus::redis {
namespace {

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// Keepalive probes after 5 s idle, every 2 s; TCP_USER_TIMEOUT bounds both the probes and
// data left unacknowledged (a host that vanished), so that only a dead peer breaks the
// connection, a slow Redis never does.
void DetectDeadPeer(int fd) {
  const int on = 1, idle = 5, interval = 2, count = 3;
  const unsigned user_timeout =
      static_cast<unsigned>(std::chrono::milliseconds(RedisConnection::kDeadPeerAfter).count());
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
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
    const oceanus::redis::ConnectOptions& config) {
  std::unique_ptr<RedisConnection> conn(new RedisConnection());
  conn->config_ = config;
  conn->context_.reset(
      redisConnectWithTimeout(config.host.c_str(), config.port, ToTimeval(config.connect_timeout)));
  if (!conn->context_ || conn->context_->err) return conn->TransportError("connect");
  if (redisSetTimeout(conn->context_.get(), ToTimeval(config.command_timeout)) != REDIS_OK)
    return conn->TransportError("set timeout");
  DetectDeadPeer(conn->context_->fd);
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
  unsent_ = true;
}

Result<Reply> RedisConnection::Next() {
  if (broken_) return TransportError("pipeline");
  void* raw = nullptr;
  if (redisGetReply(context_.get(), &raw) != REDIS_OK || raw == nullptr)
    return TransportError("reply");
  unsent_ = false;  // redisGetReply writes everything before it reads
  return Classify(raw);
}

Status RedisConnection::Flush() {
  if (broken_) return TransportError("pipeline");
  int done = 0;
  while (done == 0)
    if (redisBufferWrite(context_.get(), &done) != REDIS_OK) return TransportError("write");
  unsent_ = false;
  return Status::Ok();
}

Result<Reply> RedisConnection::Classify(void* raw) {
  Reply reply(static_cast<redisReply*>(raw));
  if (reply->type == REDIS_REPLY_ERROR)
    return Status::InvalidArgument("redis: " + std::string(ReplyString(reply.get())));
  return reply;
}

// hiredis's blocking calls give up on the whole context at the socket timeout; here poll()
// waits instead, and hiredis only moves bytes that are ready, so a late reply is still read.
Result<Reply> RedisConnection::NextWithin(std::chrono::milliseconds wait) {
  if (broken_) return TransportError("pipeline");
  redisContext* c = context_.get();
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(c, &raw) != REDIS_OK) return TransportError("reply");
    if (raw != nullptr) return Classify(raw);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return Status::Unavailable("redis " + address() + ": no reply within " +
                                 std::to_string(wait.count()) + " ms");
    pollfd p{c->fd, static_cast<short>(POLLIN | (unsent_ ? POLLOUT : 0)), 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) return TransportError("poll");
    if (ready <= 0) continue;
    if ((p.revents & POLLOUT) != 0) {
      int done = 0;
      if (redisBufferWrite(c, &done) != REDIS_OK) return TransportError("write");
      unsent_ = done == 0;
    }
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0 && redisBufferRead(c) != REDIS_OK)
      return TransportError("reply");
  }
}

Result<Reply> RedisConnection::Command(const std::vector<std::string_view>& args) {
  Append(args);
  return Next();
}

}  // namespace oceanus::redis

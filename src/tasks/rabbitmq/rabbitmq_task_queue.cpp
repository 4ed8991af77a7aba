// The RabbitMQ task queue: durable queues, publisher confirms, one delay queue per delay, a
// dead-letter queue. See rabbitmq_task_queue.h for the topology and the delivery guarantees.
//
// Links rabbitmq-c 0.11 (<amqp.h>, pkg-config librabbitmq): oceanus_core must link
// PkgConfig::RABBITMQ (pkg_check_modules(RABBITMQ REQUIRED IMPORTED_TARGET librabbitmq)).
//
// rabbitmq-c reads frames only when asked, and a channel's frames come in any order: a
// confirm we wait for may follow a delivery, a delivery may arrive during an RPC (the library
// queues it). So each connection reads its frames in one place (Pump), which files deliveries
// for Take and confirms for the publish waiting on them, and treats a channel or connection
// closed by the broker as the end of the connection: the next call opens a new one.
#include "tasks/rabbitmq/rabbitmq_task_queue.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>
#include <utility>

namespace oceanus::tasks {

namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

constexpr amqp_channel_t kChannel = 1;
constexpr int kFrameMax = 131072;
// Ids remembered for Enqueue's duplicate check.
constexpr std::size_t kRecentIds = 100'000;
// An unused delay queue is deleted this long after its messages would all have expired.
constexpr auto kDelayQueueGrace = std::chrono::hours(1);
// x-expires counts from the last declaration (publishing does not count as use), so a delay
// queue in steady use is declared again well before it could expire under its messages.
constexpr auto kRedeclareAfter = std::chrono::minutes(30);
constexpr auto kMaxReconnectDelay = milliseconds(5'000);
constexpr int kTagBits = 48;
constexpr std::uint64_t kTagMask = (std::uint64_t{1} << kTagBits) - 1;
// The header that says why a message in the dead-letter is not a task.
constexpr const char* kErrorHeader = "x-oceanus-error";

amqp_bytes_t Bytes(std::string_view s) {
  amqp_bytes_t b;
  b.len = s.size();
  b.bytes = const_cast<char*>(s.data());
  return b;
}

std::string Str(amqp_bytes_t b) {
  return b.len == 0 ? std::string() : std::string(static_cast<const char*>(b.bytes), b.len);
}

timeval ToTimeval(std::chrono::microseconds d) {
  if (d.count() < 0) d = std::chrono::microseconds(0);
  timeval tv;
  tv.tv_sec = static_cast<time_t>(d.count() / 1'000'000);
  tv.tv_usec = static_cast<suseconds_t>(d.count() % 1'000'000);
  return tv;
}

// rabbitmq-c says only "a socket error occurred" for a refused or reset connection; errno
// (taken right after the call) says which.
std::string LibraryError(int status, int err) {
  std::string text = amqp_error_string2(status);
  if ((status == AMQP_STATUS_SOCKET_ERROR || status == AMQP_STATUS_TCP_ERROR) && err != 0)
    text += std::string(" (") + std::strerror(err) + ")";
  return text;
}

// rabbitmq-c reports a failed connect as "a socket error occurred" and leaves errno stale;
// connecting once more ourselves says why ("Connection refused", "No route to host").
std::string WhyConnectFails(const std::string& host, std::uint16_t port, milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
    return std::string("cannot resolve ") + host + ": " + ::gai_strerror(rc);
  std::string why = "a socket error occurred";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int err = 0;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
          socklen_t len = sizeof err;
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        } else {
          err = ETIMEDOUT;
        }
      }
    }
    ::close(fd);
    if (err == 0) break;  // it works now: keep the library's word
    why = std::strerror(err);
  }
  ::freeaddrinfo(found);
  return why;
}

// The wait before the delay queue: whole seconds, rounded up, so that tasks delayed by
// slightly different amounts share a queue. 0 = due now.
milliseconds DelayUntil(Clock::time_point not_before) {
  const auto left = not_before - Clock::now();
  if (left <= Clock::duration::zero()) return milliseconds(0);
  return duration_cast<milliseconds>(std::chrono::ceil<std::chrono::seconds>(left));
}

std::string DelayQueueName(const std::string& queue, std::int64_t delay_ms) {
  return queue + ".delay." + std::to_string(delay_ms);
}

amqp_table_entry_t Entry(const char* key, amqp_field_value_t value) {
  amqp_table_entry_t e;
  e.key = amqp_cstring_bytes(key);
  e.value = value;
  return e;
}

amqp_field_value_t Utf8(std::string_view s) {
  amqp_field_value_t v;
  v.kind = AMQP_FIELD_KIND_UTF8;
  v.value.bytes = Bytes(s);
  return v;
}

amqp_field_value_t I64(std::int64_t n) {
  amqp_field_value_t v;
  v.kind = AMQP_FIELD_KIND_I64;
  v.value.i64 = n;
  return v;
}

}  // namespace

// One connection, logged in, with channel kChannel open in confirm mode. Closed (channel,
// connection, then the state destroyed) on destruction.
class AmqpConnection {
 public:
  struct Delivery {
    std::uint64_t tag = 0;
    std::string body;
    std::string message_id;
  };

  static Result<std::unique_ptr<AmqpConnection>> Open(const tasks::RabbitMqConfig& config,
                                                      const std::string& server);
  ~AmqpConnection();
  AmqpConnection(const AmqpConnection&) = delete;
  AmqpConnection& operator=(const AmqpConnection&) = delete;

  // True once anything failed: the connection is not used again.
  bool broken() const { return broken_; }

  // Declares a durable queue (or checks that it exists, if passive) and says how many
  // messages are ready in it.
  Status DeclareQueue(const std::string& name, bool passive, const amqp_table_t& arguments,
                      std::uint32_t* message_count);
  // Sets the prefetch and starts consuming `queue` with manual acks.
  Status Consume(const std::string& queue, unsigned prefetch);
  // Publishes a persistent message to `queue` through the default exchange and waits for the
  // broker's confirm. An unroutable message (the queue does not exist) is NotFound.
  struct Message {
    std::string_view body;
    std::string_view message_id;
    std::int64_t expiration_ms = 0;  // 0 = none
    std::string_view error;          // for kErrorHeader; empty = none
    bool json = true;
  };
  Status Publish(const std::string& queue, const Message& message);
  Status Ack(std::uint64_t tag);
  // basic.get without ack: a message, or nullopt when the queue is empty.
  Result<std::optional<std::pair<std::uint64_t, amqp_message_t>>> Get(const std::string& queue);
  // Gives back every message taken by Get up to `tag`.
  Status RequeueUpTo(std::uint64_t tag);

  // Reads frames until `done` or `deadline` (which may be now: only what has arrived);
  // `what` names the operation in errors.
  Status Pump(const std::string& what, Steady::time_point deadline,
              const std::function<bool()>& done);

  std::deque<Delivery>& pending() { return pending_; }  // delivered, not yet taken
  std::unordered_set<std::uint64_t>& unacked() { return unacked_; }

 private:
  AmqpConnection(std::string server, milliseconds answer_timeout)
      : server_(std::move(server)), answer_timeout_(answer_timeout) {}

  Status Error(const std::string& what, const std::string& detail) const {
    return Status::Unavailable("rabbitmq " + server_ + ": " + what + ": " + detail);
  }
  // Marks the connection broken and describes `reply`.
  Status Fail(const std::string& what, const amqp_rpc_reply_t& reply);
  Status Fail(const std::string& what, int status, int err) {
    broken_ = true;
    socket_ok_ = false;
    return Error(what, LibraryError(status, err));
  }
  Status HandleFrame(const std::string& what, const amqp_frame_t& frame);

  const std::string server_;
  const milliseconds answer_timeout_;  // for RPCs and confirms
  amqp_connection_state_t state_ = nullptr;
  bool socket_ok_ = false;  // the connection can still be closed politely
  bool channel_open_ = false;
  bool broken_ = false;

  // Publisher confirms: sequence numbers count publishes on the channel from 1.
  std::uint64_t published_ = 0;
  enum class Confirm { kNone, kWaiting, kAcked, kNacked };
  Confirm confirm_ = Confirm::kNone;
  std::string returned_;  // why the broker returned the message being confirmed

  std::deque<Delivery> pending_;
  std::unordered_set<std::uint64_t> unacked_;
};

Result<std::unique_ptr<AmqpConnection>> AmqpConnection::Open(const tasks::RabbitMqConfig& config,
                                                             const std::string& server) {
  std::unique_ptr<AmqpConnection> c(new AmqpConnection(server, config.connect_timeout));
  c->state_ = amqp_new_connection();
  if (c->state_ == nullptr) return Status::Internal("rabbitmq " + server + ": out of memory");
  amqp_socket_t* socket = amqp_tcp_socket_new(c->state_);  // owned by the connection
  if (socket == nullptr) return Status::Internal("rabbitmq " + server + ": out of memory");
  timeval timeout = ToTimeval(config.connect_timeout);
  errno = 0;
  int rc = amqp_socket_open_noblock(socket, config.host.c_str(), config.port, &timeout);
  if (rc == AMQP_STATUS_SOCKET_ERROR)
    return c->Error("connect", WhyConnectFails(config.host, config.port, config.connect_timeout));
  if (rc != AMQP_STATUS_OK) return c->Error("connect", LibraryError(rc, errno));
  c->socket_ok_ = true;
  amqp_set_handshake_timeout(c->state_, &timeout);
  amqp_set_rpc_timeout(c->state_, &timeout);

  // No AMQP heartbeats: rabbitmq-c answers them only inside its own calls, and the worker may
  // not call for minutes while its actions run; the broker would then close a healthy
  // connection and deliver its tasks again. TCP keepalive finds a dead peer instead.
  const int fd = amqp_socket_get_sockfd(socket);
  const int on = 1, idle = 30, interval = 10, count = 3;
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);

  amqp_rpc_reply_t reply =
      amqp_login(c->state_, config.vhost.c_str(), 0, kFrameMax, /*heartbeat=*/0,
                 AMQP_SASL_METHOD_PLAIN, config.user.c_str(), config.password.c_str());
  if (reply.reply_type != AMQP_RESPONSE_NORMAL)
    return c->Fail("login as " + config.user + " to vhost " + config.vhost, reply);
  amqp_channel_open(c->state_, kChannel);
  reply = amqp_get_rpc_reply(c->state_);
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) return c->Fail("channel.open", reply);
  c->channel_open_ = true;
  amqp_confirm_select(c->state_, kChannel);
  reply = amqp_get_rpc_reply(c->state_);
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) return c->Fail("confirm.select", reply);
  return c;
}

AmqpConnection::~AmqpConnection() {
  if (state_ == nullptr) return;
  if (socket_ok_) {
    if (channel_open_) amqp_channel_close(state_, kChannel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
  }
  amqp_destroy_connection(state_);
}

Status AmqpConnection::Fail(const std::string& what, const amqp_rpc_reply_t& reply) {
  broken_ = true;
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return Error(what, "unexpected success");
    case AMQP_RESPONSE_NONE:
      socket_ok_ = false;
      return Error(what, "no reply");
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      // A timeout or a socket error: rabbitmq-c has closed (or may be mid-way in) the socket.
      socket_ok_ = false;
      return Error(what, LibraryError(reply.library_error, 0));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      break;
  }
  std::string text;
  int code = 0;
  if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
    auto* m = static_cast<amqp_connection_close_t*>(reply.reply.decoded);
    text = Str(m->reply_text);
    code = m->reply_code;
    amqp_connection_close_ok_t ok;
    amqp_send_method(state_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    socket_ok_ = false;
  } else if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
    auto* m = static_cast<amqp_channel_close_t*>(reply.reply.decoded);
    text = Str(m->reply_text);
    code = m->reply_code;
    amqp_channel_close_ok_t ok;
    amqp_send_method(state_, kChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    channel_open_ = false;
  } else {
    text = std::string("unexpected ") + amqp_method_name(reply.reply.id);
  }
  // The broker refusing the login, the vhost or a queue's arguments is a configuration
  // problem that retrying does not fix.
  if (code == AMQP_ACCESS_REFUSED || code == AMQP_NOT_ALLOWED || code == AMQP_PRECONDITION_FAILED)
    return Status::InvalidArgument("rabbitmq " + server_ + ": " + what + ": " + text);
  return Error(what, text);
}

Status AmqpConnection::DeclareQueue(const std::string& name, bool passive,
                                    const amqp_table_t& arguments, std::uint32_t* message_count) {
  amqp_queue_declare_ok_t* ok =
      amqp_queue_declare(state_, kChannel, Bytes(name), passive, /*durable=*/1, /*exclusive=*/0,
                         /*auto_delete=*/0, arguments);
  amqp_rpc_reply_t reply = amqp_get_rpc_reply(state_);
  if (ok == nullptr || reply.reply_type != AMQP_RESPONSE_NORMAL)
    return Fail("queue.declare " + name, reply);
  if (message_count != nullptr) *message_count = ok->message_count;
  amqp_maybe_release_buffers(state_);
  return Status::Ok();
}

Status AmqpConnection::Consume(const std::string& queue, unsigned prefetch) {
  amqp_basic_qos(state_, kChannel, 0, static_cast<std::uint16_t>(std::min(prefetch, 65535u)), 0);
  amqp_rpc_reply_t reply = amqp_get_rpc_reply(state_);
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) return Fail("basic.qos", reply);
  amqp_basic_consume(state_, kChannel, Bytes(queue), amqp_empty_bytes, /*no_local=*/0,
                     /*no_ack=*/0, /*exclusive=*/0, amqp_empty_table);
  reply = amqp_get_rpc_reply(state_);
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) return Fail("basic.consume " + queue, reply);
  return Status::Ok();
}

Status AmqpConnection::Publish(const std::string& queue, const Message& message) {
  const std::string what = "basic.publish to " + queue;
  amqp_basic_properties_t props;
  std::memset(&props, 0, sizeof props);
  props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
  props.delivery_mode = 2;  // persistent
  if (message.json) {
    props._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
  }
  if (!message.message_id.empty()) {
    props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
    props.message_id = Bytes(message.message_id);
  }
  const std::string expiration = std::to_string(message.expiration_ms);
  if (message.expiration_ms > 0) {
    props._flags |= AMQP_BASIC_EXPIRATION_FLAG;
    props.expiration = Bytes(expiration);
  }
  amqp_table_entry_t header = Entry(kErrorHeader, Utf8(message.error));
  if (!message.error.empty()) {
    props._flags |= AMQP_BASIC_HEADERS_FLAG;
    props.headers.num_entries = 1;
    props.headers.entries = &header;
  }
  errno = 0;
  // mandatory: a message for a queue that does not exist (a delay queue that expired) comes
  // back as basic.return instead of vanishing with an ack.
  int rc = amqp_basic_publish(state_, kChannel, amqp_empty_bytes, Bytes(queue), /*mandatory=*/1,
                              /*immediate=*/0, &props, Bytes(message.body));
  if (rc != AMQP_STATUS_OK) return Fail(what, rc, errno);
  ++published_;
  confirm_ = Confirm::kWaiting;
  returned_.clear();
  if (Status s = Pump(what, Steady::now() + answer_timeout_,
                      [this] { return confirm_ != Confirm::kWaiting; });
      !s.ok())
    return s;
  switch (confirm_) {
    case Confirm::kAcked:
      if (!returned_.empty())
        return Status::NotFound("rabbitmq " + server_ + ": " + what + ": returned: " + returned_);
      return Status::Ok();
    case Confirm::kNacked:
      return Error(what, "the broker refused it (basic.nack)");
    default:
      // A late confirm would be taken for the next publish's: use a new connection.
      broken_ = true;
      return Error(what, "no confirm within " + std::to_string(answer_timeout_.count()) + " ms");
  }
}

Status AmqpConnection::Ack(std::uint64_t tag) {
  errno = 0;
  int rc = amqp_basic_ack(state_, kChannel, tag, /*multiple=*/0);
  if (rc != AMQP_STATUS_OK) return Fail("basic.ack", rc, errno);
  unacked_.erase(tag);
  return Status::Ok();
}

Result<std::optional<std::pair<std::uint64_t, amqp_message_t>>> AmqpConnection::Get(
    const std::string& queue) {
  amqp_rpc_reply_t reply = amqp_basic_get(state_, kChannel, Bytes(queue), /*no_ack=*/0);
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) return Fail("basic.get " + queue, reply);
  if (reply.reply.id == AMQP_BASIC_GET_EMPTY_METHOD)
    return std::optional<std::pair<std::uint64_t, amqp_message_t>>();
  const auto tag = static_cast<amqp_basic_get_ok_t*>(reply.reply.decoded)->delivery_tag;
  amqp_message_t message;
  reply = amqp_read_message(state_, kChannel, &message, 0);
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) return Fail("basic.get " + queue, reply);
  return std::optional(std::pair(tag, message));
}

Status AmqpConnection::RequeueUpTo(std::uint64_t tag) {
  errno = 0;
  int rc = amqp_basic_nack(state_, kChannel, tag, /*multiple=*/1, /*requeue=*/1);
  if (rc != AMQP_STATUS_OK) return Fail("basic.nack", rc, errno);
  return Status::Ok();
}

Status AmqpConnection::Pump(const std::string& what, Steady::time_point deadline,
                            const std::function<bool()>& done) {
  while (!done()) {
    timeval timeout = ToTimeval(duration_cast<std::chrono::microseconds>(deadline - Steady::now()));
    amqp_frame_t frame;
    errno = 0;
    int rc = amqp_simple_wait_frame_noblock(state_, &frame, &timeout);
    if (rc == AMQP_STATUS_TIMEOUT) return Status::Ok();
    if (rc != AMQP_STATUS_OK) return Fail(what, rc, errno);
    if (Status s = HandleFrame(what, frame); !s.ok()) return s;
    amqp_maybe_release_buffers(state_);
  }
  return Status::Ok();
}

Status AmqpConnection::HandleFrame(const std::string& what, const amqp_frame_t& frame) {
  if (frame.frame_type != AMQP_FRAME_METHOD) return Status::Ok();  // nothing we wait for
  amqp_rpc_reply_t reply;
  switch (frame.payload.method.id) {
    case AMQP_BASIC_DELIVER_METHOD: {
      Delivery d;
      d.tag = static_cast<amqp_basic_deliver_t*>(frame.payload.method.decoded)->delivery_tag;
      amqp_message_t message;
      reply = amqp_read_message(state_, frame.channel, &message, 0);
      if (reply.reply_type != AMQP_RESPONSE_NORMAL) return Fail("basic.deliver", reply);
      d.body = Str(message.body);
      if (message.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG)
        d.message_id = Str(message.properties.message_id);
      amqp_destroy_message(&message);
      unacked_.insert(d.tag);
      pending_.push_back(std::move(d));
      return Status::Ok();
    }
    case AMQP_BASIC_ACK_METHOD:
    case AMQP_BASIC_NACK_METHOD: {
      std::uint64_t tag;
      bool multiple;
      if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
        auto* m = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
        tag = m->delivery_tag;
        multiple = m->multiple;
      } else {
        auto* m = static_cast<amqp_basic_nack_t*>(frame.payload.method.decoded);
        tag = m->delivery_tag;
        multiple = m->multiple;
      }
      if (confirm_ == Confirm::kWaiting && (tag == published_ || (multiple && tag >= published_)))
        confirm_ =
            frame.payload.method.id == AMQP_BASIC_ACK_METHOD ? Confirm::kAcked : Confirm::kNacked;
      return Status::Ok();
    }
    case AMQP_BASIC_RETURN_METHOD: {
      auto* m = static_cast<amqp_basic_return_t*>(frame.payload.method.decoded);
      returned_ = Str(m->reply_text);
      if (returned_.empty()) returned_ = "reply code " + std::to_string(m->reply_code);
      amqp_message_t message;
      reply = amqp_read_message(state_, frame.channel, &message, 0);
      if (reply.reply_type != AMQP_RESPONSE_NORMAL) return Fail("basic.return", reply);
      amqp_destroy_message(&message);
      return Status::Ok();
    }
    case AMQP_CHANNEL_CLOSE_METHOD:
    case AMQP_CONNECTION_CLOSE_METHOD:
      reply.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION;
      reply.reply = frame.payload.method;
      reply.library_error = 0;
      return Fail(what, reply);
    case AMQP_BASIC_CANCEL_METHOD:
      broken_ = true;
      return Error(what, "the broker cancelled the consumer (queue deleted?)");
    default:
      return Status::Ok();
  }
}

// ---------------------------------------------------------------------------------------

RabbitMqTaskQueue::RabbitMqTaskQueue(const tasks::RabbitMqConfig& config, unsigned concurrency)
    : config_(config),
      prefetch_(config.prefetch > 0 ? config.prefetch : std::max(concurrency, 1u)),
      server_(config.host + ":" + std::to_string(config.port)),
      dead_queue_(config.queue + ".dead") {}

RabbitMqTaskQueue::~RabbitMqTaskQueue() {
  // The consumer first: the broker requeues what it holds at once.
  consumer_.reset();
  std::lock_guard lock(publisher_mu_);
  publisher_.reset();
}

Result<std::unique_ptr<RabbitMqTaskQueue>> RabbitMqTaskQueue::Connect(
    const tasks::RabbitMqConfig& config, unsigned concurrency) {
  if (config.queue.empty()) return Status::InvalidArgument("rabbitmq: the queue name is empty");
  std::unique_ptr<RabbitMqTaskQueue> q(new RabbitMqTaskQueue(config, concurrency));
  std::lock_guard lock(q->publisher_mu_);
  if (Status s = q->EnsurePublisher(); !s.ok()) return s;
  return q;
}

Result<std::unique_ptr<AmqpConnection>> RabbitMqTaskQueue::Open(Reconnect& reconnect,
                                                                bool consume) {
  const auto now = Steady::now();
  if (now < reconnect.next_attempt) {
    const auto wait = duration_cast<milliseconds>(reconnect.next_attempt - now).count();
    return Status::Unavailable(reconnect.last_error.message() + " (next attempt in " +
                               std::to_string(wait) + " ms)");
  }
  auto opened = AmqpConnection::Open(config_, server_);
  Status s = opened.status();
  // The topology, on every connection: declarations are idempotent, and the queues may have
  // been deleted while we were away.
  if (s.ok()) s = opened.value()->DeclareQueue(config_.queue, false, amqp_empty_table, nullptr);
  if (s.ok()) s = opened.value()->DeclareQueue(dead_queue_, false, amqp_empty_table, nullptr);
  if (s.ok() && consume) s = opened.value()->Consume(config_.queue, prefetch_);
  if (!s.ok()) {
    reconnect.last_error = s;
    reconnect.next_attempt = Steady::now() + reconnect.delay;
    reconnect.delay = std::min(reconnect.delay * 2, kMaxReconnectDelay);
    return s;
  }
  reconnect = Reconnect{};
  return std::move(opened.value());
}

Status RabbitMqTaskQueue::EnsurePublisher() {
  if (publisher_ && !publisher_->broken()) return Status::Ok();
  publisher_.reset();
  publisher_delays_.clear();
  auto opened = Open(publisher_reconnect_, /*consume=*/false);
  if (!opened.ok()) return opened.status();
  publisher_ = std::move(opened.value());
  return Status::Ok();
}

Status RabbitMqTaskQueue::WithPublisher(const std::function<Status(AmqpConnection&)>& op) {
  const bool reused = publisher_ && !publisher_->broken();
  if (Status s = EnsurePublisher(); !s.ok()) return s;
  Status s = op(*publisher_);
  if (s.ok() || !reused || !publisher_->broken()) return s;
  // A connection that died while idle (the broker restarted, a proxy dropped it) shows only
  // when it is used: once more, on a new one.
  if (Status reconnected = EnsurePublisher(); !reconnected.ok()) return reconnected;
  return op(*publisher_);
}

Status RabbitMqTaskQueue::EnsureConsumer() {
  if (consumer_ && !consumer_->broken()) return Status::Ok();
  DropConsumerIfBroken();
  auto opened = Open(consumer_reconnect_, /*consume=*/true);
  if (!opened.ok()) return opened.status();
  consumer_ = std::move(opened.value());
  if (++generation_ == 0) ++generation_;  // 0 never names a connection
  return Status::Ok();
}

void RabbitMqTaskQueue::DropConsumerIfBroken() {
  if (consumer_ && !consumer_->broken()) return;
  // Its deliveries go back to the queue when the broker sees the connection close.
  consumer_.reset();
  consumer_delays_.clear();
  running_ = 0;
}

Status RabbitMqTaskQueue::DeclareDelayQueue(AmqpConnection& connection, DeclaredDelays& declared,
                                            std::int64_t delay_ms, bool force) {
  const auto now = Steady::now();
  if (auto it = declared.find(delay_ms);
      !force && it != declared.end() && now - it->second < kRedeclareAfter)
    return Status::Ok();
  // Why one queue per delay rather than one delay queue with per-message TTLs: RabbitMQ
  // expires only the message at the head of a queue, so a 10-minute retry at the head would
  // hold back a 2-second delay queued behind it. With one TTL per queue, messages expire in
  // the order they arrive. The per-message `expiration` (set in PublishTask) is the same
  // value, so a message keeps its delay even in a queue someone declared without x-message-ttl.
  amqp_table_entry_t entries[] = {
      Entry("x-dead-letter-exchange", Utf8("")),                // the default exchange...
      Entry("x-dead-letter-routing-key", Utf8(config_.queue)),  // ...into the work queue
      Entry("x-message-ttl", I64(delay_ms)),
      Entry("x-expires", I64(delay_ms + duration_cast<milliseconds>(kDelayQueueGrace).count())),
  };
  amqp_table_t arguments;
  arguments.num_entries = static_cast<int>(std::size(entries));
  arguments.entries = entries;
  if (Status s = connection.DeclareQueue(DelayQueueName(config_.queue, delay_ms), false, arguments,
                                         nullptr);
      !s.ok())
    return s;
  declared[delay_ms] = now;
  return Status::Ok();
}

Status RabbitMqTaskQueue::PublishTask(AmqpConnection& connection, DeclaredDelays& declared,
                                      const std::string& id, const std::string& body,
                                      milliseconds delay) {
  AmqpConnection::Message message;
  message.body = body;
  message.message_id = id;
  if (delay.count() <= 0) return connection.Publish(config_.queue, message);
  const std::int64_t ms = delay.count();
  message.expiration_ms = ms;
  const std::string queue = DelayQueueName(config_.queue, ms);
  if (Status s = DeclareDelayQueue(connection, declared, ms, /*force=*/false); !s.ok()) return s;
  Status s = connection.Publish(queue, message);
  if (s.code() != Status::Code::kNotFound) return s;
  // Returned unroutable: the delay queue expired since we declared it. Once more.
  if (s = DeclareDelayQueue(connection, declared, ms, /*force=*/true); !s.ok()) return s;
  s = connection.Publish(queue, message);
  return s.code() == Status::Code::kNotFound ? Status::Unavailable(s.message()) : s;
}

void RabbitMqTaskQueue::RememberId(const std::string& id) {
  auto [it, inserted] = recent_ids_.insert(id);
  if (!inserted) return;
  recent_order_.push_back(&*it);  // element addresses survive rehashing
  if (recent_order_.size() > kRecentIds) {
    recent_ids_.erase(recent_ids_.find(*recent_order_.front()));
    recent_order_.pop_front();
  }
}

Status RabbitMqTaskQueue::Enqueue(const Task& task) {
  if (task.id.empty()) return Status::InvalidArgument("task has no id");
  std::lock_guard lock(publisher_mu_);
  if (recent_ids_.contains(task.id)) return Status::Ok();
  const std::string body = EncodeTask(task);
  Status s = WithPublisher([&](AmqpConnection& c) {
    return PublishTask(c, publisher_delays_, task.id, body, DelayUntil(task.not_before));
  });
  if (s.ok()) RememberId(task.id);
  return s;
}

Result<std::vector<Task>> RabbitMqTaskQueue::Take(std::size_t max, milliseconds wait) {
  std::vector<Task> taken;
  if (max == 0) return taken;
  if (Status s = EnsureConsumer(); !s.ok()) return s;
  const auto deadline = Steady::now() + wait;
  auto& pending = consumer_->pending();
  while (taken.size() < max) {
    if (pending.empty()) {
      // Wait for the first; after that, only what has already arrived.
      Status s = consumer_->Pump("basic.consume " + config_.queue,
                                 taken.empty() ? deadline : Steady::now(),
                                 [&] { return !pending.empty(); });
      if (!s.ok()) {
        // What we took is redelivered once the broker sees the connection gone: hand none
        // of it out, since it could not be settled.
        DropConsumerIfBroken();
        return s;
      }
      if (pending.empty()) break;
    }
    AmqpConnection::Delivery d = std::move(pending.front());
    pending.pop_front();
    auto task = DecodeTask(d.body);
    if (!task.ok()) {
      // Never dropped: kept in the dead-letter as it came, with the reason in a header.
      const std::string error = "undecodable task: " + task.status().message();
      AmqpConnection::Message message;
      message.body = d.body;
      message.message_id = d.message_id;
      message.error = error;
      message.json = false;
      Status s = consumer_->Publish(dead_queue_, message);
      if (s.ok()) s = consumer_->Ack(d.tag);
      if (!s.ok()) {
        DropConsumerIfBroken();
        return s;
      }
      continue;
    }
    task->handle = (std::uint64_t{generation_} << kTagBits) | (d.tag & kTagMask);
    taken.push_back(std::move(task.value()));
  }
  running_ = consumer_->unacked().size();
  return taken;
}

Result<std::uint64_t> RabbitMqTaskQueue::HeldDelivery(const Task& task, const char* what) {
  const auto generation = static_cast<std::uint16_t>(task.handle >> kTagBits);
  const std::uint64_t tag = task.handle & kTagMask;
  if (!consumer_ || consumer_->broken() || generation != generation_)
    return Status::Unavailable("rabbitmq " + server_ + ": " + what + " task " + task.id +
                               ": it was taken on a connection that has closed (the broker " +
                               "delivers it again)");
  if (!consumer_->unacked().contains(tag))
    return Status::InvalidArgument("rabbitmq " + server_ + ": " + what + " task " + task.id +
                                   ": delivery " + std::to_string(tag) +
                                   " is not held by this worker");
  return tag;
}

Status RabbitMqTaskQueue::Done(const Task& task) {
  auto tag = HeldDelivery(task, "done");
  if (!tag.ok()) return tag.status();
  Status s = consumer_->Ack(*tag);
  DropConsumerIfBroken();
  if (consumer_) running_ = consumer_->unacked().size();
  return s;
}

Status RabbitMqTaskQueue::Settle(const Task& task, bool bury) {
  auto tag = HeldDelivery(task, bury ? "bury" : "retry");
  if (!tag.ok()) return tag.status();
  const std::string body = EncodeTask(task);
  Status s;
  if (bury) {
    AmqpConnection::Message message;
    message.body = body;
    message.message_id = task.id;
    s = consumer_->Publish(dead_queue_, message);
  } else {
    s = PublishTask(*consumer_, consumer_delays_, task.id, body, DelayUntil(task.not_before));
  }
  // The new copy is stored: only now let go of the original.
  if (s.ok()) s = consumer_->Ack(*tag);
  DropConsumerIfBroken();
  if (consumer_) running_ = consumer_->unacked().size();
  return s;
}

Status RabbitMqTaskQueue::Retry(const Task& task) { return Settle(task, /*bury=*/false); }

Status RabbitMqTaskQueue::Bury(const Task& task) { return Settle(task, /*bury=*/true); }

Result<TaskQueueCounts> RabbitMqTaskQueue::Counts() {
  std::lock_guard lock(publisher_mu_);
  TaskQueueCounts counts;
  std::uint32_t queued = 0, dead = 0;
  Status s = WithPublisher([&](AmqpConnection& c) {
    Status declared = c.DeclareQueue(config_.queue, /*passive=*/true, amqp_empty_table, &queued);
    if (declared.ok())
      declared = c.DeclareQueue(dead_queue_, /*passive=*/true, amqp_empty_table, &dead);
    return declared;
  });
  if (!s.ok()) return s;
  counts.queued = queued;
  counts.dead = dead;
  counts.running = running_.load();
  return counts;
}

Result<std::vector<Task>> RabbitMqTaskQueue::DeadTasks(std::size_t max,
                                                       const DeadTaskFilter& filter) {
  std::lock_guard lock(publisher_mu_);
  if (Status s = EnsurePublisher(); !s.ok()) return s;
  std::vector<Task> tasks;
  std::uint64_t last_tag = 0;
  Status status;
  while (tasks.size() < max) {
    auto got = publisher_->Get(dead_queue_);
    if (!got.ok()) {
      status = got.status();
      break;
    }
    if (!got->has_value()) break;
    auto& [tag, message] = **got;
    last_tag = tag;
    auto task = DecodeTask(Str(message.body));
    if (task.ok()) {
      if (filter.Matches(*task)) tasks.push_back(std::move(task.value()));
    } else {
      Task t;
      if (message.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG)
        t.id = Str(message.properties.message_id);
      t.last_error = task.status().message();
      if (message.properties._flags & AMQP_BASIC_HEADERS_FLAG) {
        const amqp_table_t& headers = message.properties.headers;
        for (int i = 0; i < headers.num_entries; ++i) {
          if (Str(headers.entries[i].key) == kErrorHeader &&
              headers.entries[i].value.kind == AMQP_FIELD_KIND_UTF8)
            t.last_error = Str(headers.entries[i].value.value.bytes);
        }
      }
      if (filter.Matches(t)) tasks.push_back(std::move(t));
    }
    amqp_destroy_message(&message);
  }
  // Put them all back where they were (a broken connection gives them back by itself).
  if (last_tag != 0 && !publisher_->broken()) {
    Status s = publisher_->RequeueUpTo(last_tag);
    if (status.ok()) status = s;
  }
  if (!status.ok()) return status;
  return tasks;
}

Status RabbitMqTaskQueue::ReviveOne(Task task, std::uint64_t tag) {
  task.attempts = 0;
  task.not_before = std::chrono::time_point_cast<milliseconds>(Clock::now());
  Status s =
      PublishTask(*publisher_, publisher_delays_, task.id, EncodeTask(task), milliseconds(0));
  // The copy in the work queue is stored: only now let go of the dead one.
  if (s.ok()) s = publisher_->Ack(tag);
  return s;
}

Result<std::size_t> RabbitMqTaskQueue::ReviveDead(const DeadTaskFilter& filter) {
  std::lock_guard lock(publisher_mu_);
  if (Status s = EnsurePublisher(); !s.ok()) return s;
  std::size_t revived = 0;
  std::unordered_set<std::string> revived_ids;
  std::uint64_t last_held = 0;  // the highest tag got and neither revived nor dropped
  Status status;
  while (status.ok()) {
    auto got = publisher_->Get(dead_queue_);
    if (!got.ok()) {
      status = got.status();
      break;
    }
    if (!got->has_value()) break;  // the dead-letter is empty but for what we hold
    auto& [tag, message] = **got;
    auto task = DecodeTask(Str(message.body));
    amqp_destroy_message(&message);
    if (!task.ok() || !filter.Matches(*task)) {
      last_held = tag;  // a message that is not a task stays dead: it would only die again
      continue;
    }
    if (revived_ids.contains(task->id)) {
      status = publisher_->Ack(tag);
      continue;
    }
    revived_ids.insert(task->id);
    status = ReviveOne(std::move(task.value()), tag);
    if (status.ok()) {
      ++revived;
    } else {
      last_held = std::max(last_held, tag);
    }
  }
  // Give back what stays dead. A broken connection gives it back by itself once closed: close
  // it now rather than at the next call.
  if (last_held != 0 && !publisher_->broken()) {
    Status s = publisher_->RequeueUpTo(last_held);
    if (status.ok()) status = s;
  }
  if (publisher_->broken()) publisher_.reset();
  if (!status.ok())
    return status.WithContext(std::to_string(revived) + " dead task(s) put back, then");
  return revived;
}

}  // namespace oceanus::tasks

// The HTTP/1.1 server on Asio: listener and session per connection, in the shape of Beast's
// example/http/server/async (with its own request parser, request_parser.h), one io_context
// per thread.
//
// A session's life: DoRead (wait for the first bytes of a request under the idle timeout;
// then read the whole request under the read timeout, with header and body limits) →
// Handle (collect::Collector decides; no socket is involved) → Append to this thread's queue
// writer, whose completion (Appended) may come later (fsync group commit) → an optional
// timer (the /gaze delay: a timer, never a sleeping thread) → Respond (bytes from
// responses.cpp) → DoRead again, or close.
//
// Memory and timers, as nginx does it rather than as Beast's examples do: a session is a
// socket and a few words. The buffers, parser and scratch of a request (an Exchange) are lent
// by the thread's pool when a request begins and given back once the connection has been
// idle for about a second (the pending read is cancelled and a readiness wait takes its
// place), so 10,000 idle keep-alive connections hold no buffers. Timeouts are one sweep timer
// per thread that looks at every session each tick (a quarter of the shorter timeout, at
// most a second), not a timer per connection re-armed on every read and write.
//
// Shutdown: each worker stops accepting, closes sessions that sit idle between requests, and
// lets the others answer their request in flight (with Connection: close); the threads are
// joined once every connection is gone or the grace period has passed. Then the workers are
// destroyed, each in the order its members are declared in (see Worker): whatever holds a
// handle of the io_context or posts to it goes before the io_context does.
//
// An exception out of a handler (std::bad_alloc, say) is caught around io.run(), logged, and
// the thread runs on: the request it served is dropped with the handler (its session, and so
// its socket, go once the last reference does), and the other connections are unaffected.
#include "http/server.h"

#include <boost/asio.hpp>
#include "util/log.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <ctime>
#include <optional>
#include <thread>
#include <unordered_set>
#include <utility>

#include "http/field_lines.h"
#include "http/framing.h"
#include "http/request_parser.h"
#include "http/responses.h"
#include "util/ascii.h"
#include "util/cpu.h"
#include "util/log_limiter.h"
#include "util/time.h"

namespace oceanus::http {

namespace asio = boost::asio;
using error_code = boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

class Session;

// The rejected-events store's reason for a refusal no rejection counter names.
std::string_view RefusalName(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 404:
      return "unknown_site";
    case 405:
      return "method";
    case 408:
      return "timeout";
    case 413:
      return "too_large";
    case 415:
      return "media_type";
    case 431:
      return "headers_too_large";
    default:
      return "refused";
  }
}

// The buffers one request needs from its first byte to its answer's last. A worker's pool
// lends one to a connection when a request begins and takes it back once the connection has
// sat idle for a tick (nginx frees its buffers on keep-alive likewise), so that an idle
// connection holds only its socket and a few words, and busy connections reuse the same
// few exchanges without allocating per request.
struct Exchange {
  Exchange(std::size_t header_limit, std::size_t buffer_limit)
      : request(header_limit, buffer_limit) {}
  // Bytes held beyond the read buffer (which the header limit bounds): a Segment batch or an
  // inflated body leaves them large, and such an exchange is not worth keeping.
  std::size_t Retained() const {
    return request.Retained() + out.capacity() + outcome.body.capacity() + scratch.body.capacity() +
           scratch.batch.arena.capacity() + scratch.event.record.capacity();
  }
  RequestParser request;  // the read buffer (at most the worker's read_buffer_limit bytes)
  collect::Scratch scratch;
  collect::Outcome outcome;
  std::string out;        // the answer's bytes
  std::string xff_lines;  // X-Forwarded-For sent on several lines, combined
};

class ExchangePool {
 public:
  std::unique_ptr<Exchange> Take(std::size_t header_limit, std::size_t buffer_limit) {
    if (free_.empty()) return std::make_unique<Exchange>(header_limit, buffer_limit);
    auto x = std::move(free_.back());
    free_.pop_back();
    return x;
  }
  // Keeps `x` for the next request unless the pool is full or `x` has grown large; it is
  // given back only with an empty read buffer (between requests) or when its session goes.
  void Give(std::unique_ptr<Exchange> x) {
    if (!x || free_.size() >= kKept || x->Retained() > kMaxRetained) return;
    x->request.Reset();
    free_.push_back(std::move(x));
  }

 private:
  // Enough for the requests one thread has under way at once in practice; more are made
  // when needed and freed once their connections go idle. About 8 KiB each.
  static constexpr std::size_t kKept = 256;
  static constexpr std::size_t kMaxRetained = 64 * 1024;
  std::vector<std::unique_ptr<Exchange>> free_;
};

// The timeouts in sweep ticks (Worker::Sweep), rounded up and one more: a timeout of T fires
// between T and T plus a tick after its phase began, never early.
struct Ticks {
  std::uint64_t idle = 0;
  std::uint64_t read = 0;
  std::uint64_t park = 0;  // idle this long (about a second): give the exchange back
};

// One I/O thread: its io_context, acceptor, sessions, queue writer and per-thread state.
//
// Destruction order (members go in the reverse of their declaration), the rule being that
// nothing may use `io` after it is gone:
//   - destroyed after io: what a session's destructor touches (the session set, the
//     connection count) and what handlers read. Destroying io destroys the handlers still
//     queued in it, and with them the last references to their sessions;
//   - destroyed before io: everything that holds a handle of io (acceptor, timer) or posts to
//     it (the writer: the Redis writer's flush on destruction posts completions, and a spool
//     writer's group commit posts when its fsync returns). A completion posted to the stopped
//     io is not run; it is destroyed with io, and the session it held with it.
// A session is also held by a writer's job that runs elsewhere (an fsync in group commit, on
// the blocking pool): such a job must have run before the Server is destroyed, which is why
// main joins the pool first and why ThreadPool::Submit after Join runs the job inline. Then
// no session outlives the io its socket belongs to.
struct Worker {
  Worker(unsigned index, const config::ServerConfig& server,
         std::shared_ptr<const collect::Collector> collector, std::atomic<std::size_t>& connections)
      : index(index),
        server(server),
        collector(std::move(collector)),
        connections(connections),
        thread_state(this->collector->classifier()),
        counters(this->collector->sites()),
        acceptor(io) {}

  // The Date header, reformatted only when the second changes.
  std::string_view Date() {
    const std::time_t now = std::time(nullptr);
    if (now != date_second) {
      date_second = now;
      std::tm tm{};
      gmtime_r(&now, &tm);
      date_length = std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    }
    return {date, date_length};
  }

  void Accept();
  void Run();
  // Every sweep_period: the timeouts of every session and the parking of idle ones. One
  // timer for the thread instead of one per connection re-armed on every read and write.
  void StartSweep();

  unsigned index;
  const config::ServerConfig& server;  // the Server's (Server::Impl outlives its workers)
  std::shared_ptr<const collect::Collector> collector;
  // Connections open on every thread together (server.max_connections caps it exactly): one
  // atomic shared by the threads, touched once per accept and once per close, never per request.
  std::atomic<std::size_t>& connections;
  std::size_t max_connections = 0;
  std::size_t header_limit = 0;           // server.max_header_bytes
  std::size_t read_buffer_limit = 0;      // a session's read buffer: the header and a read's worth
  std::unordered_set<Session*> sessions;  // outlives io (see above)
  ExchangePool exchanges;                 // outlives io: a session gives its exchange back
  std::chrono::milliseconds sweep_period{1000};
  Ticks limits;
  std::uint64_t tick = 0;  // sweeps so far
  // Connections parked (idle without an exchange): written by this thread only (Bump).
  std::atomic<std::uint64_t> parked{0};
  event::ThreadState thread_state;
  collect::CollectorCounters counters;                // written by this thread only
  collect::RecentActivity recent;                     // the admin page's live tail
  queue::RejectedRecorder::Lane* rejected = nullptr;  // refused requests; null: not kept
  std::size_t max_payload_bytes = 4096;
  LogLimiter append_failures;   // "queue append failed": a line a second at most
  LogLimiter handler_failures;  // exceptions out of handlers, likewise
  bool warned_out_of_descriptors = false;
  bool draining = false;
  std::time_t date_second = 0;
  char date[64] = {};
  std::size_t date_length = 0;
  // One thread runs it, and only that thread starts or ends socket operations (other threads
  // only post), so the per-descriptor locks of the reactor are left out; posting and timers
  // keep theirs.
  asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  // Everything below holds handles of io or posts to it: destroyed before io.
  //
  // io.run() must not return for want of work while a session waits for its writer: once
  // shutdown has closed the acceptor, an append in fsync group commit is the only thing left,
  // and its completion, posted later, would never run (the request would go unanswered
  // through the whole grace period). Only Shutdown's io.stop() ends the thread.
  asio::executor_work_guard<asio::io_context::executor_type> keep_running{io.get_executor()};
  tcp::acceptor acceptor;
  // Pauses accepting when the process is out of descriptors (EMFILE/ENFILE): accepting again
  // at once would fail at once, and the loop would spin on a core.
  std::optional<asio::steady_timer> accept_pause;
  asio::steady_timer sweep{io};
  std::unique_ptr<queue::QueueWriter> writer;
  std::thread thread;
};

// One of server.max_connections, taken when a connection is accepted and given back when its
// session is destroyed.
class ConnectionSlot {
 public:
  static std::optional<ConnectionSlot> Take(std::atomic<std::size_t>& count, std::size_t max) {
    if (count.fetch_add(1, std::memory_order_relaxed) >= max) {
      count.fetch_sub(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    return ConnectionSlot(count);
  }
  ConnectionSlot(ConnectionSlot&& other) noexcept : count_(std::exchange(other.count_, nullptr)) {}
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  ~ConnectionSlot() {
    if (count_ != nullptr) count_->fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  explicit ConnectionSlot(std::atomic<std::size_t>& count) : count_(&count) {}
  std::atomic<std::size_t>* count_;
};

// Headers of the request being handled, for fields `from: header`.
class ParsedHeaders : public event::HeaderSource {
 public:
  explicit ParsedHeaders(const RequestHead& head) : head_(head) {}
  std::string_view Get(std::string_view name) const override { return head_.Find(name); }

 private:
  const RequestHead& head_;
};

// Methods are case-sensitive (RFC 9110 §9.1): "get" is not GET.
collect::Method MethodOf(std::string_view method) {
  if (method == "GET") return collect::Method::kGet;
  if (method == "HEAD") return collect::Method::kHead;
  if (method == "POST") return collect::Method::kPost;
  if (method == "OPTIONS") return collect::Method::kOptions;
  return collect::Method::kOther;
}

// A connection's phase, for the sweep (Worker::Sweep): what it waits for and so which
// timeout applies.
enum class Phase : std::uint8_t {
  kIdle,      // between requests, a read pending into its exchange: idle_timeout, then parked
  kParked,    // between requests, no exchange, waiting to become readable: idle_timeout
  kReading,   // a request's header and body: read_timeout
  kHandling,  // the queue or the /gaze delay has the request: no timeout
  kWriting,   // the answer: read_timeout
};

class Session : public std::enable_shared_from_this<Session>, public queue::AppendHandler {
 public:
  Session(tcp::socket&& socket, Worker& worker, ConnectionSlot slot)
      : socket_(std::move(socket)), worker_(worker), slot_(std::move(slot)) {
    worker_.sessions.insert(this);
  }
  ~Session() override {
    if (phase_ == Phase::kParked) Unpark();
    worker_.sessions.erase(this);
    worker_.exchanges.Give(std::move(x_));
  }

  void Start() {
    error_code ec;
    const auto endpoint = socket_.remote_endpoint(ec);
    if (ec) return;
    const auto address = endpoint.address();
    if (address.is_v4()) {
      peer_ = IpAddress::FromV4(address.to_v4().to_uint());
    } else {
      peer_ = IpAddress::FromV6(address.to_v6().to_bytes());
    }
    socket_.set_option(tcp::no_delay(true), ec);
    DoRead();
  }

  // Called on shutdown: a session waiting for its next request is closed now; one in the
  // middle of a request finishes it and then closes.
  void Drain() {
    if (phase_ == Phase::kIdle || phase_ == Phase::kParked) Close();
  }

  // Called by the sweep once per tick: closes a connection past its phase's timeout (the
  // pending operation ends with an error, which closes the session), and parks one that has
  // sat idle for a tick or more.
  void OnTick(std::uint64_t tick, const Ticks& limits) {
    const std::uint64_t elapsed = tick - phase_tick_;
    switch (phase_) {
      case Phase::kIdle:
        if (elapsed >= limits.idle) return Expire();
        if (elapsed >= limits.park) Park();
        return;
      case Phase::kParked:
        if (elapsed >= limits.idle) Expire();
        return;
      case Phase::kReading:
      case Phase::kWriting:
        if (elapsed >= limits.read) Expire();
        return;
      case Phase::kHandling:
        return;
    }
  }

  void Appended(Status status) override {
    if (!status.ok()) return RefuseUnstored(status);
    auto& out = x_->outcome;
    worker_.counters.Queued(out.site, Records());
    const auto now = std::chrono::system_clock::now();
    if (out.batch) {
      for (std::size_t i = 0; i < x_->scratch.batch.size(); ++i)
        worker_.recent.events.Add(now, out.site, x_->scratch.batch[i]);
    } else {
      worker_.recent.events.Add(now, out.site, x_->scratch.event.record);
    }
    if (out.delay.count() > 0) {
      if (!delay_) delay_ = std::make_unique<asio::steady_timer>(socket_.get_executor());
      delay_->expires_after(out.delay);
      delay_->async_wait([self = shared_from_this()](error_code ec) {
        if (!ec) self->Respond();
      });
      return;
    }
    Respond();
  }

 private:
  std::size_t Records() const { return x_->outcome.batch ? x_->scratch.batch.size() : 1; }

  // The queue refused the append: 503, in the words of the request's endpoint.
  void RefuseUnstored(const Status& status) {
    // On a full disk every request fails here: one line a second per thread, with a count.
    std::uint64_t suppressed = 0;
    if (worker_.append_failures.Allow(LogLimiter::Clock::now(), suppressed)) {
      if (suppressed == 0) {
        spdlog::error("queue append failed: {}", status.ToString());
      } else {
        spdlog::error("queue append failed: {} ({} more on this thread since the last line)",
                      status.ToString(), suppressed);
      }
    }
    auto& out = x_->outcome;
    worker_.counters.Rejected(out.site, collect::RejectReason::kUnavailable, Records());
    const int rejected = static_cast<int>(collect::RejectReason::kUnavailable);
    const int site = out.metrics_site;
    const auto endpoint = out.endpoint;
    const bool json = out.answer == collect::Answer::kJson;
    out.Reset();
    out.metrics_site = site;
    out.endpoint = endpoint;
    out.rejected = rejected;
    out.status = 503;
    if (json) {
      out.answer = collect::Answer::kJson;
      out.body = R"({"success":false,"message":"the events could not be stored; try again"})";
    } else {
      out.answer = collect::Answer::kText;
      out.body = "the event could not be stored; try again\n";
    }
    Respond();
  }

  void Enter(Phase phase) {
    phase_ = phase;
    phase_tick_ = worker_.tick;
  }

  // Every record of the batch in one call, answered once (OK only if all are stored): the
  // client retries the whole batch on a failure, and the sinks keep its events once by eid.
  void AppendBatch() {
    worker_.writer->AppendAll(x_->outcome.site, x_->scratch.batch.arena, x_->scratch.batch.ends,
                              shared_from_this());
  }

  void DoRead() {
    if (phase_ == Phase::kParked) Unpark();
    if (worker_.draining) return Close();
    if (!x_) x_ = worker_.exchanges.Take(worker_.header_limit, worker_.read_buffer_limit);
    if (x_->request.Buffered()) return ReadRequest();  // pipelined: the next one is here
    // Between requests: wait for the first bytes under the idle timeout.
    Enter(Phase::kIdle);
    const auto space = x_->request.ReadSpace();
    socket_.async_read_some(
        asio::buffer(space.data(), space.size()),
        [self = shared_from_this()](error_code ec, std::size_t n) { self->OnFirstBytes(ec, n); });
  }

  void OnFirstBytes(error_code ec, std::size_t n) {
    const bool park =
        std::exchange(parking_, false) && ec == asio::error::operation_aborted && socket_.is_open();
    if (park) return WaitParked();
    if (ec) return Close();
    x_->request.Commit(n);
    ReadRequest();
  }

  // Idle for a tick: the pending read is cancelled (no system call) and its handler parks.
  void Park() {
    parking_ = true;
    error_code ec;
    socket_.cancel(ec);
  }

  // Gives the exchange back and waits for the connection to become readable; the read that
  // follows gets an exchange from the pool again.
  void WaitParked() {
    worker_.exchanges.Give(std::move(x_));
    phase_ = Phase::kParked;  // the idle time still counts from when the last answer went
    Bump(worker_.parked);
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](error_code ec) {
      if (ec) return self->Close();
      self->DoRead();
    });
  }

  void Unpark() {
    phase_ = Phase::kIdle;
    worker_.parked.store(worker_.parked.load(std::memory_order_relaxed) - 1,
                         std::memory_order_relaxed);
  }

  // A request has begun: its header, then its body, under the read timeout.
  void ReadRequest() {
    Enter(Phase::kReading);
    head_ = false;
    Parse();
  }

  // Parses what has been read, and reads more while the request is incomplete.
  void Parse() { OnParsed(x_->request.Parse()); }

  // What a parse result leads to.
  void OnParsed(RequestParser::Result result) {
    switch (result) {
      case RequestParser::Result::kNeedMore:
        return ReadMore();
      case RequestParser::Result::kHeader:
        return OnHeader();
      case RequestParser::Result::kComplete:
        return Handle();
      case RequestParser::Result::kRefused:
        return Refuse(x_->request.refusal());
    }
  }

  void ReadMore() {
    const auto space = x_->request.ReadSpace();
    socket_.async_read_some(asio::buffer(space.data(), space.size()),
                            [self = shared_from_this()](error_code ec, std::size_t n) {
                              // A timeout has already closed the socket: nothing can be
                              // answered, as with nginx's client_header_timeout; a client that
                              // closes mid-request is not answered either.
                              if (ec) return self->Close();
                              self->x_->request.Commit(n);
                              self->Parse();
                            });
  }

  // The header is read: the body gets its path's limit (a Content-Length over it is refused
  // before any of the body is read), and "100 Continue" is sent if the client waits for it.
  void OnHeader() {
    const RequestHead& head = x_->request.head();
    head_ = head.method == "HEAD";
    x_->request.SetBodyLimit(worker_.collector->BodyLimit(head.target));
    const auto result = x_->request.Parse();
    if (result != RequestParser::Result::kNeedMore) return OnParsed(result);
    if (!ExpectsContinue(head.version, head.Find("expect"))) return ReadMore();
    asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = shared_from_this()](error_code ec, std::size_t) {
                        if (ec) return self->Close();
                        self->ReadMore();
                      });
  }

  void Refuse(const Refusal& refusal) {
    if (refusal.status == 413) return SendTooLarge();
    SendError(refusal.status, std::string(refusal.reason));
  }

  void Handle() {
    Enter(Phase::kHandling);
    const RequestHead& head = x_->request.head();
    keep_alive_ = head.keep_alive;
    ParsedHeaders headers(head);
    collect::Request request;
    request.method = MethodOf(head.method);
    request.target = head.target;
    request.content_type = head.Find("content-type");
    request.body = x_->request.body();
    request.user_agent = head.Find("user-agent");
    FieldLines xff(x_->xff_lines);
    for (const auto& field : head.fields)
      if (AsciiIEquals(field.name, "x-forwarded-for")) xff.Add(field.value);
    request.x_forwarded_for = xff.value();
    request.headers = &headers;
    request.peer = peer_;
    request.now = std::chrono::system_clock::now();
    request.counters = &worker_.counters;
    request.recent = &worker_.recent;
    request.rejected = worker_.rejected;
    request.max_payload_bytes = worker_.max_payload_bytes;
    auto& out = x_->outcome;
    worker_.collector->Handle(request, worker_.thread_state, x_->scratch, out);
    if (out.append && out.batch) return AppendBatch();
    if (out.append) {
      worker_.writer->Append(out.site, x_->scratch.event.record, shared_from_this());
      return;
    }
    Respond();
  }

  // 413 for a body over its path's limit, in the words of the path's source; the rest of the
  // body is not read, so the connection closes.
  void SendTooLarge() {
    auto& out = x_->outcome;
    out.Reset();
    out.endpoint = collect::EndpointLabel::kInvalid;
    worker_.collector->AnswerTooLarge(x_->request.head().target, out);
    CountUnread(collect::RejectReason::kTooLarge);
    out.omit_body = head_;
    out.close = true;
    keep_alive_ = false;
    Respond();
  }

  void SendError(int status, std::string body) {
    auto& out = x_->outcome;
    out.Reset();
    out.endpoint = collect::EndpointLabel::kInvalid;
    out.status = status;
    out.body = std::move(body);
    if (status == 431) CountUnread(collect::RejectReason::kHeadersTooLarge);
    if (status == 400) CountUnread(collect::RejectReason::kMalformed);
    out.omit_body = head_;
    out.close = true;
    keep_alive_ = false;
    Respond();
  }

  // A request refused before it was handled: under the site and endpoint its path names (the
  // site counts it as received and rejected, as a handled request would be), else under none.
  void CountUnread(collect::RejectReason reason) {
    auto& out = x_->outcome;
    worker_.collector->Attribute(x_->request.TargetSoFar(), out);
    out.Reject(reason);
    if (out.metrics_site < 0) return;
    worker_.counters.Received(static_cast<std::size_t>(out.metrics_site));
    worker_.counters.Rejected(static_cast<std::size_t>(out.metrics_site), reason);
  }

  // Keeps a refused request in the rejected-events store (through this thread's lane): any
  // counted rejection, and any other 4xx of an event endpoint or of a request that could not
  // be read. Unknown paths, the collector's own paths and preflights are not events.
  void RecordRefusal() {
    const auto& out = x_->outcome;
    if (worker_.rejected == nullptr || out.messages_recorded) return;
    const bool client_error = out.status >= 400 && out.status < 500;
    const bool event_path = out.endpoint != collect::EndpointLabel::kHealth &&
                            out.endpoint != collect::EndpointLabel::kStatic &&
                            out.endpoint != collect::EndpointLabel::kOther;
    if (out.rejected < 0 && !(client_error && event_path)) return;
    const auto& sites = worker_.collector->sites();
    const RequestHead& head = x_->request.head();
    worker_.rejected->Add([&](queue::Rejection& r) {
      r.at_micros = MicrosSinceEpoch(std::chrono::system_clock::now());
      r.site.assign(out.metrics_site >= 0 ? std::string_view(sites[out.metrics_site].name)
                                          : std::string_view());
      r.kind.assign("request");
      r.reason.assign(out.rejected >= 0 ? collect::RejectReasonName(
                                              static_cast<collect::RejectReason>(out.rejected))
                                        : RefusalName(out.status));
      r.status = out.status;
      r.detail.clear();
      queue::AppendBounded(r.detail, out.body, worker_.max_payload_bytes);
      r.payload.clear();
      refusal_fields_.clear();
      for (const auto& f : head.fields) refusal_fields_.push_back({f.name, f.value});
      const std::string_view target = head.target.empty() ? x_->request.TargetSoFar() : head.target;
      queue::AppendRedactedRequest(r.payload, head.method.empty() ? "-" : head.method, target,
                                   refusal_fields_, worker_.max_payload_bytes);
    });
  }

  void Respond() {
    Enter(Phase::kWriting);
    auto& out = x_->outcome;
    worker_.counters.Request(out.metrics_site, out.endpoint, out.status);
    RecordRefusal();
    if (worker_.draining) out.close = true;
    x_->out.clear();
    AppendResponse(x_->out, out, keep_alive_, worker_.Date());
    asio::async_write(socket_, asio::buffer(x_->out),
                      [self = shared_from_this()](error_code ec, std::size_t) {
                        if (ec || !self->keep_alive_ || self->x_->outcome.close)
                          return self->Close();
                        self->x_->request.Next();
                        self->DoRead();
                      });
  }

  // A timeout: the socket is closed, so the pending operation ends with an error and its
  // handler closes the session without answering.
  void Expire() { Close(); }

  void Close() {
    error_code ec;
    if (!socket_.is_open()) return;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    socket_.close(ec);
  }

  tcp::socket socket_;
  Worker& worker_;
  ConnectionSlot slot_;
  std::unique_ptr<Exchange> x_;  // from DoRead until the connection is parked or closed
  std::unique_ptr<asio::steady_timer> delay_;  // the /gaze delay, made on first use
  IpAddress peer_;
  std::uint64_t phase_tick_ = 0;  // worker_.tick when phase_ began
  Phase phase_ = Phase::kIdle;
  bool keep_alive_ = true;
  bool parking_ = false;  // Park cancelled the idle read: its handler parks
  bool head_ = false;     // the request being answered is a HEAD: no body, whatever the answer
  std::vector<queue::HeaderLine> refusal_fields_;  // RecordRefusal's, kept for their capacity
};

void Worker::StartSweep() {
  sweep.expires_after(sweep_period);
  sweep.async_wait([this](error_code ec) {
    if (ec) return;
    ++tick;
    // A session the tick closes stays in the set until its handler has run: the loop may go on.
    for (Session* s : sessions) s->OnTick(tick, limits);
    StartSweep();
  });
}

void Worker::Accept() {
  acceptor.async_accept(io, [this](error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
        ec.value() == ENFILE) {
      // The pending connections wait in the listen backlog; the ones being served go on.
      if (!warned_out_of_descriptors)
        spdlog::warn(
            "out of file descriptors ({}): accepting paused for 100 ms at a time; "
            "raise the open-files limit or lower server.max_connections",
            ec.message());
      warned_out_of_descriptors = true;
      if (!accept_pause) accept_pause.emplace(io);
      accept_pause->expires_after(std::chrono::milliseconds(100));
      accept_pause->async_wait([this](error_code wait_ec) {
        if (!wait_ec && acceptor.is_open()) Accept();
      });
      return;
    }
    if (!ec) {
      auto slot = ConnectionSlot::Take(connections, max_connections);
      if (!slot) {
        // Over the cap: a short, clear answer instead of a silent reset.
        static constexpr std::string_view kBusy =
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n";
        error_code ignored;
        socket.non_blocking(true, ignored);
        socket.write_some(asio::buffer(kBusy.data(), kBusy.size()), ignored);
        socket.close(ignored);
        counters.Request(-1, collect::EndpointLabel::kOther, 503);
      } else {
        std::make_shared<Session>(std::move(socket), *this, std::move(*slot))->Start();
      }
    }
    Accept();
  });
}

void Worker::Run() {
  while (true) {
    try {
      io.run();  // returns once stopped
      return;
    } catch (const std::exception& e) {
      std::uint64_t suppressed = 0;
      if (handler_failures.Allow(LogLimiter::Clock::now(), suppressed))
        spdlog::error("I/O thread {}: {} ({} more since the last line); its request is dropped",
                      index, e.what(), suppressed);
    } catch (...) {
      std::uint64_t suppressed = 0;
      if (handler_failures.Allow(LogLimiter::Clock::now(), suppressed))
        spdlog::error("I/O thread {}: unknown exception ({} more since the last line)", index,
                      suppressed);
    }
  }
}

// SO_REUSEPORT lets every I/O thread bind the port, but it would let a second oceanus (of the
// same user) bind it as well and silently take part of the traffic. A bind without
// SO_REUSEPORT fails while any socket listens on the address, so one such bind, closed at once,
// tells whether someone else is there. (SO_REUSEADDR: connections of an earlier run still in
// TIME_WAIT do not count.) Port 0 needs no probe: the kernel picks a port nobody holds.
Status ProbeUnused(const tcp::endpoint& endpoint, const std::string& shown) {
  if (endpoint.port() == 0) return Status::Ok();
  asio::io_context io;
  tcp::acceptor probe(io);
  error_code ec;
  probe.open(endpoint.protocol(), ec);
  if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) probe.bind(endpoint, ec);
  if (ec == asio::error::address_in_use)
    return Status::Unavailable("listen " + shown + ": address already in use by another process");
  return Status::Ok();  // any other error is the real bind's to report
}

// A quarter of the shorter timeout, between 10 ms and a second, and the timeouts in ticks.
std::pair<std::chrono::milliseconds, Ticks> SweepTicks(const config::ServerConfig& server) {
  using std::chrono::milliseconds;
  const milliseconds shorter = std::min(server.read_timeout, server.idle_timeout);
  const milliseconds period = std::clamp(shorter / 4, milliseconds(10), milliseconds(1000));
  const auto ticks = [&](milliseconds t) {
    return static_cast<std::uint64_t>((t + period - milliseconds(1)) / period) + 1;
  };
  return {period, Ticks{.idle = ticks(server.idle_timeout),
                        .read = ticks(server.read_timeout),
                        .park = ticks(milliseconds(1000))}};
}

}  // namespace

struct Server::Impl {
  config::ServerConfig server;              // outlives the workers, which read it
  std::atomic<std::size_t> connections{0};  // outlives the workers' sessions
  std::vector<std::unique_ptr<Worker>> workers;
  std::uint16_t port = 0;
  bool stopped = false;
};

void Server::CollectRecent(std::int64_t since_micros, const std::vector<std::string>& event_needles,
                           const std::vector<std::string>& rejection_needles,
                           std::vector<collect::RecentEntry>& events,
                           std::vector<collect::RecentEntry>& rejections) const {
  for (const auto& w : impl_->workers) {
    w->recent.events.CopySince(since_micros, event_needles, events);
    w->recent.rejections.CopySince(since_micros, rejection_needles, rejections);
  }
  auto by_time = [](const collect::RecentEntry& a, const collect::RecentEntry& b) {
    return a.at_micros < b.at_micros;
  };
  std::sort(events.begin(), events.end(), by_time);
  std::sort(rejections.begin(), rejections.end(), by_time);
}

std::vector<std::uint64_t> Server::QueuedTotals() const {
  std::vector<std::uint64_t> totals;
  if (impl_->workers.empty()) return totals;
  totals.assign(impl_->workers.front()->collector->sites().size(), 0);
  for (const auto& w : impl_->workers)
    for (std::size_t s = 0; s < totals.size(); ++s) totals[s] += w->counters.QueuedCount(s);
  return totals;
}

void Server::WriteMetrics(MetricsWriter& out) const {
  std::uint64_t parked = 0;
  for (const auto& w : impl_->workers) parked += w->parked.load(std::memory_order_relaxed);
  out.Family("oceanus_connections", "gauge",
             "Open client connections; parked: idle ones that hold no buffers");
  out.Sample("oceanus_connections", {{"state", "open"}},
             static_cast<double>(impl_->connections.load(std::memory_order_relaxed)));
  out.Sample("oceanus_connections", {{"state", "parked"}}, static_cast<double>(parked));
  std::vector<const collect::CollectorCounters*> threads;
  for (const auto& w : impl_->workers) threads.push_back(&w->counters);
  if (!impl_->workers.empty())
    collect::CollectorCounters::Write(impl_->workers.front()->collector->sites(), threads, out);
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { Shutdown(std::chrono::milliseconds(0)); }

std::uint16_t Server::port() const { return impl_->port; }

Result<std::unique_ptr<Server>> Server::Start(const config::Config& config,
                                              std::shared_ptr<const collect::Collector> collector,
                                              const WriterFactory& make_writer,
                                              queue::RejectedRecorder* rejected) {
  auto impl = std::make_unique<Impl>();
  impl->server = config.server;
  unsigned threads = config.server.threads;
  if (threads == 0) threads = UsableCores();  // the container's CPU limit, not the node's
  error_code ec;
  const auto address = asio::ip::make_address(config.server.listen_host, ec);
  if (ec)
    return Status::InvalidArgument("listen address '" + config.server.listen_host +
                                   "': " + ec.message());
  std::uint16_t port = config.server.listen_port;
  const std::string shown = config.server.listen_host + ":" + std::to_string(port);
  if (Status s = ProbeUnused(tcp::endpoint(address, port), shown); !s.ok()) return s;
  // A connection's read buffer holds a whole header and a body of up to 16 KiB after it (a
  // beacon's form post, a small Segment batch) without copying; larger bodies are copied out.
  const std::size_t header_limit = config.server.max_header_bytes;
  const std::size_t read_buffer_limit = header_limit + 16 * 1024;
  const auto [sweep_period, limits] = SweepTicks(config.server);
  for (unsigned i = 0; i < threads; ++i) {
    auto w = std::make_unique<Worker>(i, impl->server, collector, impl->connections);
    w->max_connections = config.server.max_connections;
    w->header_limit = header_limit;
    w->read_buffer_limit = read_buffer_limit;
    w->sweep_period = sweep_period;
    w->limits = limits;
    if (rejected) w->rejected = &rejected->NewLane();
    w->max_payload_bytes = config.rejected.max_payload_bytes;
    const tcp::endpoint endpoint(address, port);
    w->acceptor.open(endpoint.protocol(), ec);
    if (!ec) w->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(w->acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) !=
          0)
        ec = error_code(errno, boost::system::system_category());
    }
    if (!ec) w->acceptor.bind(endpoint, ec);
    if (!ec) w->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::Unavailable("cannot listen on " + config.server.listen_host + ":" +
                                 std::to_string(port) + ": " + ec.message());
    }
    // With port 0 the first acceptor picks a port; the others join it.
    port = w->acceptor.local_endpoint().port();
    Worker* raw = w.get();
    auto writer =
        make_writer(i, [raw](std::function<void()> job) { asio::post(raw->io, std::move(job)); });
    if (!writer.ok()) return writer.status();
    w->writer = std::move(writer).value();
    impl->workers.push_back(std::move(w));
  }
  impl->port = port;
  for (auto& w : impl->workers) {
    Worker* raw = w.get();
    raw->Accept();
    raw->StartSweep();
    raw->thread = std::thread([raw] { raw->Run(); });
  }
  spdlog::info("listening on {}:{} with {} I/O thread(s)", config.server.listen_host, port,
               threads);
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

void Server::Shutdown(std::chrono::milliseconds grace) {
  if (impl_->stopped) return;
  impl_->stopped = true;
  for (auto& w : impl_->workers) {
    Worker* raw = w.get();
    asio::post(raw->io, [raw] {
      raw->draining = true;
      error_code ec;
      raw->acceptor.close(ec);
      if (raw->accept_pause) raw->accept_pause->cancel();
      for (Session* s : raw->sessions) s->Drain();
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (impl_->connections.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  for (auto& w : impl_->workers) {
    w->io.stop();
    if (w->thread.joinable()) w->thread.join();
  }
  spdlog::info("collector stopped");
}

}  // namespace oceanus::http

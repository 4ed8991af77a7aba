// The Redis Streams queue: one stream per site, consumer groups per role.
//
//   collector I/O thread ──Append──► RedisWriter's sender thread ──XADD (pipelined)──► stream
//                                         │ Redis down or slow
//                                         ▼
//                                   local spool ──Forwarder (XADD, in order)──► stream
//   stream ──XREADGROUP──► RedisReader (loader) ──XACK after the sink committed
//
// The events of one site in one pipeline share a stream entry (a "d" field each): Redis's
// cost per entry is paid once for them. Readers return events one by one and acknowledge an
// entry with its last event.
// A request is answered when its XADD is acknowledged by Redis, or — when Redis is
// unreachable or slower than command_timeout — when the event is in the local spool. Once a
// site has events in the spool, its new events go to the spool too until the forwarder has
// drained it, so that each site's stream keeps arrival order per collector.
// Retention: streams are trimmed with XTRIM MINID below the oldest entry any configured group
// still needs (its oldest pending entry, or the first it has not read), never by MAXLEN.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "queue/queue.h"
#include "queue/queue_config.h"
#include "queue/redis/redis_config.h"
#include "queue/spool/spool.h"
#include "redis/redis_connection.h"

namespace oceanus::queue::redis {

// This folder is the queue built on the Redis client (redis/redis_connection.h).
using oceanus::redis::RedisConnection;
using oceanus::redis::Reply;
using oceanus::redis::ReplyString;

std::string StreamKey(const RedisConfig& config, const std::string& site);
std::string DeadLetterKey(const RedisConfig& config, const std::string& site);

// Which sites currently have a spool backlog: shared by a process's writers and forwarder.
class SpoolBacklog {
 public:
  explicit SpoolBacklog(std::size_t sites) : flags_(sites), locks_(sites) {}
  bool Has(SiteId site) const { return flags_[site].load(std::memory_order_acquire); }
  std::mutex& Lock(SiteId site) { return locks_[site]; }
  void Set(SiteId site, bool value) { flags_[site].store(value, std::memory_order_release); }

 private:
  std::vector<std::atomic<bool>> flags_;
  std::vector<std::mutex> locks_;
};

// The collector side: one per I/O thread, with its own connection and sender thread.
class RedisWriter final : public QueueWriter {
 public:
  // The writer of I/O thread `writer_id`; `post_back` runs a completion on that thread.
  // Its spool fallback is `spool`'s writer of the same id, used only on the sender thread.
  static Result<std::unique_ptr<RedisWriter>> Create(
      const config::Config& shared, const RedisConfig& redis, queue::Spool& spool,
      unsigned writer_id, std::function<void(std::function<void()>)> run_blocking,
      SpoolBacklog& backlog, std::function<void(std::function<void()>)> post_back);
  ~RedisWriter() override;  // sends what is queued, then stops

  void Append(SiteId site, std::string_view record, std::shared_ptr<AppendHandler> done) override;

  // Runs `job` on the sender thread (the spool's fsync completions come back this way).
  void RunOnSender(std::function<void()> job);

 private:
  RedisWriter(const config::Config& shared, const RedisConfig& redis, SpoolBacklog& backlog,
              std::function<void(std::function<void()>)> post_back);
  struct Item {
    SiteId site;
    std::string record;
    std::shared_ptr<AppendHandler> done;
  };
  // Events of one site sent together become one stream entry with a "d" field per event:
  // what Redis pays per entry (its radix tree, each group's pending list, the XCLAIM a
  // consumer-group read writes to the AOF, XACK) is then paid once for all of them.
  struct Packed {
    SiteId site;
    std::vector<Item*> items;
    std::size_t bytes;
  };
  static constexpr std::size_t kMaxEventsPerEntry = 64;
  static constexpr std::size_t kMaxEntryBytes = 1 << 20;
  std::vector<Packed> Pack(const std::vector<Item*>& direct) const;
  void Loop();
  void Send(std::vector<Item>& items);
  void SpoolItem(Item& item);
  bool EnsureConnected();

  const config::Config& shared_;
  const RedisConfig& redis_;
  std::vector<std::string> keys_;
  std::unique_ptr<QueueWriter> fallback_;
  SpoolBacklog& backlog_;
  std::function<void(std::function<void()>)> post_back_;
  std::unique_ptr<RedisConnection> conn_;
  std::chrono::steady_clock::time_point next_connect_{};
  std::chrono::milliseconds backoff_{0};
  bool reported_down_ = false;

  std::mutex mu_;  // between this writer's I/O thread and its sender thread only
  std::condition_variable cv_;
  std::vector<Item> items_;
  std::vector<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread sender_;
};

// The consumer side: one group's view of one site's stream.
class RedisReader final : public QueueReader {
 public:
  // `queue`'s groups are the ones retention waits for; `shared`, `queue` and `redis` outlive it.
  RedisReader(const config::Config& shared, const QueueConfig& queue, const RedisConfig& redis,
              SiteId site, std::string group, std::string consumer, ReaderOptions options = {});
  Result<std::vector<Entry>> Read(std::size_t max_entries, std::size_t max_bytes,
                                  std::chrono::milliseconds wait) override;
  Status Ack(const std::string& last_id) override;
  // Every claim_idle / 3: XCLAIM … JUSTID to itself of every entry pending for this consumer
  // (a Lua script: only its own, so it never takes back what another consumer claimed).
  // JUSTID leaves the delivery count alone, so a batch retried through a long outage does
  // not reach max_deliveries.
  Status KeepHeld() override;

  // XTRIM MINID below what every configured group still needs. Returns entries removed.
  Result<long long> Trim();

 private:
  Status EnsureReady();
  // Trims when an acknowledgement came since the last trim and trim_every has passed; called
  // after each acknowledgement and before each read, so the entries of the last
  // acknowledgement before a quiet spell are trimmed too.
  void TrimIfDue();
  // Takes entries idle longer than claim_idle in any consumer into fetched_; those delivered
  // more than max_deliveries times go to the dead-letter instead.
  Status ClaimIdle(std::size_t max_entries);
  Status MoveToDeadLetter(const redisReply* entry, long long deliveries);
  // An entry holds several events (RedisWriter packs them): the COUNT that brings about
  // `events` events, from the last full reply's events per entry. At most
  // kMaxEntriesPerRead, which bounds what one read can bring when entries grow fuller than
  // that estimate (2,048 × 64 events).
  std::size_t EntriesFor(std::size_t events) const;
  static constexpr std::size_t kMaxEntriesPerRead = 2048;
  // Reading ahead: when an XREADGROUP returns all it asked for, the stream likely holds more,
  // so the next one is sent before this reply's entries are copied out, and Redis prepares
  // it while the caller works. Its reply is read before any other command is sent (a command
  // must not take another's reply), into fetched_, which Read empties first.
  struct Asked {
    std::size_t entries;  // XREADGROUP's COUNT
    std::size_t events;   // what the caller wanted
  };
  void Received(const redisReply* streams, const Asked& asked, bool send_ahead);
  void SendAhead(std::size_t events);
  void CollectAhead(bool send_ahead);
  void TakeFetched(std::size_t max_entries, std::vector<Entry>& out);
  // Claims, takes fetched entries and reads new ones into `out`, up to `max_entries`.
  void ReadFromRedis(std::size_t max_entries, std::chrono::milliseconds wait,
                     std::vector<Entry>& out);

  const QueueConfig& queue_;
  const RedisConfig& redis_;
  std::string site_name_;
  std::string key_;
  std::string dead_key_;
  std::string group_;
  std::string consumer_;
  std::unique_ptr<RedisConnection> conn_;
  bool groups_ready_ = false;
  std::deque<std::string> delivered_;  // event ids returned and not yet acknowledged, in order
  const bool read_ahead_;
  bool ahead_in_flight_ = false;  // an XREADGROUP is sent and its reply not yet read
  Asked ahead_{0, 0};             // what it asked for
  bool more_likely_ = false;      // the last XREADGROUP returned all it asked for
  std::size_t events_per_entry_ = 1;
  std::deque<Entry> fetched_;  // delivered to this consumer, not yet returned by Read
  std::chrono::steady_clock::time_point next_claim_{};
  std::chrono::steady_clock::time_point next_keep_{};
  std::chrono::steady_clock::time_point next_trim_{};
  bool trim_owed_ = false;  // acknowledged since the last trim
  std::chrono::steady_clock::time_point next_connect_{};
  bool reported_down_ = false;
};

// Moves spooled events into their streams, oldest first, and clears a site's backlog flag
// once its spool is empty. Runs on its own thread.
//
// A batch is up to 500 entries, pipelined on one connection. While Redis is merely slow (or
// stopped), the forwarder keeps that connection and waits for its replies: sending the batch
// again on a new connection would add every entry twice once Redis runs again. Only a broken
// connection (see RedisConnection) or an error reply makes it send again, from the first
// entry not acknowledged, after a backoff of 50 ms doubling to 5 s (reset by a whole batch).
// What may then repeat is only the unanswered tail of the broken connection's batch
// (docs/RELIABILITY.md, "Redis: the at-least-once window").
class Forwarder {
 public:
  Forwarder(const config::Config& shared, const RedisConfig& redis, Spool& spool,
            SpoolBacklog& backlog);
  ~Forwarder();
  // Forwards until stopped; on stop, makes one last attempt to empty the spool if Redis was
  // answering, and waits at most command_timeout for the replies of a batch in flight.
  void Start();
  void Stop();
  std::uint64_t forwarded() const { return forwarded_.load(); }
  // Connection attempts, and XADD pipelines sent (each up to 500 entries).
  std::uint64_t connects() const { return connects_.load(); }
  std::uint64_t batches() const { return batches_.load(); }

 private:
  enum class Outcome {
    kIdle,       // nothing to send, or waiting out a backoff
    kForwarded,  // a whole batch reached Redis
    kRetry,      // part of a batch did not: read again from the last acknowledgement
  };
  Outcome ForwardSite(SiteId site, QueueReader& reader);
  // The spool looked empty: one more read under the lock the writers take to spool. True
  // with `entries` filled; false once the site's backlog flag is cleared (or the read failed).
  bool ReadAgainOrClear(SiteId site, QueueReader& reader, std::vector<Entry>& entries);
  bool Connect();
  // The next reply of the batch in flight, waiting as long as the connection lives (bounded
  // only once stopping). kUnavailable with a live connection: given up at stop.
  Result<Reply> Await();
  Status AwaitEntry();  // the XADD reply (and PUBLISH reply) of one entry
  void BackOff();

  const config::Config& shared_;
  const RedisConfig& redis_;
  Spool& spool_;
  SpoolBacklog& backlog_;
  std::unique_ptr<RedisConnection> conn_;
  std::string last_failure_;  // logged once, not on every retry
  bool reported_slow_ = false;
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point next_attempt_{};
  std::vector<std::uint64_t> drained_;  // per site: forwarded since its backlog was last clear
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> forwarded_{0};
  std::atomic<std::uint64_t> connects_{0};
  std::atomic<std::uint64_t> batches_{0};
  std::thread thread_;
};

}  // namespace oceanus::queue::redis

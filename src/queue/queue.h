// The queue between the collector and its consumers (the loader and the reactor).
//
// One stream per site. Writers are per I/O thread (shared-nothing: a request never waits on a
// lock another core holds); readers are per (site, consumer group), each with its own durable
// position, so the loader and the reactor consume the same events independently.
// Implementations: the local spool (queue/spool/) and Redis Streams (queue/redis/).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace oceanus::queue {

// Index of a site in Config::sites; streams are addressed by it on the hot path.
using SiteId = std::size_t;

// Told when an appended event is durable (or could not be made so).
class AppendHandler {
 public:
  virtual ~AppendHandler() = default;
  // Called exactly once, on the writer's thread. OK means the event is stored per the
  // configured durability and the client may be answered 2xx.
  virtual void Appended(Status status) = 0;
};

// Appends events for one I/O thread. Not thread-safe: used only on the thread that made it.
class QueueWriter {
 public:
  virtual ~QueueWriter() = default;
  // Appends one encoded event (compact JSON) to the site's stream. `done` is called once the
  // event is durable; with durability `os` that happens before Append returns, unless the
  // writer gathers the appends of a loop turn (WriterExecutors::gather): then on the
  // writer's thread, once the turn's appends are written.
  virtual void Append(SiteId site, std::string_view record,
                      std::shared_ptr<AppendHandler> done) = 0;
  // Appends several records to the site's stream, in order: record i is
  // arena[ends[i-1], ends[i]) (arena[0, ends[0]) for the first). `done` is called once, OK
  // when every record is durable, else with the first failure; records before a failure may
  // be stored (a client retrying the whole batch sends the same events again, which sinks
  // keep once by eid). The default appends them one at a time; a writer that can store them
  // together (one write) overrides it.
  virtual void AppendAll(SiteId site, std::string_view arena, std::span<const std::size_t> ends,
                         std::shared_ptr<AppendHandler> done);
};

// One event as a consumer sees it.
struct Entry {
  std::string id;       // opaque, ordered within the stream; what Ack takes
  std::string payload;  // the record as appended
  // When it was appended, in ms since 1970, or no later than that (0: not known). Lets a
  // consumer that batches by age count an event's wait from its arrival, not from its read.
  std::int64_t appended_ms = 0;
};

// How a consumer reads. `read_ahead`: the queue may fetch the next entries while the caller
// works on those returned (Redis: one XREADGROUP in flight). Entries fetched ahead are
// delivered to this consumer, so a caller that stops without reading until Read returns
// nothing leaves them pending until another consumer claims them (`claim_idle`): only the
// loader, which drains before it stops, asks for it.
struct ReaderOptions {
  bool read_ahead = false;
};

// One consumer group's view of one site's stream. Not thread-safe.
class QueueReader {
 public:
  virtual ~QueueReader() = default;
  // Returns up to `max_entries` / about `max_bytes` of entries after the last one returned,
  // waiting up to `wait` for the first one. An empty vector means nothing arrived in time.
  // Entries stay unacknowledged (and are returned again after a restart) until Ack.
  virtual Result<std::vector<Entry>> Read(std::size_t max_entries, std::size_t max_bytes,
                                          std::chrono::milliseconds wait) = 0;
  // Acknowledges every entry returned so far up to and including `last_id`: after a restart,
  // reading resumes after it. Durable, except that the spool, when its cursor file cannot be
  // written (disk full), keeps the position in memory until it can: a crash then re-delivers
  // entries already stored, never skips one. Entries must be acknowledged in the order returned.
  virtual Status Ack(const std::string& last_id) = 0;
  // Says that the entries returned and not yet acknowledged are still being worked on, so
  // that no other consumer of the group claims them (Redis: their idle time is reset); the
  // entries of a consumer that stops calling it (dead, frozen) are claimed after claim_idle.
  // Call it every loop turn: it limits itself to what is needed (a fraction of claim_idle).
  virtual Status KeepHeld() { return Status::Ok(); }
};

// Appends in bulk from one thread that may block (`oceanus replay`). Not thread-safe.
class BulkWriter {
 public:
  virtual ~BulkWriter() = default;
  // Sends one encoded event to the site's stream; it may only be buffered.
  virtual Status Send(SiteId site, std::string_view record) = 0;
  // Makes everything sent so far as durable as the collector's own appends, or fails.
  virtual Status Flush() = 0;
};

}  // namespace oceanus::queue

// The queue kind: what a queue implementation (queue/spool/, queue/redis/) gives the core.
//
//   QueueFactory   parses the implementation's keys of the `queue:` section (registered under
//                  its `type:` name with OCEANUS_REGISTER in the implementation's own .cpp)
//   QueueSettings  the parsed, validated settings: opens the Queue of one process, and says
//                  what the roles ask of the queue before anything is opened
//   Queue          the queue as one process uses it: writers, readers, the dead-letter,
//                  status and metrics, and its background work
//
// The roles (app/) see only these interfaces and the registry; they name no queue type and
// include no implementation header.
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/parser_fwd.h"
#include "config/registry.h"
#include "queue/dead_letter.h"
#include "queue/ledger.h"
#include "queue/queue.h"
#include "queue/rejected.h"
#include "redis/redis_options.h"
#include "util/metrics.h"
#include "util/status.h"

namespace oceanus::queue {

struct QueueConfig;

// What one process does with the queue (from its roles).
struct QueueUse {
  bool write = false;  // collects: makes writers and runs the queue's background work
  bool read = false;   // loads or reacts: opens readers
};

// How a writer gets blocking work (fdatasync, a Redis round trip) off its I/O thread and the
// result back onto it. Both must keep running until every append has been answered, even
// after the writer is destroyed.
struct WriterExecutors {
  std::function<void(std::function<void()>)> run_blocking;
  std::function<void(std::function<void()>)> post_back;  // runs a job on the writer's thread
  // post_back runs jobs on the writer's event loop after the work at hand, so a writer may
  // gather the appends of a loop turn and write them together (Spool::Executors::gather).
  bool gather = false;
};

// A Redis that every process of the deployment reaches, and the prefix of the keys stored in
// it: where state that all processes must share (the reactors' guards) can live.
struct SharedRedis {
  redis::ConnectOptions connection;
  std::string key_prefix;
};

// The queue as one process uses it. Made by QueueSettings::Open; lives as long as anything
// made from it (writers, readers, the dead-letter).
class Queue {
 public:
  virtual ~Queue() = default;

  // Starts the queue's background work (moving spooled events on), if it has any; before the
  // first writer is made. Idempotent with Stop.
  virtual void Start() {}
  // Stops that work after the last writer has been destroyed (their queued events sent or
  // spooled): a last attempt to move what is left, bounded by the queue's own timeouts.
  virtual void Stop() {}

  // The writer of I/O thread `index` (each index at most once). Only with QueueUse::write.
  virtual Result<std::unique_ptr<QueueWriter>> MakeWriter(unsigned index,
                                                          WriterExecutors executors) = 0;
  // One reader per site (indexed by SiteId) for consumer group `group`; one set at a time per
  // group in a process. A failure has been logged ("<queue> reader for <site> (<group>): …").
  virtual Result<std::vector<std::unique_ptr<QueueReader>>> OpenReaders(const std::string& group,
                                                                        ReaderOptions options) = 0;
  // A writer for a replay run by this process (the admin page's), into the queue as this
  // process has it open; one at a time (a second answers Unavailable while the first lives).
  // The queue outlives it.
  virtual Result<std::unique_ptr<BulkWriter>> OpenBulkWriter() = 0;
  // Where the loader sets aside records that will never load. Opens nothing yet: a store
  // that is unreachable fails its first Put.
  virtual std::unique_ptr<DeadLetter> MakeDeadLetter() const = 0;
  // Where what did not become a row is kept and explained (queue/rejected.h), within `bound`.
  // Opens nothing yet: an unreachable store fails its first call.
  virtual std::unique_ptr<RejectedStore> MakeRejectedStore(RejectedBound bound) const = 0;
  // The ledger `name` ([a-z0-9_]+), shared by every process of the deployment that reads this
  // queue (queue/ledger.h). Opened once per process and shared by its threads.
  virtual Result<std::shared_ptr<Ledger>> OpenLedger(const std::string& name) = 0;

  // /rstatus: {"queue":"<type>", …, "sites":{…}} and a newline. /metrics: the queue's
  // families. Both may query a server with a short-lived connection: call them off the I/O
  // threads.
  virtual std::string StatusJson() const = 0;
  virtual void WriteMetrics(MetricsWriter& out) const = 0;
};

// A queue implementation's parsed settings (the `queue:` section's common keys are in
// QueueConfig; these are the type's own).
class QueueSettings : public config::ComponentSettings {
 public:
  // The registered type name ("spool", "redis").
  virtual std::string_view type() const = 0;

  // Opens the queue for what this process does with it; `shared` (the sites) and `queue`
  // (the section, groups included) outlive the Queue. A failure has been logged, or is
  // returned with a message fit for the operator.
  virtual Result<std::unique_ptr<Queue>> Open(const config::Config& shared,
                                              const QueueConfig& queue, QueueUse use) const = 0;

  // A writer for `oceanus replay`, into the queue this config names, from a process of its
  // own (with the spool: while no other process holds it).
  virtual Result<std::unique_ptr<BulkWriter>> OpenBulkWriter(const config::Config& shared,
                                                             const QueueConfig& queue) const = 0;

  // Whether processes that run one role each (`oceanus collect`, `oceanus load`, …) can
  // share this queue. When not, the reason for the one-role command `command`.
  virtual Status AllowsOneRoleProcess(std::string_view command) const = 0;

  // The Redis this queue lives in, when it has one every process reaches.
  virtual std::optional<SharedRedis> SharedStore() const { return std::nullopt; }

  // The lines `oceanus check` prints right after "queue: TYPE (durability D)" (each ending
  // in a newline; none for a queue with nothing more to say).
  virtual void DescribeHeadline(std::ostream&) const {}
};

class QueueFactory {
 public:
  virtual ~QueueFactory() = default;
  // The keys of the `queue:` section this type reads, besides the common ones.
  virtual std::vector<std::string> Keys() const = 0;
  // Parses and validates those keys of `section` (undefined when the section is absent);
  // errors through r.Fail (file:line:col).
  virtual std::shared_ptr<QueueSettings> Parse(const config::Reader& r,
                                               const YAML::Node& section) const = 0;
};

using QueueRegistry = config::Registry<QueueFactory>;

}  // namespace oceanus::queue

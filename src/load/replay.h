// `oceanus replay`: sends set-aside records back into the queue, once their cause is fixed
// (a schema that now has the column, a warehouse that accepts the value), or forwards a
// collector's local spool that nobody will drain (a machine retired while Redis was down).
//
// Sources: the dead-letter (the <data_dir>/deadletter/<site>.jsonl files of queue type spool,
// or the <site>:dead streams of Redis), a spool directory's records that its `forward` group
// has not consumed, or the damaged bytes a spool set aside (<segment>.corrupt files, whose
// records with a valid checksum are found by resynchronising over them). Target: the
// configured queue. Records keep their eid, and every sink stores an eid once, so replaying a
// record twice (a replay interrupted and run again) stores it once. A source is emptied only
// after the queue has everything durably: the file's lines sent move to
// <name>.replayed-<time> under the file's lock (the unreadable ones stay; a file left empty is
// removed), the stream entries are deleted (and the stream once empty), the spool
// acknowledged. The dead-letter may be replayed while a loader writes to it (the admin page's
// replay, in the running process): nothing the loader puts meanwhile is lost.
//
// The rules see replayed events again; their task ids derive from the eid, so the local task
// queue runs each task once (RabbitMQ cannot deduplicate).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "queue/queue.h"
#include "queue/queue_config.h"
#include "util/status.h"

namespace oceanus::load {

struct ReplayOptions {
  std::string site;       // empty: every site
  std::string spool_dir;  // empty: the dead-letter; else this spool's unforwarded records
  bool corrupt = false;   // the .corrupt files of spool_dir (default <data_dir>/spool) instead
  bool dry_run = false;   // count only
  // Dead-letter only: the entries set aside in [since, until) whose reason contains `reason`
  // (each filter optional). With any of them, what is replayed leaves the dead-letter and the
  // rest stays where it was (no .replayed-<time> copy is made).
  std::optional<std::chrono::system_clock::time_point> since, until;
  std::string reason;

  bool Filtered() const { return since || until || !reason.empty(); }
  bool Picks(std::chrono::system_clock::time_point at, std::string_view why) const {
    return (!since || at >= *since) && (!until || at < *until) &&
           (reason.empty() || why.find(reason) != std::string_view::npos);
  }
};

struct ReplayProgress {
  std::string site;
  std::uint64_t done = 0;
  std::uint64_t total = 0;
};

struct ReplayResult {
  std::uint64_t records = 0;           // sent (or, dry run, found); unreadable ones not included
  std::uint64_t skipped = 0;           // dead-letter entries that could not be read (left in place)
  std::uint64_t corrupt_files = 0;     // .corrupt files read
  std::uint64_t unreadable_bytes = 0;  // bytes of them in no record with a valid checksum
};

// Replays into the queue `queue` describes, the sites and data_dir of `shared`. `progress` is
// called often (every record); it decides itself how often to draw.
Result<ReplayResult> Replay(const config::Config& shared, const queue::QueueConfig& queue,
                            const ReplayOptions& options,
                            const std::function<void(const ReplayProgress&)>& progress);
// The same into `target`, a writer of the queue this process has open
// (queue::Queue::OpenBulkWriter: the admin page's replay); null only for a dry run.
Result<ReplayResult> Replay(const config::Config& shared, const queue::QueueConfig& queue,
                            const ReplayOptions& options, queue::BulkWriter* target,
                            const std::function<void(const ReplayProgress&)>& progress);

// The summary line: "replayed 300 record(s); 1 unreadable dead-letter entr(ies) …".
std::string Describe(const ReplayOptions& options, const ReplayResult& result);

}  // namespace oceanus::load

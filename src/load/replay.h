// `oceanus replay`: sends set-aside records back into the queue, once their cause is fixed
// (a schema that now has the column, a warehouse that accepts the value), or forwards a
// collector's local spool that nobody will drain (a machine retired while Redis was down).
//
// Sources: the dead-letter (the <data_dir>/deadletter/<site>.jsonl files of queue type spool,
// or the <site>:dead streams of Redis), or a spool directory's records that its `forward`
// group has not consumed. Target: the configured queue. Records keep their eid, and every
// sink stores an eid once, so replaying a record twice (a replay interrupted and run again)
// stores it once. A source is emptied only after the queue has everything durably: the file
// is renamed to <site>.jsonl.replayed-<time>, the stream entries are deleted, the spool
// acknowledged.
//
// The rules see replayed events again; their task ids derive from the eid, so the local task
// queue runs each task once (RabbitMQ cannot deduplicate).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "config/config.h"
#include "util/status.h"

namespace oceanus::load {

struct ReplayOptions {
  std::string site;       // empty: every site
  std::string spool_dir;  // empty: the dead-letter; else this spool's unforwarded records
  bool dry_run = false;   // count only
};

struct ReplayProgress {
  std::string site;
  std::uint64_t done = 0;
  std::uint64_t total = 0;
};

struct ReplayResult {
  std::uint64_t records = 0;  // sent (or, dry run, found)
  std::uint64_t skipped = 0;  // dead-letter lines that could not be read (left in place)
};

// `progress` is called often (every record); it decides itself how often to draw.
Result<ReplayResult> Replay(const config::Config& config, const ReplayOptions& options,
                            const std::function<void(const ReplayProgress&)>& progress);

}  // namespace oceanus::load

// A ledger: a small durable map of short strings, kept by the queue next to its streams, for
// a consumer's bookkeeping that must survive a crash and be seen by every consumer of the
// group. The BigQuery sink keeps in it the stream offset each event was given before its
// append was sent (docs/bigquery.md), so that whoever writes the event again, after a crash,
// a claim or a replay, writes it at the same offset and BigQuery stores it once.
//
// Implementations: a synced log file in the data dir with the local spool
// (queue/spool/file_ledger.h), a Redis hash with the redis queue (queue/redis/redis_ledger.h).
// Thread-safe: the loader's writers share one.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util/status.h"

namespace oceanus::queue {

class Ledger {
 public:
  virtual ~Ledger() = default;
  // The value of each key, nullopt where it has none.
  virtual Result<std::vector<std::optional<std::string>>> Get(
      std::span<const std::string> keys) = 0;
  // Gives each key its value from `values` unless it has one already, atomically per key;
  // returns what each key holds afterwards (its earlier value where it had one). Durable
  // (as durable as the queue's own appends) when it returns OK.
  virtual Result<std::vector<std::string>> PutIfAbsent(std::span<const std::string> keys,
                                                       std::span<const std::string> values) = 0;
  // Sets each key to its value from `values` where it still holds its value from `expected`
  // (compare-and-set, atomically per key); returns what each key holds afterwards. Durable.
  virtual Result<std::vector<std::string>> Replace(std::span<const std::string> keys,
                                                   std::span<const std::string> expected,
                                                   std::span<const std::string> values) = 0;
  // Forgets the keys. Need not be durable at once: a key that comes back after a crash holds
  // a value that was true when it was forgotten.
  virtual Status Erase(std::span<const std::string> keys) = 0;
};

}  // namespace oceanus::queue

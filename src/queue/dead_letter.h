// Where the loader sets aside what will never load: rows a warehouse refuses and records that
// cannot be read, each with the reason.
//
// The interface lives with the queue, below the loader, because each queue keeps its own
// dead-letter next to its streams: the local spool a JSON-lines file per site
// (queue/spool/file_dead_letter.h), Redis a stream per site (queue/redis/redis_dead_letter.h).
// `oceanus replay` sends the records back once the cause is fixed.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace oceanus::queue {

class DeadLetter {
 public:
  virtual ~DeadLetter() = default;
  struct Item {
    std::string_view record;  // exactly as it was queued
    std::string reason;
  };
  // Stores the items durably; only then may the loader acknowledge them, so that nothing
  // leaves the queue without being stored somewhere.
  virtual Status Put(const std::string& site, const std::vector<Item>& items) = 0;

  // Erasure (`oceanus erase`): removes every record of `site` that `matches` picks, those a
  // replay left behind included, and returns how many; with `count_only` only counts them.
  // Safe while a loader puts records: none put meanwhile is lost.
  using RecordMatcher = std::function<bool(std::string_view record)>;
  virtual Result<long long> Erase(const std::string& site, const RecordMatcher& matches,
                                  bool count_only) = 0;
};

}  // namespace oceanus::queue

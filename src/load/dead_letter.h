// The dead-letter for rows a warehouse will never accept, and records that cannot be read.
//
// The embedded form is one JSON-lines file per site under <data_dir>/deadletter/; each line
// keeps the record exactly as it was queued, the reason, and when it was set aside, so that
// `oceanus replay` (a later issue) can send it back once the cause is fixed. A line is
// flushed to disk (fdatasync) before the loader acknowledges the batch it came from:
// nothing leaves the queue without being stored somewhere.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace oceanus::load {

class DeadLetter {
 public:
  explicit DeadLetter(std::string dir) : dir_(std::move(dir)) {}
  struct Item {
    std::string_view record;
    std::string reason;
  };
  // Appends the items to <dir>/<site>.jsonl and syncs the file.
  Status Put(const std::string& site, const std::vector<Item>& items);

 private:
  std::string dir_;
};

}  // namespace oceanus::load

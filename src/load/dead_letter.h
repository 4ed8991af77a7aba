// The dead-letter for rows a warehouse will never accept, and records that cannot be read.
//
// The embedded form is one JSON-lines file per site under <data_dir>/deadletter/; each line
// keeps the record exactly as it was queued, the reason, and when it was set aside, so that
// `oceanus replay` (a later issue) can send it back once the cause is fixed. A line is
// flushed to disk (fdatasync) before the loader acknowledges the batch it came from:
// nothing leaves the queue without being stored somewhere.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace oceanus::load {

// Where records that will never load are kept, with the reason.
class DeadLetter {
 public:
  virtual ~DeadLetter() = default;
  struct Item {
    std::string_view record;
    std::string reason;
  };
  // Stores the items durably; only then may the loader acknowledge them.
  virtual Status Put(const std::string& site, const std::vector<Item>& items) = 0;
};

// The embedded form: <dir>/<site>.jsonl.
class FileDeadLetter final : public DeadLetter {
 public:
  explicit FileDeadLetter(std::string dir) : dir_(std::move(dir)) {}
  Status Put(const std::string& site, const std::vector<Item>& items) override;

 private:
  std::string dir_;
};

}  // namespace oceanus::load

// The dead-letter of the local spool: one JSON-lines file per site, <dir>/<site>.jsonl, under
// <data_dir>/deadletter/. Each line keeps the record exactly as it was queued, the reason, and
// when it was set aside ({"at":…,"reason":…,"record":…}). A line is flushed to disk
// (fdatasync) before Put returns, so the loader acknowledges only what is stored.
#pragma once

#include <string>
#include <vector>

#include "queue/dead_letter.h"

namespace oceanus::queue {

class FileDeadLetter final : public DeadLetter {
 public:
  explicit FileDeadLetter(std::string dir) : dir_(std::move(dir)) {}
  Status Put(const std::string& site, const std::vector<Item>& items) override;

 private:
  std::string dir_;
};

}  // namespace oceanus::queue

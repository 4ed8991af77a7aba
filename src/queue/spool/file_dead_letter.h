// The dead-letter of the local spool: one JSON-lines file per site, <dir>/<site>.jsonl, under
// <data_dir>/deadletter/. Each line keeps the record exactly as it was queued, the reason, and
// when it was set aside ({"at":…,"reason":…,"record":…}). A line is flushed to disk
// (fdatasync) before Put returns, so the loader acknowledges only what is stored.
//
// Put and Erase hold an exclusive flock on the file while they write it; Erase writes the
// kept lines to a new file and renames it over the old, and a Put that waited for the lock
// opens the file again when the name no longer points to the file it locked.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "queue/dead_letter.h"

namespace oceanus::queue {

// The record of one line ({"at":…,"reason":…,"record":"<the queued JSON>"}); false when the
// line is no such object.
bool RecordOfLine(std::string_view line, std::string& record);

class FileDeadLetter final : public DeadLetter {
 public:
  explicit FileDeadLetter(std::string dir) : dir_(std::move(dir)) {}
  Status Put(const std::string& site, const std::vector<Item>& items) override;
  // <site>.jsonl and the <site>.jsonl.replayed-* files replays left.
  Result<long long> Erase(const std::string& site, const RecordMatcher& matches,
                          bool count_only) override;

 private:
  std::string dir_;
};

}  // namespace oceanus::queue

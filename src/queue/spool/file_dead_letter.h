// The dead-letter of the local spool: one JSON-lines file per site, <dir>/<site>.jsonl, under
// <data_dir>/deadletter/. Each line keeps the record exactly as it was queued, the reason, and
// when it was set aside ({"at":…,"reason":…,"record":…}). A line is flushed to disk
// (fdatasync) before Put returns, so the loader acknowledges only what is stored.
//
// Put, Erase and Take hold an exclusive flock on the file while they write it; Erase and Take
// write the kept lines to a new file and rename it over the old (or remove the old when no
// line is kept), and a Put that waited for the lock opens the file again when the name no
// longer points to the file it locked.
#pragma once

#include <functional>
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

  // Whether a line (with its newline) leaves the file; an error ends the Take, which changes
  // nothing then.
  using LineTaker = std::function<Result<bool>(std::string_view line)>;
  // Takes lines out of <site>.jsonl (a replay): under the file's lock, so that a loader
  // putting records meanwhile waits and none is lost or taken unseen, `take` sees every line
  // in order; when some leave, `commit` (if given) must succeed before anything changes, the
  // lines taken are appended to `copy_to` (unless empty) and synced, and the file keeps the
  // rest. Returns how many lines were taken (0 when there is no file).
  Result<long long> Take(const std::string& site, const LineTaker& take,
                         const std::function<Status()>& commit, const std::string& copy_to);

 private:
  std::string dir_;
};

}  // namespace oceanus::queue

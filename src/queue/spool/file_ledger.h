// The ledger of the local spool (queue/ledger.h): an in-memory map, and a log file under
// <data_dir>/ledger/<name>.log that every change is appended to, one line each
// ("+key<TAB>value" or "-key"). Puts are synced (fdatasync) before they return; erasures are
// written but not synced (a key that comes back after a crash is allowed to). On open the log
// is read back; a last line without its newline (a write cut by a crash) is dropped. The log
// is rewritten without what was erased once it holds four times as many lines as live keys.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "queue/ledger.h"
#include "util/fd.h"

namespace oceanus::queue {

class FileLedger final : public Ledger {
 public:
  // Creates the directory and the file if needed, and reads what the file holds.
  static Result<std::unique_ptr<FileLedger>> Open(const std::string& dir, const std::string& name);

  Result<std::vector<std::optional<std::string>>> Get(std::span<const std::string> keys) override;
  Result<std::vector<std::string>> PutIfAbsent(std::span<const std::string> keys,
                                               std::span<const std::string> values) override;
  Result<std::vector<std::string>> Replace(std::span<const std::string> keys,
                                           std::span<const std::string> expected,
                                           std::span<const std::string> values) override;
  Status Erase(std::span<const std::string> keys) override;

  std::size_t size() const;

 private:
  explicit FileLedger(std::string path) : path_(std::move(path)) {}
  Status Load();
  // Appends `lines` to the log, synced when `sync`; compacts first when the log has grown.
  Status Log(const std::string& lines, bool sync);
  Status Compact();

  const std::string path_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::string> map_;
  UniqueFd fd_;
  std::size_t lines_ = 0;  // in the log file
};

}  // namespace oceanus::queue

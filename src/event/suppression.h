// The people erased on request (`oceanus erase`, docs/PRIVACY.md): for each (site, field,
// value) erased, the collector stores no new event whose field has that value, and the loader
// writes no queued one.
//
// The list is a file in the data dir, `suppressed`, that holds keyed hashes, never the values:
//
//   oceanus-suppression-list 1
//   key <32 hex: a random SipHash key, made when the file is created>
//   <site> <field> <32 hex: KeyedHash(key, site \0 field \0 value)>
//   ...
//
// so that the file alone is no list of user ids (someone who can read it can still test a
// guessed value). Lines are only appended; a process re-reads the file when its size or
// modification time changes (Refresh, from a timer thread, never an I/O thread).
//
// Readers take no lock in the common case: each thread keeps a Snapshot, refreshed when the
// list's generation moved (once per change of the file).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/keyed_hash.h"
#include "util/status.h"

namespace oceanus::event {

class SuppressionList {
 public:
  // What one read of the file holds; immutable once made.
  struct Entries {
    HashKey key{};
    std::vector<std::pair<std::string, std::string>> fields;  // (site, field) with entries
    std::vector<KeyedDigest> digests;                         // sorted
  };
  // One thread's copy of the current entries.
  struct Snapshot {
    std::uint64_t generation = 0;
    std::shared_ptr<const Entries> entries;
  };

  // `path` need not exist yet (an empty list); Refresh reads it.
  explicit SuppressionList(std::string path);
  SuppressionList(const SuppressionList&) = delete;
  SuppressionList& operator=(const SuppressionList&) = delete;

  // Reads the file again when it changed since the last read; cheap when it did not. A file
  // that cannot be read or parsed keeps the entries read before and returns the error.
  Status Refresh();

  // The entries as they are now, through `snapshot` (brought up to date first). The reference
  // stays valid while `snapshot` is not used again.
  const Entries& Current(Snapshot& snapshot) const;
  // Whether `value` of `field` on `site` is among `entries`.
  static bool Contains(const Entries& entries, std::string_view site, std::string_view field,
                       std::string_view value);

  // Appends (site, field, value) to the file at `path`, creating it (mode 0600, with a new
  // key) when it does not exist. For the erase command; a running collector sees the entry
  // at its next Refresh.
  static Status Add(const std::string& path, std::string_view site, std::string_view field,
                    std::string_view value);

  // Parses the file's text (for Refresh and the tests).
  static Result<Entries> Parse(std::string_view text, const std::string& path);

  static std::string PathIn(const std::string& data_dir) { return data_dir + "/suppressed"; }

 private:
  const std::string path_;
  mutable std::mutex mu_;  // guards current_ and the file's identity; taken on change only
  std::shared_ptr<const Entries> current_;
  std::atomic<std::uint64_t> generation_{1};
  long long size_ = -1;
  long long mtime_ns_ = -1;
};

}  // namespace oceanus::event

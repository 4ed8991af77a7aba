// The people erased on request (`oceanus erase`, docs/PRIVACY.md): for each (site, field,
// value) erased, the collector stores no new event whose field has that value, and the loader
// writes no queued one.
//
// The list is text that holds keyed hashes, never the values:
//
//   oceanus-suppression-list 1
//   key <32 hex: a random SipHash key, made when the list is created>
//   <site> <field> <32 hex: KeyedHash(key, site \0 field \0 value)>
//   ...
//
// so that the list alone is no list of user ids (someone who can read it can still test a
// guessed value). It lives in a Store: the data dir's file `suppressed` (FileStore), or with
// the redis queue a Redis list every collector and loader reads (event/suppression_redis.h).
// Lines are only appended; a process re-reads the list when it changed (Refresh, from a timer
// thread, never an I/O thread).
//
// Readers take no lock in the common case: each thread keeps a Snapshot, refreshed when the
// list's generation moved (once per change of the list).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
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

  // Where the list's text is kept.
  class Store {
   public:
    virtual ~Store() = default;
    // The whole text when it changed since the last call; nullopt when it did not; "" when
    // there is no list yet. A store that cannot be reached: kUnavailable.
    virtual Result<std::optional<std::string>> ReadIfChanged() = 0;
    // Creates the list with `header` when there is none (atomically: of two at once only one
    // writes it), then appends the line `line_for` makes from the list's header as it is.
    virtual Status Append(const std::string& header,
                          const std::function<Result<std::string>(std::string_view)>& line_for) = 0;
    // Where it is, for messages ("/var/lib/oceanus/suppressed", "redis 10.0.0.5:6379 key K").
    virtual std::string Describe() const = 0;
  };
  // The data dir's file (mode 0600).
  static std::unique_ptr<Store> FileStore(std::string path);

  explicit SuppressionList(std::unique_ptr<Store> store);
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

  // Appends (site, field, value) to the list in `store`, creating it (with a new key) when
  // there is none. For the erase command; running processes see it at their next Refresh.
  static Status Add(Store& store, std::string_view site, std::string_view field,
                    std::string_view value);

  // Parses the list's text (for Refresh and the tests); `where` names it in errors.
  static Result<Entries> Parse(std::string_view text, const std::string& where);

  static std::string PathIn(const std::string& data_dir) { return data_dir + "/suppressed"; }

 private:
  std::mutex refresh_mu_;  // one Refresh at a time (the store keeps what it last read)
  std::unique_ptr<Store> store_;
  mutable std::mutex mu_;  // guards current_; taken on change only
  std::shared_ptr<const Entries> current_;
  std::atomic<std::uint64_t> generation_{1};
};

}  // namespace oceanus::event

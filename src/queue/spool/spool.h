// The local spool: the embedded queue, made of per-site, per-writer segment files.
//
// Format, recovery and cursor rules: docs/spool_format.md. In short: each I/O thread appends
// to its own segment series (no lock shared on the append path); each consumer group reads
// every series of a site and stores its position durably when it acknowledges; a sealed
// segment every group has passed is deleted.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "queue/queue.h"
#include "queue/queue_config.h"
#include "util/fd.h"
#include "util/status.h"

namespace oceanus::queue {

// A position in one writer series: the segment and the offset just after a record.
struct SpoolPosition {
  std::uint64_t seq = 0;
  std::uint64_t offset = 0;
  bool operator==(const SpoolPosition&) const = default;
};
// Writer id → position.
using SpoolCursor = std::map<unsigned, SpoolPosition>;

class Spool {
 public:
  // How a writer gets blocking work (fdatasync) off its thread and the result back onto it.
  struct Executors {
    std::function<void(std::function<void()>)> run_blocking;
    std::function<void(std::function<void()>)> post_back;
    // post_back runs jobs on the writer's own event loop, after the work at hand: the appends
    // of one loop turn (to a site's current segment) are then written together, one write()
    // for all, from a job posted by the turn's first append, and answered after it.
    bool gather = false;
    // The writer answers each append once written and syncs nothing, whatever the
    // durability: its owner makes what it wrote durable itself, at once for many records (a
    // replay syncs the file system per chunk). No executors are needed then.
    bool owner_syncs = false;
  };
  struct SiteStats {
    std::uint64_t bytes_on_disk = 0;
    std::uint64_t segments = 0;
  };

  // Opens (creating) the spool in `dir` for these sites and consumer groups, and locks the
  // directory against a second process.
  static Result<std::unique_ptr<Spool>> Open(std::string dir, std::vector<std::string> sites,
                                             std::vector<std::string> groups,
                                             const queue::QueueConfig& config);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // The writer for I/O thread `writer_id` (each id at most once per Spool). Executors are
  // needed with durability fsync only: run_blocking runs a job on a thread that may block,
  // post_back runs a job on the writer's own thread. They must keep running until every
  // append has been answered, even after the writer is destroyed (its last sync posts back).
  // The Spool must outlive its writers and readers.
  Result<std::unique_ptr<QueueWriter>> MakeWriter(unsigned writer_id, Executors executors);
  // A reader for (site, group); one at a time per pair.
  Result<std::unique_ptr<QueueReader>> OpenReader(SiteId site, const std::string& group);

  SiteStats Stats(SiteId site) const;
  std::uint64_t corrupt_records() const { return corrupt_records_.load(); }

  // --- used by the writer and reader implementations ---------------------------------
  struct SegmentName {
    unsigned writer;
    std::uint64_t seq;
  };
  const std::string& dir() const { return dir_; }
  std::string SiteDir(SiteId site) const;
  std::string SegmentPath(SiteId site, unsigned writer, std::uint64_t seq) const;
  // Segments of a site on disk, sorted by (writer, seq).
  std::vector<SegmentName> ListSegments(SiteId site) const;
  // Active = held by a live writer of this process. StartSegment takes the next seq for a new
  // segment of `writer` (above every seq on disk or in a cursor at Open) and marks it active,
  // in one step, before the file is created; EndSegment seals it (or gives up a seq whose
  // file could not be made). Both run on I/O threads and only touch memory: a sealed segment
  // every group has already read is deleted by the next reader poll (DeleteConsumedIfSealed).
  std::uint64_t StartSegment(SiteId site, unsigned writer);
  void EndSegment(SiteId site, unsigned writer, std::uint64_t seq);
  bool IsActive(SiteId site, unsigned writer, std::uint64_t seq) const;
  // Records a group's acknowledged cursor and deletes the sealed segments all groups passed.
  void Acknowledged(SiteId site, const std::string& group, const SpoolCursor& cursor);
  // Deletes the sealed segments every group has read to their end. Lists and unlinks files:
  // for reader threads, never I/O threads; the site lock is held only to copy the state.
  void DeleteConsumed(SiteId site);
  // DeleteConsumed, if a segment of the site was sealed since the last call (cheap to poll).
  void DeleteConsumedIfSealed(SiteId site);
  void CountCorrupt() { ++corrupt_records_; }
  const queue::QueueConfig& config() const { return config_; }

  // Record bytes of the site's segments that the slowest group has not yet acknowledged
  // (segment headers excluded): 0 once every group is through, even while the active
  // segments stay on disk.
  std::uint64_t UnconsumedBytes(SiteId site) const;

 private:
  Spool() = default;
  struct SiteState {
    std::string name;
    mutable std::mutex mu;  // guards the sets below; taken on rotation and reader scans only
    std::set<std::pair<unsigned, std::uint64_t>> active;
    std::map<unsigned, std::uint64_t> max_seq;
    std::map<std::string, SpoolCursor> cursors;  // by group, as last acknowledged
    // A segment was sealed since the last DeleteConsumed; true at first, for the consumed
    // segments an earlier run left (sealed at its shutdown after its last deletion pass).
    std::atomic<bool> sealed{true};
  };

  std::string dir_;
  std::vector<std::unique_ptr<SiteState>> sites_;
  std::vector<std::string> groups_;
  queue::QueueConfig config_;
  UniqueFd lock_;
  std::atomic<std::uint64_t> corrupt_records_{0};
};

// Cursor files: "w<writer> <seq> <offset>" per line.
Result<SpoolCursor> ReadCursorFile(const std::string& path);
Status WriteCursorFile(const std::string& path, const SpoolCursor& cursor);

}  // namespace oceanus::queue

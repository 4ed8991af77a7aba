// The local spool: segment series per (site, writer), cursors per (site, group).
//
// Writers (one per I/O thread) append framed records with one write() each and, with
// durability fsync, hand fdatasync to a background thread, completing every request the sync
// covered when it returns (group commit). Readers (one per site and consumer group, on the
// loader's thread) walk each writer series from their cursor and apply the recovery rules of
// docs/spool_format.md. Acknowledging writes the cursor atomically and lets the Spool delete
// the sealed segments every group has passed. The only lock is per site, taken on rotation
// and by reader scans and acknowledgements — never per append.
#include "queue/spool/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util/log.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <thread>
#include <tuple>

#include "queue/spool/segment.h"

namespace oceanus::queue {
namespace {

using spool::DecodeResult;
using spool::kHeaderBytes;
using spool::kSegmentMagic;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

Status SyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0) return Status::IoError(Errno("fsync " + dir));
  return Status::Ok();
}

Status WriteAll(int fd, const char* data, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t w = ::write(fd, data + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return Status::IoError(std::strerror(errno));
    done += static_cast<std::size_t>(w);
  }
  return Status::Ok();
}

std::uint64_t FileSize(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// The file's modification time in ms since 1970 (0 if fstat fails).
std::int64_t ModifiedMs(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return 0;
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

// Appends bytes [from, to) of `fd` to `target` (created if needed) and makes them durable:
// the file synced, and its directory entry too. On failure the append is cut back, so a
// retry does not leave a partial copy in front of the full one.
Status SetAside(int fd, std::uint64_t from, std::uint64_t to, const std::string& target) {
  UniqueFd out(::open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!out.valid()) return Status::IoError(Errno("open"));
  const std::uint64_t before = FileSize(out.get());
  Status s;
  std::string buf(std::min<std::uint64_t>(to - from, 64 * 1024), '\0');
  for (std::uint64_t off = from; s.ok() && off < to;) {
    const ssize_t n = ::pread(fd, buf.data(), std::min<std::uint64_t>(buf.size(), to - off),
                              static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      s = Status::IoError(n == 0 ? std::string("segment ended early") : Errno("read"));
      break;
    }
    s = WriteAll(out.get(), buf.data(), static_cast<std::size_t>(n));
    off += static_cast<std::uint64_t>(n);
  }
  if (s.ok() && ::fsync(out.get()) != 0) s = Status::IoError(Errno("fsync"));
  if (s.ok()) s = SyncDir(target.substr(0, target.rfind('/')));
  if (!s.ok() && ::ftruncate(out.get(), static_cast<off_t>(before)) != 0)
    spdlog::warn("spool: cannot cut {} back to {} bytes after a failed copy", target, before);
  return s;
}

// ---------------------------------------------------------------------------------------
// Writer

// Group commit for durability fsync. Everything here is touched only on the writer's own
// thread (Append, and the continuations post_back runs there), except `sync_status`, which the
// blocking job writes before it posts back. It is shared with those jobs rather than owned by
// the writer so that a sync still in flight when the writer goes away (shutdown) answers every
// request it covers, and starts the one more sync that the requests written after it need.
struct GroupCommit {
  Spool::Executors executors;
  std::vector<std::shared_ptr<AppendHandler>> waiting;  // written, sync not yet started
  std::vector<std::shared_ptr<UniqueFd>> dirty;         // files `waiting` were written to
  std::vector<std::string> new_dirs;  // directories that got a new segment since the last sync
  std::vector<std::shared_ptr<AppendHandler>> covered;  // the in-flight sync answers these
  std::vector<std::shared_ptr<UniqueFd>> syncing_files;
  std::vector<std::string> syncing_dirs;
  bool syncing = false;
  Status sync_status;
};

// Starts one fdatasync covering everything written so far, unless one is running; requests
// written meanwhile wait for the next one. The vectors are swapped, not reallocated, so a
// steady stream of syncs allocates nothing but the executors' own job records.
void MaybeSync(const std::shared_ptr<GroupCommit>& gc) {
  if (gc->syncing || gc->waiting.empty()) return;
  gc->syncing = true;
  gc->covered.swap(gc->waiting);
  gc->syncing_files.swap(gc->dirty);
  gc->syncing_dirs.swap(gc->new_dirs);
  gc->executors.run_blocking([gc] {
    Status status;
    for (const auto& f : gc->syncing_files)
      if (::fdatasync(f->get()) != 0) status = Status::IoError(Errno("spool fdatasync"));
    // A new segment's directory entry: without it, its synced records could vanish with it.
    for (const auto& dir : gc->syncing_dirs)
      if (Status synced = SyncDir(dir); !synced.ok()) status = std::move(synced);
    gc->sync_status = std::move(status);
    gc->executors.post_back([gc] {
      for (auto& h : gc->covered) h->Appended(gc->sync_status);
      gc->covered.clear();
      gc->syncing_files.clear();  // the last holder of a sealed segment's fd closes it
      if (!gc->sync_status.ok()) {
        // The next sync tries the directories again: no later answer may rest on them.
        for (auto& dir : gc->syncing_dirs)
          if (std::find(gc->new_dirs.begin(), gc->new_dirs.end(), dir) == gc->new_dirs.end())
            gc->new_dirs.push_back(std::move(dir));
      }
      gc->syncing_dirs.clear();
      gc->syncing = false;
      MaybeSync(gc);
    });
  });
}

class SpoolWriter final : public QueueWriter {
 public:
  SpoolWriter(Spool& spool, unsigned id, Spool::Executors executors, std::size_t sites)
      : spool_(spool), id_(id), gc_(std::make_shared<GroupCommit>()), segments_(sites) {
    gather_ = executors.gather && executors.post_back != nullptr;
    syncs_ = !executors.owner_syncs && spool.config().durability == queue::Durability::kFsync;
    gc_->executors = std::move(executors);
  }

  // What the turn gathered is written first (the job posted for it will not run).
  ~SpoolWriter() override {
    WriteTurn();
    for (SiteId s = 0; s < segments_.size(); ++s) Seal(s);
  }

  void Append(SiteId site, std::string_view record, std::shared_ptr<AppendHandler> done) override {
    const std::size_t end = record.size();
    AppendAll(site, record, std::span<const std::size_t>(&end, 1), std::move(done));
  }

  // The records go out in one write() per segment they fall into (almost always one): a
  // batch costs one system call, not one per record. A gathering writer defers the write to
  // the end of the loop turn when the records fit in the site's current segment, so that the
  // turn's appends share one write() per site.
  void AppendAll(SiteId site, std::string_view arena, std::span<const std::size_t> ends,
                 std::shared_ptr<AppendHandler> done) override {
    if (site >= segments_.size()) return done->Appended(Status::InvalidArgument("no such site"));
    if (ends.empty()) return done->Appended(Status::Ok());
    for (std::size_t i = 0; i < ends.size(); ++i) {  // before anything is written
      if (Record(arena, ends, i).size() > spool::kMaxRecordBytes)
        return done->Appended(Status::InvalidArgument("record larger than the spool's maximum"));
    }
    Segment& seg = segments_[site];
    if (gather_ && Fits(site, arena.size() + ends.size() * kHeaderBytes))
      return Defer(site, arena, ends, std::move(done));
    WriteGathered(site);  // what the turn gathered goes first: records stay in order
    if (seg.backoff.delay.count() > 0 && Refuse(seg, *done)) return;
    for (std::size_t next = 0; next < ends.size();) {
      Result<std::size_t> written = WriteChunk(site, arena, ends, next);
      if (!written.ok()) return done->Appended(written.status());
      next = *written;
    }
    if (seg.backoff.delay.count() > 0) Recovered(site);
    Written(std::move(done), Status::Ok());
  }

 private:
  static std::string_view Record(std::string_view arena, std::span<const std::size_t> ends,
                                 std::size_t i) {
    const std::size_t begin = i == 0 ? 0 : ends[i - 1];
    return arena.substr(begin, ends[i] - begin);
  }

  // Records of `bytes` framed bytes can be gathered for the site's current segment: one is
  // open, the disk is not being backed off from, and they fit in it after what is gathered.
  bool Fits(SiteId site, std::size_t bytes) const {
    const auto& seg = segments_[site];
    return seg.fd && seg.backoff.delay.count() == 0 &&
           seg.size + seg.gathered.size() + bytes <= spool_.config().segment_bytes;
  }

  void Defer(SiteId site, std::string_view arena, std::span<const std::size_t> ends,
             std::shared_ptr<AppendHandler> done) {
    Segment& seg = segments_[site];
    if (seg.gathered.empty()) gathered_sites_.push_back(site);
    for (std::size_t i = 0; i < ends.size(); ++i)
      spool::EncodeRecord(seg.gathered, Record(arena, ends, i));
    seg.waiting.push_back(std::move(done));
    if (turn_posted_) return;
    turn_posted_ = true;
    gc_->executors.post_back([this] {
      turn_posted_ = false;
      WriteTurn();
    });
  }

  // The end of a loop turn: each site's gathered records in one write, then their answers.
  void WriteTurn() {
    std::vector<SiteId> sites;
    sites.swap(gathered_sites_);
    for (SiteId site : sites) WriteGathered(site);
    sites.clear();
    if (gathered_sites_.empty()) gathered_sites_.swap(sites);  // keeps the capacity
  }

  void WriteGathered(SiteId site) {
    Segment& seg = segments_[site];
    if (seg.gathered.empty()) return;
    const Status written = WriteToSegment(site, seg.gathered);
    seg.gathered.clear();
    std::vector<std::shared_ptr<AppendHandler>> waiting;
    waiting.swap(seg.waiting);
    // One group commit for the turn's appends, not one for the first and another for the rest.
    for (auto& done : waiting) Answer(std::move(done), written);
    waiting.clear();
    if (written.ok()) MaybeSync(gc_);
    if (seg.waiting.empty()) seg.waiting.swap(waiting);  // keeps the capacity
  }

  // `done`'s records are written (or failed to be): answered now with durability os, after
  // the group commit that covers them with fsync.
  void Written(std::shared_ptr<AppendHandler> done, const Status& status) {
    Answer(std::move(done), status);
    MaybeSync(gc_);
  }

  // Written without starting the sync: the caller starts it once for all it answered.
  void Answer(std::shared_ptr<AppendHandler> done, const Status& status) {
    if (!status.ok() || !syncs_) return done->Appended(status);
    gc_->waiting.push_back(std::move(done));
  }

  // Writes records `first`… of the batch, as many as fit in the site's segment (at least
  // one: a full segment is sealed and a new one started first), with one write(). Returns
  // the index after the last one written.
  Result<std::size_t> WriteChunk(SiteId site, std::string_view arena,
                                 std::span<const std::size_t> ends, std::size_t first) {
    Segment& seg = segments_[site];
    const std::uint64_t limit = spool_.config().segment_bytes;
    const auto need = [&](std::size_t i) { return kHeaderBytes + Record(arena, ends, i).size(); };
    if (seg.fd && seg.size + need(first) > limit && seg.size > kSegmentMagic.size()) Seal(site);
    if (!seg.fd) {
      Status s = OpenSegment(site);
      if (!s.ok()) {
        Failed(site, s);
        return s;
      }
    }
    buffer_.clear();
    std::size_t next = first;
    do {
      spool::EncodeRecord(buffer_, Record(arena, ends, next));
      ++next;
    } while (next < ends.size() && seg.size + buffer_.size() + need(next) <= limit);
    if (Status written = WriteToSegment(site, buffer_); !written.ok()) return written;
    return next;
  }

  // One write() of framed records to the site's open segment.
  Status WriteToSegment(SiteId site, std::string_view framed) {
    Segment& seg = segments_[site];
    Status written = WriteAll(seg.fd->get(), framed.data(), framed.size());
    if (!written.ok()) {
      // Leave no half record behind: cut back to the last whole one, and start a fresh
      // segment next time (this one may have a damaged page). Should the cut fail too, the
      // half record is the last thing in a now sealed segment: a torn tail, which readers
      // drop.
      if (::ftruncate(seg.fd->get(), static_cast<off_t>(seg.size)) != 0)
        spdlog::error("spool: cannot truncate {} after a failed write", seg.path);
      Seal(site);
      Status failed = Status::IoError("spool write to " + seg.path + ": " + written.message());
      Failed(site, failed);
      return failed;
    }
    seg.size += framed.size();
    if (syncs_ && std::find(gc_->dirty.begin(), gc_->dirty.end(), seg.fd) == gc_->dirty.end())
      gc_->dirty.push_back(seg.fd);
    return Status::Ok();
  }

  // After a failed segment start or write (a full disk, in practice) a site's appends are
  // answered IoError without touching the disk for a growing interval, so a flood of
  // requests is not a flood of open()/write() calls and error lines. One line is logged
  // when it starts, then at most one per kLogEvery with the count refused meanwhile.
  struct Backoff {
    std::chrono::steady_clock::time_point until{};
    std::chrono::milliseconds delay{0};  // zero: not backing off
    std::string error;                   // the failure that started the current interval
    std::uint64_t refused = 0;           // appends answered without trying, since `logged`
    std::uint64_t failures = 0;          // attempts that failed since the backoff began
    std::chrono::steady_clock::time_point logged{};
  };
  static constexpr std::chrono::milliseconds kFirstBackoff{100};
  static constexpr std::chrono::milliseconds kMaxBackoff{1000};
  static constexpr std::chrono::seconds kLogEvery{10};

  struct Segment {
    std::shared_ptr<UniqueFd> fd;  // shared with in-flight syncs
    std::uint64_t seq = 0;
    std::uint64_t size = 0;  // written so far; `gathered` follows
    std::string path;
    Backoff backoff;
    std::string gathered;  // framed records of this loop turn, not yet written
    std::vector<std::shared_ptr<AppendHandler>> waiting;  // their appends
  };

  // True (and `done` answered) while the site's backoff interval lasts.
  bool Refuse(Segment& seg, AppendHandler& done) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= seg.backoff.until) return false;  // time to try the disk again
    ++seg.backoff.refused;
    done.Appended(Status::IoError(seg.backoff.error + " (not retried for " +
                                  std::to_string(seg.backoff.delay.count()) + " ms)"));
    return true;
  }

  void Failed(SiteId site, const Status& s) {
    Backoff& b = segments_[site].backoff;
    const auto now = std::chrono::steady_clock::now();
    const bool first = b.delay.count() == 0;
    b.delay = first ? kFirstBackoff : std::min(b.delay * 2, kMaxBackoff);
    b.until = now + b.delay;
    b.error = s.message();
    ++b.failures;
    if (first) {
      spdlog::error("spool: {}; appends to this site are refused for {} ms, then retried", b.error,
                    b.delay.count());
    } else if (now - b.logged >= kLogEvery) {
      spdlog::error(
          "spool: still failing: {}; {} append(s) refused and {} attempt(s) failed in "
          "the last {} s",
          b.error, b.refused, b.failures,
          std::chrono::duration_cast<std::chrono::seconds>(now - b.logged).count());
      b.refused = 0;
      b.failures = 0;
    } else {
      return;
    }
    b.logged = now;
  }

  void Recovered(SiteId site) {
    Segment& seg = segments_[site];
    spdlog::info("spool: writing to {} again ({} append(s) refused since the last report)",
                 seg.path, seg.backoff.refused);
    seg.backoff = Backoff{};
  }

  Status OpenSegment(SiteId site) {
    Segment& seg = segments_[site];
    // Active before the file exists: a reader or a deletion scan that lists the new file
    // must never take it for a sealed (empty, consumed) segment.
    seg.seq = spool_.StartSegment(site, id_);
    seg.path = spool_.SegmentPath(site, id_, seg.seq);
    UniqueFd fd(::open(seg.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644));
    Status s;
    if (!fd.valid()) s = Status::IoError(Errno("create"));
    if (s.ok()) s = WriteAll(fd.get(), kSegmentMagic.data(), kSegmentMagic.size());
    if (!s.ok()) {
      if (fd.valid()) ::unlink(seg.path.c_str());
      spool_.EndSegment(site, id_, seg.seq);
      return Status::IoError("spool: start " + seg.path + ": " + s.message());
    }
    if (syncs_) {
      // The new directory entry is synced by the group commit that syncs this segment's
      // first records, before any of them is answered (rare: once per segment).
      std::string dir = spool_.SiteDir(site);
      if (std::find(gc_->new_dirs.begin(), gc_->new_dirs.end(), dir) == gc_->new_dirs.end())
        gc_->new_dirs.push_back(std::move(dir));
    }
    seg.fd = std::make_shared<UniqueFd>(std::move(fd));
    seg.size = kSegmentMagic.size();
    return Status::Ok();
  }

  void Seal(SiteId site) {
    Segment& seg = segments_[site];
    if (!seg.fd) return;
    seg.fd.reset();  // closed once no sync holds it
    spool_.EndSegment(site, id_, seg.seq);
  }

  Spool& spool_;
  unsigned id_;
  std::shared_ptr<GroupCommit> gc_;
  std::vector<Segment> segments_;
  std::string buffer_;  // reused for every write: no allocation per append once grown
  bool gather_ = false;
  bool syncs_ = false;  // durability fsync, synced by this writer (not by its owner)
  bool turn_posted_ = false;
  std::vector<SiteId> gathered_sites_;  // sites with gathered records, in first-append order
};

// ---------------------------------------------------------------------------------------
// Reader

class SpoolReader final : public QueueReader {
 public:
  SpoolReader(Spool& spool, SiteId site, std::string group, SpoolCursor cursor)
      : spool_(spool),
        site_(site),
        group_(std::move(group)),
        cursor_path_(spool.SiteDir(site) + "/" + group_ + ".cursor"),
        acked_(cursor),
        read_(std::move(cursor)) {}

  Result<std::vector<Entry>> Read(std::size_t max_entries, std::size_t max_bytes,
                                  std::chrono::milliseconds wait) override {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (true) {
      spool_.DeleteConsumedIfSealed(site_);
      std::vector<Entry> out;
      ReadAvailable(max_entries, max_bytes, out);
      const auto now = std::chrono::steady_clock::now();
      if (!out.empty() || now >= deadline) return out;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds(10), deadline - now));
    }
  }

  Status Ack(const std::string& last_id) override {
    std::uint64_t batch = 0;
    long long index = 0;
    if (std::sscanf(last_id.c_str(), "%" SCNu64 ":%lld", &batch, &index) != 2)
      return Status::InvalidArgument("not a spool entry id: " + last_id);
    if (batches_.empty() || batch < batches_.front().number || batch > batches_.back().number)
      return Status::InvalidArgument("entry " + last_id +
                                     " was already acknowledged or never read");
    SpoolCursor next = acked_;
    for (const auto& b : batches_) {
      if (b.number > batch) break;
      for (const auto& p : b.positions) {
        if (b.number == batch && p.after_entry > index) break;
        next[p.writer] = p.position;
      }
    }
    Status s = WriteCursorFile(cursor_path_, next);
    if (!s.ok()) {
      // A cursor that cannot be written (in practice a full disk, typically full of this
      // spool's own segments after the consumer fell behind) must not stop consumption:
      // space comes back only when segments every group has passed are deleted, so failing
      // here would keep the disk full for ever and the collector answering 503
      // (tests/fault/test_disk_full.py). The entries up to `next` are committed by the
      // consumer, so the position is kept in memory, lets consumed segments go, and is
      // written with the next acknowledgement that can write it. A crash meanwhile resumes
      // from the cursor on disk, or from the first segment still there: committed entries
      // may come again (every consumer is idempotent by eid), none is skipped.
      if (!cursor_unwritten_)
        spdlog::error("spool: {}; the position is kept in memory until it can be written",
                      s.message());
      cursor_unwritten_ = true;
    } else if (cursor_unwritten_) {
      spdlog::info("spool: {} written again", cursor_path_);
      cursor_unwritten_ = false;
    }
    acked_ = std::move(next);
    while (!batches_.empty() && batches_.front().number < batch) batches_.pop_front();
    if (!batches_.empty() && batches_.front().number == batch) {
      auto& ps = batches_.front().positions;
      ps.erase(std::remove_if(ps.begin(), ps.end(),
                              [&](const Mark& m) { return m.after_entry <= index; }),
               ps.end());
    }
    spool_.Acknowledged(site_, group_, acked_);
    return Status::Ok();
  }

 private:
  // A position reached while reading: applied to the cursor once the entry at index
  // `after_entry` of its batch (or any later entry) is acknowledged; -1 = with any entry.
  struct Mark {
    long long after_entry;
    unsigned writer;
    SpoolPosition position;
  };
  struct Batch {
    std::uint64_t number;
    std::vector<Mark> positions;
    bool has_entries = false;
  };
  struct OpenSegment {
    std::uint64_t seq = 0;
    UniqueFd fd;
    std::unique_ptr<spool::SegmentBuffer> buffer;
    // A sealed segment's last change: each of its records was appended no later (0 while
    // the segment is active, whose records may be appended this moment).
    std::int64_t sealed_ms = 0;
  };

  void ReadAvailable(std::size_t max_entries, std::size_t max_bytes, std::vector<Entry>& out) {
    if (batches_.empty() || batches_.back().has_entries) {
      // Marks from a round that returned nothing stay in their batch and go with the next.
      batches_.push_back({next_batch_++, {}, false});
    }
    Batch& batch = batches_.back();
    batch_bytes_ = 0;
    // One series per writer id, each in seq order.
    std::vector<std::pair<unsigned, std::vector<std::uint64_t>>> series;
    for (const auto& seg : spool_.ListSegments(site_)) {
      if (series.empty() || series.back().first != seg.writer) series.push_back({seg.writer, {}});
      series.back().second.push_back(seg.seq);
    }
    CloseDeleted(series);
    // Each call starts with the next series, so that a busy writer cannot keep the others'
    // records waiting when every call fills up before reaching them.
    for (std::size_t k = 0;
         k < series.size() && out.size() < max_entries && batch_bytes_ < max_bytes; ++k) {
      const auto& [writer, seqs] = series[(first_series_ + k) % series.size()];
      ReadSeries(writer, seqs, max_entries, max_bytes, batch, out);
    }
    ++first_series_;
    if (!out.empty()) batch.has_entries = true;
  }

  // Closes the descriptor of a segment that is no longer on disk (consumed and deleted).
  // Until it is closed the file's blocks stay allocated: on a full disk, a reader holding the
  // last segment it read would keep the space that the writers wait for.
  void CloseDeleted(const std::vector<std::pair<unsigned, std::vector<std::uint64_t>>>& series) {
    for (auto it = open_.begin(); it != open_.end();) {
      const auto listed = std::find_if(series.begin(), series.end(), [&](const auto& s) {
        return s.first == it->first &&
               std::binary_search(s.second.begin(), s.second.end(), it->second.seq);
      });
      it = listed == series.end() ? open_.erase(it) : std::next(it);
    }
  }

  void Advance(Batch& batch, std::size_t entries, unsigned writer, SpoolPosition pos) {
    batch.positions.push_back({static_cast<long long>(entries) - 1, writer, pos});
    read_[writer] = pos;
  }

  void ReadSeries(unsigned writer, const std::vector<std::uint64_t>& seqs, std::size_t max_entries,
                  std::size_t max_bytes, Batch& batch, std::vector<Entry>& out) {
    SpoolPosition pos = read_.count(writer) ? read_[writer] : SpoolPosition{seqs.front(), 0};
    if (pos.seq < seqs.front()) pos = {seqs.front(), 0};  // older segments were deleted
    for (std::uint64_t seq : seqs) {
      if (seq < pos.seq) continue;
      if (seq > pos.seq) pos = {seq, 0};
      const bool active = spool_.IsActive(site_, writer, seq);
      OpenSegment& open = open_[writer];
      if (!open.fd.valid() || open.seq != seq) {
        open.fd =
            UniqueFd(::open(spool_.SegmentPath(site_, writer, seq).c_str(), O_RDONLY | O_CLOEXEC));
        open.seq = seq;
        if (!open.fd.valid()) break;  // deleted under us, or unreadable: try again later
        open.buffer = std::make_unique<spool::SegmentBuffer>(open.fd.get());
        open.sealed_ms = 0;
      }
      if (!active && open.sealed_ms == 0) open.sealed_ms = ModifiedMs(open.fd.get());
      const std::string path = spool_.SegmentPath(site_, writer, seq);
      if (pos.offset < kSegmentMagic.size()) {
        char magic[8];
        const ssize_t n = ::pread(open.fd.get(), magic, sizeof magic, 0);
        const bool whole = n == static_cast<ssize_t>(sizeof magic);
        if (whole && std::string_view(magic, sizeof magic) == kSegmentMagic) {
          pos.offset = kSegmentMagic.size();
        } else if (active) {
          break;  // being created (a bad magic cannot come from our own writes)
        } else if (!whole) {
          // Nothing to read; the bytes there are set aside, and the position past the header
          // marks the segment as read (and deletable).
          const std::uint64_t size = FileSize(open.fd.get());
          const SpoolPosition done{seq, kSegmentMagic.size()};
          if (size > 0 &&
              (HeldBack(writer, pos) || !SetAsideAndLog(path, open.fd.get(), writer, pos, size,
                                                        "segment shorter than its header")))
            break;
          pos = done;
          Advance(batch, out.size(), writer, pos);
          continue;
        } else {
          // Records start after the header: resynchronise on the first one from there on.
          pos.offset = kSegmentMagic.size() - 1;
          const Recovery r = Recover(path, open, DecodeResult::kBadLength,
                                     "not a spool segment header (bad magic)", batch, out.size(),
                                     writer, pos, /*from=*/0);
          if (r == Recovery::kHold) {
            pos.offset = 0;
            break;
          }
          if (r == Recovery::kSegmentDone) continue;
        }
      }
      if (!ReadRecords(path, open, active, writer, max_entries, max_bytes, batch, out, pos)) break;
    }
    read_[writer] = pos;
  }

  // Reads records of segment `open` from `pos` on. False when the series cannot go further
  // now (a limit was reached, the active segment has no more, or damage is held); true when
  // this segment is done and the next one may be read.
  bool ReadRecords(const std::string& path, OpenSegment& open, bool active, unsigned writer,
                   std::size_t max_entries, std::size_t max_bytes, Batch& batch,
                   std::vector<Entry>& out, SpoolPosition& pos) {
    while (true) {
      if (out.size() >= max_entries || batch_bytes_ >= max_bytes) return false;
      std::uint64_t next = 0;
      std::string_view payload;
      const DecodeResult r = open.buffer->Next(pos.offset, payload, next);
      if (r == DecodeResult::kRecord) {
        out.push_back({std::to_string(batch.number) + ":" + std::to_string(out.size()),
                       std::string(payload), open.sealed_ms});
        batch_bytes_ += payload.size();
        pos.offset = next;
        Advance(batch, out.size(), writer, pos);
        continue;
      }
      if (r == DecodeResult::kEnd) return !active;
      if (active) {
        // An incomplete record is still being written. Damage cannot come from our own
        // writes: it is left for after the writer seals the segment, and said once.
        if (r != DecodeResult::kIncomplete &&
            damage_reported_ != std::tuple{writer, pos.seq, pos.offset}) {
          damage_reported_ = {writer, pos.seq, pos.offset};
          spdlog::error("spool: {}: damaged record at offset {} in the active segment", path,
                        pos.offset);
        }
        return false;
      }
      const char* why = r == DecodeResult::kBadCrc      ? "damaged record (checksum mismatch)"
                        : r == DecodeResult::kBadLength ? "damaged record (impossible length)"
                                                        : "record cut short";
      switch (Recover(path, open, r, why, batch, out.size(), writer, pos, pos.offset)) {
        case Recovery::kHold:
          return false;
        case Recovery::kSegmentDone:
          return true;
        case Recovery::kResynced:
          break;
      }
    }
  }

  enum class Recovery { kHold, kResynced, kSegmentDone };

  // Damage found at `pos` of a sealed segment (the damaged bytes start at `from`): finds the
  // next whole record with a valid checksum, sets the bytes before it aside, and only then
  // moves `pos` there. A record cut short with nothing valid after it is a torn tail: dropped.
  Recovery Recover(const std::string& path, OpenSegment& open, DecodeResult r, const char* why,
                   Batch& batch, std::size_t entries, unsigned writer, SpoolPosition& pos,
                   std::uint64_t from) {
    const SpoolPosition at{pos.seq, from};
    if (HeldBack(writer, at)) return Recovery::kHold;
    std::uint64_t resync = 0;
    const DecodeResult found = open.buffer->FindRecord(pos.offset, resync);
    if (found == DecodeResult::kIncomplete) {
      Failed(writer, at, path + ": cannot read past damage at offset " + std::to_string(from));
      return Recovery::kHold;
    }
    if (r == DecodeResult::kIncomplete && found == DecodeResult::kEnd) {
      spdlog::warn("spool: {}: dropping a torn tail of {} bytes at offset {} (never acknowledged)",
                   path, resync - from, from);
    } else if (!SetAsideAndLog(path, open.fd.get(), writer, at, resync, why)) {
      return Recovery::kHold;
    }
    pos.offset = resync;
    Advance(batch, entries, writer, pos);
    return found == DecodeResult::kEnd ? Recovery::kSegmentDone : Recovery::kResynced;
  }

  // Sets bytes [at.offset, to) of the segment aside; logs what happened either way. False:
  // they are not safely elsewhere, so the series must not move past them (retried later).
  bool SetAsideAndLog(const std::string& path, int fd, unsigned writer, const SpoolPosition& at,
                      std::uint64_t to, const char* why) {
    const std::string target = path + ".corrupt";
    Status s = SetAside(fd, at.offset, to, target);
    if (!s.ok()) {
      Failed(writer, at,
             path + ": " + why + " at offset " + std::to_string(at.offset) + "; cannot set its " +
                 std::to_string(to - at.offset) + " bytes aside in " + target + ": " + s.message());
      return false;
    }
    spool_.CountCorrupt();
    spdlog::error("spool: {}: {} at offset {}; {} bytes moved to {}{}", path, why, at.offset,
                  to - at.offset, target,
                  holds_.count(writer)
                      ? " (after " + std::to_string(holds_[writer].failures) + " failed attempt(s))"
                      : "");
    holds_.erase(writer);
    return true;
  }

  // A series held at damage that cannot be set aside (a full disk): retried after a growing
  // interval, and logged when it starts and then at most once per kHoldLogEvery.
  struct Hold {
    SpoolPosition at;
    std::chrono::steady_clock::time_point retry_at{};
    std::chrono::milliseconds delay{0};
    std::uint64_t failures = 0;
    std::chrono::steady_clock::time_point logged{};
  };
  static constexpr std::chrono::milliseconds kFirstRetry{100};
  static constexpr std::chrono::milliseconds kMaxRetry{10000};
  static constexpr std::chrono::seconds kHoldLogEvery{60};

  bool HeldBack(unsigned writer, const SpoolPosition& at) const {
    const auto it = holds_.find(writer);
    return it != holds_.end() && it->second.at == at &&
           std::chrono::steady_clock::now() < it->second.retry_at;
  }

  void Failed(unsigned writer, const SpoolPosition& at, const std::string& what) {
    const auto now = std::chrono::steady_clock::now();
    Hold& h = holds_[writer];
    if (!(h.at == at) || h.failures == 0) h = Hold{at};
    ++h.failures;
    h.delay = h.failures == 1 ? kFirstRetry : std::min(h.delay * 2, kMaxRetry);
    h.retry_at = now + h.delay;
    if (h.failures > 1 && now - h.logged < kHoldLogEvery) return;
    h.logged = now;
    spdlog::error(
        "spool: {}; this series is read no further until it can be ({} attempt(s), "
        "next in {} ms)",
        what, h.failures, h.delay.count());
  }

  Spool& spool_;
  SiteId site_;
  std::string group_;
  std::string cursor_path_;
  SpoolCursor acked_;  // durable
  SpoolCursor read_;   // delivered
  std::map<unsigned, OpenSegment> open_;
  std::deque<Batch> batches_;
  std::uint64_t next_batch_ = 1;
  std::size_t batch_bytes_ = 0;
  std::size_t first_series_ = 0;
  std::tuple<unsigned, std::uint64_t, std::uint64_t> damage_reported_{~0u, 0, 0};
  std::map<unsigned, Hold> holds_;  // by writer
  bool cursor_unwritten_ = false;   // acked_ is ahead of the cursor file (its write failed)
};

}  // namespace

// ---------------------------------------------------------------------------------------
// Spool

Result<std::unique_ptr<Spool>> Spool::Open(std::string dir, std::vector<std::string> sites,
                                           std::vector<std::string> groups,
                                           const queue::QueueConfig& config) {
  std::unique_ptr<Spool> spool(new Spool());
  spool->dir_ = std::move(dir);
  spool->groups_ = std::move(groups);
  spool->config_ = config;
  if (::mkdir(spool->dir_.c_str(), 0755) != 0 && errno != EEXIST)
    return Status::IoError(Errno("spool: mkdir " + spool->dir_));
  const std::string lock_path = spool->dir_ + "/LOCK";
  spool->lock_ = UniqueFd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!spool->lock_.valid()) return Status::IoError(Errno("spool: open " + lock_path));
  if (::flock(spool->lock_.get(), LOCK_EX | LOCK_NB) != 0) {
    return Status::Unavailable("spool " + spool->dir_ +
                               " is in use by another oceanus process (one process per data dir)");
  }
  for (auto& name : sites) {
    auto state = std::make_unique<SiteState>();
    state->name = std::move(name);
    spool->sites_.push_back(std::move(state));
  }
  for (SiteId site = 0; site < spool->sites_.size(); ++site) {
    const std::string site_dir = spool->SiteDir(site);
    if (::mkdir(site_dir.c_str(), 0755) != 0 && errno != EEXIST)
      return Status::IoError(Errno("spool: mkdir " + site_dir));
    SiteState& state = *spool->sites_[site];
    for (const auto& seg : spool->ListSegments(site))
      state.max_seq[seg.writer] = std::max(state.max_seq[seg.writer], seg.seq);
    for (const auto& group : spool->groups_) {
      auto cursor = ReadCursorFile(site_dir + "/" + group + ".cursor");
      if (!cursor.ok()) return cursor.status();
      // A new segment must sort after every position a cursor remembers, even when the
      // segments it pointed into are gone (consumed and deleted): otherwise a reused seq
      // would look already consumed and its records would be skipped.
      for (const auto& [writer, pos] : *cursor)
        state.max_seq[writer] = std::max(state.max_seq[writer], pos.seq);
      state.cursors[group] = *cursor;
    }
  }
  return spool;
}

Spool::~Spool() = default;

std::string Spool::SiteDir(SiteId site) const { return dir_ + "/" + sites_[site]->name; }

std::string Spool::SegmentPath(SiteId site, unsigned writer, std::uint64_t seq) const {
  char name[48];
  std::snprintf(name, sizeof name, "/w%03u-%010" PRIu64 ".seg", writer, seq);
  return SiteDir(site) + name;
}

std::vector<Spool::SegmentName> Spool::ListSegments(SiteId site) const {
  std::vector<SegmentName> out;
  const std::string dir = SiteDir(site);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    unsigned writer = 0;
    std::uint64_t seq = 0;
    int consumed = 0;
    if (std::sscanf(e->d_name, "w%u-%" SCNu64 ".seg%n", &writer, &seq, &consumed) == 2 &&
        e->d_name[consumed] == '\0' && consumed > 0)
      out.push_back({writer, seq});
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const SegmentName& a, const SegmentName& b) {
    return a.writer != b.writer ? a.writer < b.writer : a.seq < b.seq;
  });
  return out;
}

void Spool::EndSegment(SiteId site, unsigned writer, std::uint64_t seq) {
  SiteState& s = *sites_[site];
  {
    std::lock_guard lock(s.mu);
    s.active.erase({writer, seq});
  }
  // A segment sealed after its readers had already passed its end is deleted by the next
  // read poll, on the reader's thread: this runs on an I/O thread, which must not list and
  // unlink files.
  s.sealed.store(true, std::memory_order_release);
}

void Spool::DeleteConsumedIfSealed(SiteId site) {
  if (sites_[site]->sealed.exchange(false, std::memory_order_acq_rel)) DeleteConsumed(site);
}

bool Spool::IsActive(SiteId site, unsigned writer, std::uint64_t seq) const {
  const SiteState& s = *sites_[site];
  std::lock_guard lock(s.mu);
  return s.active.count({writer, seq}) > 0;
}

std::uint64_t Spool::StartSegment(SiteId site, unsigned writer) {
  SiteState& s = *sites_[site];
  std::lock_guard lock(s.mu);
  const std::uint64_t seq = ++s.max_seq[writer];
  s.active.insert({writer, seq});
  return seq;
}

void Spool::Acknowledged(SiteId site, const std::string& group, const SpoolCursor& cursor) {
  {
    std::lock_guard lock(sites_[site]->mu);
    sites_[site]->cursors[group] = cursor;
  }
  DeleteConsumed(site);
}

void Spool::DeleteConsumed(SiteId site) {
  SiteState& s = *sites_[site];
  // Listed before the snapshot: a file listed exists, so its seq was taken, and it is either
  // active in the snapshot or sealed for good; cursors only move forward. The listing, stat
  // and unlink calls then run without the lock that writers take on rotation.
  const std::vector<SegmentName> segments = ListSegments(site);
  std::set<std::pair<unsigned, std::uint64_t>> active;
  std::map<std::string, SpoolCursor> cursors;
  {
    std::lock_guard lock(s.mu);
    active = s.active;
    cursors = s.cursors;
  }
  for (const auto& seg : segments) {
    if (active.count({seg.writer, seg.seq})) continue;
    const std::string path = SegmentPath(site, seg.writer, seg.seq);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) continue;
    bool consumed_by_all = true;
    for (const auto& g : groups_) {
      const SpoolCursor& c = cursors[g];
      auto it = c.find(seg.writer);
      const bool consumed =
          it != c.end() && (it->second.seq > seg.seq ||
                            (it->second.seq == seg.seq &&
                             it->second.offset >= static_cast<std::uint64_t>(st.st_size)));
      if (!consumed) {
        consumed_by_all = false;
        break;
      }
    }
    // ENOENT: another group's reader deleted it just now.
    if (consumed_by_all && ::unlink(path.c_str()) != 0 && errno != ENOENT)
      spdlog::warn("spool: cannot delete consumed segment {}: {}", path, std::strerror(errno));
  }
}

Spool::SiteStats Spool::Stats(SiteId site) const {
  SiteStats stats;
  for (const auto& seg : ListSegments(site)) {
    struct stat st {};
    if (::stat(SegmentPath(site, seg.writer, seg.seq).c_str(), &st) == 0) {
      stats.bytes_on_disk += static_cast<std::uint64_t>(st.st_size);
      ++stats.segments;
    }
  }
  return stats;
}

Result<std::unique_ptr<QueueWriter>> Spool::MakeWriter(unsigned writer_id, Executors executors) {
  if (config_.durability == queue::Durability::kFsync && !executors.owner_syncs &&
      (!executors.run_blocking || !executors.post_back))
    return Status::InvalidArgument("durability fsync needs executors for the background sync");
  return std::unique_ptr<QueueWriter>(
      std::make_unique<SpoolWriter>(*this, writer_id, std::move(executors), sites_.size()));
}

Result<std::unique_ptr<QueueReader>> Spool::OpenReader(SiteId site, const std::string& group) {
  if (site >= sites_.size()) return Status::InvalidArgument("no such site");
  if (std::find(groups_.begin(), groups_.end(), group) == groups_.end())
    return Status::InvalidArgument("consumer group '" + group +
                                   "' was not declared when the spool opened");
  SpoolCursor cursor;
  {
    std::lock_guard lock(sites_[site]->mu);
    cursor = sites_[site]->cursors[group];
  }
  return std::unique_ptr<QueueReader>(
      std::make_unique<SpoolReader>(*this, site, group, std::move(cursor)));
}

// ---------------------------------------------------------------------------------------
// Cursor files

Result<SpoolCursor> ReadCursorFile(const std::string& path) {
  SpoolCursor cursor;
  std::ifstream in(path);
  if (!in) return cursor;  // no file: nothing consumed yet
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    unsigned writer = 0;
    std::uint64_t seq = 0, offset = 0;
    if (std::sscanf(line.c_str(), "w%u %" SCNu64 " %" SCNu64, &writer, &seq, &offset) != 3)
      return Status::Corruption(path + ":" + std::to_string(number) + ": unreadable cursor line");
    cursor[writer] = {seq, offset};
  }
  return cursor;
}

Status WriteCursorFile(const std::string& path, const SpoolCursor& cursor) {
  std::string text;
  char line[80];
  for (const auto& [writer, pos] : cursor) {
    std::snprintf(line, sizeof line, "w%03u %010" PRIu64 " %" PRIu64 "\n", writer, pos.seq,
                  pos.offset);
    text += line;
  }
  const std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return Status::IoError(Errno("open " + tmp));
  Status s = WriteAll(fd.get(), text.data(), text.size());
  if (!s.ok()) return Status::IoError("write " + tmp + ": " + s.message());
  if (::fdatasync(fd.get()) != 0) return Status::IoError(Errno("fdatasync " + tmp));
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::IoError(Errno("rename " + tmp));
  const std::string dir = path.substr(0, path.rfind('/'));
  return SyncDir(dir);
}

// ---------------------------------------------------------------------------------------
// Backlog

std::uint64_t Spool::UnconsumedBytes(SiteId site) const {
  // Sizes first: no file system call under the site's lock, which the appenders' rotation and
  // the readers take.
  std::vector<std::pair<SegmentName, std::uint64_t>> sized;
  for (const auto& seg : ListSegments(site)) {
    struct stat st {};
    if (::stat(SegmentPath(site, seg.writer, seg.seq).c_str(), &st) == 0)
      sized.emplace_back(seg, static_cast<std::uint64_t>(st.st_size));
  }
  const SiteState& s = *sites_[site];
  std::lock_guard lock(s.mu);
  std::uint64_t total = 0;
  for (const auto& [seg, size] : sized) {
    std::uint64_t slowest = size;  // the smallest offset any group has acknowledged in it
    for (const auto& g : groups_) {
      std::uint64_t consumed = 0;
      auto c = s.cursors.find(g);
      auto it = c != s.cursors.end() ? c->second.find(seg.writer) : SpoolCursor::const_iterator();
      if (c != s.cursors.end() && it != c->second.end())
        consumed = it->second.seq > seg.seq    ? size
                   : it->second.seq == seg.seq ? it->second.offset
                                               : 0;
      slowest = std::min(slowest, consumed);
    }
    slowest = std::max<std::uint64_t>(slowest, kSegmentMagic.size());
    if (size > slowest) total += size - slowest;
  }
  return total;
}

}  // namespace oceanus::queue

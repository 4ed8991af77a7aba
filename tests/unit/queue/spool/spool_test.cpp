// The spool's promises: every appended record is read, in order per writer, exactly once per
// group across restarts when acknowledged; damage costs only the damaged record; consumed
// segments go away only when every group has passed them.
#include "queue/spool/spool.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <sys/resource.h>
#include <unistd.h>
#include "util/log.h"

#include <gtest/gtest.h>

#include "temp_dir.h"

#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <queue>
#include <set>
#include <thread>

#include "queue/spool/segment.h"

namespace oceanus::queue {
namespace {

namespace fs = std::filesystem;

class Recorder : public AppendHandler {
 public:
  void Appended(Status s) override {
    std::lock_guard lock(mu);
    results.push_back(s);
  }
  std::size_t count() {
    std::lock_guard lock(mu);
    return results.size();
  }
  std::mutex mu;
  std::vector<Status> results;
};

// Captures the default logger's lines while it lives.
class LogCapture {
 public:
  LogCapture()
      : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10000)),
        previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink_));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::size_t Count(const std::string& needle) const {
    std::size_t n = 0;
    for (const auto& line : sink_->last_formatted()) n += line.find(needle) != std::string::npos;
    return n;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {}

  std::unique_ptr<Spool> Open(std::vector<std::string> groups = {"load"},
                              std::size_t segment_bytes = 1 << 20,
                              queue::Durability durability = queue::Durability::kOs) {
    queue::QueueConfig cfg;
    cfg.segment_bytes = segment_bytes;
    cfg.durability = durability;
    auto s = Spool::Open(dir_.string(), {"site_a", "site_b"}, std::move(groups), cfg);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  static std::unique_ptr<QueueWriter> Writer(Spool& spool, unsigned id) {
    auto w = spool.MakeWriter(id, {});
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return std::move(w).value();
  }

  static void AppendAll(QueueWriter& w, SiteId site, const std::vector<std::string>& records) {
    auto rec = std::make_shared<Recorder>();
    for (const auto& r : records) w.Append(site, r, rec);
    ASSERT_EQ(rec->results.size(), records.size());
    for (const auto& s : rec->results) ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Reads until `n` entries or nothing more arrives.
  static std::vector<Entry> ReadN(QueueReader& r, std::size_t n, std::size_t per_read = 1000) {
    std::vector<Entry> out;
    while (out.size() < n) {
      auto got = r.Read(std::min(per_read, n - out.size()), 1 << 30, std::chrono::milliseconds(0));
      EXPECT_TRUE(got.ok());
      if (!got.ok() || got->empty()) break;
      for (auto& e : *got) out.push_back(std::move(e));
    }
    return out;
  }

  static std::vector<std::string> Records(const std::string& prefix, int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.push_back("{\"uid\":\"" + prefix + std::to_string(i) + "\"}");
    return out;
  }

  std::vector<fs::path> Segments(const std::string& site) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir_ / site))
      if (e.path().extension() == ".seg") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }

  oceanus::testing::ScopedTempDir temp_{"oceanus-spool"};
  const fs::path& dir_ = temp_.path();
};

TEST_F(SpoolTest, RecordsComeBackInOrderPerSite) {
  auto spool = Open();
  auto w = Writer(*spool, 0);
  AppendAll(*w, 0, Records("a", 100));
  AppendAll(*w, 1, Records("b", 3));
  auto ra = spool->OpenReader(0, "load");
  auto rb = spool->OpenReader(1, "load");
  ASSERT_TRUE(ra.ok() && rb.ok());
  auto a = ReadN(**ra, 1000);
  ASSERT_EQ(a.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a[i].payload, "{\"uid\":\"a" + std::to_string(i) + "\"}");
  EXPECT_EQ(ReadN(**rb, 1000).size(), 3u);
  // Nothing more until something is appended.
  EXPECT_TRUE((*ra)->Read(10, 1 << 20, std::chrono::milliseconds(30))->empty());
  AppendAll(*w, 0, {"{\"late\":1}"});
  auto late = (*ra)->Read(10, 1 << 20, std::chrono::milliseconds(0));
  ASSERT_EQ(late->size(), 1u);
  EXPECT_EQ((*late)[0].payload, "{\"late\":1}");
}

TEST_F(SpoolTest, RecordsLargerThanTheReadBufferAndAcrossItsEdge) {
  auto spool = Open({"load"}, 8 << 20);
  auto w = Writer(*spool, 0);
  const std::string big = "{\"x\":\"" + std::string(300 * 1024, 'b') + "\"}";
  std::vector<std::string> records = Records("s", 5000);  // ~100 KB of small records
  records.push_back(big);
  for (auto& r : Records("t", 20000)) records.push_back(r);  // crosses several 256 KiB buffers
  AppendAll(*w, 0, records);
  auto r = std::move(spool->OpenReader(0, "load")).value();
  auto got = ReadN(*r, records.size() + 1, 777);
  ASSERT_EQ(got.size(), records.size());
  for (std::size_t i = 0; i < records.size(); ++i) ASSERT_EQ(got[i].payload, records[i]) << i;
}

TEST_F(SpoolTest, ReadRespectsEntryAndByteLimits) {
  auto spool = Open();
  auto w = Writer(*spool, 0);
  AppendAll(*w, 0, Records("x", 50));
  auto r = std::move(spool->OpenReader(0, "load")).value();
  EXPECT_EQ(r->Read(7, 1 << 20, std::chrono::milliseconds(0))->size(), 7u);
  // Each record is 12 bytes; a 30-byte budget stops after the record that crosses it.
  EXPECT_EQ(r->Read(100, 30, std::chrono::milliseconds(0))->size(), 3u);
}

TEST_F(SpoolTest, AcknowledgedPositionSurvivesRestartExactly) {
  {
    auto spool = Open();
    auto w = Writer(*spool, 0);
    AppendAll(*w, 0, Records("r", 30));
    auto r = std::move(spool->OpenReader(0, "load")).value();
    auto got = ReadN(*r, 30, 10);
    ASSERT_EQ(got.size(), 30u);
    EXPECT_EQ(got[0].appended_ms, 0) << "the active segment's records may be appended now";
    ASSERT_TRUE(r->Ack(got[16].id).ok());  // in the middle of the second read
  }
  const auto reopened_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  auto spool = Open();
  auto r = std::move(spool->OpenReader(0, "load")).value();
  auto rest = ReadN(*r, 100);
  ASSERT_EQ(rest.size(), 13u);
  // The segment of the earlier run is sealed: its records were appended no later than its
  // last change, before the reopen.
  EXPECT_GT(rest.front().appended_ms, reopened_ms - 60'000);
  EXPECT_LE(rest.front().appended_ms, reopened_ms);
  EXPECT_EQ(rest.front().payload, "{\"uid\":\"r17\"}");
  EXPECT_EQ(rest.back().payload, "{\"uid\":\"r29\"}");
  EXPECT_FALSE(r->Ack("garbage").ok());
}

TEST_F(SpoolTest, AfterEverySegmentWasConsumedAndDeletedNewRecordsAreStillRead) {
  {
    auto spool = Open();
    {
      auto w = Writer(*spool, 0);
      AppendAll(*w, 0, Records("old", 3));
    }  // sealed
    auto r = std::move(spool->OpenReader(0, "load")).value();
    auto got = ReadN(*r, 10);
    ASSERT_EQ(got.size(), 3u);
    ASSERT_TRUE(r->Ack(got.back().id).ok());
    ASSERT_TRUE(Segments("site_a").empty());
  }
  auto spool = Open();
  auto w = Writer(*spool, 0);
  AppendAll(*w, 0, Records("new", 2));
  auto r = std::move(spool->OpenReader(0, "load")).value();
  auto got = ReadN(*r, 10);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].payload, "{\"uid\":\"new0\"}");
}

TEST_F(SpoolTest, ASegmentConsumedWhileActiveIsDeletedWhenSealed) {
  auto spool = Open();
  auto w = Writer(*spool, 0);
  AppendAll(*w, 0, Records("a", 5));
  auto r = std::move(spool->OpenReader(0, "load")).value();
  auto got = ReadN(*r, 10);
  ASSERT_TRUE(r->Ack(got.back().id).ok());
  ASSERT_EQ(Segments("site_a").size(), 1u);  // still the writer's active segment
  w.reset();                                 // sealed: nothing in it is unread
  // Sealing runs on an I/O thread, which lists and unlinks nothing; the reader's next poll
  // (no new acknowledgement) deletes it.
  EXPECT_EQ(Segments("site_a").size(), 1u);
  EXPECT_TRUE(r->Read(10, 1 << 20, std::chrono::milliseconds(0))->empty());
  EXPECT_TRUE(Segments("site_a").empty());
}

// Descriptors this process holds on files that were unlinked: their blocks are still allocated.
std::size_t DeletedFilesHeldOpen(const std::string& under) {
  std::size_t n = 0;
  for (const auto& fd : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const std::string target = fs::read_symlink(fd.path(), ec).string();
    if (!ec && target.rfind(under, 0) == 0 && target.find(" (deleted)") != std::string::npos) ++n;
  }
  return n;
}

// On a full disk the space of a consumed segment must come back as soon as it is deleted: a
// reader that kept the last segment it read open would hold it, and the writers waiting for
// that space (tests/fault/test_disk_full.py) would recover only by chance, minutes later.
TEST_F(SpoolTest, AReaderLetsGoOfADeletedSegment) {
  auto spool = Open();
  auto w = Writer(*spool, 0);
  AppendAll(*w, 0, Records("a", 5));
  w.reset();  // sealed
  auto r = std::move(spool->OpenReader(0, "load")).value();
  auto got = ReadN(*r, 10);
  ASSERT_EQ(got.size(), 5u);
  ASSERT_TRUE(r->Ack(got.back().id).ok());
  ASSERT_TRUE(Segments("site_a").empty());
  EXPECT_TRUE(r->Read(10, 1 << 20, std::chrono::milliseconds(0))->empty());
  EXPECT_EQ(DeletedFilesHeldOpen(dir_.string()), 0u);
}

TEST_F(SpoolTest, RotationSpreadsRecordsOverSegmentsAndConsumedOnesAreDeleted) {
  auto spool = Open({"load"}, 4096);
  auto w = Writer(*spool, 0);
  AppendAll(*w, 0, Records("rot", 1000));
  EXPECT_GT(Segments("site_a").size(), 3u);
  auto r = std::move(spool->OpenReader(0, "load")).value();
  auto got = ReadN(*r, 2000);
  ASSERT_EQ(got.size(), 1000u);
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(got[i].payload, "{\"uid\":\"rot" + std::to_string(i) + "\"}");
  ASSERT_TRUE(r->Ack(got.back().id).ok());
  // Only the active segment is left.
  EXPECT_EQ(Segments("site_a").size(), 1u);
}

// Records as QueueWriter::AppendAll takes them: one arena, where each one ends.
struct Batch {
  explicit Batch(const std::vector<std::string>& records) {
    for (const auto& r : records) {
      arena += r;
      ends.push_back(arena.size());
    }
  }
  std::string arena;
  std::vector<std::size_t> ends;
};

TEST_F(SpoolTest, ABatchIsAnsweredOnceAndReadBackInOrder) {
  auto spool = Open();
  auto w = Writer(*spool, 0);
  const auto records = Records("batch", 100);
  const Batch batch(records);
  auto rec = std::make_shared<Recorder>();
  w->AppendAll(0, batch.arena, batch.ends, rec);
  ASSERT_EQ(rec->results.size(), 1u);
  ASSERT_TRUE(rec->results[0].ok()) << rec->results[0].ToString();
  w->AppendAll(0, "", {}, rec);  // an empty batch is stored at once
  ASSERT_EQ(rec->results.size(), 2u);
  EXPECT_TRUE(rec->results[1].ok());
  auto r = std::move(spool->OpenReader(0, "load")).value();
  auto got = ReadN(*r, 1000);
  ASSERT_EQ(got.size(), 100u);
  for (std::size_t i = 0; i < records.size(); ++i) ASSERT_EQ(got[i].payload, records[i]) << i;
}

// One write() for the batch: when the file may not grow by the whole batch, nothing of it is
// stored (record by record, the first ones would have been).
TEST_F(SpoolTest, ABatchGoesToTheDiskInOneWrite) {
  auto spool = Open();
  auto w = Writer(*spool, 0);
  AppendAll(*w, 0, Records("ok", 3));
  const Batch batch(Records("b", 10));  // records of 12 bytes, 20 with their header
  ::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  ::getrlimit(RLIMIT_FSIZE, &old);
  rlimit small = old;
  small.rlim_cur = 8 + 3 * (8 + 13) + 5 * (8 + 12);  // magic, 3 records, half the batch
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto rec = std::make_shared<Recorder>();
  w->AppendAll(0, batch.arena, batch.ends, rec);
  ::setrlimit(RLIMIT_FSIZE, &old);
  ASSERT_EQ(rec->results.size(), 1u);
  EXPECT_EQ(rec->results[0].code(), Status::Code::kIoError);
  auto r = std::move(spool->OpenReader(0, "load")).value();
  auto got = ReadN(*r, 100);
  ASSERT_EQ(got.size(), 3u) << "part of a refused batch was stored";
  EXPECT_EQ(spool->corrupt_records(), 0u);
}

TEST_F(SpoolTest, ABatchLargerThanASegmentSpreadsOverSegmentsInOrder) {
  auto spool = Open({"load"}, 4096);
  auto w = Writer(*spool, 0);
  const auto records = Records("seg", 1000);
  const Batch batch(records);
  auto rec = std::make_shared<Recorder>();
  w->AppendAll(0, batch.arena, batch.ends, rec);
  ASSERT_EQ(rec->results.size(), 1u);
  ASSERT_TRUE(rec->results[0].ok()) << rec->results[0].ToString();
  const auto segments = Segments("site_a");
  EXPECT_GT(segments.size(), 3u);
  for (const auto& path : segments) EXPECT_LE(fs::file_size(path), 4096u) << path;
  auto r = std::move(spool->OpenReader(0, "load")).value();
  auto got = ReadN(*r, 2000);
  ASSERT_EQ(got.size(), records.size());
  for (std::size_t i = 0; i < records.size(); ++i) ASSERT_EQ(got[i].payload, records[i]) << i;
}

TEST_F(SpoolTest, ABatchWithARecordOverTheMaximumIsRefusedWhole) {
  auto spool = Open();
  auto w = Writer(*spool, 0);
  auto records = Records("ok", 3);
  records.push_back(std::string(spool::kMaxRecordBytes + 1, 'x'));
  const Batch batch(records);
  auto rec = std::make_shared<Recorder>();
  w->AppendAll(0, batch.arena, batch.ends, rec);
  ASSERT_EQ(rec->results.size(), 1u);
  EXPECT_EQ(rec->results[0].code(), Status::Code::kInvalidArgument);
  auto r = std::move(spool->OpenReader(0, "load")).value();
  EXPECT_TRUE(ReadN(*r, 100).empty());
}

// The interface's own AppendAll, for writers without a faster one: every record appended,
// one answer, carrying the first failure.
TEST(QueueWriterTest, TheDefaultAppendAllAppendsEachAndAnswersOnceWithTheFirstFailure) {
  class OneByOne final : public QueueWriter {
   public:
    void Append(SiteId, std::string_view record, std::shared_ptr<AppendHandler> done) override {
      appended.emplace_back(record);
      done->Appended(record.starts_with("bad") ? Status::IoError(std::string(record))
                                               : Status::Ok());
    }
    std::vector<std::string> appended;
  };
  OneByOne writer;
  const Batch batch({"a", "bad1", "b", "bad2"});
  auto rec = std::make_shared<Recorder>();
  writer.AppendAll(0, batch.arena, batch.ends, rec);
  EXPECT_EQ(writer.appended, (std::vector<std::string>{"a", "bad1", "b", "bad2"}));
  ASSERT_EQ(rec->results.size(), 1u);
  EXPECT_EQ(rec->results[0].message(), "bad1");
  writer.AppendAll(0, "", {}, rec);
  ASSERT_EQ(rec->results.size(), 2u);
  EXPECT_TRUE(rec->results[1].ok());
}

// A replay's writer on a spool with durability fsync: it needs no executors, answers each
// append once written (its owner syncs), and a reader of the running spool sees its series.
TEST_F(SpoolTest, AWriterWhoseOwnerSyncsAnswersOnWriteUnderFsync) {
  auto spool = Open({"load"}, 1 << 20, queue::Durability::kFsync);
  EXPECT_FALSE(spool->MakeWriter(7, {}).ok());  // fsync needs its executors otherwise
  auto reader = std::move(spool->OpenReader(0, "load")).value();
  EXPECT_TRUE(ReadN(*reader, 1).empty());
  Spool::Executors executors;
  executors.owner_syncs = true;
  auto writer = spool->MakeWriter(999, std::move(executors));
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  AppendAll(**writer, 0, Records("replayed-", 3));  // answered inline, each OK
  std::vector<std::string> read;
  for (const auto& e : ReadN(*reader, 3)) read.push_back(e.payload);
  EXPECT_EQ(read, Records("replayed-", 3));
}

TEST_F(SpoolTest, TwoWritersOneReaderEveryRecordOnce) {
  auto spool = Open({"load"}, 8192);
  auto w0 = Writer(*spool, 0);
  auto w1 = Writer(*spool, 1);
  std::thread t0([&] { AppendAll(*w0, 0, Records("w0-", 2000)); });
  std::thread t1([&] { AppendAll(*w1, 0, Records("w1-", 2000)); });
  auto r = std::move(spool->OpenReader(0, "load")).value();
  std::set<std::string> seen;
  std::size_t total = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (total < 4000 && std::chrono::steady_clock::now() < deadline) {
    auto got = r->Read(500, 1 << 20, std::chrono::milliseconds(20));
    ASSERT_TRUE(got.ok());
    for (const auto& e : *got) seen.insert(e.payload);
    total += got->size();
    if (!got->empty()) {
      ASSERT_TRUE(r->Ack(got->back().id).ok());
    }
  }
  t0.join();
  t1.join();
  EXPECT_EQ(total, 4000u);
  EXPECT_EQ(seen.size(), 4000u);
}

TEST_F(SpoolTest, TornTailOfASealedSegmentIsDroppedAndTheRestRead) {
  {
    auto spool = Open();
    auto w = Writer(*spool, 0);
    AppendAll(*w, 0, Records("t", 10));
  }  // writer gone: its segment is sealed
  auto segs = Segments("site_a");
  ASSERT_EQ(segs.size(), 1u);
  fs::resize_file(segs[0], fs::file_size(segs[0]) - 5);  // cut the last record short
  auto spool = Open();
  auto r = std::move(spool->OpenReader(0, "load")).value();
  auto got = ReadN(*r, 100);
  ASSERT_EQ(got.size(), 9u);
  EXPECT_EQ(got.back().payload, "{\"uid\":\"t8\"}");
  // New appends go to a new segment and are read after.
  auto w = Writer(*spool, 0);
  AppendAll(*w, 0, {"{\"new\":1}"});
  auto more = ReadN(*r, 10);
  ASSERT_EQ(more.size(), 1u);
  ASSERT_TRUE(r->Ack(more.back().id).ok());
  EXPECT_EQ(Segments("site_a").size(), 1u) << "the torn segment was consumed and deleted";
}

TEST_F(SpoolTest, FlippedByteLosesOnlyThatRecord) {
  {
    auto spool = Open();
    auto w = Writer(*spool, 0);
    AppendAll(*w, 0, Records("f", 5));
  }
  auto seg = Segments("site_a")[0];
  {
    // Record 2 (0-based) starts at 8 + 2 * (8 + 12); flip a payload byte.
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8 + 2 * 20 + 8 + 3);
    f.put('Z');
  }
  auto spool = Open();
  auto r = std::move(spool->OpenReader(0, "load")).value();
  auto got = ReadN(*r, 100);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[1].payload, "{\"uid\":\"f1\"}");
  EXPECT_EQ(got[2].payload, "{\"uid\":\"f3\"}");
  EXPECT_EQ(spool->corrupt_records(), 1u);
}

TEST_F(SpoolTest, DamagedLengthSetsAsideOnlyThatRecordAndTheRestIsRead) {
  {
    auto spool = Open();
    auto w = Writer(*spool, 0);
    AppendAll(*w, 0, Records("q", 5));
  }
  auto seg = Segments("site_a")[0];
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8 + 3 * 20 + 3);  // high byte of record 3's length
    f.put('\x7f');
  }
  const std::string damaged = ReadFile(seg).substr(8 + 3 * 20, 20);
  auto spool = Open();
  auto r = std::move(spool->OpenReader(0, "load")).value();
  auto got = ReadN(*r, 100);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[3].payload, "{\"uid\":\"q4\"}");
  EXPECT_EQ(ReadFile(seg.string() + ".corrupt"), damaged);
  ASSERT_TRUE(r->Ack(got.back().id).ok());
  EXPECT_TRUE(Segments("site_a").empty()) << "read or set aside to its end: deleted";
}

// One flipped bit anywhere in a length field costs that record only: reading resynchronises
// on the next record whose checksum holds; neither the rest of the segment is set aside nor,
// for a length that runs past the end, dropped as a torn tail.
TEST_F(SpoolTest, OneFlippedLengthBitCostsOnlyThatRecord) {
  const auto records = Records("r", 300);
  for (int bit = 0; bit < 32; ++bit) {
    SCOPED_TRACE("bit " + std::to_string(bit));
    fs::remove_all(dir_ / "site_a");
    {
      auto spool = Open();
      AppendAll(*Writer(*spool, 0), 0, records);
    }
    const auto seg = Segments("site_a").at(0);
    const std::size_t at = 8 + 3 * 20;  // record 3: 8 header + 12 payload bytes, as 0-2
    std::string bytes = ReadFile(seg);
    bytes[at + bit / 8] = static_cast<char>(bytes[at + bit / 8] ^ (1 << (bit % 8)));
    std::ofstream(seg, std::ios::binary | std::ios::trunc) << bytes;

    auto spool = Open();
    auto r = std::move(spool->OpenReader(0, "load")).value();
    auto got = ReadN(*r, 1000);
    ASSERT_EQ(got.size(), 299u);
    for (std::size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i].payload, records[i < 3 ? i : i + 1]) << i;
    EXPECT_EQ(spool->corrupt_records(), 1u);
    EXPECT_EQ(ReadFile(seg.string() + ".corrupt"), bytes.substr(at, 20)) << "exactly one region";
  }
}

// The scan for the next valid record runs through the 256 KiB read buffer and refills it:
// here the damaged record is 100 KB long and straddles the buffer's edge.
TEST_F(SpoolTest, ResynchronisationScansAcrossTheReadBuffer) {
  std::vector<std::string> records;
  for (int i = 0; i < 8; ++i)
    records.push_back("{\"i\":" + std::to_string(i) + ",\"x\":\"" + std::string(100000, 'x') +
                      "\"}");
  {
    auto spool = Open({"load"}, 8 << 20);
    AppendAll(*Writer(*spool, 0), 0, records);
  }
  const auto seg = Segments("site_a").at(0);
  std::size_t at = 8;
  for (int i = 0; i < 2; ++i) at += 8 + records[i].size();  // record 2: 200 KB .. 300 KB
  std::string bytes = ReadFile(seg);
  bytes[at + 1] = static_cast<char>(bytes[at + 1] ^ 0x10);  // a plausible, wrong length
  std::ofstream(seg, std::ios::binary | std::ios::trunc) << bytes;
  auto spool = Open({"load"}, 8 << 20);
  auto r = std::move(spool->OpenReader(0, "load")).value();
  auto got = ReadN(*r, 100, 3);
  ASSERT_EQ(got.size(), 7u);
  EXPECT_EQ(got[2].payload, records[3]);
  EXPECT_EQ(ReadFile(seg.string() + ".corrupt"), bytes.substr(at, 8 + records[2].size()));
}

// Damage that cannot be set aside (here a directory in the way of <segment>.corrupt, as a
// full disk would make the copy fail) holds the reader at it: nothing after it counts as
// read, the segment outlives acknowledgements, the failure is logged once, not on every
// poll, and nothing says "moved". Once the copy can be made, it is, and reading goes on. A
// reader that ignored the failed copy and moved on would let the segment be deleted.
TEST_F(SpoolTest, DamageThatCannotBeSetAsideHoldsTheReaderAndKeepsTheSegment) {
  {
    auto spool = Open();
    AppendAll(*Writer(*spool, 0), 0, Records("h", 6));
  }
  const auto seg = Segments("site_a")[0];
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8 + 3 * 20 + 3);  // record 3's length: impossible
    f.put('\x7f');
  }
  const fs::path corrupt = seg.string() + ".corrupt";
  fs::create_directories(corrupt);  // open(O_WRONLY) fails with EISDIR, even for root
  LogCapture log;
  auto spool = Open();
  auto r = std::move(spool->OpenReader(0, "load")).value();
  auto got = ReadN(*r, 100);
  ASSERT_EQ(got.size(), 3u);
  ASSERT_TRUE(r->Ack(got.back().id).ok());
  for (int i = 0; i < 20; ++i)
    EXPECT_TRUE(r->Read(10, 1 << 20, std::chrono::milliseconds(10))->empty());
  EXPECT_TRUE(fs::exists(seg)) << "nothing after the damage was read or set aside";
  EXPECT_EQ(log.Count("cannot set its 20 bytes aside"), 1u);
  EXPECT_EQ(log.Count("moved to"), 0u);

  fs::remove(corrupt);
  std::vector<Entry> rest;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (rest.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    auto got_now = r->Read(10, 1 << 20, std::chrono::milliseconds(20));
    ASSERT_TRUE(got_now.ok());
    for (auto& e : *got_now) rest.push_back(std::move(e));
  }
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].payload, "{\"uid\":\"h4\"}");
  EXPECT_EQ(fs::file_size(corrupt), 20u);
  EXPECT_EQ(log.Count("20 bytes moved to"), 1u);
  ASSERT_TRUE(r->Ack(rest.back().id).ok());
  EXPECT_FALSE(fs::exists(seg));
}

TEST_F(SpoolTest, SegmentsAreDeletedOnlyWhenEveryGroupPassedThem) {
  auto spool = Open({"load", "react"}, 4096);
  {
    auto w = Writer(*spool, 0);
    AppendAll(*w, 0, Records("g", 500));
  }
  const auto before = Segments("site_a").size();
  auto load = std::move(spool->OpenReader(0, "load")).value();
  auto got = ReadN(*load, 1000);
  ASSERT_EQ(got.size(), 500u);
  ASSERT_TRUE(load->Ack(got.back().id).ok());
  EXPECT_EQ(Segments("site_a").size(), before) << "react has not read them yet";
  auto react = std::move(spool->OpenReader(0, "react")).value();
  auto got2 = ReadN(*react, 1000);
  ASSERT_EQ(got2.size(), 500u);
  ASSERT_TRUE(react->Ack(got2.back().id).ok());
  EXPECT_EQ(Segments("site_a").size(), 0u);
}

TEST_F(SpoolTest, FsyncDurabilityCompletesThroughTheExecutors) {
  auto spool = Open({"load"}, 1 << 20, queue::Durability::kFsync);
  // A background "blocking" thread and a "post back" queue drained by this thread.
  std::mutex mu;
  std::queue<std::function<void()>> posted;
  std::vector<std::thread> blocking;
  Spool::Executors ex;
  ex.run_blocking = [&](std::function<void()> job) { blocking.emplace_back(std::move(job)); };
  ex.post_back = [&](std::function<void()> job) {
    std::lock_guard lock(mu);
    posted.push(std::move(job));
  };
  auto w = std::move(spool->MakeWriter(0, ex)).value();
  auto rec = std::make_shared<Recorder>();
  for (int i = 0; i < 100; ++i) w->Append(0, "{\"s\":" + std::to_string(i) + "}", rec);
  EXPECT_LT(rec->count(), 100u) << "fsync answers wait for the sync";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (rec->count() < 100 && std::chrono::steady_clock::now() < deadline) {
    std::function<void()> job;
    {
      std::lock_guard lock(mu);
      if (!posted.empty()) {
        job = std::move(posted.front());
        posted.pop();
      }
    }
    if (job) {
      job();
    } else {
      std::this_thread::yield();
    }
  }
  for (auto& t : blocking) t.join();
  ASSERT_EQ(rec->count(), 100u);
  for (const auto& s : rec->results) EXPECT_TRUE(s.ok());
  EXPECT_LT(blocking.size(), 100u) << "syncs are grouped";
  EXPECT_EQ(spool->MakeWriter(1, {}).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(SpoolTest, FailedWriteIsReportedAndLeavesNoHalfRecord) {
  auto spool = Open();
  auto w = Writer(*spool, 0);
  AppendAll(*w, 0, Records("ok", 3));
  // Limit file size so that the next write fails (EFBIG); SIGXFSZ ignored.
  ::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  ::getrlimit(RLIMIT_FSIZE, &old);
  rlimit small = old;
  small.rlim_cur = 8 + 3 * 13 + 10;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto rec = std::make_shared<Recorder>();
  w->Append(0, "{\"uid\":\"too-much\"}", rec);
  ::setrlimit(RLIMIT_FSIZE, &old);
  ASSERT_EQ(rec->results.size(), 1u);
  EXPECT_EQ(rec->results[0].code(), Status::Code::kIoError);
  // Refused for a short while after the failure, then written to a new segment.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  auto after = std::make_shared<Recorder>();
  do {
    after->results.clear();
    w->Append(0, "{\"uid\":\"after\"}", after);
    ASSERT_EQ(after->results.size(), 1u);
  } while (!after->results[0].ok() && std::chrono::steady_clock::now() < deadline);
  ASSERT_TRUE(after->results[0].ok()) << after->results[0].ToString();
  auto r = std::move(spool->OpenReader(0, "load")).value();
  auto got = ReadN(*r, 100);
  ASSERT_EQ(got.size(), 4u) << "refused appends were not stored";
  EXPECT_EQ(got[3].payload, "{\"uid\":\"after\"}");
  EXPECT_EQ(spool->corrupt_records(), 0u);
}

// On a disk that refuses every new segment, a flood of appends is answered IoError without
// a flood of open() calls and error lines: after a failure the writer waits a growing
// interval before it tries the disk again. Each attempt takes a new seq, so the seq of the
// segment finally created counts the attempts. (Before, every append tried: seq 1001.)
TEST_F(SpoolTest, AFailingDiskIsRetriedAfterABackoffNotOnEveryAppend) {
  LogCapture log;
  auto spool = Open();
  auto w = Writer(*spool, 0);
  fs::remove_all(dir_ / "site_a");
  std::ofstream(dir_ / "site_a") << "not a directory";  // every create fails (ENOTDIR)
  const auto start = std::chrono::steady_clock::now();
  auto refused = std::make_shared<Recorder>();
  for (int i = 0; i < 1000; ++i) w->Append(0, "{\"uid\":\"no\"}", refused);
  ASSERT_EQ(refused->results.size(), 1000u);
  for (const auto& st : refused->results) ASSERT_EQ(st.code(), Status::Code::kIoError);

  fs::remove(dir_ / "site_a");
  fs::create_directories(dir_ / "site_a");
  auto ok = std::make_shared<Recorder>();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    ok->results.clear();
    w->Append(0, "{\"uid\":\"yes\"}", ok);
  } while (!ok->results[0].ok() && std::chrono::steady_clock::now() < deadline);
  ASSERT_TRUE(ok->results[0].ok());
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
  const auto segs = Segments("site_a");
  ASSERT_EQ(segs.size(), 1u);
  unsigned writer = 0;
  unsigned long long seq = 0;
  ASSERT_EQ(std::sscanf(segs[0].filename().c_str(), "w%u-%llu.seg", &writer, &seq), 2);
  // At most one attempt per 100 ms (the shortest interval), plus the first and the last.
  EXPECT_LE(seq, 2u + static_cast<unsigned long long>(elapsed_ms) / 100) << elapsed_ms << " ms";
  // One line when it starts, at most one per 10 s while it lasts, one when it ends.
  EXPECT_LE(log.Count("[error] spool:"), 1u + static_cast<std::size_t>(elapsed_ms) / 10000);
  EXPECT_EQ(log.Count("writing to"), 1u);
  auto r = std::move(spool->OpenReader(0, "load")).value();
  auto got = ReadN(*r, 10);
  ASSERT_EQ(got.size(), 1u) << "only the accepted append was stored";
  EXPECT_EQ(got[0].payload, "{\"uid\":\"yes\"}");
}

// A cursor that cannot be written (a full disk) must not stop consumption: the position is
// kept in memory, the consumed segments are still deleted (that is what frees the disk), and
// the cursor is written by the next acknowledgement that can. A restart before then resumes
// from what is on disk: committed records may come again, none is lost. (Before, Ack failed
// and the loader retried the same batch for ever: a spool that had filled its own disk never
// freed it; tests/fault/test_disk_full.py.)
TEST_F(SpoolTest, AnUnwritableCursorDoesNotStopConsumptionAndConsumedSegmentsStillGo) {
  const fs::path blocker = dir_ / "site_a" / "load.cursor.tmp";
  const fs::path cursor = dir_ / "site_a" / "load.cursor";
  auto record = [](int i) { return "{\"uid\":\"d" + std::to_string(100 + i) + "\"}"; };
  {
    auto spool = Open({"load"}, 8 + 10 * 22);  // 10 records of 8 + 14 bytes per segment
    {
      auto w = Writer(*spool, 0);
      std::vector<std::string> records;
      for (int i = 0; i < 60; ++i) records.push_back(record(i));
      AppendAll(*w, 0, records);
    }  // sealed
    ASSERT_EQ(Segments("site_a").size(), 6u);
    fs::create_directories(blocker);  // the cursor's temporary file cannot be created
    auto r = std::move(spool->OpenReader(0, "load")).value();
    auto got = ReadN(*r, 45, 15);
    ASSERT_EQ(got.size(), 45u);
    ASSERT_TRUE(r->Ack(got.back().id).ok());  // committed: the consumer goes on
    EXPECT_FALSE(fs::exists(cursor));
    EXPECT_EQ(Segments("site_a").size(), 2u);  // the four consumed segments are gone
    auto more = ReadN(*r, 100, 15);
    ASSERT_EQ(more.size(), 15u);
    EXPECT_EQ(more.front().payload, record(45));
  }  // gone before any cursor was written: a crash
  auto spool = Open({"load"}, 8 + 10 * 22);
  auto r = std::move(spool->OpenReader(0, "load")).value();
  auto again = ReadN(*r, 100);
  ASSERT_EQ(again.size(), 20u);  // the two segments left, from their start: 40-44 come again
  EXPECT_EQ(again.front().payload, record(40));
  EXPECT_EQ(again.back().payload, record(59));
  // Once the cursor can be written again, it is, and the rest is deleted.
  fs::remove(blocker);
  ASSERT_TRUE(r->Ack(again.back().id).ok());
  EXPECT_TRUE(fs::exists(cursor));
  EXPECT_TRUE(Segments("site_a").empty());
}

// Jobs queued by hand, so a test decides exactly when a "background" sync runs and when its
// continuation comes back to the writer's thread.
struct ManualExecutors {
  std::deque<std::function<void()>> blocking;
  std::deque<std::function<void()>> posted;
  Spool::Executors Make() {
    Spool::Executors ex;
    ex.run_blocking = [this](std::function<void()> job) { blocking.push_back(std::move(job)); };
    ex.post_back = [this](std::function<void()> job) { posted.push_back(std::move(job)); };
    return ex;
  }
  // Runs one queued job of `q`; false when there is none.
  static bool RunOne(std::deque<std::function<void()>>& q) {
    if (q.empty()) return false;
    auto job = std::move(q.front());
    q.pop_front();
    job();
    return true;
  }
  void Drain() {
    while (RunOne(blocking) || RunOne(posted)) {
    }
  }
};

TEST_F(SpoolTest, FsyncAnswersOnlyAfterTheSyncThatCoversTheRecord) {
  auto spool = Open({"load"}, 1 << 20, queue::Durability::kFsync);
  ManualExecutors ex;
  auto w = std::move(spool->MakeWriter(0, ex.Make())).value();
  auto first = std::make_shared<Recorder>();
  auto later = std::make_shared<Recorder>();
  w->Append(0, "{\"n\":1}", first);  // starts a sync covering record 1
  w->Append(0, "{\"n\":2}", later);  // written while it runs: waits for the next one
  w->Append(0, "{\"n\":3}", later);
  EXPECT_EQ(first->count(), 0u);
  ASSERT_EQ(ex.blocking.size(), 1u) << "one sync at a time";
  ASSERT_TRUE(ManualExecutors::RunOne(ex.blocking));
  EXPECT_EQ(first->count(), 0u) << "answered on the writer's thread, through post_back";
  ASSERT_TRUE(ManualExecutors::RunOne(ex.posted));
  EXPECT_EQ(first->count(), 1u);
  EXPECT_EQ(later->count(), 0u);
  ASSERT_EQ(ex.blocking.size(), 1u) << "the next sync starts when the first completes";
  ex.Drain();
  ASSERT_EQ(later->count(), 2u);
  for (const auto& st : later->results) EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST_F(SpoolTest, FsyncAnswersABatchOnceAfterTheSyncThatCoversIt) {
  auto spool = Open({"load"}, 1 << 20, queue::Durability::kFsync);
  ManualExecutors ex;
  auto w = std::move(spool->MakeWriter(0, ex.Make())).value();
  const Batch batch(Records("f", 50));
  auto rec = std::make_shared<Recorder>();
  w->AppendAll(0, batch.arena, batch.ends, rec);
  EXPECT_EQ(rec->count(), 0u) << "answered before the sync";
  ASSERT_EQ(ex.blocking.size(), 1u);
  ex.Drain();
  ASSERT_EQ(rec->count(), 1u);
  EXPECT_TRUE(rec->results[0].ok()) << rec->results[0].ToString();
}

TEST_F(SpoolTest, WriterGoneWithASyncInFlightStillAnswersEveryAppendOnce) {
  auto spool = Open({"load"}, 1 << 20, queue::Durability::kFsync);
  ManualExecutors ex;
  auto w = std::move(spool->MakeWriter(0, ex.Make())).value();
  auto rec = std::make_shared<Recorder>();
  for (int i = 0; i < 3; ++i) w->Append(0, "{\"n\":" + std::to_string(i) + "}", rec);
  w.reset();  // shutdown: one sync is running, two requests wait for the next
  ex.Drain();
  ASSERT_EQ(rec->count(), 3u);
  for (const auto& st : rec->results) EXPECT_TRUE(st.ok()) << st.ToString();
  auto r = std::move(spool->OpenReader(0, "load")).value();
  EXPECT_EQ(ReadN(*r, 10).size(), 3u);
}

// With durability fsync, a new segment's directory entry is synced by the background job
// that syncs its first records, not on the I/O thread, and no answer comes before it: a
// directory that cannot be synced fails the answers that rest on it, and the next sync tries
// it again. (Before, OpenSegment synced it inline, and the job never looked at it.)
TEST_F(SpoolTest, ANewSegmentsDirectoryEntryIsSyncedBeforeItsRecordsAreAnswered) {
  auto spool = Open({"load"}, 1 << 20, queue::Durability::kFsync);
  ManualExecutors ex;
  auto w = std::move(spool->MakeWriter(0, ex.Make())).value();
  auto first = std::make_shared<Recorder>();
  w->Append(0, "{\"n\":1}", first);  // creates the segment; its sync is queued, not run
  ASSERT_EQ(first->count(), 0u);
  fs::rename(dir_ / "site_a", dir_ / "site_a.away");  // the directory sync will fail
  ex.Drain();
  ASSERT_EQ(first->count(), 1u);
  EXPECT_EQ(first->results[0].code(), Status::Code::kIoError) << first->results[0].ToString();
  fs::rename(dir_ / "site_a.away", dir_ / "site_a");
  auto second = std::make_shared<Recorder>();
  w->Append(0, "{\"n\":2}", second);  // same segment: the retried directory sync now works
  ex.Drain();
  ASSERT_EQ(second->count(), 1u);
  EXPECT_TRUE(second->results[0].ok()) << second->results[0].ToString();
}

TEST_F(SpoolTest, AnIncompleteRecordInTheActiveSegmentIsWaitedForNotDropped) {
  auto spool = Open();
  auto w = Writer(*spool, 0);
  AppendAll(*w, 0, Records("a", 2));
  auto r = std::move(spool->OpenReader(0, "load")).value();
  ASSERT_EQ(ReadN(*r, 10).size(), 2u);
  // Another writer's half-finished write(), as a concurrent reader may see it.
  std::string framed;
  spool::EncodeRecord(framed, "{\"uid\":\"slow\"}");
  const auto segs = Segments("site_a");
  ASSERT_EQ(segs.size(), 1u);
  {
    std::ofstream f(segs[0], std::ios::binary | std::ios::app);
    f.write(framed.data(), 11);  // the header and three payload bytes
  }
  EXPECT_TRUE(ReadN(*r, 10).empty());
  EXPECT_TRUE(ReadN(*r, 10).empty()) << "still waiting, not skipped";
  {
    std::ofstream f(segs[0], std::ios::binary | std::ios::app);
    f.write(framed.data() + 11, static_cast<std::streamsize>(framed.size() - 11));
  }
  auto got = ReadN(*r, 10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "{\"uid\":\"slow\"}");
  EXPECT_EQ(spool->corrupt_records(), 0u);
  EXPECT_FALSE(fs::exists(segs[0].string() + ".corrupt"));
}

TEST_F(SpoolTest, AckInTheMiddleWithSeveralWritersResumesExactlyAfterIt) {
  std::vector<std::string> all;
  std::vector<std::string> delivered;
  std::size_t acked = 0;
  {
    auto spool = Open({"load"}, 512);  // several segments per writer
    for (unsigned id = 0; id < 3; ++id) {
      auto w = Writer(*spool, id);
      auto records = Records("w" + std::to_string(id) + "-", 40);
      AppendAll(*w, 0, records);
      all.insert(all.end(), records.begin(), records.end());
    }
    auto r = std::move(spool->OpenReader(0, "load")).value();
    std::vector<Entry> got = ReadN(*r, 70, 9);  // reads that mix the series
    ASSERT_EQ(got.size(), 70u);
    acked = 52;
    ASSERT_TRUE(r->Ack(got[acked - 1].id).ok());
    for (const auto& e : got) delivered.push_back(e.payload);
  }
  auto spool = Open({"load"}, 512);
  auto r = std::move(spool->OpenReader(0, "load")).value();
  auto rest = ReadN(*r, 1000, 13);
  std::multiset<std::string> seen(delivered.begin(), delivered.begin() + acked);
  for (const auto& e : rest) seen.insert(e.payload);
  EXPECT_EQ(rest.size(), all.size() - acked) << "nothing acknowledged comes again";
  EXPECT_EQ(seen, std::multiset<std::string>(all.begin(), all.end())) << "nothing lost";
}

TEST_F(SpoolTest, SegmentsOfAnEarlierRunWithMoreWritersAreReadAndDeleted) {
  {
    auto spool = Open();
    for (unsigned id = 0; id < 4; ++id) AppendAll(*Writer(*spool, id), 0, Records("old", 5));
  }
  auto spool = Open();
  auto w = Writer(*spool, 0);  // this run has a single I/O thread
  AppendAll(*w, 0, Records("new", 5));
  auto r = std::move(spool->OpenReader(0, "load")).value();
  auto got = ReadN(*r, 100);
  ASSERT_EQ(got.size(), 25u);
  ASSERT_TRUE(r->Ack(got.back().id).ok());
  // Only writer 0's active segment is left; the new one took a fresh seq.
  auto left = Segments("site_a");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].filename(), "w000-0000000002.seg");
}

TEST_F(SpoolTest, ReadsDoNotStarveAWriterBehindABusyOne) {
  auto spool = Open();
  auto w0 = Writer(*spool, 0);
  auto w1 = Writer(*spool, 1);
  AppendAll(*w0, 0, Records("busy", 100));
  AppendAll(*w1, 0, {"{\"uid\":\"quiet\"}"});
  auto r = std::move(spool->OpenReader(0, "load")).value();
  bool quiet_seen = false;
  for (int i = 0; i < 2 && !quiet_seen; ++i) {
    auto got = r->Read(10, 1 << 20, std::chrono::milliseconds(0));
    ASSERT_TRUE(got.ok());
    for (const auto& e : *got) quiet_seen |= e.payload == "{\"uid\":\"quiet\"}";
    AppendAll(*w0, 0, Records("more", 10));  // the busy writer keeps ahead of the reader
  }
  EXPECT_TRUE(quiet_seen);
}

TEST(SpoolFramingTest, RoundTripAndEveryDecodeOutcome) {
  std::string bytes;
  const std::vector<std::string> payloads = {"{}", std::string(1000, 'x'),
                                             "{\"a\":\"\xe3\x81\x82\"}"};
  for (const auto& p : payloads) spool::EncodeRecord(bytes, p);
  // Little-endian length first, then the checksum, then the payload as given.
  EXPECT_EQ(bytes.substr(0, 4), std::string("\x02\x00\x00\x00", 4));
  EXPECT_EQ(bytes.substr(8, 2), "{}");

  std::string_view rest = bytes;
  for (const auto& p : payloads) {
    std::string_view payload;
    std::size_t size = 0;
    ASSERT_EQ(spool::DecodeRecord(rest, payload, size), spool::DecodeResult::kRecord);
    EXPECT_EQ(payload, p);
    EXPECT_EQ(size, spool::kHeaderBytes + p.size());
    rest.remove_prefix(size);
  }
  std::string_view payload;
  std::size_t size = 0;
  EXPECT_EQ(spool::DecodeRecord(rest, payload, size), spool::DecodeResult::kEnd);

  const std::string_view first(bytes.data(), spool::kHeaderBytes + 2);
  EXPECT_EQ(spool::DecodeRecord(first.substr(0, 5), payload, size),
            spool::DecodeResult::kIncomplete);
  EXPECT_EQ(spool::DecodeRecord(first.substr(0, 9), payload, size),
            spool::DecodeResult::kIncomplete);

  std::string damaged(first);
  damaged[9] ^= 0x01;
  size = 0;
  EXPECT_EQ(spool::DecodeRecord(damaged, payload, size), spool::DecodeResult::kBadCrc);
  EXPECT_EQ(size, first.size()) << "a bad checksum still says where the record ends";

  std::string longer(bytes.data(), bytes.size());
  longer[0] = 0x03;  // a plausible length that is wrong: the checksum covers it
  EXPECT_EQ(spool::DecodeRecord(longer, payload, size), spool::DecodeResult::kBadCrc);

  std::string zero(first);
  zero.replace(0, 4, std::string(4, '\0'));
  EXPECT_EQ(spool::DecodeRecord(zero, payload, size), spool::DecodeResult::kBadLength);
  std::string huge(first);
  huge[3] = 0x7f;
  EXPECT_EQ(spool::DecodeRecord(huge, payload, size), spool::DecodeResult::kBadLength);
}

TEST_F(SpoolTest, OneProcessPerDirectory) {
  auto first = Open();
  queue::QueueConfig cfg;
  auto second = Spool::Open(dir_.string(), {"site_a"}, {"load"}, cfg);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("in use by another oceanus process"), std::string::npos);
}

TEST(SpoolCursorFileTest, RoundTripAndCorruption) {
  const auto path = fs::temp_directory_path() / ("oceanus-cursor-" + std::to_string(::getpid()));
  SpoolCursor c{{0, {3, 1000}}, {7, {1, 8}}};
  ASSERT_TRUE(WriteCursorFile(path.string(), c).ok());
  auto back = ReadCursorFile(path.string());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, c);
  std::ofstream(path) << "nonsense\n";
  EXPECT_EQ(ReadCursorFile(path.string()).status().code(), Status::Code::kCorruption);
  fs::remove(path);
  EXPECT_TRUE(ReadCursorFile(path.string())->empty());
}

// A gathering writer (the collector's I/O threads): the appends of one loop turn that fit in
// the site's open segment are written together by the job the turn's first append posts,
// and answered only after that write.
class GatheringSpoolTest : public SpoolTest {
 protected:
  std::unique_ptr<QueueWriter> GatheringWriter(Spool& spool) {
    Spool::Executors executors = ex_.Make();
    executors.gather = true;
    return std::move(spool.MakeWriter(0, std::move(executors))).value();
  }
  ManualExecutors ex_;
};

TEST_F(GatheringSpoolTest, ATurnsAppendsAreWrittenTogetherAndAnsweredAfterTheWrite) {
  auto spool = Open();
  auto w = GatheringWriter(*spool);
  auto first = std::make_shared<Recorder>();
  w->Append(0, "{\"n\":0}", first);  // no segment open yet: opened and written at once
  ASSERT_EQ(first->count(), 1u);
  auto turn = std::make_shared<Recorder>();
  for (int i = 1; i <= 3; ++i) w->Append(0, "{\"n\":" + std::to_string(i) + "}", turn);
  EXPECT_EQ(turn->count(), 0u) << "answered before its record was written";
  ASSERT_EQ(ex_.posted.size(), 1u) << "one job per turn, not one per append";
  auto r = std::move(spool->OpenReader(0, "load")).value();
  EXPECT_EQ(ReadN(*r, 10).size(), 1u) << "written before the end of the turn";
  ASSERT_TRUE(ManualExecutors::RunOne(ex_.posted));
  ASSERT_EQ(turn->count(), 3u);
  for (const auto& st : turn->results) EXPECT_TRUE(st.ok()) << st.ToString();
  auto got = ReadN(*r, 10);
  ASSERT_EQ(got.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(got[i].payload, "{\"n\":" + std::to_string(i + 1) + "}");
}

TEST_F(GatheringSpoolTest, AFailedTurnWriteFailsEveryAppendOfTheTurnAndStoresNoneOfThem) {
  auto spool = Open();
  auto w = GatheringWriter(*spool);
  AppendAll(*w, 0, Records("ok", 1));  // opens the segment: 8 + 8 + 13 bytes
  auto turn = std::make_shared<Recorder>();
  for (const auto& r : Records("b", 4)) w->Append(0, r, turn);  // 8 + 12 bytes each
  ::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  ::getrlimit(RLIMIT_FSIZE, &old);
  rlimit small = old;
  small.rlim_cur = 8 + 21 + 2 * 20;  // room for half the turn: written one by one, two would fit
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  ASSERT_TRUE(ManualExecutors::RunOne(ex_.posted));
  ::setrlimit(RLIMIT_FSIZE, &old);
  ASSERT_EQ(turn->count(), 4u);
  for (const auto& st : turn->results) EXPECT_EQ(st.code(), Status::Code::kIoError);
  auto r = std::move(spool->OpenReader(0, "load")).value();
  EXPECT_EQ(ReadN(*r, 10).size(), 1u) << "part of a failed turn was stored";
  EXPECT_EQ(spool->corrupt_records(), 0u);
}

TEST_F(GatheringSpoolTest, AnAppendThatStartsANewSegmentComesAfterTheTurnGatheredBeforeIt) {
  auto spool = Open({"load"}, 8 + 3 * 20);  // a segment holds three 12-byte records
  auto w = GatheringWriter(*spool);
  AppendAll(*w, 0, Records("a", 1));
  auto rec = std::make_shared<Recorder>();
  // b0 and b1 are gathered; b2 does not fit, so b0 and b1 are written, then b2 in a new
  // segment, at once; b3 is gathered for the new segment.
  for (const auto& r : Records("b", 4)) w->Append(0, r, rec);
  EXPECT_EQ(rec->count(), 3u);
  ex_.Drain();
  ASSERT_EQ(rec->count(), 4u);
  auto r = std::move(spool->OpenReader(0, "load")).value();
  auto got = ReadN(*r, 10);
  ASSERT_EQ(got.size(), 5u);
  const char* order[] = {"a0", "b0", "b1", "b2", "b3"};
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(got[i].payload, std::string("{\"uid\":\"") + order[i] + "\"}") << i;
}

TEST_F(GatheringSpoolTest, AWriterGoneMidTurnWritesAndAnswersWhatItGathered) {
  auto spool = Open();
  auto w = GatheringWriter(*spool);
  AppendAll(*w, 0, Records("a", 1));
  auto rec = std::make_shared<Recorder>();
  for (const auto& r : Records("b", 2)) w->Append(0, r, rec);
  w.reset();  // the posted job will not run (its loop is gone)
  ASSERT_EQ(rec->count(), 2u);
  for (const auto& st : rec->results) EXPECT_TRUE(st.ok()) << st.ToString();
  auto r = std::move(spool->OpenReader(0, "load")).value();
  EXPECT_EQ(ReadN(*r, 10).size(), 3u);
}

}  // namespace
}  // namespace oceanus::queue

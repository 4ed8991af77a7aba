// The loader over a real spool and a scripted sink: batches are acknowledged only after the
// sink stored them, retryable failures are retried without loss, unreadable records and
// rejected rows end in the dead-letter, and a restart resumes where the last batch ended.
#include "load/loader.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "temp_dir.h"

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "app/config.h"
#include "queue/spool/file_dead_letter.h"
#include "queue/spool/spool.h"

namespace oceanus::load {
namespace {

namespace fs = std::filesystem;

class ScriptedSink : public sink::Sink {
 public:
  // Counts calls that overlap another call: the loader promises one thread at a time.
  struct Exclusive {
    explicit Exclusive(ScriptedSink& s) : sink(s) {
      if (sink.active.fetch_add(1) != 0) sink.overlapping.fetch_add(1);
    }
    ~Exclusive() { sink.active.fetch_sub(1); }
    ScriptedSink& sink;
  };
  Status EnsureTable(const sink::TableSpec& t) override {
    Exclusive one(*this);
    std::lock_guard lock(mu);
    tables.insert(t.name);
    ++ensure_calls;
    return Status::Ok();
  }
  Result<std::vector<std::string>> ListTables() override {
    std::lock_guard lock(mu);
    return std::vector<std::string>(tables.begin(), tables.end());
  }
  Result<long long> EraseRows(const std::string&, const std::string&, const std::string&,
                              bool) override {
    return Status::Internal("not used by the loader");
  }
  sink::WriteResult Write(const sink::TableSpec& t, const std::vector<sink::Row>& rows) override {
    Exclusive one(*this);
    std::unique_lock lock(mu);
    ++writes_started;
    changed.notify_all();
    changed.wait(lock, [&] { return !hold_writes; });
    sink::WriteResult r;
    if (fail_next > 0) {
      --fail_next;
      r.status = Status::Unavailable("warehouse down (scripted)");
      return r;
    }
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& evt = rows[i][2];
      if (evt && *evt == "reject-me") {
        r.rejected.push_back({i, "scripted rejection"});
        continue;
      }
      stored.push_back(t.name + " " + rows[i][1].value_or("?") + " " + evt.value_or("∅"));
    }
    return r;
  }
  std::size_t count() {
    std::lock_guard lock(mu);
    return stored.size();
  }
  void Release() {
    std::lock_guard lock(mu);
    hold_writes = false;
    changed.notify_all();
  }
  std::mutex mu;
  std::condition_variable changed;
  bool hold_writes = false;  // writes wait until Release
  int writes_started = 0;
  int writes_held() {
    std::lock_guard lock(mu);
    return hold_writes ? writes_started : 0;
  }
  std::atomic<int> active{0};
  std::atomic<int> overlapping{0};
  std::set<std::string> tables;
  int ensure_calls = 0;
  std::vector<std::string> stored;
  int fail_next = 0;
};

// Counts the entries the loader has read.
class CountingReader : public queue::QueueReader {
 public:
  CountingReader(std::unique_ptr<queue::QueueReader> inner, std::atomic<std::size_t>& read)
      : inner_(std::move(inner)), read_(read) {}
  Result<std::vector<queue::Entry>> Read(std::size_t max_entries, std::size_t max_bytes,
                                         std::chrono::milliseconds wait) override {
    auto r = inner_->Read(max_entries, max_bytes, wait);
    if (r.ok()) read_.fetch_add(r->size());
    if (r.ok() && appended_ms_ != 0)
      for (auto& e : *r) e.appended_ms = appended_ms_;
    return r;
  }
  Status Ack(const std::string& last_id) override { return inner_->Ack(last_id); }
  // Entries returned from now on say they were appended at `ms` (since 1970).
  void SetAppendedMs(std::int64_t ms) { appended_ms_ = ms; }

 private:
  std::unique_ptr<queue::QueueReader> inner_;
  std::atomic<std::size_t>& read_;
  std::int64_t appended_ms_ = 0;
};

class Ignore : public queue::AppendHandler {
 public:
  void Appended(Status s) override { ASSERT_TRUE(s.ok()); }
};

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = app::ParseConfig(R"(
time_zone: Asia/Tokyo
load: {batch_rows: 10, max_wait: 20ms}
sites:
  page:
    endpoint: swallow
    schema:
      - {name: dt, from: now}
      - {name: eid, from: event_id}
      - {name: evt}
)",
                              "t.yaml");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    config_ = *c;
  }

  std::unique_ptr<queue::Spool> OpenSpool() {
    return std::move(
               queue::Spool::Open((dir_ / "spool").string(), {"page"}, {"load"}, config_.queue))
        .value();
  }

  void Append(queue::Spool& spool, const std::vector<std::string>& records) {
    auto w = std::move(spool.MakeWriter(0, {})).value();
    auto done = std::make_shared<Ignore>();
    for (const auto& r : records) w->Append(0, r, done);
  }

  // Runs a loader until `until` holds (polled), then stops it (its final drain included).
  // One writer per sink.
  void RunLoader(queue::Spool& spool, const std::vector<ScriptedSink*>& sinks,
                 const std::function<bool()>& until) {
    std::vector<std::unique_ptr<queue::QueueReader>> readers;
    auto reader = std::make_unique<CountingReader>(std::move(spool.OpenReader(0, "load")).value(),
                                                   entries_read_);
    reader->SetAppendedMs(appended_ms_);
    readers.push_back(std::move(reader));
    queue::FileDeadLetter dead((dir_ / "deadletter").string());
    std::vector<sink::Sink*> writers(sinks.begin(), sinks.end());
    Loader loader(config_, config_.load, config_.tables, config_.sink.table_prefix,
                  *TimeZone::Load("Asia/Tokyo"), writers, dead, std::move(readers));
    std::jthread t([&](std::stop_token stop) { loader.Run(stop); });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!until() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    for (ScriptedSink* sink : sinks) sink->Release();  // a held write would hold the drain
    t.request_stop();
    t.join();
    for (ScriptedSink* sink : sinks)
      EXPECT_EQ(sink->overlapping.load(), 0) << "a sink was used by two threads at once";
  }
  void RunLoader(queue::Spool& spool, ScriptedSink& sink, const std::function<bool()>& until) {
    RunLoader(spool, std::vector<ScriptedSink*>{&sink}, until);
  }

  static std::vector<std::string> Records(int n) {
    std::vector<std::string> records;
    for (int i = 0; i < n; ++i)
      records.push_back(Record("e" + std::to_string(i), "x", "2026-11-25 00:00:00"));
    return records;
  }

  static std::string Record(const std::string& eid, const std::string& evt, const std::string& dt) {
    return R"({"dt":")" + dt + R"(","eid":")" + eid + R"(","evt":")" + evt + R"("})";
  }

  std::vector<std::string> DeadLetterLines() {
    std::vector<std::string> out;
    std::ifstream in(dir_ / "deadletter" / "page.jsonl");
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  oceanus::testing::ScopedTempDir temp_{"oceanus-loader"};
  const fs::path& dir_ = temp_.path();
  app::Config config_;
  std::atomic<std::size_t> entries_read_{0};
  std::int64_t appended_ms_ = 0;  // what the reader says of its entries' arrival (0: nothing)
};

// max_wait counts from an event's arrival in the queue: events that waited out a backlog are
// written at once, not held another max_wait after they are read.
TEST_F(LoaderTest, EventsThatWaitedInTheQueueLongerThanMaxWaitAreWrittenAtOnce) {
  config_.load.max_wait = std::chrono::hours(1);
  appended_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                     (std::chrono::system_clock::now() - std::chrono::hours(2)).time_since_epoch())
                     .count();
  auto spool = OpenSpool();
  Append(*spool, Records(3));  // fewer than batch_rows (10)
  ScriptedSink sink;
  bool written_while_running = false;
  RunLoader(*spool, sink, [&] { return written_while_running = sink.count() == 3; });
  EXPECT_TRUE(written_while_running) << "the batch waited for max_wait (1 h) after its read";
  EXPECT_EQ(sink.stored.size(), 3u);
}

TEST_F(LoaderTest, LoadsIntoTheDailyTableOfEachEventsLocalDate) {
  auto spool = OpenSpool();
  // 14:59:59 UTC is 23:59:59 JST on the 25th; 15:00:00 UTC is the 26th.
  Append(*spool, {Record("a", "x", "2026-11-25 14:59:59.999999"),
                  Record("b", "y", "2026-11-25 15:00:00.000000")});
  ScriptedSink sink;
  RunLoader(*spool, sink, [&] { return sink.count() == 2; });
  std::sort(sink.stored.begin(), sink.stored.end());
  EXPECT_EQ(sink.stored, (std::vector<std::string>{"page_20261125 a x", "page_20261126 b y"}));
}

TEST_F(LoaderTest, UnderBotsSeparateABotsRowsGoToTheBotsTableOfTheirDay) {
  auto c = app::ParseConfig(R"(
time_zone: Asia/Tokyo
load: {batch_rows: 10, max_wait: 20ms}
sites:
  page:
    endpoint: swallow
    privacy: {bots: separate}
    schema:
      - {name: dt, from: now}
      - {name: eid, from: event_id}
      - {name: evt}
      - {name: ua, from: user_agent}
      - {name: dev, from: device, of: ua}
)",
                            "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  config_ = *c;
  auto spool = OpenSpool();
  Append(*spool, {R"({"dt":"2026-11-25 01:00:00.000000","eid":"h","evt":"x","dev":"pc"})",
                  R"({"dt":"2026-11-25 01:00:00.000000","eid":"b","evt":"x","dev":"bot"})",
                  R"({"dt":"2026-11-25 15:00:00.000000","eid":"b2","evt":"x","dev":"bot"})",
                  R"({"dt":"2026-11-25 01:00:00.000000","eid":"n","evt":"x"})"});
  ScriptedSink sink;
  RunLoader(*spool, sink, [&] { return sink.count() == 4; });
  std::sort(sink.stored.begin(), sink.stored.end());
  EXPECT_EQ(sink.stored,
            (std::vector<std::string>{"page_20261125 h x", "page_20261125 n x",
                                      "page_bots_20261125 b x", "page_bots_20261126 b2 x"}));
}

TEST_F(LoaderTest, RetryableFailuresAreRetriedAndNothingIsLostOrDoubled) {
  auto spool = OpenSpool();
  std::vector<std::string> records;
  for (int i = 0; i < 35; ++i)
    records.push_back(Record("e" + std::to_string(i), "x", "2026-11-25 00:00:00"));
  Append(*spool, records);
  ScriptedSink sink;
  sink.fail_next = 3;
  RunLoader(*spool, sink, [&] { return sink.count() >= 35; });
  EXPECT_EQ(sink.stored.size(), 35u);
  std::set<std::string> unique(sink.stored.begin(), sink.stored.end());
  EXPECT_EQ(unique.size(), 35u);
  EXPECT_TRUE(DeadLetterLines().empty());
  // A failed batch is stored before anything read after it.
  std::vector<std::string> in_order;
  for (int i = 0; i < 35; ++i) in_order.push_back("page_20261125 e" + std::to_string(i) + " x");
  EXPECT_EQ(sink.stored, in_order);
}

TEST_F(LoaderTest, TheNextBatchIsReadWhileOneIsBeingWritten) {
  auto spool = OpenSpool();
  std::vector<std::string> records;
  for (int i = 0; i < 30; ++i)
    records.push_back(Record("e" + std::to_string(i), "x", "2026-11-25 00:00:00"));
  Append(*spool, records);
  ScriptedSink sink;
  sink.hold_writes = true;
  bool read_ahead = false;
  RunLoader(*spool, sink, [&] {
    if (!read_ahead) {
      {
        std::lock_guard lock(sink.mu);
        if (sink.writes_started == 0) return false;
      }
      // The first batch (10 rows) is held in the sink; the loop reads the next one meanwhile.
      read_ahead = entries_read_.load() >= 20;
      if (!read_ahead) return false;
      EXPECT_EQ(sink.count(), 0u);
      sink.Release();
    }
    return sink.count() == 30;
  });
  EXPECT_TRUE(read_ahead) << entries_read_.load() << " entries read while the first batch was held";
  EXPECT_EQ(sink.stored.size(), 30u);
}

TEST_F(LoaderTest, UnreadableAndRejectedRecordsGoToTheDeadLetterWithReasons) {
  auto spool = OpenSpool();
  Append(
      *spool,
      {Record("a", "ok", "2026-11-25 00:00:00"), "{not json", R"({"eid":"n","evt":{"nested":1}})",
       Record("r", "reject-me", "2026-11-25 00:00:00"), Record("b", "ok", "2026-11-25 00:00:00")});
  ScriptedSink sink;
  RunLoader(*spool, sink, [&] { return sink.count() == 2 && DeadLetterLines().size() == 3; });
  EXPECT_EQ(sink.stored.size(), 2u);
  const auto lines = DeadLetterLines();
  ASSERT_EQ(lines.size(), 3u);
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  EXPECT_NE(all.find(R"("record":"{not json")"), std::string::npos) << all;
  EXPECT_NE(all.find("unreadable record"), std::string::npos) << all;
  EXPECT_NE(all.find("field evt is not a scalar"), std::string::npos) << all;
  EXPECT_NE(all.find("scripted rejection"), std::string::npos) << all;
}

TEST_F(LoaderTest, RestartResumesAfterTheLastAcknowledgedBatch) {
  {
    auto spool = OpenSpool();
    Append(*spool,
           {Record("a", "x", "2026-11-25 00:00:00"), Record("b", "x", "2026-11-25 00:00:00")});
    ScriptedSink sink;
    RunLoader(*spool, sink, [&] { return sink.count() == 2; });
  }
  auto spool = OpenSpool();
  Append(*spool, {Record("c", "x", "2026-11-25 00:00:00")});
  ScriptedSink sink;
  RunLoader(*spool, sink, [&] { return sink.count() >= 1; });
  EXPECT_EQ(sink.stored, std::vector<std::string>{"page_20261125 c x"});
}

TEST_F(LoaderTest, WritersWriteBatchesAtTheSameTimeEachThroughItsOwnSink) {
  auto spool = OpenSpool();
  Append(*spool, Records(30));
  ScriptedSink first, second;
  first.hold_writes = second.hold_writes = true;
  bool both_held = false;
  RunLoader(*spool, {&first, &second}, [&] {
    if (!both_held) {
      both_held = first.writes_held() == 1 && second.writes_held() == 1;
      if (!both_held) return false;
      first.Release();
      second.Release();
    }
    return first.count() + second.count() == 30;
  });
  EXPECT_TRUE(both_held) << "the second batch was not written while the first was held";
  std::set<std::string> stored(first.stored.begin(), first.stored.end());
  stored.insert(second.stored.begin(), second.stored.end());
  EXPECT_EQ(stored.size(), 30u);
  EXPECT_EQ(first.stored.size() + second.stored.size(), 30u);
}

TEST_F(LoaderTest, ABatchStoredAfterAnEarlierOneFailedIsNotAcknowledgedBeforeIt) {
  auto spool = OpenSpool();
  Append(*spool, Records(30));
  {
    ScriptedSink failing, working;
    failing.hold_writes = true;  // batch 1 (e0-e9) stays with the first writer...
    failing.fail_next = 1000;    // ...and fails when let go, every time
    RunLoader(*spool, {&failing, &working}, [&] {
      if (working.count() < 10) return false;  // batch 2 (e10-e19) is stored meanwhile
      failing.Release();
      std::lock_guard lock(failing.mu);
      return failing.writes_started >= 2;  // batch 1 failed and was tried again
    });
    ASSERT_EQ(working.count(), 10u);
    EXPECT_EQ(working.stored.front(), "page_20261125 e10 x");
  }
  // Nothing was acknowledged: acknowledging batch 2 would have acknowledged batch 1 with it.
  ScriptedSink sink;
  RunLoader(*spool, sink, [&] { return sink.count() >= 30; });
  ASSERT_EQ(sink.stored.size(), 30u);
  EXPECT_EQ(sink.stored.front(), "page_20261125 e0 x");
}

TEST_F(LoaderTest, TablesDueNowAreCreatedAheadOfTime) {
  auto spool = OpenSpool();
  ScriptedSink sink;
  std::vector<std::unique_ptr<queue::QueueReader>> readers;
  readers.push_back(std::move(spool->OpenReader(0, "load")).value());
  queue::FileDeadLetter dead((dir_ / "deadletter").string());
  Loader loader(config_, config_.load, config_.tables, config_.sink.table_prefix,
                *TimeZone::Load("Asia/Tokyo"), {&sink}, dead, std::move(readers));
  ASSERT_TRUE(loader.EnsureDueTables(*ParseUtcMicros("2026-11-25 03:00:00")).ok());  // noon JST
  EXPECT_EQ(sink.tables, (std::set<std::string>{"page_20261125", "page_20261126"}));
  // Every check asks the sink again, even for tables it has ensured: a table partitioned by
  // day (postgres) has tomorrow's partition due each day under the same name.
  ASSERT_TRUE(loader.EnsureDueTables(*ParseUtcMicros("2026-11-25 03:00:30")).ok());
  EXPECT_EQ(sink.ensure_calls, 4);
}

}  // namespace
}  // namespace oceanus::load

// The loader over a real spool and a scripted sink: batches are acknowledged only after the
// sink stored them, retryable failures are retried without loss, unreadable records and
// rejected rows end in the dead-letter, and a restart resumes where the last batch ended.
#include "load/loader.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "temp_dir.h"

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
  Status EnsureTable(const sink::TableSpec& t) override {
    std::lock_guard lock(mu);
    tables.insert(t.name);
    ++ensure_calls;
    return Status::Ok();
  }
  sink::WriteResult Write(const sink::TableSpec& t, const std::vector<sink::Row>& rows) override {
    std::lock_guard lock(mu);
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
  std::mutex mu;
  std::set<std::string> tables;
  int ensure_calls = 0;
  std::vector<std::string> stored;
  int fail_next = 0;
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
  void RunLoader(queue::Spool& spool, ScriptedSink& sink, const std::function<bool()>& until) {
    std::vector<std::unique_ptr<queue::QueueReader>> readers;
    readers.push_back(std::move(spool.OpenReader(0, "load")).value());
    queue::FileDeadLetter dead((dir_ / "deadletter").string());
    Loader loader(config_, config_.load, config_.tables, config_.sink.table_prefix,
                  *TimeZone::Load("Asia/Tokyo"), sink, dead, std::move(readers));
    std::jthread t([&](std::stop_token stop) { loader.Run(stop); });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!until() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    t.request_stop();
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
};

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

TEST_F(LoaderTest, TablesDueNowAreCreatedAheadOfTime) {
  auto spool = OpenSpool();
  ScriptedSink sink;
  std::vector<std::unique_ptr<queue::QueueReader>> readers;
  readers.push_back(std::move(spool->OpenReader(0, "load")).value());
  queue::FileDeadLetter dead((dir_ / "deadletter").string());
  Loader loader(config_, config_.load, config_.tables, config_.sink.table_prefix,
                *TimeZone::Load("Asia/Tokyo"), sink, dead, std::move(readers));
  ASSERT_TRUE(loader.EnsureDueTables(*ParseUtcMicros("2026-11-25 03:00:00")).ok());  // noon JST
  EXPECT_EQ(sink.tables, (std::set<std::string>{"page_20261125", "page_20261126"}));
  // Every check asks the sink again, even for tables it has ensured: a table partitioned by
  // day (postgres) has tomorrow's partition due each day under the same name.
  ASSERT_TRUE(loader.EnsureDueTables(*ParseUtcMicros("2026-11-25 03:00:30")).ok());
  EXPECT_EQ(sink.ensure_calls, 4);
}

}  // namespace
}  // namespace oceanus::load

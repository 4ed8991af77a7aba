// The bigquery sink on the Storage Write API against the local fake (real gRPC, real RS256
// tokens, the fake's offsets and failure injection; tests/fakes/fake_storage_write.py).
// Exactly once: a batch written again, by the same writer or another one sharing the ledger,
// cut the same way or not, after an append that was stored but never answered, is stored
// once; row errors refuse those rows only; a stream that is gone is replaced; an outage is
// retryable. At least once: the _default stream.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <map>

#include "fake_google.h"
#include "queue/spool/file_ledger.h"
#include "sink/bigquery/bigquery_sink.h"
#include "temp_dir.h"

namespace oceanus::sink {
namespace {

using config::ColumnMode;
using config::FieldType;
using oceanus::testing::FakeGoogle;
using oceanus::testing::ReadFile;

class StorageWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = std::make_unique<FakeGoogle>(temp_.path(), 3600);
    key_ = fake_->WriteKeyFile(temp_.path() / "sa.json", ReadFile(fake_->key()));
    cfg_.project = "oceanus-test";
    cfg_.dataset = "events";
    cfg_.endpoint = fake_->base();
    cfg_.storage_endpoint = fake_->storage_endpoint();
    cfg_.timeout = std::chrono::milliseconds(1500);
    auto ledger = queue::FileLedger::Open((temp_.path() / "ledger").string(), "bigquery");
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    ledger_ = std::move(ledger).value();
    spec_.name = "site_20261202";
    spec_.columns = {{"dt", FieldType::kTimestamp, ColumnMode::kRequired, ""},
                     {"eid", FieldType::kString, ColumnMode::kRequired, ""},
                     {"n", FieldType::kInteger, ColumnMode::kNullable, ""}};
    sink_ = Open();
    ASSERT_TRUE(sink_->EnsureTable(spec_).ok());
  }

  // Another writer (another loader, or another writer thread) sharing the ledger.
  std::unique_ptr<BigQuerySink> Open() {
    auto tokens = google::MakeTokenSource(key_, {});
    EXPECT_TRUE(tokens.ok());
    auto sink = BigQuerySink::Open(cfg_, std::move(tokens).value());
    EXPECT_TRUE(sink.ok()) << sink.status().ToString();
    if (cfg_.exactly_once) (*sink)->UseLedger(ledger_);
    return std::move(sink).value();
  }
  // eid → how many rows of the table have it.
  std::map<std::string, int> Stored() {
    rapidjson::Document doc;
    const std::string body = fake_->Tables();
    doc.Parse(body.c_str());
    std::map<std::string, int> out;
    if (!doc.HasMember(spec_.name.c_str())) return out;
    for (const auto& r : doc[spec_.name.c_str()]["rows"].GetArray()) ++out[r["eid"].GetString()];
    return out;
  }
  int Calls(const char* name) {
    rapidjson::Document doc;
    const std::string body = fake_->StorageWrite();
    doc.Parse(body.c_str());
    return doc.HasMember("calls") ? doc["calls"][name].GetInt() : -1;
  }
  static std::vector<Row> Batch(int from, int to) {
    std::vector<Row> rows;
    for (int i = from; i < to; ++i)
      rows.push_back({"2026-12-02 10:00:00.000001", "e" + std::to_string(i), std::to_string(i)});
    return rows;
  }
  // Every eid of [from, to) exactly once, and nothing else.
  void ExpectOnce(int from, int to) {
    std::map<std::string, int> want;
    for (int i = from; i < to; ++i) want["e" + std::to_string(i)] = 1;
    EXPECT_EQ(Stored(), want);
  }

  oceanus::testing::ScopedTempDir temp_{"oceanus-bqsw"};
  std::unique_ptr<FakeGoogle> fake_;
  std::string key_;
  BigQueryConfig cfg_;
  std::shared_ptr<queue::Ledger> ledger_;
  std::unique_ptr<BigQuerySink> sink_;
  TableSpec spec_;
};

TEST_F(StorageWriteTest, ABatchWrittenAgainByAnyWriterIsStoredOnce) {
  auto w = sink_->Write(spec_, Batch(0, 10));
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  EXPECT_TRUE(w.rejected.empty());
  ExpectOnce(0, 10);
  // Not acknowledged (the loader died): the same writer after a restart, and another loader
  // that claimed the entries, write it again.
  ASSERT_TRUE(sink_->Write(spec_, Batch(0, 10)).status.ok());
  auto other = Open();
  ASSERT_TRUE(other->Write(spec_, Batch(0, 10)).status.ok());
  ExpectOnce(0, 10);
  // Each time: ALREADY_EXISTS for the run, and for its last row alone (so all of it is there).
  EXPECT_EQ(Calls("already_exists"), 4);
  // Values arrive as written (the row format of the fake's table).
  rapidjson::Document doc;
  const std::string body = fake_->Tables();
  doc.Parse(body.c_str());
  const auto& row = doc[spec_.name.c_str()]["rows"][3];
  EXPECT_EQ(row["n"].GetInt(), 3);
  EXPECT_STREQ(row["dt"].GetString(), "2026-12-02 10:00:00.000001");
}

TEST_F(StorageWriteTest, AnAppendStoredButNeverAnsweredIsNotStoredTwice) {
  fake_->InjectStorage("\"store_then_hang\":1");
  auto w = sink_->Write(spec_, Batch(0, 10));
  ASSERT_FALSE(w.status.ok());  // the deadline: as far as the loader knows, nothing is stored
  EXPECT_TRUE(w.status.retryable());
  ExpectOnce(0, 10);  // but it was
  auto other = Open();
  ASSERT_TRUE(other->Write(spec_, Batch(0, 10)).status.ok());
  ExpectOnce(0, 10);
}

TEST_F(StorageWriteTest, ABatchCutDifferentlyWhenItComesAgainIsStoredOnce) {
  // Stored but unanswered, then delivered again in two other batches, the second half first.
  fake_->InjectStorage("\"store_then_hang\":1");
  ASSERT_FALSE(sink_->Write(spec_, Batch(0, 10)).status.ok());
  auto other = Open();
  ASSERT_TRUE(other->Write(spec_, Batch(5, 12)).status.ok());
  ASSERT_TRUE(other->Write(spec_, Batch(0, 5)).status.ok());
  ExpectOnce(0, 12);
}

TEST_F(StorageWriteTest, AFailedAppendCutDifferentlyLaterIsStoredOnceByFencing) {
  // Not stored at all; then its second half comes first, on another writer: its offsets are
  // past the stream's end (OUT_OF_RANGE), the stream is finalised and the rows move.
  fake_->InjectStorage("\"fail_next\":1,\"code\":\"UNAVAILABLE\"");
  auto w = sink_->Write(spec_, Batch(0, 10));
  ASSERT_FALSE(w.status.ok());
  EXPECT_NE(w.status.message().find("UNAVAILABLE"), std::string::npos) << w.status.message();
  EXPECT_TRUE(Stored().empty());
  auto other = Open();
  ASSERT_TRUE(other->Write(spec_, Batch(5, 10)).status.ok());
  EXPECT_EQ(Calls("out_of_range"), 1);
  ASSERT_TRUE(other->Write(spec_, Batch(0, 5)).status.ok());
  ASSERT_TRUE(sink_->Write(spec_, Batch(0, 10)).status.ok());  // and the first writer again
  ExpectOnce(0, 10);
  EXPECT_GE(other->storage_writer()->fenced(), 1u);
}

TEST_F(StorageWriteTest, RowErrorsRefuseThoseRowsWithBigQuerysReasonAndTheRestIsStored) {
  fake_->InjectStorage("\"reject_eids\":[\"e3\"]");
  auto w = sink_->Write(spec_, Batch(0, 10));
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  ASSERT_EQ(w.rejected.size(), 1u);
  EXPECT_EQ(w.rejected[0].index, 3u);
  EXPECT_EQ(w.rejected[0].reason, "BigQuery: fake: rejected eid");
  // The next batch is not held up by the gap the refused append left.
  ASSERT_TRUE(sink_->Write(spec_, Batch(10, 20)).status.ok());
  auto stored = Stored();
  EXPECT_EQ(stored.size(), 19u);
  EXPECT_EQ(stored.count("e3"), 0u);
  // A value that is not of its column's type never leaves the sink.
  w = sink_->Write(spec_, {{"2026-12-02 10:00:00", "e50", "fifty"}});
  ASSERT_EQ(w.rejected.size(), 1u);
  EXPECT_EQ(w.rejected[0].reason, "column n: 'fifty' is not an integer");
}

TEST_F(StorageWriteTest, AStreamThatIsGoneIsReplacedByANewOne) {
  ASSERT_TRUE(sink_->Write(spec_, Batch(0, 5)).status.ok());
  std::vector<std::string> keys;
  for (int i = 0; i < 5; ++i) keys.push_back("e" + std::to_string(i));
  ASSERT_TRUE(ledger_->Erase(keys).ok());  // acknowledged
  fake_->InjectStorage("\"expire_streams\":true");
  ASSERT_TRUE(sink_->Write(spec_, Batch(5, 10)).status.ok());
  ExpectOnce(0, 10);
  EXPECT_EQ(Calls("CreateWriteStream"), 2);
}

TEST_F(StorageWriteTest, AnOutageIsRetryableAndThenTheRowsAreStoredOnce) {
  fake_->InjectStorage("\"outage_seconds\":1");
  auto w = sink_->Write(spec_, Batch(0, 10));
  ASSERT_FALSE(w.status.ok());
  EXPECT_TRUE(w.status.retryable());
  for (int attempt = 0; attempt < 100 && !w.status.ok(); ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the loader's backoff
    w = sink_->Write(spec_, Batch(0, 10));
  }
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  ExpectOnce(0, 10);
}

TEST_F(StorageWriteTest, AColumnAddedToTheTableReachesTheWriterSchema) {
  TableSpec wider = spec_;
  wider.columns.push_back({"uid", FieldType::kString, ColumnMode::kNullable, ""});
  // The loader's cache says the table is ensured; BigQuery says the schema has an extra
  // field; the sink ensures the table again (tables.patch) and appends.
  auto w = sink_->Write(wider, {{"2026-12-02 10:00:00", "e1", "1", "u-1"}});
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  rapidjson::Document doc;
  const std::string body = fake_->Tables();
  doc.Parse(body.c_str());
  EXPECT_STREQ(doc[spec_.name.c_str()]["rows"][0]["uid"].GetString(), "u-1");
  EXPECT_EQ(doc[spec_.name.c_str()]["schema"].Size(), 4u);
}

TEST_F(StorageWriteTest, AtLeastOnceAppendsToTheDefaultStreamWithoutALedger) {
  cfg_.exactly_once = false;
  auto sink = Open();
  EXPECT_EQ(sink->LedgerName(), "");
  ASSERT_TRUE(sink->Write(spec_, Batch(0, 10)).status.ok());
  ExpectOnce(0, 10);
  EXPECT_EQ(Calls("CreateWriteStream"), 0);
  ASSERT_TRUE(sink->Write(spec_, Batch(0, 10)).status.ok());
  EXPECT_EQ(Stored()["e0"], 2);  // what at least once means
}

}  // namespace
}  // namespace oceanus::sink
